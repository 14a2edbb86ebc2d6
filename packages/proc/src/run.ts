// Run a command in its own process group. A timeout, and the leader's own
// exit, both end the whole group (SIGTERM, a grace period, SIGKILL), so no
// forked child or daemon of the group outlives the run.
//
// The run's wall time is bounded whatever the children do: once the timeout
// fires, the run settles no later than timeout + grace + SETTLE_MARGIN_MS,
// and once the leader has exited, no later than grace + SETTLE_MARGIN_MS
// after that, even when a process that left the group (setsid) still holds
// stdout or stderr open. Settling stops reading and destroys the pipes, so
// such a holder cannot keep this process alive either.
//
// What a process group cannot do: a child that calls setsid() leaves the
// group and survives the run, and if this process is SIGKILLed the group
// lives on (the exit hook below runs on a normal exit only). The user's own
// commands (test, coverage) therefore go through runUserCommand()
// (user-command.ts), which adds a PID namespace where the kernel allows it.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Hard limit for the whole run, in milliseconds. */
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL. Default 5000 ms. */
  graceMs?: number;
  /** Text written to stdin, which is then closed. Default: stdin is closed at once. */
  input?: string;
  /** Keep at most this many bytes of each stream (the tail). Default 4 MiB. */
  maxOutputBytes?: number;
  /** Called with each chunk as it arrives (for live logs). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /**
   * Internal (runUserCommand): open a fourth pipe as the child's fd 3 and
   * pass what arrives on it here. Destroyed with the other pipes on settling.
   */
  onFd3?: (chunk: string) => void;
  /** Also give stdout as bytes (RunResult.stdoutBytes), for output that is not all text. */
  rawStdout?: boolean;
}

export interface RunResult {
  /** Exit code, or null when killed by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Set when the command could not be started (for example ENOENT). */
  spawnError?: string;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** stdout as bytes (only with RunOptions.rawStdout). */
  stdoutBytes?: Buffer;
}

const live = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // If this process dies first (runner cancels the job), take the groups with it.
  process.on('exit', () => {
    for (const pgid of live) killGroup(pgid, 'SIGKILL');
  });
}

export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Live (non-zombie) members of a process group. kill(-pgid, 0) alone is not
 * enough: in a container whose init does not reap, killed children linger as
 * zombies and would look alive forever. On Linux /proc tells the state.
 */
export function groupMembers(pgid: number): number[] {
  try {
    process.kill(-pgid, 0);
  } catch {
    return []; // no process at all, zombie or not: the cheap common case
  }
  if (process.platform !== 'linux') return [pgid];
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Fields after the parenthesised command name: state ppid pgrp ...
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(rest[2]) === pgid && rest[0] !== 'Z' && rest[0] !== 'X') members.push(Number(name));
  }
  return members;
}

/** True while any process of the group is alive (zombies do not count). */
export function groupAlive(pgid: number): boolean {
  return groupMembers(pgid).length > 0;
}

class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  private readonly max: number;
  truncated = false;
  constructor(max: number) {
    this.max = max;
  }
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size > this.max && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
      this.truncated = true;
    }
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
  text(): string {
    const s = this.bytes().toString('utf8');
    return this.truncated ? `[output truncated]\n${s}` : s;
  }
}

/**
 * After the timeout (timeout + grace) or the leader's exit (grace), the run
 * settles at the latest this much later, even if pipes are still held open.
 */
export const SETTLE_MARGIN_MS = 1000;

export function runCommand(
  file: string,
  args: readonly string[],
  opts: RunOptions
): Promise<RunResult> {
  installExitHook();
  const grace = opts.graceMs ?? 5000;
  const max = opts.maxOutputBytes ?? 4 * 1024 * 1024;
  const started = Date.now();
  return new Promise((resolvePromise) => {
    const out = new Tail(max);
    const err = new Tail(max);
    let timedOut = false;
    let settled = false;
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(file, args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        detached: true, // setsid: the child leads a new process group
        stdio: opts.onFd3 ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe']
      }) as ChildProcessWithoutNullStreams;
    } catch (e) {
      resolvePromise({
        exitCode: null,
        signal: null,
        timedOut: false,
        spawnError: (e as Error).message,
        stdout: '',
        stderr: '',
        durationMs: Date.now() - started
      });
      return;
    }
    const pgid = child.pid;
    if (pgid !== undefined) live.add(pgid);
    const fd3 = opts.onFd3 ? (child.stdio[3] as Readable | null) : null;

    const timers: NodeJS.Timeout[] = [];
    const later = (ms: number, f: () => void): void => {
      if (!settled) timers.push(setTimeout(f, ms));
    };

    const finish = (r: Omit<RunResult, 'stdout' | 'stderr' | 'durationMs' | 'timedOut'>): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      // Stop reading: a process that left the group may hold the pipes open
      // for as long as it likes; it must not keep the run, or this process, alive.
      for (const s of [child.stdin, child.stdout, child.stderr, fd3]) s?.destroy();
      child.unref();
      resolvePromise({
        ...r,
        timedOut,
        stdout: out.text(),
        stderr: err.text(),
        durationMs: Date.now() - started,
        ...(opts.rawStdout ? { stdoutBytes: out.bytes() } : {})
      });
    };

    const reap = async (): Promise<void> => {
      if (pgid === undefined) return;
      // Leftovers (daemons, backgrounded children) die with their leader.
      if (groupAlive(pgid)) {
        killGroup(pgid, 'SIGTERM');
        const deadline = Date.now() + grace;
        while (groupAlive(pgid) && Date.now() < deadline) await sleep(50);
        if (groupAlive(pgid)) killGroup(pgid, 'SIGKILL');
      }
      if (!groupAlive(pgid)) live.delete(pgid);
    };

    later(opts.timeoutMs, () => {
      timedOut = true;
      if (pgid === undefined) return;
      killGroup(pgid, 'SIGTERM');
      later(grace, () => {
        if (groupAlive(pgid)) killGroup(pgid, 'SIGKILL');
      });
      // The hard bound: whatever holds the pipes, and even if the leader has
      // not been seen to exit, the run ends here.
      later(grace + SETTLE_MARGIN_MS, () => {
        killGroup(pgid, 'SIGKILL');
        finish(exitStatus ?? { exitCode: null, signal: null });
      });
    });

    child.stdout.on('data', (b: Buffer) => {
      if (settled) return;
      out.push(b);
      opts.onStdout?.(b.toString('utf8'));
    });
    child.stderr.on('data', (b: Buffer) => {
      if (settled) return;
      err.push(b);
      opts.onStderr?.(b.toString('utf8'));
    });
    if (fd3) {
      fd3.on('data', (b: Buffer) => {
        if (!settled) opts.onFd3?.(b.toString('utf8'));
      });
      fd3.on('error', () => undefined);
    }
    child.stdout.on('error', () => undefined);
    child.stderr.on('error', () => undefined);
    child.stdin.on('error', () => undefined); // EPIPE when the child ignores stdin
    child.stdin.end(opts.input ?? undefined);

    child.on('error', (e: NodeJS.ErrnoException) => {
      if (pgid !== undefined) live.delete(pgid);
      finish({
        exitCode: null,
        signal: null,
        spawnError: e.code ? `${e.code}: ${file}` : e.message
      });
    });
    // Settle on 'close' (all output read) in the normal case; but a process
    // that escaped the group may hold the pipes open, so after the leader's
    // 'exit' and the reap, a short fallback timer settles regardless, and
    // grace + SETTLE_MARGIN_MS after the exit is the bound even for the reap.
    let exitStatus: { exitCode: number | null; signal: NodeJS.Signals | null } | undefined;
    let reaped = false;
    let closed = false;
    child.on('close', () => {
      closed = true;
      if (reaped) finish(exitStatus!);
    });
    child.on('exit', (code, signal) => {
      const status = { exitCode: code, signal };
      exitStatus = status;
      later(grace + SETTLE_MARGIN_MS, () => finish(status));
      void reap().then(() => {
        reaped = true;
        if (closed) finish(status);
        else later(200, () => finish(status));
      });
    });
  });
}

/**
 * Runs a shell command line with /bin/sh -c in a process group, with the
 * given environment as is. The user's own commands (test, coverage) belong in
 * runUserCommand() (user-command.ts), which adds the PID namespace and an
 * allowlisted environment.
 */
export function runShell(command: string, opts: RunOptions): Promise<RunResult> {
  return runCommand('/bin/sh', ['-c', command], opts);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
