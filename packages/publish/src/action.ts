// The gate actions' adapter: the published run, then outputs, job summary
// and exit code from the read-back verdict (packages/core/src/action.ts).

import * as core from '@actions/core';
import { coreLogger, publishResult } from '../../core/src/action.ts';
import { contextFromEnv } from '../../core/src/context.ts';
import type { GateDefinition } from '../../core/src/gate.ts';
import { envInputSource } from '../../core/src/inputs.ts';
import type { GateResult } from '../../core/src/verdict.ts';
import { runPublishedGate } from './run.ts';

export async function runPublishedAction<C>(
  def: GateDefinition<C>,
  extraOutputs: (r: GateResult) => Record<string, string> = () => ({})
): Promise<void> {
  try {
    const ctx = contextFromEnv(process.env, coreLogger);
    const { result, publish } = await runPublishedGate(def, envInputSource(process.env), ctx);
    await publishResult(result, {
      ...extraOutputs(result),
      'needs-human': String(publish.needsHuman)
    });
  } catch (err) {
    core.setFailed(`${def.gate} gate: internal error: ${(err as Error).message}`);
  }
}
