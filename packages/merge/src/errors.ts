// The errors of the merge catch-up: a refusal with a reason code and one
// line that says what to do, and the lost force-with-lease race.

export type CatchUpRefusal =
  | 'invalid-name'
  | 'unknown-remote'
  | 'detached'
  | 'dirty'
  | 'operation-in-progress'
  | 'shallow'
  | 'base-missing'
  | 'remote-branch-deleted'
  | 'fetch-failed'
  | 'head-mismatch'
  | 'already-merged'
  | 'no-common-history'
  | 'rebase-failed'
  | 'restore-failed';

export class CatchUpError extends Error {
  readonly reason: CatchUpRefusal;
  constructor(reason: CatchUpRefusal, message: string) {
    super(message);
    this.name = 'CatchUpError';
    this.reason = reason;
  }
}

/**
 * The remote branch was not at the sha the rebase started from when the
 * rebased branch was pushed (someone force-pushed or pushed meanwhile):
 * --force-with-lease refused, nothing was overwritten.
 */
export class LeaseRejectedError extends Error {
  readonly branch: string;
  readonly expectedOldSha: string;
  constructor(branch: string, expectedOldSha: string) {
    super(
      `push refused: '${branch}' on the remote is no longer at ${expectedOldSha.slice(0, 12)} (someone else pushed to it while the gate ran); nothing was overwritten, re-run the gate`
    );
    this.name = 'LeaseRejectedError';
    this.branch = branch;
    this.expectedOldSha = expectedOldSha;
  }
}
