// Two pull requests racing for the merge lease across two runs at once:
// the lease, not the forge's concurrency setting (one group per branch),
// is what lets exactly one of them proceed. No state variables: the
// default (state-backend auto: the git ref on origin in a forge job) has to
// hold across jobs whose tool cache does not outlive them.
import { race, worldPerTest } from './scenario.ts';

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
