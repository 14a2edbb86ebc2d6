// The merge queue's wake-up (wakeNext, readWakeConfig) in process: a real
// bare origin, the file state backend (real SQLite) and the Gitea contract
// server over HTTP, whose pull requests and dispatches the workflow harness
// answers (refs resolved on origin, the dispatched run created and queued,
// never run here). Each case reads the store afterwards (waiting rows,
// woken_at / wake_error, the queue counters) and the dispatch requests the
// forge received. Branches are queued without a pull request unless the
// case is about one: every pull request costs git processes in the harness.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { ConfigurationError } from '../../packages/core/src/errors.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import {
  QUEUE_COUNTER,
  readWakeConfig,
  wakeNext,
  type WakeConfig,
  type WakeResult
} from '../../packages/merge/src/wake.ts';
import { cancelBranch } from '../../packages/store/src/branch-cancel.ts';
import { counters } from '../../packages/store/src/counters.ts';
import { markWaiting, tryAcquireLease, waitingBranches } from '../../packages/store/src/lease.ts';
import { openBackend } from '../../packages/store/src/open-backend.ts';
import { git, makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { GiteaContractServer } from '../helpers/gitea-contract-server.ts';
import { withStateDb } from '../helpers/store-db.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';
import { WorkflowHarness, type PullRequest } from '../helpers/workflow-harness/index.ts';
import { WAKE_CALLER as CALLER } from '../helpers/wake-caller.ts';

const REPO = 'acme/service';
const MINUTE = 60_000;
/** A real user's token (the QG_TOKEN bot): Gitea starts no run for the job token's dispatches. */
const BOT_TOKEN = 'qgbot_fedcba9876543210fedcba9876543210';
/** The branches every test's origin has, each one commit of its own on main. */
const BRANCHES = ['a', 'b', 'c', 'd', 'np', 'closed', 'merged', 'stopped', 'gone', 'next'].map(
  (b) => `agent/${b}`
);

let template: TestRepo;
let forge: GiteaContractServer;
let repo: TestRepo;
let h: WorkflowHarness;
let state: string;

/** git in the bare origin of the current test. */
const og = (...args: string[]): string => git(repo.origin, ...args).trim();

// The repository is made with git once; each test works on a copy of its
// bare origin (the wake-up never needs a work tree).
beforeAll(() => {
  template = makeRepo();
  for (const name of BRANCHES) {
    const sha = git(template.origin, 'commit-tree', 'main^{tree}', '-p', 'main', '-m', name);
    git(template.origin, 'update-ref', `refs/heads/${name}`, sha.trim());
  }
});
beforeEach(async () => {
  forge = await GiteaContractServer.start({ userTokens: [BOT_TOKEN] });
  // GET pulls/{n} without Gitea's patch check (a merge-tree per request): the queue only reads the state.
  forge.fake.patchChecker = 'stale';
  const root = tempDir('qg-wake-');
  const origin = join(root, 'origin.git');
  cpSync(template.origin, origin, { recursive: true });
  repo = { ...template, root, origin };
  h = await WorkflowHarness.create({
    repo,
    forge,
    workflows: [{ name: 'quality-gates.yml', text: CALLER }]
  });
  state = join(root, 'state.sqlite');
});
afterEach(async () => {
  expect(forge.violations).toEqual([]);
  await forge.close();
});
afterAll(cleanupTempDirs);

const ago = (minutes: number): Date => new Date(Date.now() - minutes * MINUTE);

/** Puts `branch` on the waiting list since `since`, as a DEFERred run does. */
function queued(branch: string, since: Date, pr?: PullRequest): void {
  withStateDb(state, (db) => markWaiting(db, REPO, branch, since, pr?.number));
}

/** Opens the branch's pull request and queues the branch with it. */
async function queuedWithPr(branch: string, since: Date): Promise<PullRequest> {
  const pr = await h.openPullRequest(branch);
  queued(branch, since, pr);
  return pr;
}

function ctx(
  opts: { now?: () => Date; env?: NodeJS.ProcessEnv } = {}
): RunContext & { logger: RecordingLogger } {
  return {
    env: { PATH: process.env.PATH, GITHUB_API_URL: forge.apiUrl, ...opts.env },
    workspace: repo.work,
    repository: REPO,
    event: { name: 'workflow_dispatch' },
    logger: new RecordingLogger(),
    now: opts.now ?? (() => new Date())
  };
}

/** readWakeConfig from action inputs, as the land, lease-release and merge actions read it. */
function config(c: RunContext, inputs: Record<string, string> = {}, token = BOT_TOKEN): WakeConfig {
  return readWakeConfig(mapInputSource(inputs), c, { repository: REPO, token });
}

async function wake(
  opts: {
    now?: () => Date;
    env?: NodeJS.ProcessEnv;
    inputs?: Record<string, string>;
    token?: string;
  } = {}
): Promise<WakeResult & { log: string }> {
  const c = ctx(opts);
  const cfg = config(c, opts.inputs, opts.token);
  const backend = openBackend({ kind: 'file', path: state, now: c.now });
  const r = await wakeNext(backend, cfg, c, { backoffMs: 1 });
  return { ...r, log: c.logger.text() };
}

const queue = () =>
  withStateDb(state, (db) =>
    waitingBranches(db, REPO).map((w) => ({
      branch: w.branch,
      woken: w.wokenAt !== null,
      attempts: w.wakeAttempts,
      error: w.wakeError
    }))
  );
const counts = () => withStateDb(state, (db) => counters(db, REPO));
const dispatches = () =>
  forge.fake.dispatches.map((d) => ({
    workflow: d.workflowId,
    ref: d.ref,
    inputs: d.inputs,
    status: d.status
  }));
/** The dispatch of a successful wake-up of `branch`. */
const woke = (branch: string, pr?: number) => ({
  workflow: 'quality-gates.yml',
  ref: branch,
  inputs: { branch, 'pr-number': pr === undefined ? '' : String(pr) },
  status: 204
});

describe('wakeNext: nobody is woken', () => {
  // agent/a waits; agent/holder holds a live lease.
  it('the lease is held: no dispatch, the line names the holder', async () => {
    queued('agent/a', ago(5));
    withStateDb(state, (db) =>
      tryAcquireLease(
        db,
        {
          repo: REPO,
          branch: 'agent/holder',
          headSha: 'f'.repeat(40),
          runId: 'run-9',
          ttlMs: 60 * MINUTE
        },
        new Date()
      )
    );
    const r = await wake();
    expect(r.line).toBe('the lease is held by agent/holder: the queue moves when it is released');
    expect(r.woke).toBeUndefined();
    expect(r.error).toBeUndefined();
    expect(forge.requests).toEqual([]);
    expect(queue()).toEqual([{ branch: 'agent/a', woken: false, attempts: 0, error: null }]);
    expect(counts()).toEqual({});
  });

  // The lease is free and the waiting list empty.
  it('nobody is waiting: no dispatch, no forge request at all', async () => {
    const r = await wake();
    expect(r.line).toBe('nobody is waiting for the lease');
    expect(r.log).toContain('merge queue: nobody is waiting for the lease');
    expect(forge.requests).toEqual([]);
    expect(counts()).toEqual({});
  });
});

describe('wakeNext: first come, first served', () => {
  // agent/a (30 min), agent/b (20 min), agent/c (10 min) wait, each with its pull request.
  it('of three waiting, the longest-waiting is dispatched on its own branch with branch and pr-number', async () => {
    await queuedWithPr('agent/b', ago(20));
    const a = await queuedWithPr('agent/a', ago(30));
    await queuedWithPr('agent/c', ago(10));
    const r = await wake();
    expect(r.woke?.branch).toBe('agent/a');
    expect(r.error).toBeUndefined();
    expect(r.line).toMatch(
      /^woke agent\/a \(PR #2\), waiting since \S+: quality-gates\.yml dispatched on its branch$/
    );
    // The ref is the waiting branch, not main (the header of wake.ts says why).
    expect(dispatches()).toEqual([woke('agent/a', a.number)]);
    expect(forge.fake.dispatches[0]).toMatchObject({ credential: 'user', startedRun: true });
    expect(h.queuedDispatches()).toEqual([
      expect.objectContaining({
        workflow: '.gitea/workflows/quality-gates.yml',
        ref: 'refs/heads/agent/a',
        sha: og('rev-parse', 'agent/a'),
        inputs: { branch: 'agent/a', 'pr-number': '2' }
      })
    ]);
    // Only the head of the queue was looked up.
    expect(forge.calls('repoGetPullRequest').map((c) => c.path)).toEqual([
      '/api/v1/repos/acme/service/pulls/2'
    ]);
    // The woken branch keeps its place until its run takes the lease.
    expect(queue()).toEqual([
      { branch: 'agent/a', woken: true, attempts: 1, error: null },
      { branch: 'agent/b', woken: false, attempts: 0, error: null },
      { branch: 'agent/c', woken: false, attempts: 0, error: null }
    ]);
    expect(counts()).toEqual({ [QUEUE_COUNTER.wake]: 1 });
  });

  // A branch whose run did not know its pull request waits alone.
  it('a branch queued without a pull request is dispatched with an empty pr-number', async () => {
    queued('agent/np', ago(3));
    const r = await wake();
    expect(r.line).toMatch(/^woke agent\/np, waiting since /);
    expect(dispatches()).toEqual([woke('agent/np')]);
    expect(forge.calls('repoGetPullRequest')).toEqual([]);
  });

  // agent/a is woken; the next release comes 9 minutes later, another one at 10.
  it('is not woken twice within the grace (nobody else either); after it, it is dispatched again', async () => {
    queued('agent/a', ago(30));
    queued('agent/b', ago(20));
    const t0 = Date.now();
    expect((await wake({ now: () => new Date(t0) })).woke?.branch).toBe('agent/a');
    const again = await wake({ now: () => new Date(t0 + 9 * MINUTE) });
    expect(again.woke).toBeUndefined();
    expect(again.error).toBeUndefined();
    expect(again.line).toBe(
      `agent/a was woken at ${new Date(t0).toISOString()}; its run is on its way`
    );
    expect(dispatches()).toHaveLength(1);
    // Ten minutes (the default grace) later its run has not taken the lease: woken again.
    const later = await wake({ now: () => new Date(t0 + 10 * MINUTE) });
    expect(later.woke?.branch).toBe('agent/a');
    expect(dispatches()).toEqual([woke('agent/a'), woke('agent/a')]);
    expect(queue()).toEqual([
      { branch: 'agent/a', woken: true, attempts: 2, error: null },
      { branch: 'agent/b', woken: false, attempts: 0, error: null }
    ]);
    expect(counts()).toEqual({ [QUEUE_COUNTER.wake]: 2 });
  });

  // Two releases at the same moment (a landing and a lease-release on the
  // push it made) both read the queue before either dispatched: the wake-up
  // is claimed in the store before it is sent, so the branch runs once.
  it('two wakers reading the queue at the same moment dispatch the branch once', async () => {
    queued('agent/a', ago(30));
    queued('agent/b', ago(20));
    const [x, y] = await Promise.all([wake(), wake()]);
    expect([x.woke?.branch, y.woke?.branch].filter(Boolean)).toEqual(['agent/a']);
    const other = x.woke ? y : x;
    expect(other.line).toBe('agent/a was woken a moment ago; its run is on its way');
    expect(dispatches()).toEqual([woke('agent/a')]);
    expect(queue()[0]).toEqual({ branch: 'agent/a', woken: true, attempts: 1, error: null });
    expect(counts()).toEqual({ [QUEUE_COUNTER.wake]: 1 });
  });

  // graceMs 1000: a second call at +999 ms, a third at +1000 ms.
  it('the grace is WakeConfig.graceMs when given', async () => {
    queued('agent/a', ago(30));
    const t0 = Date.now();
    const backend = openBackend({ kind: 'file', path: state });
    const at = (ms: number) => {
      const c = ctx({ now: () => new Date(t0 + ms) });
      return wakeNext(backend, { ...config(c), graceMs: 1000 }, c);
    };
    expect((await at(0)).woke?.branch).toBe('agent/a');
    expect((await at(999)).woke).toBeUndefined();
    expect((await at(1000)).woke?.branch).toBe('agent/a');
    expect(dispatches().map((d) => d.ref)).toEqual(['agent/a', 'agent/a']);
  });
});

describe('wakeNext: branches that leave the queue', () => {
  // The two longest-waiting PRs were closed and merged meanwhile.
  it('a closed and a merged pull request at the head leave the queue (wake-skipped); the next is woken', async () => {
    const closed = await queuedWithPr('agent/closed', ago(40));
    const merged = await queuedWithPr('agent/merged', ago(30));
    const next = await queuedWithPr('agent/next', ago(20));
    await h.closed(closed);
    await h.merged(merged);
    const r = await wake();
    expect(r.skipped).toEqual([
      { branch: 'agent/closed', why: 'pull request #1 is closed' },
      { branch: 'agent/merged', why: 'pull request #2 is merged' }
    ]);
    expect(r.woke?.branch).toBe('agent/next');
    expect(dispatches()).toEqual([woke('agent/next', next.number)]);
    expect(queue()).toEqual([{ branch: 'agent/next', woken: true, attempts: 1, error: null }]);
    expect(counts()).toEqual({ [QUEUE_COUNTER.wake]: 1, [QUEUE_COUNTER.wakeSkipped]: 2 });
  });

  // The longest-waiting branch was cancelled by STOP.
  it('a branch STOP cancelled leaves the queue without a forge request for it; the next is woken', async () => {
    await queuedWithPr('agent/stopped', ago(40));
    queued('agent/next', ago(20));
    withStateDb(state, (db) =>
      cancelBranch(
        db,
        { repo: REPO, branch: 'agent/stopped', by: 'alice', reason: 'off task' },
        new Date()
      )
    );
    const r = await wake();
    expect(r.skipped).toEqual([{ branch: 'agent/stopped', why: 'cancelled by STOP' }]);
    expect(r.woke?.branch).toBe('agent/next');
    expect(forge.calls('repoGetPullRequest')).toEqual([]);
    expect(dispatches()).toEqual([woke('agent/next')]);
    expect(queue().map((w) => w.branch)).toEqual(['agent/next']);
    expect(counts()).toEqual({ wake: 1, 'wake-skipped': 1 });
  });

  // The only waiting branch's PR was closed.
  it('everyone gone: the line says who left and why, nothing dispatched', async () => {
    const a = await queuedWithPr('agent/a', ago(40));
    await h.closed(a);
    const r = await wake();
    expect(r.woke).toBeUndefined();
    expect(r.error).toBeUndefined();
    expect(r.line).toBe('nobody left waiting (agent/a: pull request #1 is closed)');
    expect(queue()).toEqual([]);
    expect(forge.fake.dispatches).toEqual([]);
    expect(counts()).toEqual({ 'wake-skipped': 1 });
  });

  // The longest-waiting branch was deleted on origin.
  it('a branch deleted on the forge (Gitea: 404 ref "x" doesn\'t exist) leaves the queue; the next is woken in the same call', async () => {
    queued('agent/gone', ago(40));
    queued('agent/next', ago(20));
    og('update-ref', '-d', 'refs/heads/agent/gone');
    const r = await wake();
    expect(dispatches()).toEqual([{ ...woke('agent/gone'), status: 404 }, woke('agent/next')]);
    expect(forge.fake.dispatches[0].message).toBe('ref "agent/gone" doesn\'t exist');
    expect(r.skipped).toEqual([
      {
        branch: 'agent/gone',
        why: expect.stringMatching(/^its branch is gone \(404 from POST .*doesn't exist"\)\)$/)
      }
    ]);
    expect(r.woke?.branch).toBe('agent/next');
    expect(r.error).toBeUndefined();
    expect(queue().map((w) => w.branch)).toEqual(['agent/next']);
    expect(counts()).toEqual({ wake: 1, 'wake-skipped': 1 });
  });

  // The forge answers the longest-waiting branch's dispatch as GitHub does for a missing ref.
  it('a branch gone as GitHub answers it (422 No ref found for: x) leaves the queue too', async () => {
    queued('agent/gone', ago(40));
    queued('agent/next', ago(20));
    forge.fake.refuseDispatch = (_wf, ref) =>
      ref === 'agent/gone' ? { status: 422, message: `No ref found for: ${ref}` } : undefined;
    const r = await wake();
    expect(dispatches().map((d) => [d.ref, d.status])).toEqual([
      ['agent/gone', 422],
      ['agent/next', 204]
    ]);
    expect(r.skipped.map((s) => s.branch)).toEqual(['agent/gone']);
    expect(r.woke?.branch).toBe('agent/next');
    expect(queue().map((w) => w.branch)).toEqual(['agent/next']);
    expect(counts()).toEqual({ wake: 1, 'wake-skipped': 1 });
  });
});

describe('wakeNext: dispatches the forge refuses', () => {
  // agent/a's dispatch is refused, agent/b's is not.
  it.each([
    ['403 workflow disabled', 403, 'workflow is disabled'],
    [
      "422 no workflow_dispatch in that branch's workflow",
      422,
      'workflow "quality-gates.yml" has no workflow_dispatch event trigger'
    ]
  ])(
    '%s: recorded on that branch, wake-failed counted, the next one woken in the same call',
    async (_name, status, message) => {
      const since = ago(30);
      queued('agent/a', ago(40));
      queued('agent/b', since);
      forge.fake.refuseDispatch = (_wf, ref) =>
        ref === 'agent/a' ? { status, message } : undefined;
      const r = await wake();
      expect(dispatches()).toEqual([{ ...woke('agent/a'), status }, woke('agent/b')]);
      expect(r.woke?.branch).toBe('agent/b');
      expect(r.error).toMatch(/^dispatch of quality-gates\.yml on agent\/a failed: /);
      expect(r.error).toContain(message);
      expect(r.line).toBe(
        `woke agent/b, waiting since ${since.toISOString()}: quality-gates.yml dispatched on its branch (before it: ${r.error})`
      );
      expect(queue()).toEqual([
        { branch: 'agent/a', woken: true, attempts: 1, error: r.error },
        { branch: 'agent/b', woken: true, attempts: 1, error: null }
      ]);
      expect(counts()).toEqual({ wake: 1, 'wake-failed': 1 });
    }
  );

  // The forge answers the first dispatch with a 500.
  it('a 500 (a dispatch is never retried: not idempotent) is a failure like the others', async () => {
    queued('agent/a', ago(40));
    queued('agent/b', ago(30));
    forge.fail('ActionsDispatchWorkflow', { status: 500, body: { message: 'boom' } });
    const r = await wake();
    expect(forge.calls('ActionsDispatchWorkflow').map((c) => [c.body, c.status])).toEqual([
      [{ ref: 'agent/a', inputs: { branch: 'agent/a', 'pr-number': '' } }, 500],
      [{ ref: 'agent/b', inputs: { branch: 'agent/b', 'pr-number': '' } }, 204]
    ]);
    expect(r.woke?.branch).toBe('agent/b');
    expect(queue()[0]).toEqual({
      branch: 'agent/a',
      woken: true,
      attempts: 1,
      error: expect.stringMatching(/agent\/a failed: 500 from POST \S+ \(server: "boom"\)$/)
    });
    expect(counts()).toEqual({ wake: 1, 'wake-failed': 1 });
  });

  // Four branches wait; the forge refuses every dispatch (workflow disabled), then takes them again.
  it('every dispatch failing: three tried in one call, all stay queued; the next call starts again at the first', async () => {
    for (const [i, name] of ['agent/a', 'agent/b', 'agent/c', 'agent/d'].entries())
      queued(name, ago(40 - i));
    forge.fake.refuseDispatch = () => ({ status: 403, message: 'workflow is disabled' });
    const r = await wake();
    expect(r.woke).toBeUndefined();
    expect(dispatches().map((d) => d.ref)).toEqual(['agent/a', 'agent/b', 'agent/c']);
    expect(r.error?.split('; ')).toHaveLength(3);
    expect(r.line).toBe(`${r.error}; the next release tries again`);
    expect(queue().map((w) => [w.branch, w.attempts, w.error !== null])).toEqual([
      ['agent/a', 1, true],
      ['agent/b', 1, true],
      ['agent/c', 1, true],
      ['agent/d', 0, false]
    ]);
    expect(counts()).toEqual({ 'wake-failed': 3 });
    // The forge takes dispatches again: FCFS kept, the first of the failed ones is woken.
    forge.fake.refuseDispatch = undefined;
    const next = await wake();
    expect(next.woke?.branch).toBe('agent/a');
    expect(dispatches().slice(3)).toEqual([woke('agent/a')]);
    expect(queue()[0]).toEqual({ branch: 'agent/a', woken: true, attempts: 2, error: null });
    expect(counts()).toEqual({ wake: 1, 'wake-failed': 3 });
  });

  // wake-workflow names a file the repository does not have.
  it("a wake-workflow the repository lacks (404 workflow doesn't exist) is a failure, not a branch gone", async () => {
    queued('agent/a', ago(40));
    queued('agent/b', ago(30));
    const r = await wake({ inputs: { 'wake-workflow': 'missing.yml' } });
    expect(dispatches().map((d) => [d.workflow, d.ref, d.status])).toEqual([
      ['missing.yml', 'agent/a', 404],
      ['missing.yml', 'agent/b', 404]
    ]);
    expect(r.skipped).toEqual([]);
    expect(r.error).toContain(`(server: "workflow "missing.yml" doesn't exist")`);
    expect(queue().map((w) => w.branch)).toEqual(['agent/a', 'agent/b']);
    expect(counts()).toEqual({ 'wake-failed': 2 });
  });
});

describe('wakeNext: no forge to dispatch through', () => {
  // The action got an empty token.
  it('the token is empty: nothing sent, the error recorded on the first waiting branch, one clear line', async () => {
    queued('agent/a', ago(40));
    queued('agent/b', ago(30));
    const r = await wake({ token: '' });
    expect(r.line).toBe("cannot wake agent/a: input 'token' is empty");
    expect(r.error).toBe(r.line);
    expect(r.log).toContain(`merge queue: ${r.line}`);
    expect(forge.requests).toEqual([]);
    expect(queue()).toEqual([
      { branch: 'agent/a', woken: true, attempts: 1, error: r.line },
      { branch: 'agent/b', woken: false, attempts: 0, error: null }
    ]);
    expect(counts()).toEqual({ 'wake-failed': 1 });
  });

  // The job has no GITHUB_API_URL.
  it('GITHUB_API_URL is not set: nothing sent, the error recorded', async () => {
    queued('agent/a', ago(40));
    const r = await wake({ env: { GITHUB_API_URL: '' } });
    expect(r.line).toBe('cannot wake agent/a: GITHUB_API_URL is not set');
    expect(r.error).toBe(r.line);
    expect(forge.requests).toEqual([]);
    expect(queue()).toEqual([{ branch: 'agent/a', woken: true, attempts: 1, error: r.line }]);
  });
});

describe('readWakeConfig', () => {
  // agent/a waits; the wake-up is switched off.
  it.each(['off', 'OFF', 'false', 'none'])("wake-workflow '%s': no wake-ups", async (v) => {
    queued('agent/a', ago(40));
    expect(config(ctx(), { 'wake-workflow': v }).workflow).toBe('');
    const r = await wake({ inputs: { 'wake-workflow': v } });
    expect(r.line).toBe('wake-ups are off (wake-workflow: off)');
    expect(forge.requests).toEqual([]);
    expect(queue()).toEqual([{ branch: 'agent/a', woken: false, attempts: 0, error: null }]);
  });

  // No wake-workflow input; GITHUB_API_URL with a trailing slash.
  it('defaults to quality-gates.yml and takes GITHUB_API_URL without its trailing slash', () => {
    const c = ctx({ env: { GITHUB_API_URL: `${forge.apiUrl}/` } });
    expect(config(c)).toEqual({
      workflow: 'quality-gates.yml',
      repository: REPO,
      forgeRepo: REPO,
      apiUrl: forge.apiUrl,
      token: BOT_TOKEN
    });
    expect(config(c, { 'wake-workflow': 'edge.yaml' }).workflow).toBe('edge.yaml');
  });

  // Not a workflow file name: a path, another extension, a space.
  it.each(['../x.yml', 'x.txt', '.gitea/workflows/x.yml', 'x y.yml'])(
    "wake-workflow '%s' is a ConfigurationError naming input wake-workflow",
    (v) => {
      let err: unknown;
      try {
        config(ctx(), { 'wake-workflow': v });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigurationError);
      expect((err as ConfigurationError).input).toBe('wake-workflow');
      expect((err as Error).message).toMatch(/^input 'wake-workflow': expected the file name /);
    }
  );
});
