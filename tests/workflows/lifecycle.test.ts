// A pull request's life around the edge, on one repository and forge: a
// holder and a deferred branch, the landing (push to main:
// quality-gates-landed.yml; pull_request closed: quality-gates-closed.yml),
// the ratchet held against the next run. The steps run in order on shared
// state, as on a real forge. No state variables: the lease and the
// baseline live where the actions put them by default (state-backend
// auto: the git ref on origin in a forge job), across per-job tool caches.
import type { PullRequest } from '../helpers/workflow-harness/index.ts';
import {
  branch,
  edgeJobs,
  commentsOn,
  descriptionsOn,
  gitRefState,
  lcov,
  openAndGate,
  originRefs,
  statusesOn,
  sharedWorld,
  expectCleanForge
} from './scenario.ts';

import { jest } from '@jest/globals';

jest.setTimeout(120_000);

const w = sharedWorld({ vars: {} });

describe('around the edge', () => {
  let a: PullRequest;
  let aHead: string;
  let b: PullRequest;

  it('A passes and holds the lease', async () => {
    const r = await openAndGate(w, 'agent/a', { 'src/a.js': 'module.exports = "a";\n' }, true);
    a = r.pr;
    expect(r.run.conclusion).toBe('success');
    aHead = r.run.job('gates').outputs['new-head'];
    expect(gitRefState(w)?.lease?.branch).toBe('agent/a');
  });

  it('B is deferred while A holds the lease: the merge job fails with the DEFER line, the later gates do not run', async () => {
    const r = await openAndGate(w, 'agent/b', {
      'src/b.js': 'module.exports = "b";\n',
      'coverage.lcov': lcov(7)
    });
    b = r.pr;
    expect(r.run.results()).toEqual(edgeJobs({ security: 'success', merge: 'failure' }));
    expect(r.run.job('gates').outputs['merge-status']).toBe('DEFER');
    const merge = r.run.job('gates/merge');
    expect(merge.steps.map((s) => [s.id ?? s.name, s.outcome])).toEqual([
      ['actions/checkout@v4', 'success'],
      ['gate', 'success'],
      ['christopherhx/gitea-upload-artifact@v4', 'success'],
      ['Stop on DEFER (merge lock busy, not a code fault)', 'failure']
    ]);
    const [error] = r.run.annotations('error');
    expect(error.title).toBe('merge gate DEFER (not a code fault)');
    expect(error.message).toMatch(
      /^merge lock busy, held by agent\/a since .+; queued 1 of 1: the edge runs again for it when the lock is free \(quality-gates\.yml dispatched\)\. The later gates did not run\.$/
    );
    expect(statusesOn(w.forge, b.headSha)['quality-gates/security']).toBe('success');
    expect(descriptionsOn(w.forge, b.headSha)['quality-gates/merge']).toMatch(/DEFER/);
    expect(statusesOn(w.forge, b.headSha)['quality-gates/merge']).not.toBe('failure');
    expect(originRefs(w.repo)['refs/heads/agent/b']).toBe(b.headSha);
    expect(gitRefState(w)?.lease?.branch).toBe('agent/a');
  });

  it('A lands: the landed workflow ratchets the baseline and releases the lease; the closed workflow then finds nothing', async () => {
    const { push, closed } = await w.h.merged(a, 'push-first');
    expect(push.map((r) => r.workflow)).toEqual(['.gitea/workflows/quality-gates-landed.yml']);
    expect(closed.map((r) => r.workflow)).toEqual(['.gitea/workflows/quality-gates-closed.yml']);
    expect(originRefs(w.repo)['refs/heads/main']).toBe(aHead);
    const ratchet = push[0].job('ratchet');
    expect(ratchet.result).toBe('success');
    const [, ratchetStep, releaseStep] = ratchet.steps;
    expect(ratchetStep.outputs).toMatchObject({ baseline: '80.00', reused: 'true' });
    expect(releaseStep.outputs.outcome).toBe('released');
    expect(closed[0].job('release-lease').steps[1].outputs.outcome).toBe('absent');
    expect(closed[0].eventPayload()).toMatchObject({
      action: 'closed',
      pull_request: { state: 'closed', merged: true, merge_commit_sha: aHead }
    });
    expect(push[0].eventPayload()).toMatchObject({ ref: 'refs/heads/main', after: aHead });
    const state = gitRefState(w)!;
    expect(state.lease).toBeUndefined();
    expect(state.baseline('main')?.percent).toBe(80);
  });

  it('B again, after a push: the landed baseline is what its coverage is held to', async () => {
    branch(w.repo, 'agent/b', { 'src/b.js': 'module.exports = "b2";\n', 'coverage.lcov': lcov(7) });
    // branch() rebuilt agent/b on the new main: a force-push by the author.
    const [run] = await w.h.synchronized(b);
    expect(run.results()).toMatchObject({
      'gates/security': 'success',
      'gates/merge': 'success',
      'gates/coverage': 'failure',
      'gates/release-lease': 'success'
    });
    const coverage = run.job('gates/coverage').steps[1].outputs;
    expect(coverage.status).toBe('FAIL');
    expect([Number(coverage.measured), Number(coverage.baseline)]).toEqual([70, 80]);
    expect(commentsOn(w.forge, b.number)).toHaveLength(1);
    expect(gitRefState(w)?.lease).toBeUndefined();
  });

  it('every forge call and push a job made is covered by the permissions it declares; the forge saw no contract violation', () => {
    expect(w.h.runs.length).toBe(5);
    expectCleanForge(w);
  });
});
