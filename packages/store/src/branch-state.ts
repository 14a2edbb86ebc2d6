// What STOP leaves on a branch: cancelled (who, when, why), or a STOP that
// waits for the merge gate to leave its critical window (requested, who,
// why). One row per (repo, branch) in branch_state; every write is one
// immediate transaction.

import type { Database } from 'better-sqlite3';
import { branchKey, repoKey } from './keys.ts';

export interface StopInput {
  repo: string;
  branch: string;
  /** Who asked (GITHUB_ACTOR). */
  by: string;
  reason: string;
}

export interface BranchState {
  branch: string;
  state: 'cancelled' | null;
  cancelledAt: string | null;
  cancelledBy: string | null;
  reason: string | null;
  /** Set while a deferred STOP waits for the merge window to end. */
  stopRequestedAt: string | null;
  stopRequestedBy: string | null;
}

export interface PendingStop {
  branch: string;
  requestedAt: string;
  by: string;
  reason: string;
}

interface Row {
  branch: string;
  state: 'cancelled' | null;
  cancelled_at: string | null;
  cancelled_by: string | null;
  reason: string | null;
  stop_requested_at: string | null;
  stop_requested_by: string | null;
}

const COLUMNS =
  'branch, state, cancelled_at, cancelled_by, reason, stop_requested_at, stop_requested_by';

function fromRow(r: Row): BranchState {
  return {
    branch: r.branch,
    state: r.state,
    cancelledAt: r.cancelled_at,
    cancelledBy: r.cancelled_by,
    reason: r.reason,
    stopRequestedAt: r.stop_requested_at,
    stopRequestedBy: r.stop_requested_by
  };
}

/** Marks the branch cancelled; a pending STOP is thereby done and cleared. */
export function markCancelled(db: Database, s: StopInput, now: Date): void {
  const repo = repoKey(s.repo);
  const branch = branchKey(s.branch);
  db.transaction(() =>
    db
      .prepare(
        `INSERT INTO branch_state (repo, branch, state, cancelled_at, cancelled_by, reason)
         VALUES (?, ?, 'cancelled', ?, ?, ?)
         ON CONFLICT (repo, branch) DO UPDATE SET
           state = 'cancelled', cancelled_at = excluded.cancelled_at,
           cancelled_by = excluded.cancelled_by, reason = excluded.reason,
           stop_requested_at = NULL, stop_requested_by = NULL`
      )
      .run(repo, branch, now.toISOString(), s.by, s.reason)
  ).immediate();
}

/**
 * Records a STOP that must wait for the merge window. A second request keeps
 * the first request's time and takes the newer requester and reason.
 */
export function requestStop(db: Database, s: StopInput, now: Date): PendingStop {
  const repo = repoKey(s.repo);
  const branch = branchKey(s.branch);
  return db
    .transaction(() => {
      db.prepare(
        `INSERT INTO branch_state (repo, branch, reason, stop_requested_at, stop_requested_by)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (repo, branch) DO UPDATE SET
           reason = excluded.reason,
           stop_requested_at = COALESCE(stop_requested_at, excluded.stop_requested_at),
           stop_requested_by = excluded.stop_requested_by`
      ).run(repo, branch, s.reason, now.toISOString(), s.by);
      return pendingStop(db, repo, branch)!;
    })
    .immediate();
}

export function branchState(db: Database, repo: string, branch: string): BranchState | undefined {
  const row = db
    .prepare(`SELECT ${COLUMNS} FROM branch_state WHERE repo = ? AND branch = ?`)
    .get(repoKey(repo), branchKey(branch)) as Row | undefined;
  return row && fromRow(row);
}

export function isCancelled(db: Database, repo: string, branch: string): boolean {
  return branchState(db, repo, branch)?.state === 'cancelled';
}

/** The STOP waiting for the branch's merge window to end, if any. */
export function pendingStop(db: Database, repo: string, branch: string): PendingStop | undefined {
  const s = branchState(db, repo, branch);
  if (!s || s.stopRequestedAt === null) return undefined;
  return {
    branch: s.branch,
    requestedAt: s.stopRequestedAt,
    by: s.stopRequestedBy ?? '',
    reason: s.reason ?? ''
  };
}

/** Forgets the branch's cancelled mark and pending STOP; true when there was one. */
export function clearBranch(db: Database, repo: string, branch: string): boolean {
  const r = repoKey(repo);
  const b = branchKey(branch);
  return db
    .transaction(
      () =>
        db.prepare('DELETE FROM branch_state WHERE repo = ? AND branch = ?').run(r, b).changes > 0
    )
    .immediate();
}

/** Cancelled branches and branches with a pending STOP, newest first. */
export function stoppedBranches(db: Database, repo: string): BranchState[] {
  const rows = db
    .prepare(
      `SELECT ${COLUMNS} FROM branch_state WHERE repo = ?
       ORDER BY COALESCE(cancelled_at, stop_requested_at) DESC, branch`
    )
    .all(repoKey(repo)) as Row[];
  return rows.map(fromRow);
}
