// Auto-land (actions/land: readLandConfig, runLand, classify) in process: a
// real working clone with a bare origin, the file state backend (real
// SQLite), and the forge over HTTP: the Gitea contract server (POST merge
// with Do/head_commit_id), or a GitHub-shaped stand-in below (PUT merge
// with sha/merge_method); both merge for real through the workflow
// harness's backend (a clone of origin, pushed to main). Each case reads
// what the forge received (merges, comments, dispatches) and the store
// afterwards (lease, waiting list, counters, baseline).
import { cpSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { runTool } from '../../packages/core/src/tool.ts';
import { ForgeClient } from '../../packages/forge/src/client.ts';
import { mergePullRequest } from '../../packages/forge/src/pulls.ts';
import {
  classify,
  land,
  LAND_COUNTER,
  readLandConfig,
  runLand,
  type RefusalReason
} from '../../packages/merge/src/land.ts';
import { getBaseline } from '../../packages/store/src/baseline.ts';
import { counters } from '../../packages/store/src/counters.ts';
import {
  currentLease,
  markWaiting,
  tryAcquireLease,
  waitingBranches
} from '../../packages/store/src/lease.ts';
import { latestMeasurement, recordMeasurement } from '../../packages/store/src/measurement.ts';
import type { FakePull } from '../helpers/contract-fake-forge.ts';
import { git, makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { GiteaContractServer } from '../helpers/gitea-contract-server.ts';
import { closeServer, listenLocal } from '../helpers/local-http.ts';
import { withStateDb } from '../helpers/store-db.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';
import { WorkflowHarness, type Dialect } from '../helpers/workflow-harness/index.ts';
import { WAKE_CALLER as CALLER } from '../helpers/wake-caller.ts';

const REPO = 'acme/service';
const HOUR = 3_600_000;
/** A real user's token (QG_TOKEN): merges, comments and dispatches. */
const BOT_TOKEN = 'qgbot_fedcba9876543210fedcba9876543210';

// ---- a GitHub-shaped forge over the harness's pull requests and git --------------------

interface GitHubCall {
  method: string;
  path: string;
  body: unknown;
  status: number;
}

/**
 * GitHub's REST answers for what land and the wake-up call: GET pulls/{n},
 * PUT pulls/{n}/merge {sha, merge_method} (405 not mergeable, 409 head
 * modified, 200 {sha, merged}), POST issues/{n}/comments, POST
 * actions/workflows/{file}/dispatches (422 "No ref found for: x"). The pull
 * requests, merges and dispatches are the harness's (forge.fake.backend).
 */
class GitHubStandIn {
  readonly calls: GitHubCall[] = [];
  readonly comments: { issue: number; body: string }[] = [];
  /** Answers PUT merge with this instead (the classify table). */
  mergeAnswer: { status: number; body?: unknown } | undefined;
  apiUrl = '';
  private readonly server: Server;

  private constructor(forge: GiteaContractServer) {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const body: unknown = raw === '' ? undefined : JSON.parse(raw);
        void this.answer(forge, req, body).then((a) => {
          this.calls.push({
            method: req.method ?? '',
            path: new URL(req.url ?? '/', 'http://x').pathname,
            body,
            status: a.status
          });
          res.writeHead(
            a.status,
            a.body === undefined ? {} : { 'content-type': 'application/json' }
          );
          res.end(a.body === undefined ? '' : JSON.stringify(a.body));
        });
      });
    });
  }

  static async start(forge: GiteaContractServer): Promise<GitHubStandIn> {
    const s = new GitHubStandIn(forge);
    s.apiUrl = `http://127.0.0.1:${await listenLocal(s.server)}`;
    return s;
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private async answer(
    forge: GiteaContractServer,
    req: IncomingMessage,
    body: unknown
  ): Promise<{ status: number; body?: unknown }> {
    const backend = forge.fake.backend!;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const token = (req.headers.authorization ?? '').replace(/^token /, '');
    if (token !== BOT_TOKEN) return { status: 401, body: { message: 'Bad credentials' } };
    const caller = { credential: 'user' as const, token };
    const notFound = { status: 404, body: { message: 'Not Found' } };
    let m = /^\/repos\/acme\/service\/pulls\/(\d+)$/.exec(path);
    if (m && req.method === 'GET') {
      const pr = await backend.pull(Number(m[1]));
      return pr ? { status: 200, body: pullJson(pr) } : notFound;
    }
    m = /^\/repos\/acme\/service\/pulls\/(\d+)\/merge$/.exec(path);
    if (m && req.method === 'PUT') {
      if (this.mergeAnswer) return this.mergeAnswer;
      const index = Number(m[1]);
      const b = body as { sha?: string; merge_method?: string; commit_title?: string };
      const pr = await backend.pull(index);
      if (!pr) return notFound;
      const notMergeable = { status: 405, body: { message: 'Pull Request is not mergeable' } };
      if (pr.state !== 'open' || !(await backend.mergeable(index))) return notMergeable;
      if (b.sha !== undefined && b.sha !== pr.headSha)
        return {
          status: 409,
          body: { message: 'Head branch was modified. Review and try the merge again.' }
        };
      const style = b.merge_method ?? 'merge';
      if (!['merge', 'squash', 'rebase'].includes(style))
        return { status: 422, body: { message: 'Validation Failed' } };
      const out = await backend.merge({
        index,
        style: style as 'merge' | 'squash' | 'rebase',
        message: b.commit_title ?? `Merge pull request #${index}`,
        deleteBranch: false,
        caller
      });
      if (out.kind !== 'merged') return notMergeable;
      return {
        status: 200,
        body: { sha: out.sha, merged: true, message: 'Pull Request successfully merged' }
      };
    }
    m = /^\/repos\/acme\/service\/issues\/(\d+)\/comments$/.exec(path);
    if (m && req.method === 'POST') {
      const c = { issue: Number(m[1]), body: (body as { body: string }).body };
      this.comments.push(c);
      return { status: 201, body: { id: this.comments.length, body: c.body } };
    }
    m = /^\/repos\/acme\/service\/actions\/workflows\/([^/]+)\/dispatches$/.exec(path);
    if (m && req.method === 'POST') {
      const b = body as { ref: string; inputs: Record<string, string> };
      const out = await backend.dispatch({
        workflowId: decodeURIComponent(m[1]),
        ref: b.ref,
        inputs: b.inputs,
        caller
      });
      if (out.kind === 'no-ref')
        return { status: 422, body: { message: `No ref found for: ${b.ref}` } };
      if (out.kind === 'no-workflow') return notFound;
      if (out.kind === 'no-dispatch-trigger')
        return {
          status: 422,
          body: { message: "Workflow does not have 'workflow_dispatch' trigger" }
        };
      return { status: 204 };
    }
    return notFound;
  }
}

function pullJson(pr: FakePull): Record<string, unknown> {
  return {
    number: pr.number,
    state: pr.state,
    merged: pr.merged,
    merge_commit_sha: pr.merged ? (pr.mergeCommitSha ?? null) : null,
    head: { ref: pr.head, sha: pr.headSha },
    base: { ref: pr.base, sha: pr.baseSha }
  };
}

// ---- the world: origin with main and three task branches, PRs #1 (agent/a) and #2 (agent/b)

let template: TestRepo;
let forge: GiteaContractServer;
let github: GitHubStandIn | undefined;
let h: WorkflowHarness;
let root: string;
let work: string;
let origin: string;
let state: string;
/** The head the gates tested on agent/a (it contains main: the merge gate caught it up). */
let headA: string;

/** git in the bare origin / in the working clone of the current test. */
const og = (...args: string[]): string => git(origin, ...args).trim();
const wg = (...args: string[]): string => git(work, ...args).trim();

// The repository is made with git once; each test works on a copy of it.
beforeAll(() => {
  template = makeRepo();
  for (const b of ['a', 'b', 'c']) {
    template.git('checkout', '-q', '-b', `agent/${b}`, 'main');
    template.commit(`${b}.txt`, `${b}\n`);
  }
  template.git('checkout', '-q', 'main');
  template.git('push', '-q', 'origin', 'agent/a', 'agent/b', 'agent/c');
});
afterAll(cleanupTempDirs);

async function world(dialect: Dialect = 'gitea'): Promise<void> {
  forge = await GiteaContractServer.start({ userTokens: [BOT_TOKEN] });
  // GET pulls/{n} and merges without Gitea's patch check (a merge-tree each): no conflicts here.
  forge.fake.patchChecker = 'stale';
  root = tempDir('qg-land-');
  cpSync(template.root, root, { recursive: true });
  work = join(root, 'work');
  origin = join(root, 'origin.git');
  wg('remote', 'set-url', 'origin', origin);
  h = await WorkflowHarness.create({
    repo: { ...template, root, work, origin },
    forge,
    dialect,
    workflows: [{ name: 'quality-gates.yml', text: CALLER }]
  });
  github = dialect === 'github' ? await GitHubStandIn.start(forge) : undefined;
  state = join(root, 'state.sqlite');
  headA = og('rev-parse', 'agent/a');
  await h.openPullRequest('agent/a');
  await h.openPullRequest('agent/b');
}

/** Each test of the describe builds its world (world()); this closes it and checks the contract. */
function closesWorld(): void {
  afterEach(async () => {
    expect(forge.violations).toEqual([]);
    await github?.close();
    await forge.close();
  });
}

/** agent/a (PR #1) holds the lease since `heldFor` ms; agent/b (PR #2) waits behind it. */
function aHoldsBWaits(heldFor = 90_000): Date {
  const acquiredAt = new Date(Date.now() - heldFor);
  withStateDb(state, (db) => {
    tryAcquireLease(
      db,
      { repo: REPO, branch: 'agent/a', headSha: headA, runId: 'run-a', ttlMs: HOUR, prNumber: 1 },
      acquiredAt
    );
    markWaiting(db, REPO, 'agent/b', new Date(acquiredAt.getTime() + 1000), 2);
  });
  return acquiredAt;
}

/** A commit of its own on `branch` in origin (someone pushed). */
function pushed(branch: string, message: string): string {
  const sha = og('commit-tree', `${branch}^{tree}`, '-p', branch, '-m', message);
  og('update-ref', `refs/heads/${branch}`, sha);
  return sha;
}

/** A wake-up run of agent/a (PR #1) in `workspace`. */
function dispatchCtx(
  env: NodeJS.ProcessEnv,
  workspace: string
): RunContext & { logger: RecordingLogger } {
  return {
    env,
    workspace,
    repository: REPO,
    event: { name: 'workflow_dispatch', headRef: 'agent/a', prNumber: 1 },
    logger: new RecordingLogger(),
    now: () => new Date()
  };
}

function ctx(): RunContext & { logger: RecordingLogger } {
  return dispatchCtx(
    {
      PATH: process.env.PATH,
      HOME: root,
      GITHUB_API_URL: github?.apiUrl ?? forge.apiUrl,
      GITHUB_ACTOR: 'qg-bot'
    },
    work
  );
}

/** The land step's inputs, as the edge passes them. */
const inputs = (extra: Record<string, string> = {}) =>
  mapInputSource({
    'head-sha': headA,
    'state-backend': 'file',
    'state-path': state,
    token: BOT_TOKEN,
    ...extra
  });

async function runIt(extra: Record<string, string> = {}) {
  const c = ctx();
  return runLand(readLandConfig(inputs(extra), c), c, { backoffMs: 1 });
}

const lease = () => withStateDb(state, (db) => currentLease(db, REPO));
const counts = () => withStateDb(state, (db) => counters(db, REPO));
const queue = () =>
  withStateDb(state, (db) =>
    waitingBranches(db, REPO).map((w) => ({
      branch: w.branch,
      since: w.since,
      woken: w.wokenAt !== null
    }))
  );
/** PR #1 merged through the API at the tested head, as a first run of land would have. */
function mergeByApi(style: 'merge' | 'fast-forward-only') {
  const client = new ForgeClient({ apiUrl: forge.apiUrl, token: BOT_TOKEN });
  return mergePullRequest(client, { owner: 'acme', repo: 'service' }, 1, { style, headSha: headA });
}
const dispatches = () => forge.fake.dispatches.map((d) => [d.ref, d.inputs, d.status]);
const wokeB = ['agent/b', { branch: 'agent/b', 'pr-number': '2' }, 204];
const treeOf = (rev: string) => og('rev-parse', `${rev}^{tree}`);

describe('land: the holder lands', () => {
  closesWorld();

  // agent/a holds the lease, gated green at headA with 87.5% measured on its tree; agent/b waits.
  it('Gitea: merged pinned to the tested head, ratcheted from the gated measurement, released, the next woken', async () => {
    await world();
    const acquiredAt = aHoldsBWaits(90_000);
    withStateDb(state, (db) =>
      recordMeasurement(
        db,
        {
          repo: REPO,
          branch: 'agent/a',
          sha: headA,
          treeSha: treeOf(headA),
          percent: 87.5,
          format: 'lcov',
          files: [{ path: 'a.txt', covered: 7, total: 8 }]
        },
        acquiredAt
      )
    );
    const r = await runTool(land, inputs(), ctx());
    const main = og('rev-parse', 'main');
    expect(r.ok).toBe(true);
    expect(r.outputs).toEqual({
      landed: 'true',
      reason: '',
      'merge-sha': main,
      'lease-held-seconds': expect.stringMatching(/^\d+$/),
      woke: 'agent/b'
    });
    expect(Number(r.outputs['lease-held-seconds'])).toBeGreaterThanOrEqual(90);
    expect(Number(r.outputs['lease-held-seconds'])).toBeLessThan(120);
    expect(r.summary).toBe(
      `agent/a (PR #1) landed on main at ${main.slice(0, 12)} (merge); baseline bootstrapped: - -> 87.50%; lease released`
    );
    // The merge API, pinned to the tested head; main is a merge commit of the tested tree.
    expect(forge.calls('repoMergePullRequest').map((c) => c.body)).toEqual([
      {
        Do: 'merge',
        head_commit_id: headA,
        MergeTitleField: 'Merge agent/a (PR #1) gated by quality-gates'
      }
    ]);
    expect(forge.fake.merges).toEqual([
      expect.objectContaining({ index: 1, headCommitId: headA, status: 200, resultSha: main })
    ]);
    expect(og('rev-list', '--parents', '-n', '1', main).split(' ').slice(1)).toEqual([
      og('rev-parse', 'agent/a~1'),
      headA
    ]);
    expect(h.pull(1)).toMatchObject({ state: 'closed', merged: true, mergeCommitSha: main });
    // The store: ratchet on main from the tested tree's measurement, lease gone, counted.
    withStateDb(state, (db) => {
      expect(getBaseline(db, REPO, 'main')).toMatchObject({ percent: 87.5, sha: main });
      expect(latestMeasurement(db, REPO, 'main')).toMatchObject({
        sha: main,
        treeSha: treeOf(headA),
        percent: 87.5
      });
    });
    expect(lease()).toBeUndefined();
    expect(counts()).toEqual({ [LAND_COUNTER.landed]: 1, wake: 1 });
    // The next waiting branch, dispatched on its own ref; no comment on a landing.
    expect(dispatches()).toEqual([wokeB]);
    expect(queue()).toEqual([{ branch: 'agent/b', since: expect.any(String), woken: true }]);
    expect(forge.fake.comments).toEqual([]);
    expect(r.body).toContain('### Merge queue');
    expect(r.body).toContain('woke agent/b (PR #2)');
  });

  // The same landing (squash) with no coverage measurement recorded for the tested tree.
  it('no measurement of the tested tree: landed, baseline unchanged', async () => {
    await world();
    aHoldsBWaits();
    const r = await runIt({ style: 'squash' });
    const main = og('rev-parse', 'main');
    expect(r.outputs.landed).toBe('true');
    expect(r.summary).toBe(
      `agent/a (PR #1) landed on main at ${main.slice(0, 12)} (squash); no coverage measurement of the tested tree: baseline unchanged; lease released`
    );
    expect(og('rev-list', '--parents', '-n', '1', main).split(' ')).toHaveLength(2);
    expect(treeOf(main)).toBe(treeOf(headA));
    expect(withStateDb(state, (db) => getBaseline(db, REPO, 'main'))).toBeUndefined();
    expect(lease()).toBeUndefined();
    expect(counts()).toEqual({ landed: 1, wake: 1 });
  });

  // The same landing on GitHub's API shapes.
  it('GitHub: PUT merge with sha and merge_method; released and the next woken through the same API', async () => {
    await world('github');
    aHoldsBWaits();
    const r = await runIt();
    const main = og('rev-parse', 'main');
    expect(r.outputs).toMatchObject({ landed: 'true', 'merge-sha': main, woke: 'agent/b' });
    expect(github!.calls.map((c) => [c.method, c.path, c.status])).toEqual([
      ['PUT', '/repos/acme/service/pulls/1/merge', 200],
      ['GET', '/repos/acme/service/pulls/2', 200],
      ['POST', '/repos/acme/service/actions/workflows/quality-gates.yml/dispatches', 204]
    ]);
    expect(github!.calls[0].body).toEqual({
      sha: headA,
      merge_method: 'merge',
      commit_title: 'Merge agent/a (PR #1) gated by quality-gates'
    });
    expect(github!.calls[2].body).toEqual({
      ref: 'agent/b',
      inputs: { branch: 'agent/b', 'pr-number': '2' }
    });
    expect(h.queuedDispatches().map((d) => d.ref)).toEqual(['refs/heads/agent/b']);
    expect(lease()).toBeUndefined();
    expect(counts()).toEqual({ landed: 1, wake: 1 });
    expect(forge.requests).toEqual([]);
  });

  // land runs again after a first run whose merge went through but which died before releasing.
  it('a repeated run that finds the pull request merged at the tested head counts it landed', async () => {
    await world();
    aHoldsBWaits();
    // The first run's merge went through (main is now a merge commit), then the run died before it released.
    expect(await mergeByApi('merge')).toEqual({ merged: true });
    const r = await runIt();
    const main = og('rev-parse', 'main');
    // main moved by that very merge: the PR, merged at the tested head, says so; nothing is merged again.
    expect(r.outputs).toMatchObject({ landed: 'true', reason: '', 'merge-sha': main });
    expect(forge.fake.merges.map((m) => [m.status, m.message ?? ''])).toEqual([[200, '']]);
    expect(lease()).toBeUndefined();
    expect(counts()).toEqual({ landed: 1, wake: 1 });
    expect(forge.fake.comments).toEqual([]);
  });

  // The same repeat with fast-forward-only, where main becomes the tested head itself.
  it('fast-forward-only, repeated after its merge went through: landed (main is the tested head)', async () => {
    await world();
    aHoldsBWaits();
    expect(await mergeByApi('fast-forward-only')).toEqual({ merged: true });
    expect(og('rev-parse', 'main')).toBe(headA);
    const r = await runIt({ style: 'fast-forward-only' });
    expect(r.outputs).toMatchObject({ landed: 'true', reason: '', 'merge-sha': headA });
    expect(forge.fake.merges.map((m) => m.status)).toEqual([200, 405]);
    expect(lease()).toBeUndefined();
    expect(counts()).toEqual({ landed: 1, wake: 1 });
  });
});

describe('land: refused before the forge is asked', () => {
  closesWorld();

  // agent/b holds the lease; agent/a's land runs anyway.
  it('not the holder: refused not-holder, nothing merged, the holder keeps the lease, nobody woken', async () => {
    await world();
    withStateDb(state, (db) =>
      tryAcquireLease(
        db,
        {
          repo: REPO,
          branch: 'agent/b',
          headSha: og('rev-parse', 'agent/b'),
          runId: 'run-b',
          ttlMs: HOUR,
          prNumber: 2
        },
        new Date()
      )
    );
    const r = await runIt();
    expect(r.ok).toBe(false);
    expect(r.outputs).toEqual({ landed: 'false', reason: 'not-holder', 'merge-sha': '' });
    expect(r.summary).toBe(
      'agent/a not landed: agent/a does not hold the merge lease (held by agent/b (PR #2)); only the holder lands'
    );
    expect(forge.fake.merges).toEqual([]);
    expect(forge.fake.comments).toEqual([]);
    expect(forge.fake.dispatches).toEqual([]);
    expect(lease()?.branch).toBe('agent/b');
    expect(counts()).toEqual({ 'land-refused:not-holder': 1 });
  });

  // agent/a's lease ran out before its land job (nobody reclaimed it).
  it('its own lease expired: not-holder too', async () => {
    await world();
    withStateDb(state, (db) =>
      tryAcquireLease(
        db,
        { repo: REPO, branch: 'agent/a', headSha: headA, runId: 'run-a', ttlMs: 1000, prNumber: 1 },
        new Date(Date.now() - 60_000)
      )
    );
    const r = await runIt();
    expect(r.outputs.reason).toBe('not-holder');
    expect(forge.fake.merges).toEqual([]);
  });

  // Someone pushed to main after the gates tested headA.
  it('main moved since the gates ran: base-moved, released, back in the queue at its old place and woken to be gated again', async () => {
    await world();
    const acquiredAt = aHoldsBWaits();
    const moved = pushed('main', 'someone pushed to main');
    const r = await runIt();
    expect(r.ok).toBe(false);
    expect(r.outputs).toEqual({ landed: 'false', reason: 'base-moved', 'merge-sha': '' });
    expect(r.summary).toBe(
      `agent/a not landed: main moved to ${moved.slice(0, 12)} after the gates tested ${headA.slice(0, 12)}; the branch is queued to be gated again`
    );
    expect(forge.fake.merges).toEqual([]);
    expect(forge.fake.comments).toEqual([]);
    expect(lease()).toBeUndefined();
    // Its place is the moment it took the lease: ahead of agent/b, who came later; so it is the one woken.
    expect(queue()).toEqual([
      { branch: 'agent/a', since: acquiredAt.toISOString(), woken: true },
      { branch: 'agent/b', since: expect.any(String), woken: false }
    ]);
    expect(dispatches()).toEqual([['agent/a', { branch: 'agent/a', 'pr-number': '1' }, 204]]);
    expect(counts()).toEqual({ 'land-refused:base-moved': 1, wake: 1 });
  });

  // As above, with agent/c waiting since before agent/a took the lease.
  it('main moved, and a branch waited since before it took the lease: that one is woken first', async () => {
    await world();
    const acquiredAt = aHoldsBWaits();
    withStateDb(state, (db) =>
      markWaiting(db, REPO, 'agent/c', new Date(acquiredAt.getTime() - 1000))
    );
    pushed('main', 'someone pushed to main');
    const r = await runIt();
    expect(r.outputs.reason).toBe('base-moved');
    expect(queue().map((w) => [w.branch, w.woken])).toEqual([
      ['agent/c', true],
      ['agent/a', false],
      ['agent/b', false]
    ]);
    expect(dispatches().map((d) => d[0])).toEqual(['agent/c']);
  });
});

describe('land: refused by the forge', () => {
  closesWorld();

  // The author pushed to agent/a after the gates tested headA.
  it('Gitea: the PR head moved after the gates: head-moved, released, one-line comment, counted, the next woken', async () => {
    await world();
    aHoldsBWaits();
    const newHead = pushed('agent/a', 'a push after the gates ran');
    const r = await runIt();
    expect(r.ok).toBe(false);
    expect(r.outputs).toEqual({ landed: 'false', reason: 'head-moved', 'merge-sha': '' });
    expect(forge.fake.merges).toEqual([
      expect.objectContaining({
        headCommitId: headA,
        headSha: newHead,
        status: 409,
        message: 'head out of date'
      })
    ]);
    expect(og('rev-parse', 'main')).toBe(template.sha('main'));
    expect(forge.fake.comments.map((c) => [c.issue, c.body])).toEqual([
      [1, expect.stringMatching(/^quality-gates: not landed: .*head out of date/)]
    ]);
    expect(forge.fake.comments[0].body).not.toContain('\n');
    expect(lease()).toBeUndefined();
    // Not queued again: its new head starts a run of its own.
    expect(queue().map((w) => [w.branch, w.woken])).toEqual([['agent/b', true]]);
    expect(dispatches()).toEqual([wokeB]);
    expect(counts()).toEqual({ 'land-refused:head-moved': 1, wake: 1 });
  });

  // The same push, on GitHub's API shapes.
  it('GitHub: the PR head moved: 409 Head branch was modified is head-moved, comment through the issues API', async () => {
    await world('github');
    aHoldsBWaits();
    pushed('agent/a', 'a push after the gates ran');
    const r = await runIt();
    expect(r.outputs.reason).toBe('head-moved');
    expect(github!.calls.map((c) => [c.method, c.path, c.status])).toEqual([
      ['PUT', '/repos/acme/service/pulls/1/merge', 409],
      ['GET', '/repos/acme/service/pulls/1', 200],
      ['POST', '/repos/acme/service/issues/1/comments', 201],
      ['GET', '/repos/acme/service/pulls/2', 200],
      ['POST', '/repos/acme/service/actions/workflows/quality-gates.yml/dispatches', 204]
    ]);
    expect(github!.comments).toEqual([
      {
        issue: 1,
        body: expect.stringMatching(/^quality-gates: not landed: .*Head branch was modified/)
      }
    ]);
    expect(lease()).toBeUndefined();
    expect(counts()).toEqual({ 'land-refused:head-moved': 1, wake: 1 });
  });

  // Gitea refuses the merge: required status checks not green (a branch protection rule).
  it('Gitea: a protection rule (required status checks) is not-allowed, not a permission problem', async () => {
    await world();
    aHoldsBWaits();
    forge.fake.refuseMerge = () => ({
      status: 405,
      message: 'not allowed to merge [reason: Not all required status checks successful]'
    });
    const r = await runIt();
    expect(forge.fake.merges.map((m) => m.status)).toEqual([405]);
    expect(lease()).toBeUndefined();
    // Gitea's protection refusal ("not allowed to merge [reason: ...]") is not a permission problem.
    expect(r.outputs.reason).toBe('not-allowed');
  });

  // The pull request was closed between the gates and the land job.
  it('Gitea: the PR was closed after the gates (404): closed, released, commented, the next woken', async () => {
    await world();
    aHoldsBWaits();
    await h.closed(h.pull(1));
    const r = await runIt();
    expect(r.outputs).toEqual({ landed: 'false', reason: 'closed', 'merge-sha': '' });
    expect(forge.fake.merges.map((m) => m.status)).toEqual([404]);
    expect(forge.fake.comments.map((c) => c.issue)).toEqual([1]);
    expect(lease()).toBeUndefined();
    expect(dispatches()).toEqual([wokeB]);
    expect(counts()).toEqual({ 'land-refused:closed': 1, wake: 1 });
  });

  // The merge API answers 502: nobody knows whether it merged; the PR says it did not.
  it('a 5xx from the merge (outcome unknown): not retried, the PR read back (not merged), so the lease is released, the PR told and the next branch woken', async () => {
    await world();
    aHoldsBWaits();
    forge.fail('repoMergePullRequest', { status: 502, body: { message: 'bad gateway' } });
    const r = await runTool(land, inputs(), ctx());
    expect(r.ok).toBe(false);
    expect(r.summary).toMatch(
      /^agent\/a not landed: the forge did not answer the merge: 502 from POST \S+\/pulls\/1\/merge/
    );
    expect(r.outputs).toMatchObject({ landed: 'false', reason: 'other' });
    // Not retried (a merge is not idempotent).
    expect(forge.calls('repoMergePullRequest')).toHaveLength(1);
    expect(lease()).toBeUndefined();
    expect(forge.fake.comments.map((c) => c.issue)).toEqual([1]);
    expect(dispatches()).toEqual([wokeB]);
    expect(counts()).toEqual({ 'land-refused:other': 1, wake: 1 });
  });
});

describe('land: configuration', () => {
  // No forge, repository or git needed: refused before anything is read or written.
  const c = (env: NodeJS.ProcessEnv): RunContext =>
    dispatchCtx({ PATH: process.env.PATH, ...env }, tempDir('qg-land-cfg-'));
  const raw = (extra: Record<string, string> = {}) =>
    mapInputSource({
      'head-sha': 'a'.repeat(40),
      'state-path': 'state.sqlite',
      token: BOT_TOKEN,
      ...extra
    });

  // Each row: inputs or environment that cannot land anything.
  it.each([
    [
      'no token',
      { token: '' },
      { GITHUB_API_URL: 'https://gitea.example/api/v1' },
      /^configuration error: input 'token': expected a forge to merge through/
    ],
    [
      'no GITHUB_API_URL',
      {},
      {},
      /^configuration error: input 'GITHUB_API_URL': expected a forge to merge through/
    ],
    [
      'a style GitHub lacks',
      { style: 'fast-forward-only' },
      { GITHUB_API_URL: 'https://api.github.com' },
      /^configuration error: input 'style': expected a merge style github offers \(merge, rebase, squash\)/
    ],
    [
      'a head that is not a full commit id',
      { 'head-sha': 'main' },
      { GITHUB_API_URL: 'https://gitea.example/api/v1' },
      /^configuration error: input 'head-sha': /
    ],
    [
      'no pull request number',
      {},
      { GITHUB_API_URL: 'https://gitea.example/api/v1' },
      /^configuration error: input 'pr-number': /
    ]
  ] as [string, Record<string, string>, NodeJS.ProcessEnv, RegExp][])(
    '%s: one configuration line',
    async (name, extra, env, line) => {
      const ctx0 = c(env);
      if (name === 'no pull request number')
        ctx0.event = { name: 'workflow_dispatch', headRef: 'agent/a' };
      const r = await runTool(land, raw(extra), ctx0);
      expect(r.ok).toBe(false);
      expect(r.summary).toMatch(line);
    }
  );
});

describe('classify: the forges’ refusals as land reasons', () => {
  // Each answer goes through the real client, as runLand sees it (status and the client's one line).
  const GITEA: [string, number, unknown, RefusalReason][] = [
    [
      '405 Please try again later (conflict seen by the patch checker)',
      405,
      { message: 'Please try again later' },
      'conflict'
    ],
    [
      '405 User not allowed to merge PR',
      405,
      { message: 'User not allowed to merge PR' },
      'permission'
    ],
    [
      '405 Work in progress PRs cannot be merged',
      405,
      { message: 'Work in progress PRs cannot be merged' },
      'not-allowed'
    ],
    [
      '405 style not allowed',
      405,
      { message: 'squash is not allowed an allowed merge style for this repository' },
      'not-allowed'
    ],
    ['405 empty message (already merged)', 405, { message: '' }, 'not-allowed'],
    ['409 head out of date', 409, { message: 'head out of date' }, 'head-moved'],
    ['409 merge push out of date', 409, { message: 'merge push out of date' }, 'base-moved'],
    [
      '409 conflict (Gitea’s ErrMergeConflicts JSON, no message)',
      409,
      { Style: 'merge', StdOut: 'CONFLICT (content)', StdErr: '', Err: {} },
      'conflict'
    ],
    ['409 {} (no message)', 409, {}, 'conflict'],
    [
      '404 closed or missing PR',
      404,
      { message: "The target couldn't be found.", errors: [] },
      'closed'
    ],
    ['403 no write access', 403, { message: 'user does not have permission' }, 'permission'],
    // Gitea's protection refusals: not-allowed, not permission.
    [
      '405 required status checks (protection rule)',
      405,
      { message: 'not allowed to merge [reason: Not all required status checks successful]' },
      'not-allowed'
    ],
    [
      '405 not enough approvals (protection rule)',
      405,
      { message: 'not allowed to merge [reason: Does not have enough approvals]' },
      'not-allowed'
    ]
  ];
  const GITHUB: [string, number, unknown, RefusalReason][] = [
    [
      '405 Pull Request is not mergeable',
      405,
      { message: 'Pull Request is not mergeable' },
      'conflict'
    ],
    [
      '409 Head branch was modified',
      409,
      { message: 'Head branch was modified. Review and try the merge again.' },
      'head-moved'
    ],
    [
      '422 merge method not allowed',
      422,
      { message: 'Merge commits are not allowed on this repository.' },
      'not-allowed'
    ],
    [
      '403 resource not accessible',
      403,
      { message: 'Resource not accessible by integration' },
      'permission'
    ]
  ];

  let gitea: GiteaContractServer;
  let gh: GitHubStandIn;
  beforeAll(async () => {
    gitea = await GiteaContractServer.start();
    gh = await GitHubStandIn.start(gitea);
  });
  afterAll(async () => {
    expect(gitea.violations).toEqual([]);
    await gh.close();
    await gitea.close();
  });
  // One refusal per row, answered by the Gitea contract server.
  /** The reason land gives the refusal the client got, through the real client. */
  const refusedAs = async (apiUrl: string, token: string, status: number): Promise<string> => {
    const client = new ForgeClient({ apiUrl, token });
    const r = await mergePullRequest(client, { owner: 'acme', repo: 'service' }, 1, {
      style: 'merge',
      headSha: 'a'.repeat(40)
    });
    if (r.merged) throw new Error('merged');
    expect(r.status).toBe(status);
    return classify(r.status, r.said);
  };
  it.each(GITEA)('Gitea %s', async (_name, status, body, expected) => {
    gitea.fail('repoMergePullRequest', { status, body });
    expect(await refusedAs(gitea.apiUrl, gitea.token, status)).toBe(expected);
    const message = (body as { message?: string } | undefined)?.message;
    if (message) expect(classify(status, message)).toBe(expected);
  });

  // One refusal per row, answered by the GitHub-shaped stand-in.
  it.each(GITHUB)('GitHub %s', async (_name, status, body, expected) => {
    gh.mergeAnswer = { status, body };
    expect(await refusedAs(gh.apiUrl, BOT_TOKEN, status)).toBe(expected);
  });

  // A 409 of another repository: its name is in the client's one line, not in what the forge said.
  it.each([
    ['acme/push-service', 409, {}, 'conflict'],
    ['acme/headless-cms', 409, {}, 'conflict'],
    ['acme/headless-cms', 409, { message: 'merge push out of date' }, 'base-moved']
  ] as [string, number, unknown, RefusalReason][])(
    'the repository name (%s) does not change the reason of a %i %j: %s',
    async (full, status, body, expected) => {
      const [owner, repo] = full.split('/');
      gitea.fail('repoMergePullRequest', { status, body });
      const client = new ForgeClient({ apiUrl: gitea.apiUrl, token: gitea.token });
      const r = await mergePullRequest(client, { owner, repo }, 1, {
        style: 'merge',
        headSha: 'a'.repeat(40)
      });
      if (r.merged) throw new Error('merged');
      expect(classify(r.status, r.said)).toBe(expected);
    }
  );
});
