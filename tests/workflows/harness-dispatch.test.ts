// The harness's dispatch queue, on small workflows written here: a
// workflow_dispatch a job makes through the API is a run waiting on the
// forge, run by drain() after the run that made it (a capacity-1 runner),
// in arrival order; a dispatch loop is stopped; a merge through the API
// with the job token closes the PR and starts nothing.
import { GiteaContractServer } from '../helpers/gitea-contract-server.ts';
import { makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';
import {
  HarnessError,
  WorkflowHarness,
  type InstallSpec
} from '../helpers/workflow-harness/index.ts';
import { jest } from '@jest/globals';

jest.setTimeout(60_000);

/** A step that POSTs `body` to `path` of the repository's API with the job token and wants `status`. */
function call(path: string, body: string, status: number): string {
  return `code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST \\
            -H "Authorization: token $GITHUB_TOKEN" -H 'Content-Type: application/json' \\
            -d '${body}' "$GITHUB_API_URL/repos/$GITHUB_REPOSITORY${path}")
          test "$code" = ${status}`;
}

const dispatchB = (n: string) =>
  call('/actions/workflows/b.yml/dispatches', `{"ref":"main","inputs":{"n":"${n}"}}`, 204);

const WORKFLOWS: InstallSpec[] = [
  {
    name: 'a.yml',
    text: `
name: a
on: workflow_dispatch
jobs:
  wake:
    runs-on: ubuntu-latest
    steps:
      - run: |
          ${dispatchB('1')}
      - run: |
          ${dispatchB('2')}
`
  },
  {
    name: 'b.yml',
    text: `
name: b
on:
  workflow_dispatch:
    inputs:
      n:
        required: true
jobs:
  seen:
    runs-on: ubuntu-latest
    steps:
      - id: s
        run: echo "n=\${{ inputs.n }} \${{ github.event_name }} \${{ github.actor }}" >> "$GITHUB_OUTPUT"
`
  },
  {
    name: 'loop.yml',
    text: `
name: loop
on: workflow_dispatch
jobs:
  again:
    runs-on: ubuntu-latest
    steps:
      - run: |
          ${call('/actions/workflows/loop.yml/dispatches', '{"ref":"main"}', 204)}
`
  },
  {
    name: 'land.yml',
    text: `
name: land
on: workflow_dispatch
jobs:
  land:
    runs-on: ubuntu-latest
    steps:
      - run: |
          ${call('/pulls/1/merge', '{"Do":"merge"}', 200)}
`
  }
];

let forge: GiteaContractServer;
let repo: TestRepo;
beforeAll(async () => {
  forge = await GiteaContractServer.start();
  repo = makeRepo();
});
afterAll(async () => {
  expect(forge.violations).toEqual([]);
  await forge.close();
  cleanupTempDirs();
});

const harness = (autoDrain = false) =>
  WorkflowHarness.create({ repo, forge, workflows: WORKFLOWS, autoDrain });

describe('the dispatch queue', () => {
  it('a run’s dispatches wait until drain(), then run one by one in arrival order', async () => {
    const h = await harness();
    const a = await h.dispatch('a.yml', {});
    expect(a.conclusion).toBe('success');
    expect(h.runs).toEqual([a]);
    const queued = h.queuedDispatches();
    expect(queued.map((q) => [q.workflow, q.inputs])).toEqual([
      ['.gitea/workflows/b.yml', { n: '1' }],
      ['.gitea/workflows/b.yml', { n: '2' }]
    ]);
    const onForge = queued.map((q) => forge.fake.runs.find((r) => r.id === q.runId)!);
    expect(onForge.map((r) => r.state)).toEqual(['waiting', 'waiting']);
    const drained = await h.drain();
    expect(drained.map((r) => r.id)).toEqual(queued.map((q) => q.runId));
    expect(drained.map((r) => r.job('seen').steps[0].outputs.n)).toEqual([
      '1 workflow_dispatch gitea-actions',
      '2 workflow_dispatch gitea-actions'
    ]);
    expect(onForge.map((r) => r.state)).toEqual(['success', 'success']);
    expect(h.queuedDispatches()).toEqual([]);
    expect(h.runs).toEqual([a, ...drained]);
  });

  it('a workflow that keeps dispatching itself: drain stops at its bound', async () => {
    const h = await harness();
    await h.dispatch('loop.yml', {});
    await expect(h.drain({ max: 3 })).rejects.toThrow(HarnessError);
    expect(h.runs).toHaveLength(4);
    expect(h.queuedDispatches()).toHaveLength(1);
    await expect(h.drain({ max: 1 })).rejects.toThrow(/1 dispatched runs and 1 more queued/);
  });

  it('autoDrain: an event method drains after its own runs', async () => {
    const h = await harness(true);
    await h.dispatch('a.yml', {});
    expect(h.runs.map((r) => r.workflow)).toEqual([
      '.gitea/workflows/a.yml',
      '.gitea/workflows/b.yml',
      '.gitea/workflows/b.yml'
    ]);
    expect(h.queuedDispatches()).toEqual([]);
  });

  it('a merge through the API with the job token: the PR closed as merged, no run started', async () => {
    const h = await harness();
    repo.git('checkout', '-q', '-B', 'agent/x', 'origin/main');
    const head = repo.commit('x.txt', 'x\n');
    repo.git('push', '-q', 'origin', 'agent/x');
    const pr = await h.openPullRequest('agent/x');
    const land = await h.dispatch('land.yml', {});
    expect(land.conclusion).toBe('success');
    expect(pr).toMatchObject({ state: 'closed', merged: true, mergedBy: 'gitea-actions' });
    expect(repo.git('--git-dir', repo.origin, 'rev-parse', 'main^2').trim()).toBe(head);
    expect(pr.mergeCommitSha).toBe(repo.git('--git-dir', repo.origin, 'rev-parse', 'main').trim());
    expect(h.runs).toEqual([land]);
    expect(h.queuedDispatches()).toEqual([]);
  });
});
