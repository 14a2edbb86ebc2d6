// Where the SQLite state file lives. A backend hands the caller an open
// database for the duration of one operation and makes the change durable
// afterwards: a file on a shared volume, a blob on a git ref (push without
// force is the compare-and-set), or a workflow artefact (no atomic update).

import type { Database } from 'better-sqlite3';
import type { IntegrityReport } from './state-chain.ts';

export const STATE_BACKENDS = ['file', 'git-ref', 'artifact'] as const;
export type StateBackendName = (typeof STATE_BACKENDS)[number];

/** Counters since the backend was created; the benchmark prints them. */
export interface BackendStats {
  /** withDb calls. */
  operations: number;
  /** Times `fn` ran (operations + retries). */
  attempts: number;
  /** Attempts redone because another writer won (git-ref: push rejected). */
  retries: number;
  /** Writes made durable (file: write operations; git-ref: commits pushed, none for a write that changed nothing). */
  pushes: number;
}

export interface WithDbOptions<T> {
  /**
   * One line saying what the change did, made from fn's result. git-ref uses
   * it as the commit message, so the ref's history reads as an audit log.
   */
  message?: (result: T) => string;
  /**
   * git-ref only, for a maintainer's reseal: what to do with a tip commit
   * quality-gates did not write (default: refuse the operation).
   * accept-foreign: run `fn` on its state (stateContext(db).foreign says
   * which commit and why); restore-last-written: run `fn` on the state of the
   * newest commit quality-gates wrote. Either way the result is committed on
   * top of the tip, never forced.
   */
  integrity?: 'accept-foreign' | 'restore-last-written';
}

export interface StateBackend {
  readonly name: StateBackendName;
  /** True when concurrent writers are serialised atomically (a lease may live here). */
  readonly atomic: boolean;
  /** Optional so a backend without retries need not count; see BackendStats. */
  readonly stats?: BackendStats;
  /** Human-readable location for messages: a path, a ref, an artefact name. */
  describe(): string;
  /** Warnings about the state itself (an artefact backend starting over), already logged; gates copy them into their reports. */
  readonly warnings?: readonly string[];
  /**
   * What the integrity checks of this backend's operations found: the state
   * changed outside quality-gates (state-chain.ts), one line each, without
   * repeats. The same lines are in `warnings`. Empty when all verified.
   */
  readonly tamper?: readonly string[];
  /** The integrity check of the newest operation (undefined before the first, or for an absent state). */
  readonly integrity?: IntegrityReport;
  /**
   * Runs `fn` on the database, opened through openStateDatabase() (checked,
   * current schema; a read of a state that does not exist yet gets an empty
   * migrated database). `write` operations are made durable before the
   * promise resolves, `read` operations never publish anything. `fn` may be
   * re-run (git-ref retries after a lost race), so it must be a pure function
   * of the database state and its captured inputs: compute inside it, do side
   * effects outside. Inside `fn`, the caller uses a transaction of its own as
   * needed (BEGIN IMMEDIATE for read-modify-write); the backend guarantees
   * the file is never left corrupt. Failures of the store itself reject with
   * a StoreError naming describe().
   */
  withDb<T>(mode: 'read' | 'write', fn: (db: Database) => T, opts?: WithDbOptions<T>): Promise<T>;
}

export function emptyStats(): BackendStats {
  return { operations: 0, attempts: 0, retries: 0, pushes: 0 };
}

/** What a backend keeps of its integrity checks (see StateBackend.tamper). */
export interface IntegrityNotes {
  warnings: string[];
  tamper: string[];
  integrity?: IntegrityReport;
}

/** Records one operation's integrity report: new problem lines go to tamper and warnings. */
export function noteIntegrity(
  notes: IntegrityNotes,
  report: IntegrityReport,
  location: string
): void {
  notes.integrity = report;
  for (const line of report.lines) {
    const text = `state store ${location}: tampered: ${line}`;
    if (notes.tamper.includes(text)) continue;
    notes.tamper.push(text);
    notes.warnings.push(text);
  }
}
