// Runs store-child.ts in separate Node processes (the project's Node 24, as
// the actions run) and collects their JSON lines: the multi-process half of
// the store tests.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildJob, ChildLine } from './store-child.ts';
import { GIT_ENV } from './git-repo.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const NODE = join(root, 'node_modules', '.bin', 'node');
const CHILD = join(root, 'tests', 'helpers', 'store-child.ts');

export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: ChildLine[];
  stderr: string;
}

export interface SpawnOptions {
  /**
   * Kill the child with SIGKILL this many ms after its first line of output
   * (the crash tests: counting from the first finished operation, not from
   * spawn, keeps a slow start on a loaded machine from killing it too early).
   */
  killAfterFirstLineMs?: number;
  /**
   * Run the operation as this uid/gid (root tests simulating an unprivileged
   * runner). The child drops to it itself after loading (store-child.ts
   * `runAs`): spawned as that user it could not even execute the project's
   * node when the clone sits in a directory other users cannot traverse.
   */
  uid?: number;
  gid?: number;
  timeoutMs?: number;
}

export function runChild(job: ChildJob, opts: SpawnOptions = {}): Promise<ChildOutcome> {
  return new Promise((resolvePromise, reject) => {
    const runAs = opts.uid === undefined ? undefined : { uid: opts.uid, gid: opts.gid ?? opts.uid };
    const child = spawn(NODE, [CHILD, JSON.stringify(runAs ? { ...job, runAs } : job)], {
      env: { ...process.env, ...GIT_ENV, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    let out = '';
    let err = '';
    const timers: NodeJS.Timeout[] = [];
    child.stdout.on('data', (b: Buffer) => {
      if (out === '' && opts.killAfterFirstLineMs !== undefined)
        timers.push(setTimeout(() => child.kill('SIGKILL'), opts.killAfterFirstLineMs));
      out += b.toString('utf8');
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    timers.push(setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      const lines = out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as ChildLine);
      resolvePromise({ code, signal, lines, stderr: err });
    });
  });
}

/** Random percentages with two decimals, reproducible from `seed`. */
export function randomValues(count: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out.push((s % 10001) / 100);
  }
  return out;
}
