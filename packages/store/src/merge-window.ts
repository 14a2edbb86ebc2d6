// The merge lease's critical window: from the moment the merge gate holds
// the lease and starts rebasing and pushing until it has finished. STOP does
// not pull the lease from under a gate inside it (the branch on the remote
// could be half-updated); it waits, or leaves a request the gate honours on
// the way out. Kept in merge_lease.critical_since; a gate that dies inside
// the window leaves it set until the lease expires and is reclaimed (the
// reclaim clears it), so an expired lease is never inside the window.
// Entering and leaving are lease changes: one state-chain row each, refused
// when the lease was changed outside the store (lease.ts).

import type { Database } from 'better-sqlite3';
import { chainKey } from './chained-rows.ts';
import { repoKey } from './keys.ts';
import { chainLease, currentLease, leaseExpired, type Lease } from './lease.ts';
import { requireUntouched, type ChangeInput } from './state-chain.ts';

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
  return markCritical(db, repo, holder, now.toISOString(), {
    op: 'enter-window',
    reason: `${holder.branch} entered its merge window`,
    at: now
  });
}

/** Closes the window; false when `holder` no longer holds the lease. */
export function leaveCritical(
  db: Database,
  repo: string,
  holder: WindowHolder,
  now: Date = new Date()
): boolean {
  return markCritical(db, repo, holder, null, {
    op: 'leave-window',
    reason: `${holder.branch} left its merge window`,
    at: now
  });
}

/**
 * Sets critical_since of the lease `holder` holds to `since` (null: the
 * window closed) and chains the change; false, with nothing changed, when
 * `holder` does not hold the lease.
 */
function markCritical(
  db: Database,
  repo: string,
  holder: WindowHolder,
  since: string | null,
  change: ChangeInput
): boolean {
  const h = holderClause(holder);
  const r = repoKey(repo);
  return db
    .transaction(() => {
      requireUntouched(db, 'lease', chainKey(r));
      const changed =
        db
          .prepare(`UPDATE merge_lease SET critical_since = ? WHERE repo = ? AND ${h.sql}`)
          .run(since, r, ...h.args).changes > 0;
      if (changed) chainLease(db, r, change);
      return changed;
    })
    .immediate();
}

/**
 * The open window of `repo` at `now`: a live lease whose holder is inside it.
 * Throws a StoreError (code 'tampered') when the lease was changed outside
 * the store (currentLease).
 */
export function mergeWindow(db: Database, repo: string, now: Date): MergeWindow | undefined {
  const lease = currentLease(db, repo);
  if (!lease || leaseExpired(lease, now)) return undefined;
  const since = liveCriticalSince(db, repo);
  return since ? { lease, since } : undefined;
}

/** The window's start as the table holds it, unchecked (status shows it next to the integrity report). */
export function liveCriticalSince(db: Database, repo: string): string | undefined {
  const since = db
    .prepare('SELECT critical_since FROM merge_lease WHERE repo = ?')
    .pluck()
    .get(repoKey(repo)) as string | null | undefined;
  return since ?? undefined;
}
