// Process checks for tests: whether one pid is still a live process (read
// from /proc independently of packages/proc, to prove nothing outlives a
// run), and whether an optional system command is there to run.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
