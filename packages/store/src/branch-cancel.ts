// STOP's state change, as one transaction each: cancel a branch (mark it,
// release the merge lease if the branch holds it, forget its retry counts),
// or, while the branch is inside the merge window, leave a request that the
// merge gate honours when it leaves the window. Deciding and acting in the
// same transaction is what keeps STOP and the gate from crossing.

import type { Database } from 'better-sqlite3';
import {
  markCancelled,
  pendingStop,
  requestStop,
  type PendingStop,
  type StopInput
} from './branch-state.ts';
import { branchKey } from './keys.ts';
import { releaseLease, type ReleaseOutcome } from './lease.ts';
import { leaveCritical, mergeWindow, type MergeWindow, type WindowHolder } from './merge-window.ts';
import { resetCounters } from './retries.ts';

export interface CancelResult {
  /** released: the branch held the lease; not-holder / absent: it did not. */
  lease: ReleaseOutcome;
  /** Gate rows of retry counts removed. */
  countersCleared: number;
}

export type StopDecision =
  | ({ outcome: 'cancelled' } & CancelResult)
  | { outcome: 'deferred'; window: MergeWindow; request: PendingStop };

/** Marks the branch cancelled, releases its lease (only its own), resets its counts. */
export function cancelBranch(db: Database, s: StopInput, now: Date): CancelResult {
  return db
    .transaction((): CancelResult => {
      markCancelled(db, s, now);
      return {
        lease: releaseLease(db, { repo: s.repo, branch: s.branch }, now),
        countersCleared: resetCounters(db, s.repo, s.branch)
      };
    })
    .immediate();
}

/** True when the branch holds a live lease inside the merge window. */
export function inMergeWindow(db: Database, repo: string, branch: string, now: Date): boolean {
  return mergeWindow(db, repo, now)?.lease.branch === branchKey(branch);
}

/** Cancels the branch now, or, when it is inside the merge window, records a deferred STOP. */
export function stopOrDefer(db: Database, s: StopInput, now: Date): StopDecision {
  return db
    .transaction((): StopDecision => {
      const window = mergeWindow(db, s.repo, now);
      if (window && window.lease.branch === branchKey(s.branch))
        return { outcome: 'deferred', window, request: requestStop(db, s, now) };
      return { outcome: 'cancelled', ...cancelBranch(db, s, now) };
    })
    .immediate();
}

/**
 * The merge gate leaving its window: closes it and, when a STOP waited for
 * that, cancels the branch as STOP would have (lease released, counts reset).
 */
export function honourPendingStop(
  db: Database,
  repo: string,
  holder: WindowHolder,
  now: Date
): { stop: PendingStop; result: CancelResult } | undefined {
  return db
    .transaction(() => {
      leaveCritical(db, repo, holder, now);
      const stop = pendingStop(db, repo, holder.branch);
      if (!stop) return undefined;
      const result = cancelBranch(
        db,
        { repo, branch: holder.branch, by: stop.by, reason: stop.reason },
        now
      );
      return { stop, result };
    })
    .immediate();
}
