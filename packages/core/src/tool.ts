// runTool(): the never-raise wrapper for actions that are not gates (the
// coverage ratchet, the baseline override, later the lease release). They
// have no verdict artefact; they succeed or fail with one line of reason.

import type { RunContext } from './context.ts';
import { ConfigurationError, describeError } from './errors.ts';
import { declaredOnly, killSwitchVariable } from './gate.ts';
import type { InputSource } from './inputs.ts';
import { oneLine, type GateName } from './verdict.ts';

export interface ToolResult {
  summary: string;
  outputs: Record<string, string>;
  /** Markdown for the job summary. */
  body: string;
  warnings: string[];
  /** false: the tool refused (its outputs still published, exit code 1). Default true. */
  ok?: boolean;
}

export interface ToolDefinition<C> {
  name: string;
  inputs: readonly string[];
  /** The gate whose kill-switch also switches this tool off. */
  gate?: GateName;
  buildConfig(inputs: InputSource, ctx: RunContext): C;
  run(config: C, ctx: RunContext): Promise<ToolResult>;
}

export interface ToolOutcome extends ToolResult {
  ok: boolean;
  skipped: boolean;
}

export async function runTool<C>(
  def: ToolDefinition<C>,
  raw: InputSource,
  ctx: RunContext
): Promise<ToolOutcome> {
  const fail = (summary: string): ToolOutcome => ({
    ok: false,
    skipped: false,
    summary: oneLine(summary),
    outputs: {},
    body: `${oneLine(summary)}\n`,
    warnings: []
  });
  try {
    if (def.gate) {
      const v = killSwitchVariable(def.gate);
      if (['false', '0', 'no'].includes((ctx.env[v] ?? '').trim().toLowerCase())) {
        const summary = `${def.name} skipped: ${v}=${ctx.env[v]}`;
        return {
          ok: true,
          skipped: true,
          summary,
          outputs: {},
          body: `${summary}\n`,
          warnings: []
        };
      }
    }
    const config = def.buildConfig(declaredOnly(raw, def.inputs), ctx);
    const r = await def.run(config, ctx);
    return { ...r, summary: oneLine(r.summary), ok: r.ok !== false, skipped: false };
  } catch (err) {
    if (err instanceof ConfigurationError) return fail(`configuration error: ${err.message}`);
    return fail(`${def.name} failed: ${describeError(err)}`);
  }
}
