// The state store as a test reads it after a run: the file the jobs shared,
// or the state commit on origin's state ref (git-ref backend), copied and
// opened read-only. Reads through the store's own functions.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { getBaseline, type Baseline } from '../../../packages/store/src/baseline.ts';
import { branchState, type BranchState } from '../../../packages/store/src/branch-state.ts';
import { liveLease, waitingBranches, type Lease } from '../../../packages/store/src/lease.ts';
import { openStateDatabase } from '../../../packages/store/src/open-database.ts';
import { STATE_REF } from '../state-ref.ts';
import { tempDir } from '../tmp.ts';

export type StateLocation =
  { backend: 'git-ref'; origin: string; ref?: string } | { backend: 'file'; path: string };

export interface StateView {
  /** The lease row (released leases leave none). */
  lease: Lease | undefined;
  baseline(branch?: string): Baseline | undefined;
  branch(branch: string): BranchState | undefined;
  /** The merge queue: branches waiting for the lease, longest-waiting first. */
  waiting: string[];
}

/** A snapshot of the state, or undefined when there is none yet (no state ref, no file). */
export function readState(
  where: StateLocation,
  repository: string,
  /** The state-key the workflows pass (secrets.QG_STATE_KEY), when the state is signed. */
  stateKey?: string
): StateView | undefined {
  const copy = join(tempDir('qg-state-view-'), 'state.sqlite');
  if (where.backend === 'git-ref') {
    const ref = where.ref ?? STATE_REF;
    try {
      execFileSync('git', ['rev-parse', '--verify', '-q', ref], {
        cwd: where.origin,
        stdio: 'ignore'
      });
    } catch {
      return undefined;
    }
    writeFileSync(
      copy,
      execFileSync('git', ['cat-file', 'blob', `${ref}:state.sqlite`], { cwd: where.origin })
    );
  } else {
    if (!existsSync(where.path)) return undefined;
    copyFileSync(where.path, copy);
    for (const ext of ['-wal', '-shm'])
      if (existsSync(where.path + ext)) copyFileSync(where.path + ext, copy + ext);
  }
  const read = <T>(fn: (db: Database) => T): T => {
    const db = openStateDatabase(copy, { journal: 'delete', writable: true, stateKey });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  return {
    lease: read((db) => liveLease(db, repository)),
    baseline: (branch = 'main') => read((db) => getBaseline(db, repository, branch)),
    branch: (b) => read((db) => branchState(db, repository, b)),
    waiting: read((db) => waitingBranches(db, repository).map((x) => x.branch))
  };
}
