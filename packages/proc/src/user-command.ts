// The user's own commands (the merge gate's re-test, the coverage command):
// `/bin/sh -c <command>`, isolated with the kernel's help where it allows.
//
// Namespace mode wraps the shell as
//
//   setpriv --pdeathsig KILL -- unshare [--user --map-current-user]
//     --pid --mount --mount-proc --fork --kill-child -- <init> <grace> <command>
//
// - The command runs in a new PID namespace under a small init (perl, or this
//   node binary where there is no perl) that reports the shell's exact wait
//   status on fd 3, then SIGTERMs whatever is left, waits up to the grace
//   period and exits; when the namespace's init exits, the kernel SIGKILLs
//   every process in the namespace, setsid() daemons included.
// - The shell is not the namespace's PID 1 (init ignores signals it has no
//   handler for, so `kill -TERM $$` would do nothing): init forks it, and
//   exit codes and signals come through unchanged.
// - --kill-child: init dies with unshare; setpriv --pdeathsig KILL: unshare
//   dies with this process, even when this process is SIGKILLed. (The
//   parent-death signal follows the thread that spawned: call from the main
//   thread, not a worker that may end first.)
// - --mount-proc: the command's /proc shows its own namespace only, so the
//   gate's /proc/<pid>/environ is out of its reach. (A command running as
//   root can unmount that /proc and see the host's; as a non-root user it has
//   no capability to.)
// - --user --map-current-user when not root (the same uid inside); as root,
//   first without a user namespace, then with one.
//
// Whether the wrapper works is probed once per process (it runs `true`) and
// cached. `auto` falls back to a plain process group with a warning;
// `namespace` refuses to run without it; `process-group` is runCommand()'s
// behaviour alone. In every mode the command also leads its own process
// group, and runCommand()'s group reap and wall-clock bound apply.

import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, join } from 'node:path';
import { runCommand, type RunOptions, type RunResult } from './run.ts';

export type UserIsolation = 'auto' | 'namespace' | 'process-group';

export interface UserCommandOptions extends Omit<RunOptions, 'input' | 'onFd3'> {
  /** Default 'auto'. */
  isolation?: UserIsolation;
  /** Internal, for tests: force the namespace's init program. */
  init?: 'perl' | 'node';
}

export interface UserCommandResult extends RunResult {
  /** The isolation actually used. */
  isolation: 'namespace' | 'process-group';
  /** One line each, for the log and the report (for example the fallback to a process group). */
  warnings: string[];
}

export interface NamespaceSupport {
  available: boolean;
  /** Why not, one line, when unavailable. */
  reason?: string;
  /** How, when available: 'unshare --pid, init perl', 'unshare --user --pid, init node', ... */
  mode?: string;
}

interface Wrapper {
  setpriv: string;
  unshare: string;
  userNs: boolean;
  perl?: string;
}

const SYSTEM_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];

function findExecutable(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, fsConstants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

function searchDirs(): string[] {
  const fromPath = (process.env.PATH ?? '').split(delimiter).filter((d) => d.startsWith('/'));
  return [...SYSTEM_DIRS, ...fromPath];
}

// The namespace's PID 1. argv: grace (ms), command, then NAME=value pairs of
// the variables stripped from its own environment (PERL*, which would change
// how perl itself starts) to restore for the command. It runs /bin/sh -c
// command as its child with fd 3 closed, reaps orphans meanwhile, reports
// "exit N" or "signal N" on fd 3, SIGTERMs what is left, waits up to the
// grace period for it, and exits (the kernel then SIGKILLs the rest).
const PERL_INIT = [
  'my ($grace, $cmd, @env) = @ARGV;',
  'for (@env) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = $v; }',
  'open(my $st, ">&=", 3) or die "quality-gates init: fd 3: $!\\n";',
  'my $pid = fork;',
  'defined $pid or die "quality-gates init: fork: $!\\n";',
  'if (!$pid) { close $st; exec "/bin/sh", "-c", $cmd; print STDERR "quality-gates init: /bin/sh: $!\\n"; exit 127; }',
  'my $s = 255 << 8;',
  'while ((my $w = wait) != -1) { if ($w == $pid) { $s = $?; last; } }',
  'my $sig = $s & 127;',
  'syswrite $st, ($sig ? "signal $sig\\n" : "exit " . ($s >> 8) . "\\n");',
  'close $st;',
  'kill "TERM", -1;',
  'my $n = int($grace / 20) + 1;',
  'while ($n > 0) { my $w = waitpid(-1, 1); last if $w == -1; if ($w == 0) { select(undef, undef, undef, 0.02); $n--; } }',
  'exit($sig ? 128 + $sig : $s >> 8);'
].join('\n');

// The same in JavaScript, for a machine without perl (CommonJS under -e).
// Strips and restores NODE_* (NODE_OPTIONS, NODE_V8_COVERAGE would change
// or instrument the init itself).
const NODE_INIT = [
  "const { spawn } = require('node:child_process');",
  "const fs = require('node:fs');",
  "const os = require('node:os');",
  'const [grace, cmd, ...env] = process.argv.slice(1);',
  "for (const kv of env) { const i = kv.indexOf('='); process.env[kv.slice(0, i)] = kv.slice(i + 1); }",
  "const nul = fs.openSync('/dev/null', 'r');",
  "const c = spawn('/bin/sh', ['-c', cmd], { stdio: ['inherit', 'inherit', 'inherit', nul] });",
  'const others = () => fs.readdirSync("/proc").some((n) => {',
  "  if (!/^\\d+$/.test(n) || n === '1') return false;",
  "  try { return !/^[ZX]/.test(fs.readFileSync('/proc/' + n + '/stat', 'utf8').replace(/^[^]*\\) /, '')); } catch { return false; }",
  '});',
  'let finished = false;',
  'const done = (line, code) => {',
  '  if (finished) return;',
  '  finished = true;',
  "  try { fs.writeSync(3, line + '\\n'); fs.closeSync(3); } catch {}",
  "  try { process.kill(-1, 'SIGTERM'); } catch {}",
  '  const end = Date.now() + Number(grace);',
  '  const tick = () => (!others() || Date.now() > end ? process.exit(code) : setTimeout(tick, 20));',
  '  tick();',
  '};',
  "c.on('error', (e) => { process.stderr.write('quality-gates init: /bin/sh: ' + e.message + '\\n'); done('exit 127', 127); });",
  "c.on('exit', (code, sig) => { const n = sig ? os.constants.signals[sig] : 0; done(sig ? 'signal ' + n : 'exit ' + code, sig ? 128 + n : code); });"
].join('\n');

type Init = 'perl' | 'node';

function initArgv(init: Init, wrapper: Wrapper): { file: string; args: string[]; strip: RegExp } {
  if (init === 'perl' && wrapper.perl)
    return { file: wrapper.perl, args: ['-e', PERL_INIT, '--'], strip: /^PERL/ };
  return { file: process.execPath, args: ['-e', NODE_INIT, '--'], strip: /^NODE_/ };
}

function wrapperArgv(
  wrapper: Wrapper,
  init: Init,
  command: string,
  graceMs: number,
  env: NodeJS.ProcessEnv
): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const i = initArgv(init, wrapper);
  const initEnv: NodeJS.ProcessEnv = {};
  const restore: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (i.strip.test(k)) restore.push(`${k}=${v}`);
    else initEnv[k] = v;
  }
  return {
    file: wrapper.setpriv,
    args: [
      '--pdeathsig',
      'KILL',
      '--',
      wrapper.unshare,
      ...(wrapper.userNs ? ['--user', '--map-current-user'] : []),
      '--pid',
      '--mount',
      '--mount-proc',
      '--fork',
      '--kill-child',
      '--',
      i.file,
      ...i.args,
      String(graceMs),
      command,
      ...restore
    ],
    env: initEnv
  };
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals])
);

/** The shell's wait status as init reported it on fd 3, if it did. */
function parseStatus(
  text: string
): { exitCode: number | null; signal: NodeJS.Signals | null } | undefined {
  const m = /^(exit|signal) (\d+)$/m.exec(text);
  if (!m) return undefined;
  const n = Number(m[2]);
  if (m[1] === 'exit') return { exitCode: n, signal: null };
  const name = SIGNAL_NAMES.get(n);
  return name ? { exitCode: null, signal: name } : { exitCode: 128 + n, signal: null };
}

async function runWrapped(
  wrapper: Wrapper,
  init: Init,
  command: string,
  opts: RunOptions
): Promise<{ result: RunResult; raw: RunResult }> {
  const grace = opts.graceMs ?? 5000;
  const w = wrapperArgv(wrapper, init, command, grace, opts.env ?? process.env);
  let status = '';
  const raw = await runCommand(w.file, w.args, {
    ...opts,
    env: w.env,
    onFd3: (chunk) => (status += chunk)
  });
  return { result: wrappedResult(raw, status), raw };
}

/**
 * The command's result from the wrapper's: the exit code or signal init
 * reported on fd 3. Without that report, a wrapper that exited with a code
 * never ran the command (unshare or init could not start: a spawn error, not
 * a test result); one ended by a signal or a timeout was killed as a whole.
 * Internal; exported for tests.
 */
export function wrappedResult(raw: RunResult, status: string): RunResult {
  const reported = parseStatus(status);
  if (reported) return { ...raw, ...reported };
  if (raw.spawnError || raw.timedOut || raw.exitCode === null) return raw;
  const said = lastLine(raw.stderr);
  return {
    ...raw,
    exitCode: null,
    spawnError: `the PID namespace wrapper failed (exit ${raw.exitCode})${said ? `: ${said}` : ''}`
  };
}

function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .pop() ?? ''
  );
}

async function probe(): Promise<{ support: NamespaceSupport; wrapper?: Wrapper }> {
  if (process.platform !== 'linux')
    return { support: { available: false, reason: `not Linux (${process.platform})` } };
  const dirs = probeDirs ?? searchDirs();
  const setpriv = findExecutable('setpriv', dirs);
  const unshare = findExecutable('unshare', dirs);
  if (!setpriv || !unshare) {
    const missing = [setpriv ? '' : 'setpriv', unshare ? '' : 'unshare'].filter(Boolean);
    return {
      support: { available: false, reason: `${missing.join(' and ')} not found (util-linux)` }
    };
  }
  const perl = findExecutable('perl', ['/usr/bin', '/bin']);
  const root = process.geteuid?.() === 0;
  const reasons: string[] = [];
  for (const userNs of root ? [false, true] : [true]) {
    const wrapper: Wrapper = { setpriv, unshare, userNs, perl };
    const { raw: r } = await runWrapped(wrapper, perl ? 'perl' : 'node', 'true', {
      timeoutMs: 5000,
      graceMs: 500,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }
    });
    if (!r.timedOut && !r.spawnError && r.exitCode === 0) {
      const mode = `unshare ${userNs ? '--user ' : ''}--pid, init ${perl ? 'perl' : 'node'}`;
      return { support: { available: true, mode }, wrapper };
    }
    const why = r.spawnError
      ? r.spawnError
      : r.timedOut
        ? 'the probe timed out'
        : lastLine(r.stderr) || `the probe exited with ${r.exitCode ?? r.signal ?? 'no status'}`;
    reasons.push(why);
  }
  return { support: { available: false, reason: [...new Set(reasons)].join('; ') } };
}

let probed: Promise<{ support: NamespaceSupport; wrapper?: Wrapper }> | undefined;
let probeDirs: readonly string[] | undefined;

function probeOnce(): Promise<{ support: NamespaceSupport; wrapper?: Wrapper }> {
  probed ??= probe();
  return probed;
}

/** Whether namespace isolation works here (probed once per process, then cached). */
export async function namespaceSupport(): Promise<NamespaceSupport> {
  return (await probeOnce()).support;
}

/** The warning line of an `auto` run that falls back to a process group. */
export function fallbackWarning(reason: string): string {
  return `user command isolation: PID namespace unavailable (${reason}); falling back to a process group: setsid children may outlive the command and the gate's /proc is readable`;
}

/**
 * Runs the user's command line with /bin/sh -c, stdin closed, output
 * streamed as runCommand() does, isolated as `opts.isolation` asks (default
 * 'auto'). Never throws: an unmet 'namespace' requirement, a missing working
 * directory or a spawn failure come back as `spawnError`.
 */
export async function runUserCommand(
  command: string,
  opts: UserCommandOptions
): Promise<UserCommandResult> {
  const { isolation = 'auto', init, ...runOpts } = opts;
  const started = Date.now();
  let wrapper: Wrapper | undefined;
  let reason = '';
  if (isolation !== 'process-group') {
    const probed = await probeOnce();
    wrapper = probed.wrapper;
    reason = probed.support.reason ?? 'unknown reason';
  }
  const used = wrapper || isolation === 'namespace' ? 'namespace' : 'process-group';
  const warnings = isolation === 'auto' && !wrapper ? [fallbackWarning(reason)] : [];
  const notStarted = (spawnError: string): UserCommandResult => ({
    exitCode: null,
    signal: null,
    timedOut: false,
    spawnError,
    stdout: '',
    stderr: '',
    durationMs: Date.now() - started,
    isolation: used,
    warnings
  });
  if (isolation === 'namespace' && !wrapper)
    return notStarted(
      `input 'isolation': 'namespace' is unavailable here (${reason}); expected auto or process-group on this runner`
    );
  if (runOpts.cwd !== undefined && !isDirectory(runOpts.cwd))
    return notStarted(`ENOENT: working directory ${runOpts.cwd} does not exist`);

  const r = wrapper
    ? (await runWrapped(wrapper, init ?? (wrapper.perl ? 'perl' : 'node'), command, runOpts)).result
    : await runCommand('/bin/sh', ['-c', command], runOpts);
  return { ...r, isolation: used, warnings };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Internal, for tests: forget the cached probe; the next one looks for
 * setpriv and unshare in `toolDirs` only (default: the system directories, then PATH).
 */
export function resetNamespaceProbe(toolDirs?: readonly string[]): void {
  probed = undefined;
  probeDirs = toolDirs;
}
