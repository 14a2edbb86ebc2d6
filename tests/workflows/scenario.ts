// Shared setup of the workflow scenarios: a small service repository whose
// test command is a shell test (`test ! -e broken`) and whose coverage
// command copies a committed LCOV report (each branch says its own
// coverage), the companions installed with the edits an adopter makes, and
// what a user sees afterwards: statuses by context on a commit, the sticky
// comment, labels, the state store, origin's refs.
import { execFileSync } from 'node:child_process';
import { randomAwsAccessKeyId } from '../../packages/security/src/secrets/token-samples.ts';
import type { TestRepo } from '../helpers/git-repo.ts';
import { lcov, serviceRepo } from '../helpers/service-repo.ts';

export { lcov, serviceRepo };
import { afterAll, afterEach, beforeAll, expect } from '@jest/globals';
import { GiteaContractServer } from '../helpers/gitea-contract-server.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';
import {
  readState,
  WorkflowHarness,
  type HarnessOptions,
  type InstallSpec,
  type JobConclusion,
  type PullRequest,
  type RunResult,
  type StateView
} from '../helpers/workflow-harness/index.ts';

export const TEST_COMMAND = 'test ! -e broken';
export const COVERAGE_COMMAND = 'cp coverage.lcov lcov.info';
export const STATE_KEY = 'k'.repeat(16) + '-harness-state-key';

/** A task branch off origin's main with these files, pushed; returns its head. */
export function branch(
  repo: TestRepo,
  name: string,
  files: Record<string, string | undefined>
): string {
  repo.git('fetch', '-q', 'origin');
  repo.git('checkout', '-q', '-B', name, 'origin/main');
  const sha = repo.commitAll(`work on ${name}`, files);
  repo.git('push', '-q', '-f', 'origin', name);
  repo.git('checkout', '-q', '--detach');
  return sha;
}

/** main moves on origin (another branch landed meanwhile). */
export function mainMoves(repo: TestRepo, file = 'later.txt'): string {
  repo.git('fetch', '-q', 'origin');
  repo.git('checkout', '-q', '-B', 'main', 'origin/main');
  const sha = repo.commit(file, `${file}\n`, `main: ${file}`);
  repo.git('push', '-q', 'origin', 'main');
  repo.git('checkout', '-q', '--detach');
  return sha;
}

/** Files that make each gate fail. */
export const FAILING = {
  security: () => ({ 'config.env': `AWS_ACCESS_KEY_ID=${randomAwsAccessKeyId()}\n` }),
  merge: () => ({ broken: 'yes\n' }),
  coverage: () => ({ 'coverage.lcov': lcov(3) })
};

/** The companions as an adopter installs them: their commands and a lease that does not wait. */
export function adopted(
  dialect: 'gitea' | 'github' = 'gitea',
  extra: Record<string, string> = {}
): InstallSpec[] {
  const dir = `docs/workflows/${dialect}`;
  const gates = (k: string, v: string) => ({ path: ['jobs', 'gates', 'with', k], value: v });
  return [
    {
      source: `${dir}/quality-gates.yml`,
      edits: [
        gates('test-command', TEST_COMMAND),
        gates('coverage-command', COVERAGE_COMMAND),
        gates('coverage-report', 'lcov.info'),
        gates('coverage-floor', '50'),
        gates('lease-wait-minutes', '0'),
        ...Object.entries(extra).map(([k, v]) => gates(k, v))
      ]
    },
    {
      source: `${dir}/quality-gates-landed.yml`,
      edits: [
        { path: ['jobs', 'ratchet', 'steps', 1, 'with', 'command'], value: COVERAGE_COMMAND },
        { path: ['jobs', 'ratchet', 'steps', 1, 'with', 'report'], value: 'lcov.info' }
      ]
    },
    { source: `${dir}/quality-gates-closed.yml` },
    { source: `${dir}/quality-gates-baseline.yml` },
    { source: `${dir}/quality-gates-stop.yml` }
  ];
}

export interface World {
  repo: TestRepo;
  forge: GiteaContractServer;
  h: WorkflowHarness;
}

/** A fresh repository, forge and harness; vars default to QG_STATE_BACKEND=git-ref (docs/workflows.md), `vars: {}` is the actions' own default. */
export async function world(
  opts: Partial<HarnessOptions> & { forge?: GiteaContractServer } = {}
): Promise<World> {
  const repo = opts.repo ?? serviceRepo();
  const forge = opts.forge ?? (await GiteaContractServer.start());
  const h = await WorkflowHarness.create({
    workflows: adopted(opts.dialect),
    vars: { QG_STATE_BACKEND: 'git-ref' },
    secrets: { QG_STATE_KEY: STATE_KEY },
    ...opts,
    repo,
    forge
  });
  return { repo, forge, h };
}

/** The newest state of each quality-gates context on `sha`. */
export function statusesOn(forge: GiteaContractServer, sha: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of forge.fake.statuses.filter((x) => x.sha === sha).sort((a, b) => a.id - b.id)) {
    out[s.context] = s.state;
  }
  return out;
}

export function descriptionsOn(forge: GiteaContractServer, sha: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of forge.fake.statuses.filter((x) => x.sha === sha).sort((a, b) => a.id - b.id)) {
    out[s.context] = s.description;
  }
  return out;
}

export function commentsOn(forge: GiteaContractServer, pr: number): string[] {
  return forge.fake.comments.filter((c) => c.issue === pr).map((c) => c.body);
}

export function labelsOn(forge: GiteaContractServer, pr: number): string[] {
  const ids = forge.fake.issueLabels.get(pr) ?? [];
  return forge.fake.repoLabels
    .filter((l) => ids.includes(l.id))
    .map((l) => l.name)
    .sort();
}

/** The state on origin's state ref (git-ref backend). */
export function gitRefState(w: World): StateView | undefined {
  return readState(
    { backend: 'git-ref', origin: w.repo.origin },
    w.h.repository,
    w.h.secrets.QG_STATE_KEY
  );
}

export function originRefs(repo: TestRepo): Record<string, string> {
  const out: Record<string, string> = {};
  const text = execFileSync('git', ['for-each-ref', '--format=%(objectname) %(refname)'], {
    cwd: repo.origin,
    encoding: 'utf8'
  });
  for (const line of text.trim().split('\n').filter(Boolean)) {
    const [sha, ref] = line.split(' ');
    out[ref] = sha;
  }
  return out;
}

/** What each forge operation the gates use needs of the job token (GitHub's permission names, which Gitea 1.26 applies). */
const OPERATION_NEEDS: Record<string, { scopes: string[]; level: 'read' | 'write' }> = {
  repoCreateStatus: { scopes: ['statuses'], level: 'write' },
  repoListStatuses: { scopes: ['statuses'], level: 'read' },
  repoListStatusesByRef: { scopes: ['statuses'], level: 'read' },
  repoGetCombinedStatusByRef: { scopes: ['statuses'], level: 'read' },
  issueCreateComment: { scopes: ['issues', 'pull-requests'], level: 'write' },
  issueEditComment: { scopes: ['issues', 'pull-requests'], level: 'write' },
  issueDeleteComment: { scopes: ['issues', 'pull-requests'], level: 'write' },
  issueGetComments: { scopes: ['issues', 'pull-requests'], level: 'read' },
  issueGetComment: { scopes: ['issues', 'pull-requests'], level: 'read' },
  issueGetLabels: { scopes: ['issues', 'pull-requests'], level: 'read' },
  issueAddLabel: { scopes: ['issues', 'pull-requests'], level: 'write' },
  issueReplaceLabels: { scopes: ['issues', 'pull-requests'], level: 'write' },
  issueRemoveLabel: { scopes: ['issues', 'pull-requests'], level: 'write' },
  issueClearLabels: { scopes: ['issues', 'pull-requests'], level: 'write' },
  getWorkflowRuns: { scopes: ['actions'], level: 'read' },
  GetWorkflowRun: { scopes: ['actions'], level: 'read' },
  getArtifacts: { scopes: ['actions'], level: 'read' },
  getArtifactsOfRun: { scopes: ['actions'], level: 'read' },
  getArtifact: { scopes: ['actions'], level: 'read' },
  downloadArtifact: { scopes: ['actions'], level: 'read' },
  // The merge queue: auto-land and the wake-up.
  repoMergePullRequest: { scopes: ['contents'], level: 'write' },
  repoPullRequestIsMerged: { scopes: ['pull-requests'], level: 'read' },
  repoGetPullRequest: { scopes: ['pull-requests'], level: 'read' },
  ActionsDispatchWorkflow: { scopes: ['actions'], level: 'write' }
};

function grants(perms: unknown, scope: string, level: 'read' | 'write'): boolean {
  if (perms === undefined) return true;
  if (perms === 'write-all') return true;
  if (perms === 'read-all') return level === 'read';
  const p = (perms as Record<string, string>)[scope];
  return p === 'write' || (level === 'read' && p === 'read');
}

/**
 * Every forge call and push each job made (the ones run alone, where the
 * harness can tell whose calls they were), against the permissions the
 * job declares: one line per call not covered.
 */
export function permissionProblems(runs: readonly RunResult[]): string[] {
  const problems = new Set<string>();
  for (const run of runs) {
    for (const job of run.allJobs()) {
      const at = `${run.workflow} ${job.path}`;
      for (const call of job.forgeCalls ?? []) {
        const need = OPERATION_NEEDS[call.operationId ?? ''];
        if (!need)
          throw new Error(`${at}: no permission known for ${call.operationId ?? call.path}`);
        if (!need.scopes.some((s) => grants(job.permissions, s, need.level)))
          problems.add(
            `${at}: ${call.operationId} needs ${need.scopes.join(' or ')}: ${need.level}`
          );
      }
      if ((job.pushed ?? []).length > 0 && !grants(job.permissions, 'contents', 'write'))
        problems.add(`${at}: pushed ${job.pushed!.join(', ')}, needs contents: write`);
    }
  }
  return [...problems].sort();
}

/** The state wherever the jobs put it: the git ref on origin, else the file in the shared tool cache. */
export function anyState(w: World): StateView | undefined {
  return (
    gitRefState(w) ??
    readState(
      { backend: 'file', path: `${w.h.sharedToolCache}/quality-gates/state.sqlite` },
      w.h.repository,
      w.h.secrets.QG_STATE_KEY
    )
  );
}

/**
 * Two pull requests opened at once, both behind main, their edge runs
 * racing: exactly one merge gate proceeds, the other is deferred. Returns
 * the winner's and the loser's branch.
 */
export async function race(w: World): Promise<{ winner: string; loser: string }> {
  const heads = {
    'agent/left': branch(w.repo, 'agent/left', { 'src/left.js': 'module.exports = "l";\n' }),
    'agent/right': branch(w.repo, 'agent/right', { 'src/right.js': 'module.exports = "r";\n' })
  };
  mainMoves(w.repo);
  const left = await w.h.openPullRequest('agent/left');
  const right = await w.h.openPullRequest('agent/right');
  const [[l], [r]] = await Promise.all([w.h.opened(left), w.h.opened(right)]);
  const runs: Record<string, RunResult> = { 'agent/left': l, 'agent/right': r };
  const merge = (b: string) => runs[b].job('gates').outputs['merge-status'];
  expect([merge('agent/left'), merge('agent/right')].sort()).toEqual(['DEFER', 'PASS']);
  const winner = merge('agent/left') === 'PASS' ? 'agent/left' : 'agent/right';
  const loser = winner === 'agent/left' ? 'agent/right' : 'agent/left';
  expect(runs[winner].conclusion).toBe('success');
  expect(runs[loser].results()).toMatchObject({
    'gates/security': 'success',
    'gates/merge': 'failure',
    'gates/coverage': 'skipped',
    'gates/release-lease': 'skipped'
  });
  const refs = originRefs(w.repo);
  expect(refs[`refs/heads/${winner}`]).toBe(runs[winner].job('gates').outputs['new-head']);
  expect(refs[`refs/heads/${loser}`]).toBe(heads[loser as keyof typeof heads]);
  expect(anyState(w)?.lease?.branch).toBe(winner);
  expectCleanForge(w);
  return { winner, loser };
}

/**
 * Opens a PR of a fresh branch and runs what `opened` triggers: the edge;
 * `head` is the PR's head before the run (the merge gate may move it).
 * `behind`: main moves first (only while no lease is held: the lease is
 * what keeps main still until the holder lands).
 */
export async function openAndGate(
  w: World,
  name: string,
  files: Record<string, string>,
  behind = false
): Promise<{ pr: PullRequest; run: RunResult; head: string }> {
  branch(w.repo, name, files);
  if (behind) mainMoves(w.repo, `${name.replace('/', '-')}.main`);
  const pr = await w.h.openPullRequest(name);
  const head = pr.headSha;
  const runs = await w.h.opened(pr);
  expect(runs.map((r) => r.workflow)).toEqual([`.${w.h.dialect}/workflows/quality-gates.yml`]);
  return { pr, run: runs[0], head };
}

export function cancelledEverywhere(forge: GiteaContractServer, sha: string): void {
  const contexts = ['security', 'merge', 'coverage', 'image-freshness'].map(
    (g) => `quality-gates/${g}`
  );
  expect(statusesOn(forge, sha)).toEqual(Object.fromEntries(contexts.map((c) => [c, 'error'])));
  for (const c of contexts) expect(descriptionsOn(forge, sha)[c]).toBe('cancelled');
}

type EdgeJob = 'security' | 'merge' | 'coverage' | 'image-freshness' | 'land' | 'release-lease';

/** The results of a caller run's jobs: the edge jobs given, every other one skipped, `gates` failed when one of them did. */
export function edgeJobs(
  results: Partial<Record<EdgeJob, JobConclusion>>
): Record<string, JobConclusion> {
  const jobs: EdgeJob[] = [
    'security',
    'merge',
    'coverage',
    'image-freshness',
    'land',
    'release-lease'
  ];
  const out: Record<string, JobConclusion> = {
    gates: Object.values(results).includes('failure') ? 'failure' : 'success'
  };
  for (const j of jobs) out[`gates/${j}`] = results[j] ?? 'skipped';
  return out;
}

/** One world for a whole test file: made before its tests, closed after them. */
export function sharedWorld(opts: Parameters<typeof world>[0] = {}): World {
  const w = {} as World;
  beforeAll(async () => {
    Object.assign(w, await world(opts));
  });
  afterAll(async () => {
    await w.forge?.close();
    cleanupTempDirs();
  });
  return w;
}

/** A world per test: `open()` makes one, closed after the test. */
export function worldPerTest(): (opts?: Parameters<typeof world>[0]) => Promise<World> {
  let current: World | undefined;
  afterEach(async () => {
    await current?.forge.close();
    current = undefined;
  });
  afterAll(cleanupTempDirs);
  return async (opts) => (current = await world(opts));
}

/** The forge saw no contract violation, and every job's forge calls and pushes were within its permissions. */
export function expectCleanForge(w: World): void {
  expect(w.forge.violations).toEqual([]);
  expect(permissionProblems(w.h.runs)).toEqual([]);
}
