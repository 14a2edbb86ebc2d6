// The second dialect, where it is cheap: the GitHub copies of the workflows
// (docs/workflows/github/, .github/workflows/deploy-staging-gates.yml) on
// GitHub-shaped payloads (synchronize, labeled with a top-level label),
// against the same forge and origin, with Gitea's refs (refs/pull/N/head at
// the head commit, where GitHub would test refs/pull/N/merge).
// actions/upload-artifact@v4 uploads here.
import {
  edgeJobs,
  gitRefState,
  openAndGate,
  originRefs,
  statusesOn,
  sharedWorld,
  expectCleanForge
} from './scenario.ts';

import { jest } from '@jest/globals';

jest.setTimeout(180_000);

const w = sharedWorld({ dialect: 'github' });

it('a passing branch, then STOP by the label: GitHub shapes through the GitHub copies', async () => {
  const { pr, run } = await openAndGate(
    w,
    'agent/gh',
    { 'src/gh.js': 'module.exports = "gh";\n' },
    true
  );
  expect(run.results()).toEqual(
    edgeJobs({ security: 'success', merge: 'success', coverage: 'success' })
  );
  const newHead = run.job('gates').outputs['new-head'];
  expect(statusesOn(w.forge, newHead)).toEqual({
    'quality-gates/security': 'success',
    'quality-gates/merge': 'success',
    'quality-gates/coverage': 'success'
  });
  expect(run.job('gates/merge').steps[2]).toMatchObject({
    uses: 'actions/upload-artifact@v4',
    outcome: 'success'
  });
  expect(gitRefState(w)?.lease?.branch).toBe('agent/gh');

  const stop = await w.h.labeled(pr, 'stop');
  expect(stop.map((r) => r.workflow)).toEqual(['.github/workflows/quality-gates-stop.yml']);
  expect(stop[0].results()).toEqual({ stop: 'success' });
  expect(originRefs(w.repo)['refs/heads/agent/gh']).toBeUndefined();
  expect(gitRefState(w)?.lease).toBeUndefined();
  expectCleanForge(w);
});
