// Whether a file is a gitleaks the gate can drive: `gitleaks version` must
// run within a short limit and name a supported 8.x release, which also
// decides between the `git` subcommand and the older `detect --source`.

import { runCommand } from '../../../proc/src/run.ts';
import { firstErrorLine, sanitizeLine } from './log-parse.ts';
import {
  MIN_GITLEAKS_VERSION,
  commandFor,
  formatVersion,
  isSupportedVersion,
  parseGitleaksVersion,
  type GitleaksCommand,
  type GitleaksVersion
} from './version.ts';

export const PROBE_TIMEOUT_MS = 10_000;

/** A gitleaks that answered `version`. */
export interface GitleaksBinary {
  path: string;
  /** undefined when the binary printed no release version (a hand-made build). */
  version?: GitleaksVersion;
  command: GitleaksCommand;
}

export type Probe =
  { ok: true; binary: GitleaksBinary; note?: string } | { ok: false; problem: string };

/** `problem` completes the sentence "gitleaks at <path> …". */
export async function probeGitleaks(
  path: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = PROBE_TIMEOUT_MS
): Promise<Probe> {
  const r = await runCommand(path, ['version'], {
    env: { ...env, NO_COLOR: '1' },
    timeoutMs,
    graceMs: 1000
  });
  if (r.spawnError) return { ok: false, problem: `could not be started (${r.spawnError})` };
  if (r.timedOut) return { ok: false, problem: `did not answer 'version' within ${timeoutMs} ms` };
  if (r.signal)
    return { ok: false, problem: `was killed by ${r.signal} while printing its version` };
  if (r.exitCode !== 0) {
    const line = firstErrorLine(r.stderr);
    return {
      ok: false,
      problem: `failed 'version' with exit code ${String(r.exitCode)}${line ? `: ${line}` : ''}`
    };
  }
  const printed = r.stdout.trim().split('\n')[0] ?? '';
  const version = parseGitleaksVersion(printed);
  if (version === undefined) {
    // Builds without release ldflags print "version is set by build process".
    return {
      ok: true,
      binary: { path, command: commandFor(undefined) },
      note: `gitleaks at ${path} printed no release version (${JSON.stringify(sanitizeLine(printed, 60))}); assuming a current 8.x`
    };
  }
  if (!isSupportedVersion(version)) {
    return {
      ok: false,
      problem: `is gitleaks ${formatVersion(version)}; quality-gates needs 8.x from ${formatVersion(MIN_GITLEAKS_VERSION)} on`
    };
  }
  return { ok: true, binary: { path, version, command: commandFor(version) } };
}
