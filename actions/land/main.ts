// Entry of actions/land: the guard first, then the tool adapter.
import '../../packages/core/src/node-guard.ts';
import { runToolAction } from '../../packages/core/src/action.ts';
import { land } from '../../packages/merge/src/land.ts';

await runToolAction(land);
