// Entry of actions/coverage-gate: the guard first, then the adapter.
import '../../packages/core/src/node-guard.ts';
import { runPublishedAction } from '../../packages/publish/src/action.ts';
import { coverageGate } from '../../packages/coverage/src/gate.ts';

const field = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

await runPublishedAction(coverageGate, (r) => ({
  measured: field(r.frontmatter.measured),
  baseline: field(r.frontmatter.baseline),
  delta: field(r.frontmatter.delta)
}));
