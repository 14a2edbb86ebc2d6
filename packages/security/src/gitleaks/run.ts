// Runs a gitleaks binary over the commits base..head and turns its JSON report
// into a SecretScanResult. Every way gitleaks can fail (exit code, signal,
// timeout, missing or garbled report, no commit count) becomes a one-line
// ToolError of kind 'secrets'; gitleaks' own output is never passed on except
// as one sanitized error line.
//
// A branch must not be able to allowlist its own leak. gitleaks reads, besides
// what it is given, `<source>/.gitleaks.toml` (when --config is absent),
// `<source>/.gitleaksignore`, `./.gitleaksignore`, the GITLEAKS_CONFIG* env
// vars and inline `gitleaks:allow` comments. So: --config is always given (the
// base commit's file, or a stand-in for the default rules), the source is the
// repository's git directory (no checked-out file lives there), the working
// directory is a private temp dir, the env vars are removed and inline allow
// comments are ignored unless the caller opts in.
//
// A range cut off by a shallow boundary is refused before gitleaks runs: its
// root-like boundary commit and the commits below it would go unnoticed.
//
// gitleaks' "N commits scanned." counts only commits with a text hunk in a
// surviving file (see scannable-commits.ts). It is checked against git's own count of those; once
// it agrees, the result reports every commit of the range as covered, so a
// caller can compare commitsScanned with `git rev-list --count`.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ToolError, describeError } from '../../../core/src/errors.ts';
import type { Logger } from '../../../core/src/logger.ts';
import { Git, isSha } from '../../../git/src/git.ts';
import { runCommand, type RunResult } from '../../../proc/src/run.ts';
import type { SecretScanResult } from '../findings.ts';
import { firstErrorLine, parseBytesScanned, parseCommitsScanned } from './log-parse.ts';
import { probeGitleaks, type GitleaksBinary } from './probe.ts';
import { parseGitleaksReport } from './report.ts';
import { assertCompleteRange, rangeCommits } from './scannable-commits.ts';
import { formatVersion, type GitleaksCommand } from './version.ts';

/** gitleaks exits 1 on errors by default and also, by default, on leaks; this tells them apart. */
export const LEAK_EXIT_CODE = 42;
/** gitleaks (cobra) exits 126 on an unknown flag. */
const UNKNOWN_FLAG_EXIT_CODE = 126;

/** Equivalent to gitleaks' built-in rules, without letting `<source>/.gitleaks.toml` be picked up. */
const DEFAULT_RULES_CONFIG =
  '# written by quality-gates: gitleaks default rules\n[extend]\nuseDefault = true\n';

export interface RunGitleaksOptions {
  /** A path (probed here with `gitleaks version`) or an already probed binary. */
  binary: string | GitleaksBinary;
  repoDir: string;
  /** Full commit shas; the scan covers base..head. */
  base: string;
  head: string;
  /** .gitleaks.toml extracted from the BASE commit; absent means the default rules. */
  configPath?: string;
  /** .gitleaksignore extracted from the BASE commit. */
  ignorePath?: string;
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL for the process group. Default 5000 ms. */
  graceMs?: number;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Honour `gitleaks:allow` comments in scanned lines. Default false: the branch under scan writes those lines. */
  honourInlineAllow?: boolean;
  /** Where the private work dir is created. Default: the OS temp dir. */
  tmpDir?: string;
}

async function asBinary(
  b: string | GitleaksBinary,
  env: NodeJS.ProcessEnv,
  logger: Logger
): Promise<GitleaksBinary> {
  if (typeof b !== 'string') return b;
  const probe = await probeGitleaks(b, env);
  if (!probe.ok) return fail(`gitleaks at ${b} ${probe.problem}`);
  if (probe.note) logger.warning(probe.note);
  return probe.binary;
}

export function gitleaksArgs(opts: {
  command: GitleaksCommand;
  source: string;
  base: string;
  head: string;
  reportPath: string;
  configPath: string;
  ignorePath: string;
  honourInlineAllow: boolean;
}): string[] {
  const range = `--log-opts=${opts.base}..${opts.head}`;
  const target =
    opts.command === 'git'
      ? ['git', opts.source, range]
      : ['detect', `--source=${opts.source}`, range];
  return [
    ...target,
    '--report-format=json',
    `--report-path=${opts.reportPath}`,
    `--exit-code=${LEAK_EXIT_CODE}`,
    '--redact',
    '--no-banner',
    // The commit count is logged at info level; a quieter level would hide it.
    '--log-level=info',
    `--config=${opts.configPath}`,
    `--gitleaks-ignore-path=${opts.ignorePath}`,
    ...(opts.honourInlineAllow ? [] : ['--ignore-gitleaks-allow'])
  ];
}

function scanEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const k of [
    'GITLEAKS_CONFIG',
    'GITLEAKS_CONFIG_TOML',
    'GIT_DIR',
    'GIT_WORK_TREE',
    'GIT_INDEX_FILE'
  ]) {
    delete env[k];
  }
  return {
    ...env,
    NO_COLOR: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_PAGER: 'cat',
    GIT_CONFIG_NOSYSTEM: '1'
  };
}

function fail(message: string): never {
  throw new ToolError('secrets', message);
}

function withErrorLine(message: string, r: RunResult): string {
  const line = firstErrorLine(r.stderr) ?? firstErrorLine(r.stdout);
  return line ? `${message}: ${line}` : message;
}

/** Throws unless the process ended on its own with 0 or the leak code. */
function checkExit(r: RunResult, timeoutMs: number): void {
  if (r.spawnError) fail(`gitleaks could not be started (${r.spawnError})`);
  if (r.timedOut) fail(`gitleaks timed out after ${timeoutMs} ms; its process group was killed`);
  if (r.signal) fail(`gitleaks was killed by ${r.signal}`);
  if (r.exitCode === UNKNOWN_FLAG_EXIT_CODE) {
    fail(
      withErrorLine(
        `gitleaks rejected a command-line flag (exit ${UNKNOWN_FLAG_EXIT_CODE}; gitleaks 8.18.1 or newer is needed)`,
        r
      )
    );
  }
  if (r.exitCode !== 0 && r.exitCode !== LEAK_EXIT_CODE) {
    fail(withErrorLine(`gitleaks failed with exit code ${String(r.exitCode)}`, r));
  }
}

function readReportFile(path: string, leaksSignalled: boolean): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fail(
      leaksSignalled
        ? `gitleaks signalled leaks (exit ${LEAK_EXIT_CODE}) but wrote no report`
        : 'gitleaks exited 0 but wrote no report'
    );
  }
}

async function gitDirOf(repoDir: string): Promise<string> {
  try {
    return (
      await new Git(repoDir, { timeoutMs: 30_000 }).run(['rev-parse', '--absolute-git-dir'])
    ).trim();
  } catch (err) {
    return fail(`cannot find the git directory of ${repoDir}: ${describeError(err)}`);
  }
}

function existingFile(path: string, what: string): string {
  const abs = resolve(path);
  if (!existsSync(abs)) fail(`${what} ${abs} does not exist`);
  return abs;
}

export async function runGitleaks(opts: RunGitleaksOptions): Promise<SecretScanResult> {
  if (!isSha(opts.base) || !isSha(opts.head)) {
    fail('gitleaks scan needs full commit shas for base and head');
  }
  const env = scanEnv(opts.env ?? process.env);
  const binary = await asBinary(opts.binary, env, opts.logger);
  const configPath =
    opts.configPath === undefined ? undefined : existingFile(opts.configPath, 'gitleaks config');
  const ignorePath =
    opts.ignorePath === undefined
      ? undefined
      : existingFile(opts.ignorePath, 'gitleaks ignore file');
  // A range cut off by a shallow boundary would be scanned, and counted, as if whole.
  await assertCompleteRange(opts.repoDir, opts.base, opts.head, env, opts.timeoutMs);
  const source = await gitDirOf(opts.repoDir);
  const work = mkdtempSync(join(opts.tmpDir ?? tmpdir(), 'qg-gitleaks-'));
  try {
    const reportPath = join(work, 'report.json');
    let config = configPath;
    if (config === undefined) {
      config = join(work, 'default-rules.toml');
      writeFileSync(config, DEFAULT_RULES_CONFIG);
    }
    const args = gitleaksArgs({
      command: binary.command,
      source,
      base: opts.base,
      head: opts.head,
      reportPath,
      configPath: config,
      // An empty dir: gitleaks then loads no ignore file from it (nor from '.').
      ignorePath: ignorePath ?? work,
      honourInlineAllow: opts.honourInlineAllow ?? false
    });
    const version = binary.version ? formatVersion(binary.version) : 'unknown version';
    opts.logger.debug(`gitleaks (${version}) ${binary.command} over ${opts.base}..${opts.head}`);
    const r = await runCommand(binary.path, args, {
      cwd: work,
      env,
      timeoutMs: opts.timeoutMs,
      graceMs: opts.graceMs,
      maxOutputBytes: 1024 * 1024
    });
    checkExit(r, opts.timeoutMs);
    const leaksSignalled = r.exitCode === LEAK_EXIT_CODE;
    const findings = parseGitleaksReport(readReportFile(reportPath, leaksSignalled));
    if (leaksSignalled && findings.length === 0) {
      fail(`gitleaks signalled leaks (exit ${LEAK_EXIT_CODE}) but its report lists none`);
    }
    if (!leaksSignalled && findings.length > 0) {
      fail(`gitleaks exited 0 but its report lists ${findings.length} finding(s)`);
    }
    const counted = parseCommitsScanned(r.stderr);
    if (counted === undefined) {
      // Reporting 0 would let a scan that never looked pass for a clean one.
      fail(
        'gitleaks did not log how many commits it scanned ("N commits scanned."); the scan cannot be trusted'
      );
    }
    const range = await rangeCommits(opts.repoDir, opts.base, opts.head, env, opts.timeoutMs);
    if (counted < range.withContent || counted > range.total) {
      fail(
        `gitleaks scanned ${counted} commit(s) but ${opts.base}..${opts.head} has ${range.withContent} commit(s) with text changes (${range.total} in all); a partial scan is not a clean scan`
      );
    }
    const bytes = parseBytesScanned(r.stderr);
    const notes: string[] = [];
    if (range.total > counted) {
      notes.push(
        `${range.total - counted} commit(s) had no text changes for gitleaks to read (merges, deletions, binary or rename-only changes)`
      );
    }
    if (bytes === undefined) notes.push(`gitleaks ${version} does not log the bytes it scanned`);
    opts.logger.info(
      `gitleaks ${version}: ${counted} of ${range.total} commit(s) had content to scan; ${findings.length} finding(s)`
    );
    return {
      engine: 'gitleaks',
      commitsScanned: range.total,
      bytesScanned: bytes ?? 0,
      findings,
      notes
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
