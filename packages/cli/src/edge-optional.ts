// Gates of the edge that apply only when their subject is named: without an
// `image` there is no image to check, and the image-freshness gate is SKIPPED
// with that reason (a report is still written and read back) instead of
// failing on a missing input. The kill-switch and `repos` still come first.

import type { GateDefinition } from '../../core/src/gate.ts';
import type { InputSource } from '../../core/src/inputs.ts';
import type { GateName, GateOutcome } from '../../core/src/verdict.ts';

/** The input that names a gate's subject; empty means the gate does not apply. */
export const ACTIVATED_BY: Partial<Record<GateName, string>> = { 'image-freshness': 'image' };

export function activatedOnly<C>(
  def: GateDefinition<C>,
  inputs: InputSource
): GateDefinition<C> | GateDefinition<null> {
  const input = ACTIVATED_BY[def.gate];
  if (input === undefined || inputs.get(input) !== '') return def;
  const summary = `no ${input} given (input '${input}'): the ${def.gate} gate does not apply`;
  return {
    gate: def.gate,
    reportFile: def.reportFile,
    statusKey: def.statusKey,
    inputs: def.inputs,
    policy: () => def.policy(undefined),
    buildConfig: () => null,
    evaluate: async (): Promise<GateOutcome> => ({
      verdict: 'SKIPPED',
      summary,
      fields: {},
      body: `${summary}\n`,
      warnings: []
    })
  };
}
