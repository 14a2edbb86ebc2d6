// The action adapter: runs a gate as a runner runs a JavaScript action. It
// reads INPUT_* and GITHUB_* from the environment, maps the Logger onto
// workflow commands, and turns the read-back GateResult into outputs, the
// job summary and the exit code. Nothing here decides a verdict.

import * as core from '@actions/core';
import { contextFromEnv } from './context.ts';
import { envInputSource } from './inputs.ts';
import { runGate, type GateDefinition } from './gate.ts';
import type { Logger } from './logger.ts';
import { runTool, type ToolDefinition } from './tool.ts';
import type { GateResult } from './verdict.ts';

export const coreLogger: Logger = {
  debug: (m) => core.debug(m),
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  error: (m) => core.error(m)
};

/** The job summary is a nicety (Gitea shows it only from 1.27): failing to write it only warns. */
export async function writeJobSummary(body: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY || !body) return;
  try {
    await core.summary.addRaw(body, true).write();
  } catch (err) {
    core.warning(`job summary not written: ${(err as Error).message}`);
  }
}

/** Outputs every gate action declares, plus per-gate extras taken from the frontmatter. */
export async function publishResult(
  result: GateResult,
  extraOutputs: Record<string, string> = {}
): Promise<void> {
  core.setOutput('status', result.verdict);
  core.setOutput('report-path', result.reportPath);
  core.setOutput('summary', result.summary);
  for (const [k, v] of Object.entries(extraOutputs)) core.setOutput(k, v);
  for (const w of result.warnings) core.warning(w);
  await writeJobSummary(result.body);
  const line = `${result.gate} gate: ${result.verdict} - ${result.summary}`;
  if (result.verdict === 'FAIL') core.setFailed(line);
  else core.info(line);
}

export async function runAction<C>(
  def: GateDefinition<C>,
  extraOutputs: (r: GateResult) => Record<string, string> = () => ({})
): Promise<void> {
  try {
    const ctx = contextFromEnv(process.env, coreLogger);
    const result = await runGate(def, envInputSource(process.env), ctx);
    await publishResult(result, extraOutputs(result));
  } catch (err) {
    // runGate never throws; this is the last line of defence for the adapter itself.
    core.setFailed(`${def.gate} gate: internal error: ${(err as Error).message}`);
  }
}

/** Adapter for non-gate actions: outputs, job summary, exit code 1 on failure. */
export async function runToolAction<C>(def: ToolDefinition<C>): Promise<void> {
  try {
    const ctx = contextFromEnv(process.env, coreLogger);
    const r = await runTool(def, envInputSource(process.env), ctx);
    for (const [k, v] of Object.entries(r.outputs)) core.setOutput(k, v);
    core.setOutput('summary', r.summary);
    for (const w of r.warnings) core.warning(w);
    await writeJobSummary(r.body);
    if (r.ok) core.info(`${def.name}: ${r.summary}`);
    else core.setFailed(`${def.name}: ${r.summary}`);
  } catch (err) {
    core.setFailed(`${def.name}: internal error: ${(err as Error).message}`);
  }
}
