// Entry of actions/merge-gate: the guard first, then the adapter.
import '../../packages/core/src/node-guard.ts';
import { runPublishedAction } from '../../packages/publish/src/action.ts';
import { mergeGate } from '../../packages/merge/src/gate.ts';

await runPublishedAction(mergeGate, (r) => ({
  'new-head': String(r.frontmatter.new_head ?? ''),
  'failure-class': String(r.frontmatter.failure_class ?? '')
}));
