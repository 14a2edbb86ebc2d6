// Entry of actions/stop: the guard first, then the tool adapter.
import '../../packages/core/src/node-guard.ts';
import { runToolAction } from '../../packages/core/src/action.ts';
import { stopTool } from '../../packages/stop/src/stop.ts';

await runToolAction(stopTool);
