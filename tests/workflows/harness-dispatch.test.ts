// The harness's queue and who starts runs (the contract's rule,
// /work/shared/contracts/gitea-event-payloads.md "Who starts runs"), on
// small workflows written here and the companions: a workflow_dispatch a
// job makes through the API with a user's token (QG_TOKEN, a bot account's)
// is a run waiting on the forge, run by drain() after the run that made it
// (a capacity-1 runner), in arrival order; a dispatch loop is stopped; with
// the job token Gitea answers 204 and starts no run, GitHub starts one. A
// merge through the API with the job token closes the PR and starts
// nothing; with a user's token the push to main and the pull request
// closed start the workflows they trigger, queued in that order.
import { randomBytes } from 'node:crypto';
import { GiteaContractServer } from '../helpers/gitea-contract-server.ts';
import { makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';
import {
  HarnessError,
  WorkflowHarness,
  type InstallSpec,
  type PullRequest
} from '../helpers/workflow-harness/index.ts';
import { adopted, branch, serviceRepo, STATE_KEY } from './scenario.ts';
import { jest } from '@jest/globals';

jest.setTimeout(60_000);

/** The bot account's personal access token: a real user's token the forge accepts. */
const BOT_TOKEN = `qgbot_${randomBytes(16).toString('hex')}`;

/**
 * A step that POSTs `body` to `path` of the repository's API with the token
 * in the environment variable `token` (GITHUB_TOKEN: the job token;
 * QG_TOKEN: the bot's, from the secret) and wants `status`.
 */
function call(path: string, body: string, status: number, token = 'GITHUB_TOKEN'): string {
  return `code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST \\
            -H "Authorization: token $${token}" -H 'Content-Type: application/json' \\
            -d '${body}' "$GITHUB_API_URL/repos/$GITHUB_REPOSITORY${path}")
          test "$code" = ${status}`;
}

const dispatchB = (n: string, token = 'QG_TOKEN') =>
  call('/actions/workflows/b.yml/dispatches', `{"ref":"main","inputs":{"n":"${n}"}}`, 204, token);

/** Merges the pull request `inputs.pr` through the API, with the job token or the bot's. */
const landAs = (name: string, token: string): InstallSpec => ({
  name,
  text: `
name: ${name}
on:
  workflow_dispatch:
    inputs:
      pr:
        required: true
jobs:
  land:
    runs-on: ubuntu-latest
    env:
      QG_TOKEN: \${{ secrets.QG_TOKEN }}
    steps:
      - run: |
          ${call('/pulls/${{ inputs.pr }}/merge', '{"Do":"merge"}', 200, token)}
`
});

const WORKFLOWS: InstallSpec[] = [
  {
    name: 'a.yml',
    text: `
name: a
on: workflow_dispatch
jobs:
  wake:
    runs-on: ubuntu-latest
    env:
      QG_TOKEN: \${{ secrets.QG_TOKEN }}
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
    env:
      QG_TOKEN: \${{ secrets.QG_TOKEN }}
    steps:
      - run: |
          ${call('/actions/workflows/loop.yml/dispatches', '{"ref":"main"}', 204, 'QG_TOKEN')}
`
  },
  {
    name: 'job-wake.yml',
    text: `
name: job-wake
on: workflow_dispatch
jobs:
  wake:
    runs-on: ubuntu-latest
    steps:
      - run: |
          ${dispatchB('3', 'GITHUB_TOKEN')}
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
  forge = await GiteaContractServer.start({ userTokens: [BOT_TOKEN] });
  repo = makeRepo();
});
afterAll(async () => {
  expect(forge.violations).toEqual([]);
  await forge.close();
  cleanupTempDirs();
});

const harness = (opts: { autoDrain?: boolean; dialect?: 'gitea' | 'github' } = {}) =>
  WorkflowHarness.create({
    repo,
    forge,
    workflows: WORKFLOWS,
    secrets: { QG_TOKEN: BOT_TOKEN },
    ...opts
  });

/** The forge's record of the dispatches made since `from`. */
const dispatchesSince = (from: number) =>
  forge.fake.dispatches
    .slice(from)
    .map((d) => ({ workflowId: d.workflowId, credential: d.credential, startedRun: d.startedRun }));

describe('the dispatch queue', () => {
  it('a run’s dispatches wait until drain(), then run one by one in arrival order', async () => {
    const h = await harness();
    const from = forge.fake.dispatches.length;
    const a = await h.dispatch('a.yml', {});
    expect(a.conclusion).toBe('success');
    expect(h.runs).toEqual([a]);
    const queued = h.queuedDispatches();
    expect(queued.map((q) => [q.workflow, q.inputs])).toEqual([
      ['.gitea/workflows/b.yml', { n: '1' }],
      ['.gitea/workflows/b.yml', { n: '2' }]
    ]);
    expect(h.queuedRuns().map((q) => [q.event, q.actor, q.runId])).toEqual(
      queued.map((q) => ['workflow_dispatch', 'qg-bot', q.runId])
    );
    const onForge = queued.map((q) => forge.fake.runs.find((r) => r.id === q.runId)!);
    expect(onForge.map((r) => r.state)).toEqual(['waiting', 'waiting']);
    const drained = await h.drain();
    expect(drained.map((r) => r.id)).toEqual(queued.map((q) => q.runId));
    // The bot's dispatches: the bot is their sender and the runs' actor.
    expect(drained.map((r) => r.job('seen').steps[0].outputs.n)).toEqual([
      '1 workflow_dispatch qg-bot',
      '2 workflow_dispatch qg-bot'
    ]);
    expect(drained[0].eventPayload()).toMatchObject({ sender: { login: 'qg-bot' } });
    expect(onForge.map((r) => r.state)).toEqual(['success', 'success']);
    expect(h.queuedDispatches()).toEqual([]);
    expect(h.runs).toEqual([a, ...drained]);
    expect(dispatchesSince(from)).toEqual([
      { workflowId: 'b.yml', credential: 'user', startedRun: true },
      { workflowId: 'b.yml', credential: 'user', startedRun: true }
    ]);
    const sent = forge.calls('ActionsDispatchWorkflow').slice(from);
    expect(sent.map((r) => [r.credential, r.userToken, r.authorization])).toEqual([
      ['user', 0, 'token ***'],
      ['user', 0, 'token ***']
    ]);
    expect(JSON.stringify(forge.requests)).not.toContain(BOT_TOKEN);
  });

  it('a workflow that keeps dispatching itself: drain stops at its bound', async () => {
    const h = await harness();
    await h.dispatch('loop.yml', {});
    await expect(h.drain({ max: 3 })).rejects.toThrow(HarnessError);
    expect(h.runs).toHaveLength(4);
    expect(h.queuedDispatches()).toHaveLength(1);
    await expect(h.drain({ max: 1 })).rejects.toThrow(/1 queued runs and 1 more queued/);
  });

  it('autoDrain: an event method drains after its own runs', async () => {
    const h = await harness({ autoDrain: true });
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
    expect(h.queuedRuns()).toEqual([]);
    expect(forge.fake.merges.at(-1)).toMatchObject({ status: 200, credential: 'job' });
  });
});

describe('who starts runs: a dispatch by token and dialect', () => {
  it('Gitea, the job token: 204, no run created or queued; drain() runs nothing', async () => {
    const h = await harness();
    const from = forge.fake.dispatches.length;
    const runsBefore = forge.fake.runs.length;
    const wake = await h.dispatch('job-wake.yml', {});
    // The step wanted 204: the forge answered as it does for any dispatch.
    expect(wake.conclusion).toBe('success');
    expect(dispatchesSince(from)).toEqual([
      { workflowId: 'b.yml', credential: 'job', startedRun: false }
    ]);
    expect(forge.fake.dispatches.at(-1)).toMatchObject({ status: 204 });
    expect(forge.fake.dispatches.at(-1)).not.toHaveProperty('runId');
    expect(forge.calls('ActionsDispatchWorkflow').at(-1)).toMatchObject({
      credential: 'job',
      status: 204
    });
    expect(h.queuedDispatches()).toEqual([]);
    expect(h.queuedRuns()).toEqual([]);
    expect(h.droppedDispatches()).toEqual([
      {
        workflow: '.gitea/workflows/b.yml',
        ref: 'refs/heads/main',
        sha: await h.originSha('refs/heads/main'),
        inputs: { n: '3' }
      }
    ]);
    // Only the job-wake run itself reached the forge.
    expect(forge.fake.runs.slice(runsBefore).map((r) => r.workflowId)).toEqual(['job-wake.yml']);
    expect(await h.drain()).toEqual([]);
    expect(h.runs).toEqual([wake]);
  });

  it('Gitea with jobTokenDispatchRuns: the job token’s dispatch runs, the Actions user its actor', async () => {
    const h = await WorkflowHarness.create({
      repo,
      forge,
      workflows: WORKFLOWS,
      jobTokenDispatchRuns: true
    });
    await h.dispatch('job-wake.yml', {});
    expect(h.droppedDispatches()).toEqual([]);
    const [b] = await h.drain();
    expect(b.job('seen').steps[0].outputs.n).toBe('3 workflow_dispatch gitea-actions');
    expect(forge.fake.dispatches.at(-1)).toMatchObject({ credential: 'job', startedRun: true });
  });

  it('GitHub, the job token: a run (workflow_dispatch is the exception to GITHUB_TOKEN’s rule)', async () => {
    const h = await harness({ dialect: 'github' });
    const wake = await h.dispatch('job-wake.yml', {});
    expect(wake.conclusion).toBe('success');
    expect(h.droppedDispatches()).toEqual([]);
    expect(h.queuedDispatches().map((q) => [q.workflow, q.inputs])).toEqual([
      ['.github/workflows/b.yml', { n: '3' }]
    ]);
    const [b] = await h.drain();
    expect(b.job('seen').steps[0].outputs.n).toBe('3 workflow_dispatch github-actions[bot]');
    expect(forge.fake.dispatches.at(-1)).toMatchObject({ credential: 'job', startedRun: true });
  });

  it('GitHub, a user’s token: a run, the user its actor', async () => {
    const h = await harness({ dialect: 'github' });
    await h.dispatch('a.yml', {});
    const drained = await h.drain();
    expect(drained.map((r) => r.job('seen').steps[0].outputs.n)).toEqual([
      '1 workflow_dispatch qg-bot',
      '2 workflow_dispatch qg-bot'
    ]);
  });
});

describe('who starts runs: a merge through the API, with the companions installed', () => {
  // The service repository (its coverage report on main) with the companions
  // as an adopter installs them (scenario.ts), the bot's token as QG_TOKEN.
  let svc: TestRepo;
  let h: WorkflowHarness;
  beforeAll(async () => {
    svc = serviceRepo();
    h = await WorkflowHarness.create({
      repo: svc,
      forge,
      workflows: [
        ...adopted('gitea'),
        landAs('land-job.yml', 'GITHUB_TOKEN'),
        landAs('land-bot.yml', 'QG_TOKEN')
      ],
      vars: {},
      secrets: { QG_STATE_KEY: STATE_KEY, QG_TOKEN: BOT_TOKEN }
    });
  });
  const originSha = (ref: string) => h.originSha(ref);
  /** GET pulls/{n} as the bot sees it. */
  const getPull = async (n: number): Promise<unknown> => {
    const res = await fetch(`${forge.apiUrl}/repos/acme/service/pulls/${n}`, {
      headers: { authorization: `token ${BOT_TOKEN}` }
    });
    expect(res.status).toBe(200);
    return res.json();
  };

  it('with the job token: merged by the Actions user, nothing queued', async () => {
    branch(svc, 'agent/job', { 'src/job.js': 'module.exports = "job";\n' });
    const pr = await h.openPullRequest('agent/job');
    const land = await h.dispatch('land-job.yml', { pr: String(pr.number) });
    expect(land.conclusion).toBe('success');
    expect(pr).toMatchObject({ state: 'closed', merged: true, mergedBy: 'gitea-actions' });
    expect(forge.fake.merges.at(-1)).toMatchObject({ status: 200, credential: 'job' });
    expect(await getPull(pr.number)).toMatchObject({
      merged: true,
      merged_by: { login: 'gitea-actions', id: -2 }
    });
    expect(h.queuedRuns()).toEqual([]);
    expect(await h.drain()).toEqual([]);
    expect(h.runs).toEqual([land]);
  });

  it('with a user’s token: the push to main, then the pull request closed, queued; drain runs landed, then closed', async () => {
    branch(svc, 'agent/bot', { 'src/bot.js': 'module.exports = "bot";\n' });
    const pr: PullRequest = await h.openPullRequest('agent/bot');
    const before = await originSha('refs/heads/main');
    const ranBefore = h.runs.length;
    const land = await h.dispatch('land-bot.yml', { pr: String(pr.number) });
    expect(land.conclusion).toBe('success');
    const after = await originSha('refs/heads/main');
    expect(pr).toMatchObject({
      state: 'closed',
      merged: true,
      mergedBy: 'qg-bot',
      mergeCommitSha: after
    });
    expect(forge.fake.merges.at(-1)).toMatchObject({ status: 200, credential: 'user' });
    expect(await getPull(pr.number)).toMatchObject({
      merged: true,
      merge_commit_sha: after,
      merged_by: { login: 'qg-bot', id: 3 }
    });
    // The bot made the merge commit.
    expect(svc.git('--git-dir', svc.origin, 'log', '-1', '--format=%an %cn', after).trim()).toBe(
      'qg-bot qg-bot'
    );
    // Nothing ran yet: both runs wait on the forge, the push's first.
    expect(h.runs.slice(ranBefore)).toEqual([land]);
    const queued = h.queuedRuns();
    expect(queued).toEqual([
      {
        workflow: '.gitea/workflows/quality-gates-landed.yml',
        event: 'push',
        ref: 'refs/heads/main',
        sha: after,
        actor: 'qg-bot',
        runId: expect.any(Number)
      },
      {
        workflow: '.gitea/workflows/quality-gates-closed.yml',
        event: 'pull_request',
        action: 'closed',
        ref: `refs/pull/${pr.number}/head`,
        sha: pr.headSha,
        actor: 'qg-bot',
        runId: expect.any(Number)
      }
    ]);
    expect(h.queuedDispatches()).toEqual([]);
    const waiting = queued.map((q) => forge.fake.runs.find((r) => r.id === q.runId)!);
    expect(waiting.map((r) => [r.state, r.event, r.workflowId])).toEqual([
      ['waiting', 'push', 'quality-gates-landed.yml'],
      ['waiting', 'pull_request', 'quality-gates-closed.yml']
    ]);

    const [landed, closed, ...rest] = await h.drain();
    expect(rest).toEqual([]);
    expect([landed.id, closed.id]).toEqual(queued.map((q) => q.runId));
    expect([landed.workflow, closed.workflow]).toEqual(queued.map((q) => q.workflow));
    expect(landed.results()).toEqual({ ratchet: 'success' });
    expect(closed.results()).toEqual({ 'release-lease': 'success' });
    expect(waiting.map((r) => r.state)).toEqual(['success', 'success']);
    expect(landed.eventPayload()).toMatchObject({
      ref: 'refs/heads/main',
      before,
      after,
      pusher: { login: 'qg-bot' },
      sender: { login: 'qg-bot' }
    });
    expect((landed.eventPayload().commits as { id: string }[]).map((c) => c.id).at(-1)).toBe(after);
    expect(closed.eventPayload()).toMatchObject({
      action: 'closed',
      number: pr.number,
      pull_request: {
        state: 'closed',
        merged: true,
        merge_commit_sha: after,
        merged_by: { login: 'qg-bot' },
        head: { ref: 'agent/bot', sha: pr.headSha },
        base: { ref: 'main' }
      },
      sender: { login: 'qg-bot' }
    });
    expect(h.queuedRuns()).toEqual([]);
  });
});

describe('who starts runs: a user’s merge on GitHub, autoDrain', () => {
  it('the push and closed runs are drained after the run that merged', async () => {
    const ghRepo = makeRepo();
    const h = await WorkflowHarness.create({
      repo: ghRepo,
      forge,
      dialect: 'github',
      autoDrain: true,
      secrets: { QG_TOKEN: BOT_TOKEN },
      workflows: [
        landAs('land-bot.yml', 'QG_TOKEN'),
        {
          name: 'on-push.yml',
          text: `
name: on-push
on:
  push:
    branches: [main]
jobs:
  p:
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ github.event_name }} \${{ github.actor }}"
`
        },
        {
          name: 'on-closed.yml',
          text: `
name: on-closed
on:
  pull_request:
    types: [closed]
jobs:
  c:
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ github.event.action }} \${{ github.event.pull_request.merged }}"
`
        }
      ]
    });
    ghRepo.git('checkout', '-q', '-B', 'agent/gh', 'origin/main');
    ghRepo.commit('gh.txt', 'gh\n');
    ghRepo.git('push', '-q', 'origin', 'agent/gh');
    const pr = await h.openPullRequest('agent/gh');
    await h.dispatch('land-bot.yml', { pr: String(pr.number) });
    expect(h.runs.map((r) => [r.workflow, r.event, r.conclusion])).toEqual([
      ['.github/workflows/land-bot.yml', 'workflow_dispatch', 'success'],
      ['.github/workflows/on-push.yml', 'push', 'success'],
      ['.github/workflows/on-closed.yml', 'pull_request', 'success']
    ]);
    expect(h.runs[1].log()).toContain('push qg-bot');
    expect(h.runs[2].log()).toContain('closed true');
    expect(pr.mergedBy).toBe('qg-bot');
    expect(h.queuedRuns()).toEqual([]);
  });
});
