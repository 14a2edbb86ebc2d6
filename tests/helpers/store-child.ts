// A child process for the store's multi-process tests, run directly by
// Node 24 (erasable TypeScript): `node store-child.ts '<json Job>'`. It
// prints one JSON object per line on stdout, flushed synchronously, so a
// parent that SIGKILLs it knows exactly which operations completed.

import { writeSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { BackendConfig } from '../../packages/store/src/open-backend.ts';
import { FileBackend } from '../../packages/store/src/backends/file.ts';
import { GitRefBackend } from '../../packages/store/src/backends/git-ref.ts';
import { StateStore } from '../../packages/store/src/state-store.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import { ratchetBaseline } from '../../packages/store/src/baseline.ts';

export type ChildOp =
  /** Ratchet each of `values` in turn through the backend. */
  | 'ratchet'
  /** Ratchet start, start+step, ... forever (the parent kills it). */
  | 'ratchet-loop'
  /** file: inside one BEGIN IMMEDIATE, ratchet to values[0], then SIGKILL itself before COMMIT. */
  | 'kill-mid-ratchet'
  /** git-ref: ratchet to values[0], SIGKILL itself after the commit exists, before the push. */
  | 'kill-before-push'
  /** git-ref: SIGKILL itself inside fn, with the private copy half-written. */
  | 'kill-in-fn';

export interface ChildJob {
  op: ChildOp;
  backend: BackendConfig;
  repo: string;
  branch: string;
  values?: number[];
  start?: number;
  step?: number;
  /** Epoch ms to wait for before the first operation, so children really race. */
  startAt?: number;
  actor?: string;
  /**
   * Become this user before the operation (a root test simulating an
   * unprivileged runner). The child starts as its parent's user and drops
   * to it only after loading its code, so it works wherever the clone is,
   * even in a directory other users cannot traverse.
   */
  runAs?: { uid: number; gid: number };
}

export type ChildLine =
  | { type: 'result'; value: number; outcome: string; old: number | null; new: number }
  | { type: 'marker'; at: string }
  | { type: 'done'; stats?: unknown }
  | { type: 'error'; name: string; message: string; kind?: string };

function emit(line: ChildLine): void {
  writeSync(1, `${JSON.stringify(line)}\n`);
}

function input(job: ChildJob, value: number) {
  return {
    repo: job.repo,
    branch: job.branch,
    percent: value,
    sha: `${Math.round(value * 100)
      .toString(16)
      .padStart(40, '0')}`,
    actor: job.actor ?? `pid-${process.pid}`,
    reason: 'landing'
  };
}

function dropPrivileges(to: { uid: number; gid: number }): void {
  // The SQLite addon loads on first use: load it while the clone is readable.
  new Database(':memory:').close();
  process.setgroups?.([]);
  process.setgid?.(to.gid);
  process.setuid?.(to.uid);
}

async function main(job: ChildJob): Promise<void> {
  if (job.runAs) dropPrivileges(job.runAs);
  if (job.startAt !== undefined) {
    const wait = job.startAt - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const die = (at: string): never => {
    emit({ type: 'marker', at });
    process.kill(process.pid, 'SIGKILL');
    throw new Error('unreachable');
  };
  if (job.op === 'kill-mid-ratchet') {
    if (job.backend.kind !== 'file') throw new Error('kill-mid-ratchet needs a file backend');
    const db = openStateDatabase(job.backend.path, { journal: 'wal', writable: true });
    db.transaction(() => {
      ratchetBaseline(db, input(job, job.values![0]), new Date());
      die('in-transaction');
    }).immediate();
    return;
  }
  const config: BackendConfig =
    job.op === 'kill-before-push' && job.backend.kind === 'git-ref'
      ? { ...job.backend, beforePush: () => die('before-push') }
      : job.backend;
  // Built directly, not through openBackend(), so a child loads only the code under test.
  const backend =
    config.kind === 'file'
      ? new FileBackend(config)
      : config.kind === 'git-ref'
        ? new GitRefBackend(config)
        : undefined;
  if (!backend) throw new Error(`store-child: unsupported backend ${config.kind}`);
  const store = new StateStore(backend);
  if (job.op === 'kill-in-fn') {
    await backend.withDb('write', (db) => {
      ratchetBaseline(db, input(job, job.values![0]), new Date());
      die('in-fn');
    });
    return;
  }
  const values =
    job.op === 'ratchet-loop'
      ? (function* () {
          for (let v = job.start ?? 0; v <= 100; v += job.step ?? 0.01)
            yield Math.round(v * 100) / 100;
        })()
      : (job.values ?? []);
  for (const v of values) {
    const r = await store.ratchetBaseline(input(job, v));
    emit({ type: 'result', value: v, outcome: r.outcome, old: r.old, new: r.new });
  }
  emit({ type: 'done', stats: backend.stats });
}

main(JSON.parse(process.argv[2]) as ChildJob).catch((err: unknown) => {
  const e = err as { name?: string; message?: string; kind?: string };
  emit({ type: 'error', name: e.name ?? 'Error', message: e.message ?? String(err), kind: e.kind });
  process.exitCode = 1;
});
