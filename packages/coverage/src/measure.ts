// Measuring coverage: run the user's command in its own process group with a
// timeout, then read the report it wrote. Every way this can go wrong is a
// ToolError of kind 'coverage-tool', whose verdict the gate's policy decides,
// except a red test suite: that is not a tool that could not run but a tree
// that must not land, so it is a RedSuiteError and the gate FAILs (class red)
// whatever coverage-tool-fail-closed says.

import { existsSync, rmSync } from 'node:fs';
import { relative } from 'node:path';
import { ToolError } from '../../core/src/errors.ts';
import type { Logger } from '../../core/src/logger.ts';
import { runUserCommand } from '../../proc/src/user-command.ts';
import { userCommandEnv } from '../../proc/src/user-env.ts';
import type { MeasureConfig } from './config.ts';
import type { CoverageReport } from './coverage-report.ts';
import { readCoverageReport } from './formats/index.ts';
import { redactText } from '../../security/src/secrets/redact.ts';

export const COVERAGE_TOOL = 'coverage-tool';

/**
 * Exit codes that mean the command could not run the suite, not that a test
 * failed: 126/127 the shell could not execute or find it; pytest's 3
 * (internal error), 4 (usage error, e.g. pytest-cov missing) and 5 (no tests
 * collected). Every other non-zero exit, and death by a signal, is red: jest,
 * go test, mvn, npm test, cargo and pytest itself (1 failed tests, 2 errors
 * during collection) all exit non-zero when the tree is broken.
 */
export const TOOL_EXIT_CODES: ReadonlySet<number> = new Set([3, 4, 5, 126, 127]);

/** The coverage command's tests failed: the tree is red. */
export class RedSuiteError extends Error {
  readonly exitCode: number | null;
  constructor(message: string, exitCode: number | null) {
    super(message);
    this.name = 'RedSuiteError';
    this.exitCode = exitCode;
  }
}

export interface Measurement {
  report: CoverageReport;
  /** False when only an existing report was read. */
  ran: boolean;
  commandMs: number;
  /** About how the command ran (e.g. isolation fell back to a process group); one line each. */
  warnings: string[];
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

/**
 * The line saying the test runner itself could not be launched, which some
 * launchers report with exit 1 like a red suite: `python -m pytest` without
 * pytest ("/usr/bin/python3: No module named pytest"; a test's own failed
 * import reads "ModuleNotFoundError: No module named 'x'" instead), and
 * `npm test` without a test script ("Missing script").
 */
function launcherFailure(stdout: string, stderr: string): string | undefined {
  const lines = `${stderr}\n${stdout}`.split('\n').map((l) => l.trim());
  return lines.find(
    (l) =>
      /^\S*python[0-9.]*: No module named [\w.]+$/.test(l) ||
      /^npm (ERR!|error) Missing script: /.test(l)
  );
}

export async function measureCoverage(
  config: MeasureConfig,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env
): Promise<Measurement> {
  const shown = relative(config.workspace, config.report) || config.report;
  let commandMs = 0;
  const warnings: string[] = [];
  if (config.command !== undefined) {
    // A report left over from an earlier run must not pass for this one.
    rmSync(config.report, { force: true });
    log.info(`coverage: running ${config.command}`);
    // The command is the branch's code: an allowlisted environment (no inputs,
    // no tokens), isolated from the gate where the kernel allows it.
    const r = await runUserCommand(config.command, {
      cwd: config.workspace,
      env: userCommandEnv(env, config.user.passEnv),
      isolation: config.user.isolation,
      timeoutMs: config.timeoutMs,
      onStdout: (s) => log.debug(s.trimEnd()),
      onStderr: (s) => log.debug(s.trimEnd())
    });
    commandMs = r.durationMs;
    for (const w of r.warnings) {
      log.warning(w);
      warnings.push(w);
    }
    if (r.spawnError)
      throw new ToolError(
        COVERAGE_TOOL,
        `the coverage command could not be started (${r.spawnError})`
      );
    if (r.timedOut) {
      throw new ToolError(
        COVERAGE_TOOL,
        `the coverage command timed out after ${config.timeoutMs / 1000} s (input timeout-seconds); every process it started was stopped`
      );
    }
    if (r.exitCode === 127)
      throw new ToolError(
        COVERAGE_TOOL,
        `the coverage command was not found (exit 127): ${await redactText(lastLines(r.stderr, 1), env)}`
      );
    if (r.exitCode === 126)
      throw new ToolError(
        COVERAGE_TOOL,
        `the coverage command could not be executed (exit 126): ${await redactText(lastLines(r.stderr, 1), env)}`
      );
    const cannotRun = r.exitCode !== 0 ? launcherFailure(r.stdout, r.stderr) : undefined;
    if (cannotRun)
      throw new ToolError(
        COVERAGE_TOOL,
        `the coverage command could not run the suite (exit ${r.exitCode ?? r.signal}): ${await redactText(cannotRun, env)}`
      );
    if (r.exitCode !== 0 && (r.exitCode === null || !TOOL_EXIT_CODES.has(r.exitCode))) {
      const how =
        r.exitCode === null ? `killed by ${r.signal ?? 'a signal'}` : `exit ${r.exitCode}`;
      throw new RedSuiteError(
        `the test suite is red (${how}): ${await redactText(telling(r.stdout, r.stderr), env)}`,
        r.exitCode
      );
    }
    if (r.exitCode !== 0) {
      // pytest: 3 internal error, 4 usage error (e.g. pytest-cov missing), 5 no tests.
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
  return { report, ran: config.command !== undefined, commandMs, warnings };
}
