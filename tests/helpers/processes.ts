// Process checks for tests: whether one pid is still a live process (read
// from /proc independently of packages/proc, to prove nothing outlives a
// run), and whether an optional system command is there to run.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** True while `pid` exists and is running or sleeping: not a zombie (Z) waiting for a reaper, nor dead (X). */
export function isLiveProcess(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ...; comm may contain spaces and parentheses.
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]);
  } catch {
    return false;
  }
}

/** Whether `command args` runs and exits 0 here: for tests of an optional system tool (tar, zip). */
export function commandRuns(command: string, ...args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A `sleep` argument unique to this run, to find a command's processes in /proc. */
export function sleepMarker(base: number): string {
  return `${base}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
}

/** Live (not zombie) processes whose command line contains `text`, read from the host's /proc. */
export function liveWith(text: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(text) && isLiveProcess(Number(name))) pids.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Polls until no process carries `text` or `ms` pass; returns the survivors. */
export async function goneWithin(text: string, ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = liveWith(text);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}
