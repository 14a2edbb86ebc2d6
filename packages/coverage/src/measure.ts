// Measuring coverage: run the user's command in its own process group with a
// timeout, then read the report it wrote. Every way this can go wrong is a
// ToolError of kind 'coverage-tool', whose verdict the gate's policy decides;
// a red test suite is said to be exactly that, not a coverage figure.

import { existsSync, rmSync } from 'node:fs';
import { relative } from 'node:path';
import { ToolError } from '../../core/src/errors.ts';
import type { Logger } from '../../core/src/logger.ts';
import { runShell } from '../../proc/src/run.ts';
import type { MeasureConfig } from './config.ts';
import type { CoverageReport } from './coverage-report.ts';
import { readCoverageReport } from './formats/index.ts';
import { redactText } from '../../security/src/secrets/redact.ts';

export const COVERAGE_TOOL = 'coverage-tool';

export interface Measurement {
  report: CoverageReport;
  /** False when only an existing report was read. */
  ran: boolean;
  commandMs: number;
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join(' | ');
}

/** The line that says why, when there is one (a missing plugin, a usage error), else the tail. */
function telling(stdout: string, stderr: string): string {
  const lines = `${stderr}\n${stdout}`.split('\n').map((l) => l.trim());
  const first = (re: RegExp): string | undefined => lines.find((l) => re.test(l) && !/^=+/.test(l));
  const hit =
    first(/unrecognized arguments|no module named|not found|cannot import/i) ??
    first(/\berror\b(?!: usage)/i) ??
    first(/usage:/i);
  return (hit ?? lastLines(stdout + stderr, 2)).slice(0, 200);
}

export async function measureCoverage(
  config: MeasureConfig,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env
): Promise<Measurement> {
  const shown = relative(config.workspace, config.report) || config.report;
  let commandMs = 0;
  if (config.command !== undefined) {
    // A report left over from an earlier run must not pass for this one.
    rmSync(config.report, { force: true });
    log.info(`coverage: running ${config.command}`);
    const r = await runShell(config.command, {
      cwd: config.workspace,
      env,
      timeoutMs: config.timeoutMs,
      onStdout: (s) => log.debug(s.trimEnd()),
      onStderr: (s) => log.debug(s.trimEnd())
    });
    commandMs = r.durationMs;
    if (r.spawnError)
      throw new ToolError(
        COVERAGE_TOOL,
        `the coverage command could not be started (${r.spawnError})`
      );
    if (r.timedOut) {
      throw new ToolError(
        COVERAGE_TOOL,
        `the coverage command timed out after ${config.timeoutMs / 1000} s (input timeout-seconds); its whole process group was killed`
      );
    }
    if (r.exitCode === 127)
      throw new ToolError(
        COVERAGE_TOOL,
        `the coverage command was not found (exit 127): ${await redactText(lastLines(r.stderr, 1), env)}`
      );
    if (r.exitCode === 1) {
      throw new ToolError(
        COVERAGE_TOOL,
        `the test suite failed (exit 1); a failing suite is not a coverage verdict (${await redactText(telling(r.stdout, r.stderr), env)})`
      );
    }
    if (r.exitCode !== 0) {
      // pytest: 2 interrupted, 3 internal error, 4 usage error (e.g. pytest-cov missing), 5 no tests.
      throw new ToolError(
        COVERAGE_TOOL,
        `the coverage command could not run the suite (exit ${r.exitCode ?? r.signal}): ${await redactText(telling(r.stdout, r.stderr), env)}`
      );
    }
  }
  if (!existsSync(config.report)) {
    throw new ToolError(
      COVERAGE_TOOL,
      config.command !== undefined
        ? `the coverage command succeeded but wrote no report at ${shown} (input report)`
        : `no coverage report at ${shown} (input report)`
    );
  }
  const report = await readCoverageReport(config.report, config.format);
  return { report, ran: config.command !== undefined, commandMs };
}
