// Real projects for the coverage gate's integration tests: a fixture project
// (tests/fixtures/projects) copied into a makeRepo() clone, committed and
// pushed, and the gate, ratchet and baseline override run in-process against
// it with a state file of the test's own.
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunContext } from '../../packages/core/src/context.ts';
import { runGate } from '../../packages/core/src/gate.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { runTool, type ToolOutcome } from '../../packages/core/src/tool.ts';
import type { GateResult } from '../../packages/core/src/verdict.ts';
import { coverageBaseline } from '../../packages/coverage/src/baseline-override.ts';
import { coverageGate } from '../../packages/coverage/src/gate.ts';
import { coverageRatchet } from '../../packages/coverage/src/ratchet.ts';
import { GIT_ENV, makeRepo, type TestRepo } from './git-repo.ts';
import { tempDir } from './tmp.ts';

/** The system interpreter with pytest and pytest-cov (the one on PATH may lack them). */
export const PYTHON = '/usr/bin/python3';
/** Node 24 from the devDependency; its test runner writes real LCOV. */
export const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
export const NODE_LCOV_COMMAND = `${NODE} --test --experimental-test-coverage --test-reporter=lcov --test-reporter-destination=lcov.info`;
const PROJECTS = fileURLToPath(new URL('../fixtures/projects/', import.meta.url));

/** What a measurement leaves in the work tree; ignored so `git add -A` never commits it. */
const GITIGNORE = [
  '.coverage',
  '.pytest_cache/',
  '__pycache__/',
  'coverage.json',
  'lcov.info',
  '.quality-gates-state/',
  ''
].join('\n');

/**
 * A pytest plugin hook that appends a line to <repo root>/pytest-sessions.log
 * (outside the work tree) each time pytest starts a session: proof of how
 * often the real test suite ran.
 */
export const SESSION_COUNTER_CONFTEST = `from pathlib import Path


def pytest_sessionstart(session):
    log = Path(__file__).resolve().parents[2] / "pytest-sessions.log"
    with open(log, "a", encoding="utf-8") as f:
        f.write("session\\n")
`;

/** The fixture's tests module, with the tests named (test_add, test_sub, test_div, test_clamp, test_broken). */
export function pythonTests(...names: string[]): string {
  const bodies: Record<string, string> = {
    test_add: 'def test_add():\n    assert ops.add(2, 3) == 5\n',
    test_sub: 'def test_sub():\n    assert ops.sub(5, 3) == 2\n',
    test_div: 'def test_div():\n    assert ops.div(6, 3) == 2\n',
    test_clamp:
      'def test_clamp():\n    assert ops.clamp(0, 1, 3) == 1\n    assert ops.clamp(5, 1, 3) == 3\n    assert ops.clamp(2, 1, 3) == 2\n',
    test_broken: 'def test_broken():\n    assert ops.add(1, 1) == 3\n'
  };
  const header =
    'import sys\nfrom pathlib import Path\n\nsys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))\n\nfrom calc import ops  # noqa: E402\n';
  return [header, ...names.map((n) => bodies[n])].join('\n\n');
}

export interface ProjectRepo extends TestRepo {
  /** Lines in pytest-sessions.log: how many pytest sessions ran (needs SESSION_COUNTER_CONFTEST). */
  pytestSessions(): number;
}

/** makeRepo() with the fixture project committed and pushed on main (plus `extra` files). */
export function projectRepo(
  project: 'python-app' | 'js-app',
  extra: Record<string, string> = {}
): ProjectRepo {
  const repo = makeRepo();
  cpSync(join(PROJECTS, project), repo.work, { recursive: true });
  repo.commitAll(`add ${project}`, { '.gitignore': GITIGNORE, ...extra });
  repo.git('push', '-q', 'origin', 'main');
  const log = join(repo.root, 'pytest-sessions.log');
  return {
    ...repo,
    pytestSessions: () =>
      existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0
  };
}

/** A second clone of a repository's origin (another runner's checkout). */
export function cloneOf(repo: TestRepo): string {
  const dir = join(tempDir('qg-clone-'), 'work');
  repo.git('clone', '-q', repo.origin, dir);
  return dir;
}

/** Lands the current branch on main the way a merge does (fast-forward) and pushes main. */
export function land(repo: TestRepo): string {
  const branch = repo.git('symbolic-ref', '--short', 'HEAD').trim();
  repo.git('checkout', '-q', 'main');
  repo.git('merge', '-q', '--ff-only', branch);
  repo.git('push', '-q', 'origin', 'main');
  return repo.sha('HEAD');
}

export interface RunOptions {
  /** owner/name; '' for a local run outside any forge. Default acme/app. */
  repository?: string;
  env?: NodeJS.ProcessEnv;
  /** The PR's head branch (the gate) or nothing (ratchet, override). */
  headRef?: string;
}

export interface Run {
  logger: RecordingLogger;
  log: string;
}

function context(workspace: string, opts: RunOptions, event: RunContext['event']): RunContext {
  const logger = new RecordingLogger();
  return {
    env: { ...process.env, ...GIT_ENV, ...opts.env },
    workspace,
    repository: opts.repository ?? 'acme/app',
    event,
    logger,
    now: () => new Date()
  };
}

/** The coverage gate on a PR into main, inputs beneath `inputs`: the system python and a report dir of its own. */
export async function coverageGateRun(
  workspace: string,
  inputs: Record<string, string>,
  opts: RunOptions = {}
): Promise<GateResult & Run> {
  const ctx = context(workspace, opts, {
    name: 'pull_request',
    baseRef: 'main',
    headRef: opts.headRef
  });
  const r = await runGate(
    coverageGate,
    mapInputSource({
      python: PYTHON,
      'report-dir': join(tempDir('qg-reports-'), 'reports'),
      ...inputs
    }),
    ctx
  );
  const logger = ctx.logger as RecordingLogger;
  return { ...r, logger, log: logger.text() };
}

/** The ratchet on a push to main (GITHUB_REF refs/heads/main). */
export async function ratchetRun(
  workspace: string,
  inputs: Record<string, string>,
  opts: RunOptions = {}
): Promise<ToolOutcome & Run> {
  const ctx = context(
    workspace,
    { ...opts, env: { GITHUB_REF: 'refs/heads/main', ...opts.env } },
    { name: 'push' }
  );
  const r = await runTool(coverageRatchet, mapInputSource({ python: PYTHON, ...inputs }), ctx);
  const logger = ctx.logger as RecordingLogger;
  return { ...r, logger, log: logger.text() };
}

/** The maintainers' override (workflow_dispatch). */
export async function baselineRun(
  workspace: string,
  inputs: Record<string, string>,
  opts: RunOptions = {}
): Promise<ToolOutcome & Run> {
  const ctx = context(workspace, opts, { name: 'workflow_dispatch' });
  const r = await runTool(coverageBaseline, mapInputSource(inputs), ctx);
  const logger = ctx.logger as RecordingLogger;
  return { ...r, logger, log: logger.text() };
}

/** The override setting the baseline in the state file at `statePath` to `value` percent. */
export function baselineSetRun(
  workspace: string,
  statePath: string,
  value: string,
  reason: string,
  opts: RunOptions = {}
): Promise<ToolOutcome & Run> {
  return baselineRun(workspace, { operation: 'set', value, reason, 'state-path': statePath }, opts);
}

/** A state file path of the test's own (not yet created). */
export function freshStatePath(): string {
  return join(tempDir('qg-state-'), 'state.sqlite');
}
