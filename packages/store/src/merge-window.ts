// The merge lease's critical window: from the moment the merge gate holds
// the lease and starts rebasing and pushing until it has finished. STOP does
// not pull the lease from under a gate inside it (the branch on the remote
// could be half-updated); it waits, or leaves a request the gate honours on
// the way out. Kept in merge_lease.critical_since; a gate that dies inside
// the window leaves it set until the lease expires and is reclaimed (the
// reclaim clears it), so an expired lease is never inside the window.

import type { Database } from 'better-sqlite3';
import { repoKey } from './keys.ts';
import { currentLease, leaseExpired, type Lease } from './lease.ts';

/** Who holds the lease: the branch, and the lease id when known (a stricter check). */
export interface WindowHolder {
  branch: string;
  leaseId?: string;
}

export interface MergeWindow {
  lease: Lease;
  since: string;
}

function holderClause(holder: WindowHolder): { sql: string; args: string[] } {
  return holder.leaseId === undefined
    ? { sql: 'branch = ?', args: [holder.branch] }
    : { sql: 'branch = ? AND lease_id = ?', args: [holder.branch, holder.leaseId] };
}

/** Opens the window; false (nothing changed) when `holder` does not hold the lease. */
export function enterCritical(
  db: Database,
  repo: string,
  holder: WindowHolder,
  now: Date
): boolean {
  const h = holderClause(holder);
  return db
    .transaction(
      () =>
        db
          .prepare(`UPDATE merge_lease SET critical_since = ? WHERE repo = ? AND ${h.sql}`)
          .run(now.toISOString(), repoKey(repo), ...h.args).changes > 0
    )
    .immediate();
}

/** Closes the window; false when `holder` no longer holds the lease. */
export function leaveCritical(db: Database, repo: string, holder: WindowHolder): boolean {
  const h = holderClause(holder);
  return db
    .transaction(
      () =>
        db
          .prepare(`UPDATE merge_lease SET critical_since = NULL WHERE repo = ? AND ${h.sql}`)
          .run(repoKey(repo), ...h.args).changes > 0
    )
    .immediate();
}

/** The open window of `repo` at `now`: a live lease whose holder is inside it. */
export function mergeWindow(db: Database, repo: string, now: Date): MergeWindow | undefined {
  const lease = currentLease(db, repo);
  if (!lease || leaseExpired(lease, now)) return undefined;
  const since = db
    .prepare('SELECT critical_since FROM merge_lease WHERE repo = ?')
    .pluck()
    .get(repoKey(repo)) as string | null | undefined;
  return since ? { lease, since } : undefined;
}
