// The gates the CLI knows, in edge order (cheapest and most decisive first).
// Each issue that adds a gate adds it here.

import type { GateDefinition } from '../../core/src/gate.ts';
import { securityGate } from '../../security/src/gate.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const EDGE: readonly GateDefinition<any>[] = [securityGate];

export function findGate(name: string): GateDefinition<unknown> | undefined {
  return EDGE.find((g) => g.gate === name);
}
