// The companions a maintainer reaches for, on one repository and forge: a
// pull request closed without landing (quality-gates-closed.yml), STOP by
// dispatch and by the `stop` label (quality-gates-stop.yml), the baseline
// workflow by dispatch (quality-gates-baseline.yml).
import {
  branch,
  cancelledEverywhere,
  gitRefState,
  openAndGate,
  originRefs,
  sharedWorld,
  expectCleanForge
} from './scenario.ts';

import { jest } from '@jest/globals';

jest.setTimeout(120_000);

const w = sharedWorld();

describe('closing, stopping, the baseline', () => {
  it('C is closed without landing: the closed workflow releases the lease C held', async () => {
    const main = originRefs(w.repo)['refs/heads/main'];
    const { pr: c, run } = await openAndGate(
      w,
      'agent/c',
      { 'src/c.js': 'module.exports = "c";\n' },
      true
    );
    expect(run.conclusion).toBe('success');
    expect(gitRefState(w)?.lease?.branch).toBe('agent/c');
    const runs = await w.h.closed(c);
    expect(runs.map((r) => r.workflow)).toEqual(['.gitea/workflows/quality-gates-closed.yml']);
    expect(runs[0].job('release-lease').steps[1].outputs.outcome).toBe('released');
    expect(gitRefState(w)?.lease).toBeUndefined();
    expect(originRefs(w.repo)['refs/heads/main']).not.toBe(main);
    expect(originRefs(w.repo)['refs/heads/agent/c']).toBe(run.job('gates').outputs['new-head']);
  });

  it('STOP by dispatch: the lease is released, the branch deleted on origin, its statuses cancelled, the state says so', async () => {
    const { run } = await openAndGate(w, 'agent/d', { 'src/d.js': 'module.exports = "d";\n' });
    const dHead = run.job('gates').outputs['new-head'];
    expect(gitRefState(w)?.lease?.branch).toBe('agent/d');
    const stop = await w.h.dispatch('quality-gates-stop.yml', {
      branch: 'agent/d',
      reason: 'abandoned'
    });
    expect(stop.results()).toEqual({ stop: 'success' });
    expect(originRefs(w.repo)['refs/heads/agent/d']).toBeUndefined();
    cancelledEverywhere(w.forge, dHead);
    const state = gitRefState(w)!;
    expect(state.lease).toBeUndefined();
    expect(state.branch('agent/d')).toMatchObject({ state: 'cancelled', reason: 'abandoned' });
  });

  it('STOP by the label `stop` (Gitea label_updated, no `label` in the payload): the branch is stopped the same way', async () => {
    const head = branch(w.repo, 'agent/e', { 'src/e.js': 'module.exports = "e";\n' });
    const e = await w.h.openPullRequest('agent/e');
    const runs = await w.h.labeled(e, 'stop');
    expect(runs.map((r) => r.workflow)).toEqual(['.gitea/workflows/quality-gates-stop.yml']);
    expect(runs[0].results()).toEqual({ stop: 'success' });
    expect(originRefs(w.repo)['refs/heads/agent/e']).toBeUndefined();
    cancelledEverywhere(w.forge, head);
    expect(gitRefState(w)?.branch('agent/e')).toMatchObject({
      state: 'cancelled',
      reason: 'stop label'
    });
  });

  it('the baseline workflow by dispatch: show, set with a reason, reset', async () => {
    const show = await w.h.dispatch('quality-gates-baseline.yml', {});
    expect(show.conclusion).toBe('success');
    expect(show.job('baseline').steps[1].outputs.baseline).toBe('');
    const set = await w.h.dispatch('quality-gates-baseline.yml', {
      operation: 'set',
      value: '85',
      reason: 'raise the bar'
    });
    expect(set.job('baseline').steps[1].outputs).toMatchObject({ baseline: '85.00' });
    expect(gitRefState(w)?.baseline('main')).toMatchObject({
      percent: 85,
      reason: 'raise the bar',
      updatedBy: 'maintainer'
    });
    const again = await w.h.dispatch('quality-gates-baseline.yml', {});
    expect(again.job('baseline').steps[1].outputs.baseline).toBe('85.00');
    const reset = await w.h.dispatch('quality-gates-baseline.yml', {
      operation: 'reset',
      reason: 'start over'
    });
    expect(reset.job('baseline').steps[1].outputs).toMatchObject({
      baseline: '',
      previous: '85.00'
    });
    expect(gitRefState(w)?.baseline('main')).toBeUndefined();
  });

  it('every forge call and push a job made is covered by the permissions it declares; the forge saw no contract violation', () => {
    expect(w.h.runs.length).toBe(9);
    expectCleanForge(w);
  });
});
