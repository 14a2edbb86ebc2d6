// Where the SQLite state file lives. A backend hands the caller an open
// database for the duration of one operation and makes the change durable
// afterwards: a file on a shared volume, a blob on a git ref (push without
// force is the compare-and-set), or a workflow artefact (no atomic update).

import type { Database } from 'better-sqlite3';

export const STATE_BACKENDS = ['file', 'git-ref', 'artifact'] as const;
export type StateBackendName = (typeof STATE_BACKENDS)[number];

export interface StateBackend {
  readonly name: StateBackendName;
  /** True when concurrent writers are serialised atomically (a lease may live here). */
  readonly atomic: boolean;
  /** Human-readable location for messages: a path, a ref, an artefact name. */
  describe(): string;
  /**
   * Runs `fn` on the database; `write` operations are made durable before the
   * promise resolves. `fn` may be re-run (git-ref retries after a lost race),
   * so it must be a pure function of the database state: compute inside it,
   * do side effects outside. Inside `fn`, the caller uses a transaction of
   * its own as needed; the backend guarantees the file is not corrupted.
   */
  withDb<T>(mode: 'read' | 'write', fn: (db: Database) => T): Promise<T>;
}
