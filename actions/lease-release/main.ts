// Entry of actions/lease-release: the guard first, then the tool adapter.
import '../../packages/core/src/node-guard.ts';
import { runToolAction } from '../../packages/core/src/action.ts';
import { leaseRelease } from '../../packages/merge/src/lease-release.ts';

await runToolAction(leaseRelease);
