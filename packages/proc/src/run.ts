// Run a command in its own process group. A timeout, and the leader's own
// exit, both end the whole group (SIGTERM, a grace period, SIGKILL), so no
// forked child or daemon outlives the run. A child that calls setsid() itself
// leaves the group and is beyond reach without cgroups; documented.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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
  text(): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return this.truncated ? `[output truncated]\n${s}` : s;
  }
}

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
    let child;
    try {
      child = spawn(file, args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        detached: true, // setsid: the child leads a new process group
        stdio: ['pipe', 'pipe', 'pipe']
      });
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

    const finish = (r: Omit<RunResult, 'stdout' | 'stderr' | 'durationMs' | 'timedOut'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolvePromise({
        ...r,
        timedOut,
        stdout: out.text(),
        stderr: err.text(),
        durationMs: Date.now() - started
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
      live.delete(pgid);
    };

    const timer = setTimeout(() => {
      timedOut = true;
      if (pgid !== undefined) {
        killGroup(pgid, 'SIGTERM');
        setTimeout(() => {
          if (pgid !== undefined && groupAlive(pgid)) killGroup(pgid, 'SIGKILL');
        }, grace).unref();
      }
    }, opts.timeoutMs);

    child.stdout.on('data', (b: Buffer) => {
      out.push(b);
      opts.onStdout?.(b.toString('utf8'));
    });
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
      opts.onStderr?.(b.toString('utf8'));
    });
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
    // Settle on 'close' (all output read) in the normal case; but a daemon that
    // escaped the group may hold the pipes open, so after the leader's 'exit'
    // and the reap, a short fallback timer settles regardless.
    let exited: { exitCode: number | null; signal: NodeJS.Signals | null } | undefined;
    let closed = false;
    child.on('close', () => {
      closed = true;
      if (exited) finish(exited);
    });
    child.on('exit', (code, signal) => {
      void reap().then(() => {
        exited = { exitCode: code, signal };
        if (closed) finish(exited);
        else setTimeout(() => finish(exited!), 200).unref();
      });
    });
  });
}

/** Runs a shell command line (the user's own command input) with /bin/sh -c. */
export function runShell(command: string, opts: RunOptions): Promise<RunResult> {
  return runCommand('/bin/sh', ['-c', command], opts);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
