// Entry of actions/coverage-ratchet: the guard first, then the tool adapter.
import '../../packages/core/src/node-guard.ts';
import { runToolAction } from '../../packages/core/src/action.ts';
import { coverageRatchet } from '../../packages/coverage/src/ratchet.ts';

await runToolAction(coverageRatchet);
