// One gate run with its publishing around it: pending status, the gate
// (runGate, never throws), then status, PR comment, retry cap and alerts.
// Shared by the actions and the CLI so both publish the same way.

import type { RunContext } from '../../core/src/context.ts';
import { runGate, type GateDefinition } from '../../core/src/gate.ts';
import type { InputSource } from '../../core/src/inputs.ts';
import type { GateResult } from '../../core/src/verdict.ts';
import { PUBLISH_INPUT_NAMES, readPublishConfig, type PublishConfig } from './config.ts';
import { Publisher, type PublishDeps, type PublishOutcome } from './publisher.ts';

/**
 * The gate with the publishing inputs declared and validated: a bad
 * publishing input is a configuration error of the gate (FAIL, one line).
 */
export function withPublishInputs<C>(def: GateDefinition<C>): GateDefinition<C> {
  return {
    ...def,
    inputs: [...new Set([...def.inputs, ...PUBLISH_INPUT_NAMES])],
    buildConfig: (src, ctx) => {
      readPublishConfig(src, ctx);
      return def.buildConfig(src, ctx);
    }
  };
}

export interface PublishedRun {
  result: GateResult;
  publish: PublishOutcome;
  /** Forge requests this run made. */
  apiCalls: number;
}

export async function runPublishedGate<C>(
  def: GateDefinition<C>,
  src: InputSource,
  ctx: RunContext,
  deps: PublishDeps = {}
): Promise<PublishedRun> {
  let cfg: PublishConfig | undefined;
  try {
    cfg = readPublishConfig(src, ctx);
  } catch {
    // Reported by the gate itself (withPublishInputs): nothing is published.
    cfg = undefined;
  }
  const publisher = new Publisher(def.gate, cfg, ctx, deps);
  await publisher.start();
  const result = await runGate(withPublishInputs(def), src, ctx);
  const publish = await publisher.finish(result);
  return { result, publish, apiCalls: publisher.apiCalls };
}
