// The `file` backend: the state database is a file on this host (or a volume
// every job mounts). Safe for many processes at once: WAL lets readers run
// beside the writer, the busy timeout makes writers queue instead of fail,
// and the domain functions take BEGIN IMMEDIATE, so a read-modify-write never
// interleaves with another process's. Each operation opens, checks, runs and
// closes, so no connection outlives the step that needed it. WAL relies on
// shared memory between the processes: one host, or a volume its jobs mount
// locally; never a network file system (use git-ref across hosts).

import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Database } from 'better-sqlite3';
import { ensureDir } from '../../../core/src/artefact.ts';
import {
  emptyStats,
  noteIntegrity,
  type BackendStats,
  type StateBackend,
  type WithDbOptions
} from '../backend.ts';
import { StoreError, asStoreError, isBusy } from '../errors.ts';
import { openStateDatabase } from '../open-database.ts';
import {
  DEFAULT_RETENTION,
  pruneAfterWrite,
  type PruneCounts,
  type RetentionPolicy
} from '../retention.ts';
import { verifyState, type IntegrityReport } from '../state-chain.ts';

export interface FileBackendOptions {
  /** The database file; the caller decides the default. Relative paths resolve against the cwd. */
  path: string;
  busyTimeoutMs?: number;
  now?: () => Date;
  /** The state-key input: the state chain is signed with it (state-chain.ts). */
  stateKey?: string;
  /** How the history tables are bounded (retention.ts). Default: 90 days and the default row caps. */
  retention?: RetentionPolicy;
}

export class FileBackend implements StateBackend {
  readonly name = 'file';
  readonly atomic = true;
  readonly path: string;
  readonly stats: BackendStats = emptyStats();
  /** State changed outside quality-gates, found when an operation opened the file (also in tamper). */
  readonly warnings: string[] = [];
  readonly tamper: string[] = [];
  integrity: IntegrityReport | undefined;
  /** What retention removed in the newest write that pruned anything. */
  lastPruned: PruneCounts | undefined;
  private readonly busyTimeoutMs?: number;
  private readonly retention: RetentionPolicy;
  private readonly now?: () => Date;
  private readonly stateKey?: string;

  constructor(opts: FileBackendOptions) {
    if (opts.path.trim() === '')
      throw new StoreError('(empty path)', 'the state file path is empty');
    this.path = resolve(opts.path);
    this.busyTimeoutMs = opts.busyTimeoutMs;
    this.now = opts.now;
    this.stateKey = opts.stateKey || undefined;
    this.retention = opts.retention ?? DEFAULT_RETENTION;
  }

  describe(): string {
    return this.path;
  }

  async withDb<T>(
    mode: 'read' | 'write',
    fn: (db: Database) => T,
    _opts?: WithDbOptions<T>
  ): Promise<T> {
    this.stats.operations++;
    // Busy errors that bypass the busy timeout (concurrent first creation,
    // WAL recovery) are retried with jitter; fn is re-runnable by contract.
    const deadline = Date.now() + 3 * (this.busyTimeoutMs ?? 10_000);
    for (;;) {
      this.stats.attempts++;
      try {
        return this.once(mode, fn);
      } catch (err) {
        if (!isBusy(err) || Date.now() > deadline) throw err;
        this.stats.retries++;
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 180));
      }
    }
  }

  private once<T>(mode: 'read' | 'write', fn: (db: Database) => T): T {
    // A read of a state that does not exist yet sees an empty schema in
    // memory: reading never creates files or directories.
    const absentRead = mode === 'read' && !existsSync(this.path);
    if (!absentRead) this.makeDir();
    const db = openStateDatabase(absentRead ? ':memory:' : this.path, {
      journal: absentRead ? 'delete' : 'wal',
      writable: mode === 'write',
      busyTimeoutMs: this.busyTimeoutMs,
      location: this.path,
      now: this.now,
      stateKey: this.stateKey
    });
    try {
      // Reported, never fatal here: the domain functions refuse what they must.
      const report = absentRead ? undefined : verifyState(db);
      if (report) noteIntegrity(this, report, this.path);
      const value = fn(db);
      if (mode === 'write') {
        pruneAfterWrite(this, db, this.retention, report?.ok ?? true, this.now?.() ?? new Date());
        this.stats.pushes++;
      }
      return value;
    } catch (err) {
      throw asStoreError(this.path, err);
    } finally {
      db.close();
    }
  }

  private makeDir(): void {
    try {
      ensureDir(dirname(this.path));
    } catch (err) {
      throw asStoreError(this.path, err);
    }
  }
}
