// Issue 9, pull requests from forks: their job token is read-only, so the
// state on refs/quality-gates/state cannot be pushed from them. Reads work.
// A write that would take or release the merge lease (or set a baseline)
// fails closed with one line; any other write (a measurement, a gate run) is
// dropped, said in one warning; the ref is never touched from the fork.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { runGate } from '../../packages/core/src/gate.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { mergeGate } from '../../packages/merge/src/gate.ts';
import { coverageGate } from '../../packages/coverage/src/gate.ts';
import { PYTHON, baselineRun, cloneOf, projectRepo } from '../helpers/coverage-project.ts';
import { GIT_ENV, git, makeRepo } from '../helpers/git-repo.ts';
import { STATE_REF } from '../helpers/state-ref.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const REPO = 'acme/service';
const FORK = 'mallory/service';

const jobEnv = (): NodeJS.ProcessEnv => ({
  GITHUB_ACTIONS: 'true',
  GITEA_ACTIONS: '',
  RUNNER_TOOL_CACHE: tempDir('qg-toolcache-'),
  RUNNER_TEMP: tempDir('qg-runner-temp-'),
  HOME: tempDir('qg-home-')
});

function forkCtx(workspace: string, headRef: string): RunContext & { logger: RecordingLogger } {
  return {
    env: { ...process.env, ...GIT_ENV, ...jobEnv() },
    workspace,
    repository: REPO,
    event: { name: 'pull_request', baseRef: 'main', headRef, headRepo: FORK },
    logger: new RecordingLogger(),
    now: () => new Date()
  };
}

const stateLog = (origin: string): string =>
  git(origin, 'for-each-ref', '--format=%(refname)', STATE_REF).trim() === ''
    ? ''
    : git(origin, 'log', '--format=%H %s', STATE_REF);

describe('a pull request from a fork, state-backend auto (git-ref)', () => {
  it('the merge gate fails closed before anything runs: the lease is not taken from a fork', async () => {
    const repo = makeRepo();
    repo.commit('ok', 'green\n');
    repo.git('push', '-q', 'origin', 'main');
    repo.git('checkout', '-q', '-b', 'agent/forked');
    repo.commit('f.txt', 'f\n');
    const marker = join(tempDir(), 'ran.marker');
    const ctx = forkCtx(repo.work, 'agent/forked');
    const r = await runGate(
      mergeGate,
      mapInputSource({
        'test-command': `touch ${marker}`,
        'report-dir': tempDir('qg-r-'),
        'lease-wait-minutes': '0',
        branch: 'agent/forked'
      }),
      ctx
    );
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toBe(
      `state-read-only tool error: state store origin ${STATE_REF}: a pull request from the fork ${FORK} cannot push it (read-only token), so the merge lease is not taken or released from here (fail closed): land it from a branch of ${REPO} (fail-closed => FAIL)`
    );
    expect(existsSync(marker)).toBe(false);
    expect(stateLog(repo.origin)).toBe('');
  });

  it('the coverage gate reads the baseline and judges; its measurement is not kept, said once', async () => {
    const repo = projectRepo('python-app');
    const set = await baselineRun(
      repo.work,
      { operation: 'set', value: '50', reason: 'seed' },
      { env: jobEnv(), repository: REPO }
    );
    expect(set.ok).toBe(true);
    const before = stateLog(repo.origin);
    expect(before.split('\n').filter(Boolean)).toHaveLength(1);

    const work = cloneOf(repo);
    git(work, 'checkout', '-q', '-b', 'agent/forked');
    git(work, 'commit', '-q', '--allow-empty', '-m', 'from the fork');
    const ctx = forkCtx(work, 'agent/forked');
    const g = await runGate(
      coverageGate,
      mapInputSource({ python: PYTHON, 'report-dir': tempDir('qg-r-') }),
      ctx
    );
    expect(g.verdict).toBe('PASS');
    expect(g.frontmatter).toMatchObject({ baseline: 50, measured: 57.14, bootstrap: false });
    const line = `state store origin ${STATE_REF}: a pull request from the fork ${FORK} cannot push it (read-only token): what this step recorded (measurements, gate runs, retry counts) was not kept`;
    expect(g.warnings).toContain(line);
    expect(ctx.logger.entries.filter((e) => e.message === line)).toEqual([
      { level: 'warning', message: line }
    ]);
    expect(stateLog(repo.origin)).toBe(before);
  });
});
