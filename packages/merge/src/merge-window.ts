// The merge gate's side of STOP: it enters the lease's critical window
// before rebasing and pushing, and leaves it when done. A STOP that arrived
// meanwhile was deferred; leaving honours it (branch cancelled, lease
// released, counts reset, all in the leaving transaction), and the gate then
// deletes the task branch as STOP would have. A branch already cancelled
// never enters.

import type { Logger } from '../../core/src/logger.ts';
import { describeError } from '../../core/src/errors.ts';
import type { Git } from '../../git/src/git.ts';
import type { Database } from 'better-sqlite3';
import { honourPendingStop } from '../../store/src/branch-cancel.ts';
import { isCancelled, type PendingStop } from '../../store/src/branch-state.ts';
import { enterCritical, type WindowHolder } from '../../store/src/merge-window.ts';

export const CANCELLED_BY_STOP = 'cancelled by STOP';

/** entered; cancelled: the branch was stopped; lost: the lease is no longer ours. */
export type WindowEntry = 'entered' | 'cancelled' | 'lost';

/** Enters the window, in the caller's transaction (the one that took the lease). */
export function enterWindow(
  db: Database,
  repo: string,
  holder: WindowHolder,
  now: Date
): WindowEntry {
  if (isCancelled(db, repo, holder.branch)) return 'cancelled';
  return enterCritical(db, repo, holder, now) ? 'entered' : 'lost';
}

/** Leaves the window, in the caller's transaction; the deferred STOP it honoured, if one was waiting. */
export function leaveWindow(
  db: Database,
  repo: string,
  holder: WindowHolder,
  now: Date
): PendingStop | undefined {
  return honourPendingStop(db, repo, holder, now)?.stop;
}

/** The rest of a deferred STOP: delete the task branch on the remote (a failure only warns). */
export async function finishDeferredStop(
  git: Git,
  remote: string,
  branch: string,
  stop: PendingStop,
  logger: Logger
): Promise<void> {
  logger.warning(
    `${branch} ${CANCELLED_BY_STOP} (${stop.by}, requested ${stop.requestedAt}: ${stop.reason})`
  );
  try {
    const r = await git.deleteRemoteBranch(remote, branch);
    logger.info(
      r.outcome === 'deleted'
        ? `deleted ${branch} on ${remote}`
        : `${branch} was already gone from ${remote}`
    );
  } catch (err) {
    logger.warning(`${branch} not deleted on ${remote}: ${describeError(err)}`);
  }
}
