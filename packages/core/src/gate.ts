// runGate(): the never-raise wrapper every gate runs through. It builds the
// config, applies the kill-switch and repo scope, evaluates, maps any error to
// the gate's policy, writes the artefact and takes the verdict from reading it
// back. Whatever happens inside, the caller gets a GateResult.

import { isAbsolute, join, resolve } from 'node:path';
import { readReport, writeReport } from './artefact.ts';
import type { RunContext } from './context.ts';
import { ConfigurationError, ToolError, describeError } from './errors.ts';
import { readList, readString, type InputSource } from './inputs.ts';
import { matchesAny } from './glob.ts';
import { modeFor, verdictFor, type GatePolicy } from './policy.ts';
import {
  oneLine,
  type Frontmatter,
  type GateName,
  type GateOutcome,
  type GateResult
} from './verdict.ts';

/** Inputs every gate action declares. */
export const COMMON_INPUTS = { reportDir: 'report-dir', repos: 'repos' } as const;
export const DEFAULT_REPORT_DIR = 'gate-reports';

export interface GateDefinition<C> {
  gate: GateName;
  /** e.g. '17-security-report.md' */
  reportFile: string;
  /** e.g. 'security_status' */
  statusKey: string;
  /** Every input name the gate reads (besides COMMON_INPUTS); must match action.yml. */
  inputs: readonly string[];
  /** Policy for errors; receives the config when it could be built. */
  policy(config: C | undefined): GatePolicy;
  buildConfig(inputs: InputSource, ctx: RunContext): C;
  evaluate(config: C, ctx: RunContext): Promise<GateOutcome>;
  /** Frontmatter keys to keep present (as nulls or settings) when evaluation ended in an error. */
  errorFields?(config: C | undefined, err?: unknown): Frontmatter;
  /** Commit the report speaks for, checked on read-back when known. */
  headSha?(outcome: GateOutcome): string | undefined;
}

export function killSwitchVariable(gate: GateName): string {
  return `QG_${gate.toUpperCase().replace(/-/g, '_')}_ENABLED`;
}

/** Refuses any read of an input the action did not declare, so code and action.yml cannot drift. */
export function declaredOnly(src: InputSource, declared: readonly string[]): InputSource {
  const allowed = new Set([...declared, ...Object.values(COMMON_INPUTS)]);
  return {
    get(name: string): string {
      if (!allowed.has(name)) throw new Error(`bug: input '${name}' is read but not declared`);
      return src.get(name);
    }
  };
}

function outcome(
  verdict: GateOutcome['verdict'],
  summary: string,
  warnings: string[] = []
): GateOutcome {
  return {
    verdict,
    summary: oneLine(summary),
    fields: {},
    body: `${oneLine(summary)}\n`,
    warnings
  };
}

export async function runGate<C>(
  def: GateDefinition<C>,
  rawInputs: InputSource,
  ctx: RunContext
): Promise<GateResult> {
  const inputs = declaredOnly(rawInputs, def.inputs);
  const log = ctx.logger;
  let reportDir = resolve(ctx.workspace, DEFAULT_REPORT_DIR);
  let config: C | undefined;
  let result: GateOutcome;
  try {
    const dir = readString(inputs, COMMON_INPUTS.reportDir, DEFAULT_REPORT_DIR);
    reportDir = isAbsolute(dir) ? dir : resolve(ctx.workspace, dir);
    result = await decide();
  } catch (err) {
    // decide() already maps errors; this only catches a bug in that mapping.
    result = outcome('FAIL', `internal error: ${describeError(err)}`);
  }

  async function decide(): Promise<GateOutcome> {
    const switchVar = killSwitchVariable(def.gate);
    const switchVal = (ctx.env[switchVar] ?? '').trim().toLowerCase();
    if (switchVal !== '' && !['true', 'false', '1', '0', 'yes', 'no'].includes(switchVal)) {
      return outcome(
        'FAIL',
        `configuration error: variable ${switchVar}: expected 'true' or 'false' (got ${JSON.stringify(ctx.env[switchVar])})`
      );
    }
    if (['false', '0', 'no'].includes(switchVal)) {
      return outcome('SKIPPED', `${def.gate} gate disabled by ${switchVar}=${ctx.env[switchVar]}`);
    }
    const scope = readList(inputs, COMMON_INPUTS.repos);
    if (scope.length > 0) {
      if (!ctx.repository) {
        return outcome(
          'FAIL',
          `configuration error: input 'repos' limits the gate to ${scope.join(', ')} but GITHUB_REPOSITORY is not set`
        );
      }
      if (!matchesAny(ctx.repository, scope, true)) {
        return outcome(
          'SKIPPED',
          `${ctx.repository} is outside input 'repos' (${scope.join(', ')})`
        );
      }
    }
    try {
      config = def.buildConfig(inputs, ctx);
    } catch (err) {
      if (err instanceof ConfigurationError)
        return outcome('FAIL', `configuration error: ${err.message}`);
      throw err;
    }
    try {
      return await def.evaluate(config, ctx);
    } catch (err) {
      const kind = err instanceof ToolError ? err.kind : undefined;
      if (err instanceof ConfigurationError)
        return outcome('FAIL', `configuration error: ${err.message}`);
      const mode = modeFor(def.policy(config), kind);
      const verdict = verdictFor(mode);
      const what = kind ? `${kind} tool error` : 'internal error';
      const msg = oneLine(`${what}: ${describeError(err)} (${mode} => ${verdict})`);
      if (verdict === 'PASS') log.warning(msg);
      else log.error(msg);
      return {
        ...outcome(verdict, msg, verdict === 'PASS' ? [msg] : []),
        fields: def.errorFields?.(config, err) ?? {}
      };
    }
  }

  const reportPath = join(reportDir, def.reportFile);
  const generatedAt = ctx.now().toISOString();
  const frontmatter = {
    gate: def.gate,
    [def.statusKey]: result.verdict,
    ...result.fields,
    summary: oneLine(result.summary),
    warnings: result.warnings.map((w) => oneLine(w, 500)),
    generated_at: generatedAt
  };
  try {
    writeReport(reportPath, frontmatter, result.body);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? describeError(err);
    const summary = `report directory ${reportDir} is not writable (${code}): input 'report-dir' must name a writable directory; verdict FAIL (was ${result.verdict})`;
    log.error(summary);
    return {
      gate: def.gate,
      verdict: 'FAIL',
      summary,
      reportPath,
      frontmatter,
      body: result.body,
      warnings: result.warnings
    };
  }
  const back = readReport(reportPath, {
    gate: def.gate,
    statusKey: def.statusKey,
    headSha: def.headSha?.(result)
  });
  const summary = back.problem ? `${back.problem}: verdict FAIL` : oneLine(result.summary);
  if (back.problem) log.error(summary);
  return {
    gate: def.gate,
    verdict: back.verdict,
    summary,
    reportPath,
    frontmatter: back.frontmatter,
    body: back.body,
    warnings: result.warnings
  };
}
