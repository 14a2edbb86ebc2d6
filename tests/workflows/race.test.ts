// Two pull requests racing for the merge lease across two runs at once:
// the lease, not the forge's concurrency setting (one group per branch),
// is what lets exactly one of them proceed. No state variables: the
// default (state-backend auto: the git ref on origin in a forge job) has to
// hold across jobs whose tool cache does not outlive them.
import { branch, gitRefState, mainMoves, race, worldPerTest } from './scenario.ts';

import { jest } from '@jest/globals';

jest.setTimeout(180_000);

const open = worldPerTest();

it('per-job tool caches (act_runner’s default), no state variables: exactly one proceeds', async () => {
  const w = await open({ vars: {} });
  await race(w);
});

it('one tool cache shared by every job (a persistent runner), no state variables: exactly one proceeds', async () => {
  const w = await open({ toolCache: 'shared', vars: {} });
  await race(w);
});

it('per-job tool caches, the state in the tool cache’s file (the default of earlier releases): refused in one line, nothing proceeds', async () => {
  const w = await open({ vars: { QG_STATE_BACKEND: 'file' } });
  branch(w.repo, 'agent/left', { 'src/left.js': 'module.exports = "l";\n' });
  mainMoves(w.repo);
  const left = await w.h.openPullRequest('agent/left');
  const [run] = await w.h.opened(left);
  expect(run.job('gates').outputs['merge-status']).toBe('FAIL');
  expect(run.results()).toMatchObject({ 'gates/merge': 'failure', 'gates/coverage': 'skipped' });
  const merge = run.job('gates/merge');
  const said = merge.steps.map((s) => `${s.outputs?.summary ?? ''}\n${s.stdout ?? ''}`).join('\n');
  expect(said).toMatch(/input 'state-path'.*RUNNER_TOOL_CACHE.*per job from act_runner v3\.2 on/);
  // Nothing was taken that a later job could not see: no state ref, the branch where it was.
  expect(gitRefState(w)).toBeUndefined();
});
