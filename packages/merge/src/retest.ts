// The re-test: run the project's test command on the caught-up workspace
// through runUserCommand() (a PID namespace where the kernel allows it, else
// a process group: a timeout or the command's exit ends every process it
// started) with an allowlisted environment (no action inputs, runtime tokens
// or file-command paths), and classify the result. Only a timeout is retried:
// a red run fails at once, and a command that cannot start is not a test result.

import { runUserCommand, type UserIsolation } from '../../proc/src/user-command.ts';
import { describeUserEnv, userCommandEnv } from '../../proc/src/user-env.ts';
import type { Logger } from '../../core/src/logger.ts';
import type { RetestOutcome } from './classify.ts';

export interface RetestOptions {
  /** The user's test command line, run with /bin/sh -c. */
  command: string;
  cwd: string;
  /** Limit per attempt. */
  timeoutMs: number;
  /** Extra attempts after a timeout (0 = one attempt only). */
  infraRetries: number;
  logger: Logger;
  /** The gate's environment; only its allowlisted names reach the command (see user-env.ts). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Names the user explicitly passes to the command (exact, or PREFIX_*). */
  passEnv?: readonly string[];
  /** Default 'auto': a PID namespace where available, else a process group with a warning. */
  isolation?: UserIsolation;
  /** SIGTERM -> SIGKILL grace for the group. Default 5000 ms. */
  graceMs?: number;
  /** Lines of output kept in `tail`. Default 40. */
  tailLines?: number;
}

export interface RetestResult {
  outcome: RetestOutcome;
  /** Attempts made (more than one only after timeouts). */
  attempts: number;
  /** Wall time of all attempts together. */
  durationMs: number;
  /** The last lines of the last attempt's interleaved stdout and stderr. */
  tail: string;
  /** Exit code of the last attempt (null after a signal, a timeout or a spawn error). */
  exitCode: number | null;
  /** One line saying why, for the report. */
  reason: string;
  /** The isolation the last attempt used. */
  isolation: 'namespace' | 'process-group';
  /** One line each, for the report's warnings (for example the fallback to a process group). */
  warnings: string[];
}

const KEEP_BYTES = 64 * 1024;

export async function retest(opts: RetestOptions): Promise<RetestResult> {
  const retries = Math.max(0, Math.floor(opts.infraRetries));
  const tailLines = opts.tailLines ?? 40;
  const started = Date.now();
  const source = opts.env ?? process.env;
  const passEnv = opts.passEnv ?? [];
  const env = userCommandEnv(source, passEnv);
  opts.logger.debug(`re-test: ${describeUserEnv(source, passEnv)}`);
  const warnings: string[] = [];
  let attempts = 0;
  for (;;) {
    attempts++;
    let output = '';
    const keep = (chunk: string): void => {
      output += chunk;
      if (output.length > 2 * KEEP_BYTES) output = output.slice(-KEEP_BYTES);
    };
    const r = await runUserCommand(opts.command, {
      isolation: opts.isolation ?? 'auto',
      cwd: opts.cwd,
      env,
      timeoutMs: opts.timeoutMs,
      graceMs: opts.graceMs,
      maxOutputBytes: KEEP_BYTES,
      onStdout: keep,
      onStderr: keep
    });
    for (const w of r.warnings) if (!warnings.includes(w)) warnings.push(w);
    if (attempts === 1) opts.logger.debug(`re-test: isolation ${r.isolation}`);
    const tail = lastLines(output, tailLines);
    const done = (outcome: RetestOutcome, reason: string): RetestResult => ({
      outcome,
      attempts,
      durationMs: Date.now() - started,
      tail,
      exitCode: r.exitCode,
      reason,
      isolation: r.isolation,
      warnings
    });

    if (r.spawnError) return done('other', `test command could not be started: ${r.spawnError}`);
    if (r.timedOut) {
      if (attempts <= retries) {
        opts.logger.warning(
          `re-test: attempt ${attempts} timed out after ${opts.timeoutMs} ms; retrying (${retries - attempts + 1} left)`
        );
        continue;
      }
      return done(
        'timeout',
        `test command timed out after ${opts.timeoutMs} ms on all ${attempts} attempt(s)`
      );
    }
    if (r.exitCode === 0) return done('pass', `test command passed (attempt ${attempts})`);
    if (r.exitCode === 127)
      return done('other', 'test command not found (exit code 127); check the command input');
    if (r.exitCode === null)
      return done('red', `test command was killed by ${r.signal ?? 'a signal'}`);
    return done('red', `test command failed with exit code ${r.exitCode}`);
  }
}

function lastLines(text: string, n: number): string {
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.slice(-n).join('\n');
}
