// The contract server's pull request and dispatch endpoints against a real
// bare origin, the workflow harness as their backend: every merge style
// checked in the commit graph, Gitea's refusals in Gitea's order, and a
// dispatch that creates a waiting run the harness then drains.
import { execFileSync } from 'node:child_process';
import { makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { GiteaContractServer } from '../helpers/gitea-contract-server.ts';
import { MERGE_REFUSALS, type MergeBody } from '../helpers/contract-fake-forge.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';
import { WorkflowHarness, type PullRequest } from '../helpers/workflow-harness/index.ts';
import { jest } from '@jest/globals';

jest.setTimeout(60_000);

const WAKE = `
name: wake
on:
  workflow_dispatch:
    inputs:
      reason:
        required: true
      depth:
        default: '3'
jobs:
  wake:
    runs-on: ubuntu-latest
    steps:
      - id: seen
        run: |
          echo "reason=\${{ inputs.reason }}" >> "$GITHUB_OUTPUT"
          echo "depth=\${{ inputs.depth }}" >> "$GITHUB_OUTPUT"
          echo "event=\${{ github.event_name }}" >> "$GITHUB_OUTPUT"
          echo "ref=$GITHUB_REF" >> "$GITHUB_OUTPUT"
          echo "sha=$GITHUB_SHA" >> "$GITHUB_OUTPUT"
          echo "actor=\${{ github.actor }}" >> "$GITHUB_OUTPUT"
`;

const PUSH_ONLY = `
name: push-only
on: push
jobs:
  p:
    runs-on: ubuntu-latest
    steps:
      - run: echo push
`;

let forge: GiteaContractServer;
let repo: TestRepo;
let h: WorkflowHarness;

beforeEach(async () => {
  forge = await GiteaContractServer.start();
  repo = makeRepo();
  repo.commitAll('base', { 'shared.txt': 'one\ntwo\nthree\n' });
  repo.git('push', '-q', 'origin', 'main');
  h = await WorkflowHarness.create({
    repo,
    forge,
    // This file tests the endpoints with the one token; who starts runs by
    // token (the contract: not the job token's dispatch on Gitea) is
    // harness-dispatch.test.ts's.
    jobTokenDispatchRuns: true,
    workflows: [
      { name: 'wake.yml', text: WAKE },
      { name: 'push-only.yml', text: PUSH_ONLY }
    ]
  });
});
afterEach(async () => {
  expect(forge.violations).toEqual([]);
  await forge.close();
});
afterAll(cleanupTempDirs);

/** git in the bare origin. */
function og(...args: string[]): string {
  return execFileSync('git', args, { cwd: repo.origin, encoding: 'utf8' }).trim();
}

/** A branch off origin's main with one commit per file set, pushed; returns its head. */
function branch(name: string, ...commits: Record<string, string>[]): string {
  repo.git('fetch', '-q', 'origin');
  repo.git('checkout', '-q', '-B', name, 'origin/main');
  let sha = '';
  for (const [i, files] of commits.entries()) sha = repo.commitAll(`${name} ${i + 1}`, files);
  repo.git('push', '-q', '-f', 'origin', name);
  repo.git('checkout', '-q', '--detach');
  return sha;
}

/** main moves on origin by a commit of its own. */
function mainMoves(files: Record<string, string> = { 'main.txt': 'moved\n' }): string {
  repo.git('fetch', '-q', 'origin');
  repo.git('checkout', '-q', '-B', 'main', 'origin/main');
  const sha = repo.commitAll('main moves', files);
  repo.git('push', '-q', 'origin', 'main');
  repo.git('checkout', '-q', '--detach');
  return sha;
}

async function api(
  method: string,
  path: string,
  body?: unknown
): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(`${forge.apiUrl}/repos/acme/service${path}`, {
    method,
    headers: {
      authorization: `token ${forge.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' })
    },
    body: body === undefined ? undefined : JSON.stringify(body)
  });
  const text = await res.text();
  return { status: res.status, text, body: text === '' ? undefined : JSON.parse(text) };
}

const merge = (pr: PullRequest | number, body: MergeBody) =>
  api('POST', `/pulls/${typeof pr === 'number' ? pr : pr.number}/merge`, body);

function parents(sha: string): string[] {
  return og('rev-list', '--parents', '-n', '1', sha).split(' ').slice(1);
}

function expectMergedPr(pr: PullRequest, sha: string): void {
  expect(pr).toMatchObject({ state: 'closed', merged: true, mergeCommitSha: sha });
  expect(pr.mergedBy).toBe('gitea-actions');
}

describe('POST pulls/{index}/merge: each style in the commit graph', () => {
  it('merge: a --no-ff merge commit of the old base and the head, main moved to it', async () => {
    const head = branch('agent/a', { 'a.txt': 'a\n' });
    const before = mainMoves();
    const pr = await h.openPullRequest('agent/a');
    const r = await merge(pr, { Do: 'merge' });
    expect(r).toMatchObject({ status: 200, text: '' });
    const sha = og('rev-parse', 'main');
    expect(parents(sha)).toEqual([before, head]);
    expect(og('log', '-1', '--format=%s%n%cn', sha)).toBe(
      "Merge pull request 'work on agent/a' (#1) from agent/a into main\ngitea-actions"
    );
    expectMergedPr(pr, sha);
    expect(pr.baseSha).toBe(before);
    expect(forge.fake.merges).toEqual([
      expect.objectContaining({
        index: 1,
        style: 'merge',
        headSha: head,
        resultSha: sha,
        status: 200,
        deleteBranch: false
      })
    ]);
    // Gitea leaves the head branch and refs/pull/1/head where they were.
    expect(og('rev-parse', 'agent/a')).toBe(head);
    expect(og('rev-parse', 'refs/pull/1/head')).toBe(head);
  });

  it('merge: MergeTitleField and MergeMessageField make the message', async () => {
    branch('agent/t', { 't.txt': 't\n' });
    const pr = await h.openPullRequest('agent/t');
    const r = await merge(pr, {
      Do: 'merge',
      MergeTitleField: 'land agent/t',
      MergeMessageField: 'queued by the merge queue'
    });
    expect(r.status).toBe(200);
    expect(og('log', '-1', '--format=%B', 'main')).toBe(
      'land agent/t\n\nqueued by the merge queue'
    );
  });

  it('squash: one commit on the old base with the combined tree, authored by the PR author', async () => {
    const head = branch('agent/s', { 's1.txt': '1\n' }, { 's2.txt': '2\n' });
    const before = mainMoves();
    const expectedTree = og('merge-tree', '--write-tree', before, head);
    const pr = await h.openPullRequest('agent/s');
    expect((await merge(pr, { Do: 'squash' })).status).toBe(200);
    const sha = og('rev-parse', 'main');
    expect(parents(sha)).toEqual([before]);
    expect(og('rev-parse', `${sha}^{tree}`)).toBe(expectedTree);
    expect(og('log', '-1', '--format=%s|%an|%cn', sha)).toBe(
      'work on agent/s (#1)|agent|gitea-actions'
    );
    expectMergedPr(pr, sha);
  });

  it('rebase: the head commits replayed onto the base, linear, main fast-forwarded to them', async () => {
    const head = branch('agent/r', { 'r1.txt': '1\n' }, { 'r2.txt': '2\n' });
    const before = mainMoves();
    const pr = await h.openPullRequest('agent/r');
    expect((await merge(pr, { Do: 'rebase' })).status).toBe(200);
    const sha = og('rev-parse', 'main');
    expect(og('rev-list', '--parents', `${before}..${sha}`).split('\n')).toEqual([
      `${sha} ${og('rev-parse', `${sha}~1`)}`,
      `${og('rev-parse', `${sha}~1`)} ${before}`
    ]);
    expect(og('log', '--format=%s|%an|%cn', `${before}..${sha}`)).toBe(
      'agent/r 2|Test Author|gitea-actions\nagent/r 1|Test Author|gitea-actions'
    );
    expect(og('rev-parse', `${sha}^{tree}`)).toBe(og('merge-tree', '--write-tree', before, head));
    expect(sha).not.toBe(head);
    expectMergedPr(pr, sha);
  });

  it('rebase-merge: rebased, then a --no-ff merge commit', async () => {
    branch('agent/rm', { 'rm.txt': '1\n' });
    const before = mainMoves();
    const pr = await h.openPullRequest('agent/rm');
    expect((await merge(pr, { Do: 'rebase-merge' })).status).toBe(200);
    const sha = og('rev-parse', 'main');
    const [first, second] = parents(sha);
    expect(first).toBe(before);
    expect(parents(second)).toEqual([before]);
    expect(og('log', '-1', '--format=%s', second)).toBe('agent/rm 1');
    expectMergedPr(pr, sha);
  });

  it('fast-forward-only: main moves to the head itself', async () => {
    const head = branch('agent/f', { 'f.txt': 'f\n' });
    const pr = await h.openPullRequest('agent/f');
    expect((await merge(pr, { Do: 'fast-forward-only' })).status).toBe(200);
    expect(og('rev-parse', 'main')).toBe(head);
    expectMergedPr(pr, head);
  });

  it('fast-forward-only on a diverged base: 409, nothing moves, the PR stays open', async () => {
    branch('agent/d', { 'd.txt': 'd\n' });
    const before = mainMoves();
    const pr = await h.openPullRequest('agent/d');
    const r = await merge(pr, { Do: 'fast-forward-only' });
    expect(r.status).toBe(409);
    expect((r.body as { message: string }).message).toMatch(/fast-forward-only merge not possible/);
    expect(og('rev-parse', 'main')).toBe(before);
    expect(pr).toMatchObject({ state: 'open', merged: false });
  });

  it('delete_branch_after_merge removes the head branch on origin', async () => {
    branch('agent/del', { 'del.txt': 'x\n' });
    const pr = await h.openPullRequest('agent/del');
    expect((await merge(pr, { Do: 'merge', delete_branch_after_merge: true })).status).toBe(200);
    expect(await h.originHas('refs/heads/agent/del')).toBe(false);
    expect(forge.fake.merges[0].deleteBranch).toBe(true);
  });

  it('an API merge with the job token starts no run; open PRs see the new base', async () => {
    branch('agent/one', { 'one.txt': '1\n' });
    branch('agent/two', { 'two.txt': '2\n' });
    const one = await h.openPullRequest('agent/one');
    const two = await h.openPullRequest('agent/two');
    expect((await merge(one, { Do: 'merge' })).status).toBe(200);
    expect(h.runs).toEqual([]);
    expect(h.queuedDispatches()).toEqual([]);
    expect(two.baseSha).toBe(og('rev-parse', 'main'));
  });
});

describe('POST pulls/{index}/merge: Gitea’s refusals', () => {
  it('head_commit_id not the PR head: 409 "head out of date"; the current head merges', async () => {
    const first = branch('agent/h', { 'h.txt': '1\n' });
    const pr = await h.openPullRequest('agent/h');
    repo.git('checkout', '-q', 'agent/h');
    const second = repo.commit('h.txt', '2\n');
    repo.git('push', '-q', 'origin', 'agent/h');
    repo.git('checkout', '-q', '--detach');
    const stale = await merge(pr, { Do: 'merge', head_commit_id: first });
    expect(stale).toMatchObject({ status: 409, body: { message: 'head out of date' } });
    expect(pr.headSha).toBe(second);
    expect((await merge(pr, { Do: 'merge', head_commit_id: second })).status).toBe(200);
    expect(forge.fake.merges.map((m) => [m.headCommitId, m.status])).toEqual([
      [first, 409],
      [second, 200]
    ]);
  });

  it('already merged: 405 with Gitea’s empty message', async () => {
    branch('agent/twice', { 'twice.txt': 'x\n' });
    const pr = await h.openPullRequest('agent/twice');
    expect((await merge(pr, { Do: 'merge' })).status).toBe(200);
    const main = og('rev-parse', 'main');
    expect(await merge(pr, { Do: 'merge' })).toMatchObject({ status: 405, body: { message: '' } });
    expect(og('rev-parse', 'main')).toBe(main);
  });

  it('no such PR and a closed PR: 404', async () => {
    expect((await merge(7, { Do: 'merge' })).status).toBe(404);
    branch('agent/c', { 'c.txt': 'c\n' });
    const pr = await h.openPullRequest('agent/c');
    await h.closed(pr);
    expect((await merge(pr, { Do: 'merge' })).status).toBe(404);
  });

  it('a style the repository does not allow: 405', async () => {
    branch('agent/st', { 'st.txt': 'x\n' });
    const pr = await h.openPullRequest('agent/st');
    forge.fake.mergeStyles = ['merge'];
    expect(await merge(pr, { Do: 'squash' })).toMatchObject({
      status: 405,
      body: { message: 'squash is not allowed an allowed merge style for this repository' }
    });
    expect(pr.merged).toBe(false);
  });

  it('refuseMerge stands for permissions and protection: its answer, nothing merged', async () => {
    const main = og('rev-parse', 'main');
    branch('agent/p', { 'p.txt': 'x\n' });
    const pr = await h.openPullRequest('agent/p');
    const seen: number[] = [];
    forge.fake.refuseMerge = (index) => {
      seen.push(index);
      return MERGE_REFUSALS.statusChecks;
    };
    expect(await merge(pr, { Do: 'merge' })).toMatchObject({
      status: 405,
      body: { message: 'not allowed to merge [reason: Not all required status checks successful]' }
    });
    expect(seen).toEqual([1]);
    expect(og('rev-parse', 'main')).toBe(main);
    expect(forge.fake.merges[0]).toMatchObject({ status: 405, message: expect.any(String) });
    forge.fake.refuseMerge = undefined;
    expect((await merge(pr, { Do: 'merge' })).status).toBe(200);
  });

  it('a conflict: 405 "Please try again later" once the patch checker saw it, 409 with Gitea’s conflict JSON before', async () => {
    branch('agent/x', { 'shared.txt': 'one\nTWO-x\nthree\n' });
    const before = mainMoves({ 'shared.txt': 'one\nTWO-main\nthree\n' });
    const pr = await h.openPullRequest('agent/x');
    const got = await api('GET', '/pulls/1');
    expect(got.body).toMatchObject({ mergeable: false, state: 'open' });
    expect(await merge(pr, { Do: 'merge' })).toMatchObject({
      status: 405,
      body: { message: 'Please try again later' }
    });
    forge.fake.patchChecker = 'stale';
    const r = await merge(pr, { Do: 'merge' });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ Style: 'merge', StdOut: expect.stringMatching(/CONFLICT/) });
    expect(r.body).not.toHaveProperty('message');
    const rb = await merge(pr, { Do: 'rebase' });
    expect(rb.status).toBe(409);
    expect(rb.body).toMatchObject({ Style: 'rebase', CommitSHA: pr.headSha });
    expect(og('rev-parse', 'main')).toBe(before);
    expect(pr.state).toBe('open');
  });

  it('two PRs merged at once: each lands, or the loser of the push race gets 409; main has every landed head', async () => {
    const heads = [branch('agent/l', { 'l.txt': 'l\n' }), branch('agent/m', { 'm.txt': 'm\n' })];
    const prs = [await h.openPullRequest('agent/l'), await h.openPullRequest('agent/m')];
    const answers = await Promise.all(prs.map((pr) => merge(pr, { Do: 'merge' })));
    expect(answers.some((a) => a.status === 200)).toBe(true);
    for (const [i, a] of answers.entries()) {
      if (a.status === 200) {
        expect(prs[i].merged).toBe(true);
        execFileSync('git', ['merge-base', '--is-ancestor', heads[i], 'main'], {
          cwd: repo.origin
        });
      } else {
        expect(a.status).toBe(409);
        expect((a.body as { message: string }).message).toMatch(
          /^(merge push out of date|PushRejected with remote message: .*cannot lock ref)/
        );
        expect(prs[i].state).toBe('open');
      }
    }
  });

  it('manually-merged: 405 unless allowed; then the commit must be on the base (409 {})', async () => {
    const head = branch('agent/mm', { 'mm.txt': 'x\n' });
    const pr = await h.openPullRequest('agent/mm');
    expect((await merge(pr, { Do: 'manually-merged', MergeCommitID: head })).status).toBe(405);
    forge.fake.mergeStyles.push('manually-merged');
    expect(await merge(pr, { Do: 'manually-merged', MergeCommitID: head })).toMatchObject({
      status: 409,
      body: {}
    });
    const main = og('rev-parse', 'main');
    expect((await merge(pr, { Do: 'manually-merged', MergeCommitID: main })).status).toBe(200);
    expect(pr).toMatchObject({ merged: true, mergeCommitSha: main });
  });
});

describe('GET pulls/{index} and GET pulls/{index}/merge', () => {
  it('the PR in Gitea’s shape, open then merged; /merge 404 then 204', async () => {
    const head = branch('agent/g', { 'g.txt': 'g\n' });
    const pr = await h.openPullRequest('agent/g', { title: 'add g' });
    expect((await api('GET', '/pulls/1/merge')).status).toBe(404);
    const open = await api('GET', '/pulls/1');
    expect(open.status).toBe(200);
    expect(open.body).toMatchObject({
      number: 1,
      title: 'add g',
      state: 'open',
      merged: false,
      mergeable: true,
      head: { ref: 'agent/g', sha: head, label: 'agent/g' },
      base: { ref: 'main', sha: pr.baseSha },
      html_url: `${forge.origin}/acme/service/pulls/1`,
      user: { login: 'agent' }
    });
    expect(open.body).not.toHaveProperty('merge_commit_sha');
    expect((await merge(pr, { Do: 'merge' })).status).toBe(200);
    const merged = await api('GET', '/pulls/1');
    expect(merged.body).toMatchObject({
      state: 'closed',
      merged: true,
      merge_commit_sha: og('rev-parse', 'main'),
      merged_by: { login: 'gitea-actions' },
      closed_at: expect.any(String),
      merged_at: expect.any(String)
    });
    expect(await api('GET', '/pulls/1/merge')).toMatchObject({ status: 204, text: '' });
    expect((await api('GET', '/pulls/9')).status).toBe(404);
    expect((await api('GET', '/pulls/9/merge')).status).toBe(404);
  });
});

describe('POST actions/workflows/{workflow_id}/dispatches', () => {
  it('204; a waiting run on the forge at the ref’s commit of that moment; drain runs it as workflow_dispatch', async () => {
    const at = og('rev-parse', 'main');
    const r = await api('POST', '/actions/workflows/wake.yml/dispatches', {
      ref: 'main',
      inputs: { reason: 'landed #1', bogus: 'x' }
    });
    expect(r).toMatchObject({ status: 204, text: '' });
    const [d] = forge.fake.dispatches;
    expect(d).toMatchObject({
      workflowId: 'wake.yml',
      ref: 'main',
      inputs: { reason: 'landed #1', bogus: 'x' },
      status: 204,
      ignoredInputs: ['bogus']
    });
    const waiting = forge.fake.runs.find((x) => x.id === d.runId)!;
    expect(waiting).toMatchObject({
      state: 'waiting',
      event: 'workflow_dispatch',
      branch: 'main',
      headSha: at,
      workflowId: 'wake.yml',
      ref: 'refs/heads/main'
    });
    const listed = await api('GET', '/actions/runs?event=workflow_dispatch');
    expect(listed.body).toMatchObject({
      total_count: 1,
      workflow_runs: [{ id: d.runId, status: 'queued', path: 'wake.yml@refs/heads/main' }]
    });
    expect(h.queuedDispatches()).toEqual([
      {
        workflow: '.gitea/workflows/wake.yml',
        ref: 'refs/heads/main',
        sha: at,
        inputs: { reason: 'landed #1', depth: '3' },
        runId: d.runId
      }
    ]);
    // main moves before the runner takes the run: it still runs the dispatched commit.
    mainMoves();
    const runs = await h.drain();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ id: d.runId, event: 'workflow_dispatch' });
    expect(runs[0].job('wake').steps[0].outputs).toEqual({
      reason: 'landed #1',
      depth: '3',
      event: 'workflow_dispatch',
      ref: 'refs/heads/main',
      sha: at,
      actor: 'gitea-actions'
    });
    expect(runs[0].eventPayload()).toMatchObject({
      workflow: 'wake.yml',
      ref: 'main',
      inputs: { reason: 'landed #1', depth: '3' },
      repository: { full_name: 'acme/service' },
      sender: { login: 'gitea-actions' }
    });
    expect(Object.keys(runs[0].eventPayload()).sort()).toEqual(
      ['inputs', 'ref', 'repository', 'sender', 'workflow'].sort()
    );
    expect(waiting.state).toBe('success');
    expect(h.queuedDispatches()).toEqual([]);
    expect(await h.drain()).toEqual([]);
  });

  it('a tag ref and a full branch ref resolve; unknown ref or workflow 404, no workflow_dispatch 422, empty ref 422', async () => {
    repo.git('tag', 'v1', 'main');
    repo.git('push', '-q', 'origin', 'v1');
    const send = (workflow: string, ref: string) =>
      api('POST', `/actions/workflows/${workflow}/dispatches`, { ref, inputs: { reason: 'r' } });
    expect((await send('wake.yml', 'refs/tags/v1')).status).toBe(204);
    expect((await send('wake.yml', 'refs/heads/main')).status).toBe(204);
    expect(await send('wake.yml', 'nope')).toMatchObject({
      status: 404,
      body: { message: 'ref "nope" doesn\'t exist' }
    });
    expect(await send('missing.yml', 'main')).toMatchObject({
      status: 404,
      body: { message: 'workflow "missing.yml" doesn\'t exist' }
    });
    expect((await send('push-only.yml', 'main')).status).toBe(422);
    expect(await send('wake.yml', '')).toMatchObject({
      status: 422,
      body: { message: 'ref is required parameter' }
    });
    forge.fake.refuseDispatch = () => ({ status: 403, message: 'workflow is disabled' });
    expect((await send('wake.yml', 'main')).status).toBe(403);
    expect(forge.fake.dispatches.map((d) => d.status)).toEqual([204, 204, 404, 404, 422, 422, 403]);
    expect(h.queuedDispatches().map((q) => q.ref)).toEqual(['refs/tags/v1', 'refs/heads/main']);
    const runs = await h.drain();
    expect(runs.map((x) => x.job('wake').steps[0].outputs.ref)).toEqual([
      'refs/tags/v1',
      'refs/heads/main'
    ]);
  });
});
