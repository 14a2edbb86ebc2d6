// The merge queue moving by itself: ten pull requests opened at once on one
// repository (their runs at the same time: one takes the lease, nine get
// DEFER and stay queued), auto-land on, a test command that takes a while.
// The holder lands through the forge's merge API pinned to the tested
// head, ratchets, releases and dispatches the edge for the longest-waiting
// branch; the dispatched runs go through the runner one after another
// (drain) until nobody waits. One branch goes red in the middle: it is
// failed and skipped and the queue goes on. Nobody merges by hand; no PR is
// merged twice; every commit main passes through is green. Per-job tool
// caches and the default state (the git ref on origin). The actions use a
// bot account's token (secrets.QG_TOKEN), as the docs tell Gitea users to:
// Gitea starts no run for the job token's dispatch; the bot's merges then
// start the landed and closed workflows, which the drain runs too.
import { execFileSync } from 'node:child_process';
import type { PullRequest, RunResult } from '../helpers/workflow-harness/index.ts';
import { GiteaContractServer } from '../helpers/gitea-contract-server.ts';
import { adopted, branch, gitRefState, originRefs, STATE_KEY, worldPerTest } from './scenario.ts';

import { jest } from '@jest/globals';

jest.setTimeout(600_000);

const open = worldPerTest();
const N = 10;
const RED = 4; // agent/q04 is red: it carries `broken`
const TEST = 'sleep 1 && test ! -e broken';
const BOT_TOKEN = 'qgbot_' + '7'.repeat(34);

async function tenAtOnce(dialect: 'gitea' | 'github'): Promise<void> {
  const workflows = adopted(dialect, { 'auto-land': 'merge', 'test-command': TEST });
  const forge = await GiteaContractServer.start({ userTokens: [BOT_TOKEN] });
  const w = await open({
    dialect,
    forge,
    workflows,
    vars: {},
    secrets: { QG_STATE_KEY: STATE_KEY, QG_TOKEN: BOT_TOKEN }
  });
  const names = Array.from({ length: N }, (_, i) => `agent/q${String(i + 1).padStart(2, '0')}`);
  for (const [i, name] of names.entries())
    branch(w.repo, name, {
      [`src/q${i + 1}.js`]: `module.exports = ${i + 1};\n`,
      ...(i + 1 === RED ? { broken: 'yes\n' } : {})
    });
  const mainBefore = originRefs(w.repo)['refs/heads/main'];
  const prs: PullRequest[] = [];
  for (const name of names) prs.push(await w.h.openPullRequest(name));

  // All ten at once: one takes the lease and goes on, the others are deferred and queued.
  const first = (await Promise.all(prs.map((pr) => w.h.opened(pr)))).map((r) => r[0]);
  const mergeStatus = (r: RunResult) => r.job('gates').outputs['merge-status'];
  const gated = (r: RunResult): unknown => {
    const e = r.eventPayload() as {
      pull_request?: { number?: number };
      inputs?: Record<string, string>;
    };
    return e.pull_request?.number ?? e.inputs?.branch;
  };
  const red = prs[RED - 1];
  // Which run wins the lease is the machine's race: a green one lands (PASS); the red one
  // (it can win too, and on a loaded machine outlast the others' wait) FAILs. Nothing else.
  const decided = first.filter((r) => mergeStatus(r) !== 'DEFER');
  expect(decided.length).toBeGreaterThanOrEqual(1);
  for (const r of decided)
    if (mergeStatus(r) !== 'PASS') expect([mergeStatus(r), gated(r)]).toEqual(['FAIL', red.number]);
  const passedFirst = first.filter((r) => mergeStatus(r) === 'PASS');
  for (const r of first.filter((x) => mergeStatus(x) === 'DEFER')) {
    const merge = r.job('gates/merge');
    const summary = merge.steps.find((s) => s.id === 'gate')?.outputs.summary ?? '';
    expect(summary).toMatch(/queued \d+ of \d+: the edge runs again for it when the lock is free/);
  }

  // The queue moves by itself: the dispatched runs, one after another.
  const queued = await w.h.drain();
  const woken = queued.filter((r) => r.event === 'workflow_dispatch');
  const all = [...first, ...woken];
  expect(woken.length).toBeGreaterThanOrEqual(N - passedFirst.length - 1);
  for (const r of woken) expect(r.eventPayload()).toHaveProperty('inputs.branch');
  // Each wake-up ran on the waiting branch's own ref (its statuses on its PR, never on main).
  const sent = w.forge.fake.dispatches.filter((d) => d.status === 204);
  expect(sent.length).toBe(woken.length);
  for (const d of sent) expect(d.ref).toBe(d.inputs.branch);
  // No branch was gated again after it landed: a wake-up that comes late (a
  // dispatch two releases sent, or one whose answer was lost) ends SKIPPED
  // "already landed", never FAIL on a merged PR.
  const failedLanded = woken.filter((r) => {
    const b = (r.eventPayload() as { inputs: { branch: string } }).inputs.branch;
    return w.h.pull(prs.find((p) => p.head === b)!.number).merged && mergeStatus(r) === 'FAIL';
  });
  expect(failedLanded.map((r) => r.eventPayload().inputs)).toEqual([]);
  // The bot's merges started the landed and closed workflows, one each per landing.
  expect(queued.filter((r) => r.event === 'push')).toHaveLength(N - 1);

  // Every PR but the red one landed, each exactly once, through the API.
  const merges = w.forge.fake.merges.filter((m) => m.status === 200);
  const landed = merges.map((m) => m.index).sort((a, b) => a - b);
  const expected = prs.filter((_, i) => i + 1 !== RED).map((p) => p.number);
  expect(landed).toEqual(expected.sort((a, b) => a - b));
  expect(new Set(landed).size).toBe(landed.length);
  for (const m of merges) expect(m.style).toBe('merge');
  expect(w.h.pull(red.number).merged).toBe(false);
  const redRuns = all.filter((r) => gated(r) === red.number || gated(r) === red.head);
  expect(redRuns.some((r) => r.job('gates').outputs['merge-status'] === 'FAIL')).toBe(true);

  // main went green commit by commit: the test passes on every commit it passed through.
  const mainAfter = originRefs(w.repo)['refs/heads/main'];
  const chain = execFileSync('git', ['rev-list', '--first-parent', `${mainBefore}..${mainAfter}`], {
    cwd: w.repo.origin,
    encoding: 'utf8'
  })
    .trim()
    .split('\n');
  expect(chain).toHaveLength(N - 1);
  for (const sha of chain) {
    const broken = execFileSync('git', ['ls-tree', '--name-only', sha, 'broken'], {
      cwd: w.repo.origin,
      encoding: 'utf8'
    });
    expect(broken).toBe('');
  }

  // Nothing left behind: no lease, nobody waiting; counted.
  const state = gitRefState(w);
  expect(state?.lease).toBeUndefined();
  expect(state?.waiting ?? []).toEqual([]);
  expect(w.h.queuedDispatches()).toEqual([]);
  expect(w.forge.violations).toEqual([]);
}

it('gitea: ten PRs at once, auto-land, one red in the middle: nine land by themselves, none twice, main green throughout', async () => {
  await tenAtOnce('gitea');
});

it('github: the same on GitHub payload shapes and the GitHub copies of the workflows', async () => {
  await tenAtOnce('github');
});
