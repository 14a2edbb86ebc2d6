// Gate policy: which verdict an error of a given kind yields. Secrets are
// fail-closed unconditionally; feeds and coverage tools are fail-open unless
// the user opts into fail-closed.

import type { Verdict } from './verdict.ts';

export type FailMode = 'fail-open' | 'fail-closed';

export interface GatePolicy {
  /** Mode per ToolError kind; anything unlisted (a bug, an unknown kind) uses `default`. */
  byKind: Record<string, FailMode>;
  default: FailMode;
}

export function modeFor(policy: GatePolicy, kind: string | undefined): FailMode {
  if (kind !== undefined && Object.hasOwn(policy.byKind, kind)) return policy.byKind[kind];
  return policy.default;
}

export function verdictFor(mode: FailMode): Verdict {
  return mode === 'fail-open' ? 'PASS' : 'FAIL';
}
