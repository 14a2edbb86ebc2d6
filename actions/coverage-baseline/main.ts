// Entry of actions/coverage-baseline: the guard first, then the tool adapter.
import '../../packages/core/src/node-guard.ts';
import { runToolAction } from '../../packages/core/src/action.ts';
import { coverageBaseline } from '../../packages/coverage/src/baseline-override.ts';

await runToolAction(coverageBaseline);
