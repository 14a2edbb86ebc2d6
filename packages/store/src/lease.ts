// The merge lease: at most one branch of a repository is being merged at a
// time. One row per repository in merge_lease names the holder (branch, head,
// run) and when the lease expires; every change is one BEGIN IMMEDIATE
// transaction, so two processes (or two git-ref writers, through the push
// compare-and-set) can never both acquire it. A holder that died is reclaimed
// only after its expiry, and the reclaim is logged with the stale holder.
// Also owns the log of lease events and the list of branches waiting for
// the lease, and acquireLeaseWithWait(), the bounded, jittered wait on top
// of a StateBackend (which must be atomic: requireAtomic()).
//
// Every change of a lease (merge_lease and its fencing counter) is one row of
// the state chain (state-chain.ts) in the same transaction. A lease whose
// rows differ from the chain (changed outside the store), or a chain that
// does not verify, is refused by every operation here and by currentLease()
// (StoreError code 'tampered'): the merge gate fails closed.

import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { StateBackend } from './backend.ts';
import { chainKey } from './chained-rows.ts';
import { COUNTER, bumpCounter } from './counters.ts';
import { branchKey, repoKey } from './keys.ts';
import { requireAtomic } from './require-atomic.ts';
import { recordChange, requireUntouched, type ChangeInput } from './state-chain.ts';

export const LEASE_EVENTS = [
  'acquired',
  'released',
  'reclaimed',
  'refused',
  'expired-release'
] as const;
export type LeaseEventKind = (typeof LEASE_EVENTS)[number];

export interface Lease {
  repo: string;
  branch: string;
  headSha: string;
  runId: string;
  acquiredAt: string;
  expiresAt: string;
  leaseId: string;
  /**
   * The fencing token: a per-repository number that grows with every new
   * holder (acquire or reclaim; a renewal keeps it). A holder proves it still
   * holds the lease by its lease id and token (confirmLease), so a holder
   * whose lease was released or reclaimed behind its back cannot act on it.
   */
  token: number;
  /** The pull request the holder gates, when known. */
  prNumber: number | null;
  /** owner/name of the repository the head branch lives in (a fork's differs), when known. */
  headRepo: string | null;
}

/** Who holds or asks for the lease, beyond the branch name. */
export interface LeaseIdentity {
  prNumber?: number;
  headRepo?: string;
}

export interface LeaseRequest extends LeaseIdentity {
  repo: string;
  branch: string;
  headSha: string;
  /** The CI run asking (e.g. `${GITHUB_RUN_ID}.${GITHUB_RUN_ATTEMPT}`): a renewal needs the same one. */
  runId: string;
  /** How long the lease lasts without renewal; a holder that dies is reclaimable after this. */
  ttlMs: number;
}

export type AcquireOutcome = 'acquired' | 'renewed' | 'reclaimed' | 'busy';

export interface AcquireResult {
  outcome: AcquireOutcome;
  /** The lease row after the call: the caller's own unless busy, then the other holder's. */
  holder: Lease;
  /** The caller's lease id; undefined when busy. */
  leaseId: string | undefined;
  /** reclaimed: the stale holder that was displaced. */
  previous?: Lease;
}

export interface AcquireOptions {
  /** Log a 'refused' event when busy (default true; a waiter logs only its first refusal). */
  logRefusal?: boolean;
  /** Lease id for a new lease; default a random UUID. */
  newLeaseId?: () => string;
}

export interface ReleaseRequest extends LeaseIdentity {
  repo: string;
  branch: string;
  /** When given, the holder must be this run too. */
  runId?: string;
  /** When given, the holder must hold this lease id too. */
  leaseId?: string;
  /** When given, the holder's fencing token must be this one too. */
  token?: number;
  /**
   * Refuse ('in-window') while the holder is inside its merge window (rebase,
   * re-test, push) and its lease has not expired: a release on behalf of a
   * pull request that is still open must not pull the lease from under a
   * running merge gate. The holder's own release leaves this unset.
   */
  refuseInWindow?: boolean;
}

export type ReleaseOutcome = 'released' | 'not-holder' | 'absent' | 'in-window';

export interface LeaseEvent {
  id: number;
  repo: string;
  branch: string;
  event: LeaseEventKind;
  headSha: string;
  runId: string;
  leaseId: string | null;
  /** The other party: the stale holder of a reclaim, the holder that refused an acquire. */
  other: {
    branch: string;
    runId: string;
    headSha: string;
    leaseId: string;
    expiresAt: string;
  } | null;
  at: string;
}

export interface Waiting {
  repo: string;
  branch: string;
  /** When it first found the lease busy (its place in the queue). */
  since: string;
  /** The pull request it waits for, when the run knew it (the wake-up dispatches it). */
  prNumber: number | null;
  /** The last wake-up sent for it (a workflow_dispatch of the edge), if any. */
  wokenAt: string | null;
  wakeAttempts: number;
  /** Why the last wake-up failed; null when it was sent. */
  wakeError: string | null;
}

interface LeaseRow {
  repo: string;
  branch: string;
  head_sha: string;
  run_id: string;
  acquired_at: string;
  expires_at: string;
  lease_id: string;
  token: number;
  pr_number: number | null;
  head_repo: string | null;
  critical_since: string | null;
}

interface EventRow {
  id: number;
  repo: string;
  branch: string;
  event: LeaseEventKind;
  head_sha: string;
  run_id: string;
  lease_id: string | null;
  other_branch: string | null;
  other_run_id: string | null;
  other_head_sha: string | null;
  other_lease_id: string | null;
  other_expires_at: string | null;
  at: string;
}

/** True when the lease is past its expiry at `now` (expiry itself counts as past). */
export function leaseExpired(lease: Lease, now: Date): boolean {
  return now.getTime() >= Date.parse(lease.expiresAt);
}

/**
 * Takes the repository's merge lease for `req.branch`, or tells who holds it.
 * renewed: the same branch and run already hold it (expiry and head move on).
 * reclaimed: the holder's lease had expired; it is replaced and the reclaim
 * is logged naming it (and counted as stale-reclaim). Acquiring clears the
 * branch from the waiting list.
 */
export function tryAcquireLease(
  db: Database,
  req: LeaseRequest,
  now: Date,
  opts: AcquireOptions = {}
): AcquireResult {
  const repo = repoKey(req.repo);
  const branch = branchKey(req.branch);
  requireText('head sha', req.headSha);
  requireText('run id', req.runId);
  if (!Number.isFinite(req.ttlMs) || req.ttlMs <= 0)
    throw new RangeError(`state store: lease ttlMs must be a positive number (got ${req.ttlMs})`);
  const at = now.toISOString();
  const expiresAt = new Date(now.getTime() + req.ttlMs).toISOString();
  const self = { ...req, repo, branch };
  const headRepo = req.headRepo === undefined ? null : repoKey(req.headRepo);
  if (req.prNumber !== undefined && (!Number.isSafeInteger(req.prNumber) || req.prNumber < 1))
    throw new RangeError(
      `state store: lease prNumber must be a positive integer (got ${req.prNumber})`
    );
  return db
    .transaction((): AcquireResult => {
      requireUntouched(db, 'lease', chainKey(repo));
      const cur = liveLease(db, repo);
      if (
        cur &&
        cur.branch === branch &&
        cur.runId === req.runId &&
        sameIdentity(cur, req, headRepo)
      ) {
        db.prepare('UPDATE merge_lease SET head_sha = ?, expires_at = ? WHERE repo = ?').run(
          req.headSha,
          expiresAt,
          repo
        );
        clearWaiting(db, repo, branch);
        chainLease(db, repo, { op: 'renew', actor: req.runId, reason: `renewed by ${branch}`, at });
        return { outcome: 'renewed', holder: liveLease(db, repo)!, leaseId: cur.leaseId };
      }
      if (cur && !leaseExpired(cur, now)) {
        if (opts.logRefusal !== false) logEvent(db, self, 'refused', null, cur, at);
        return { outcome: 'busy', holder: cur, leaseId: undefined };
      }
      const leaseId = (opts.newLeaseId ?? randomUUID)();
      const token = nextToken(db, repo);
      // A reclaim also ends the stale holder's merge window (merge-window.ts).
      db.prepare(
        `INSERT INTO merge_lease (repo, branch, head_sha, run_id, acquired_at, expires_at, lease_id,
           token, pr_number, head_repo)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (repo) DO UPDATE SET
           branch = excluded.branch, head_sha = excluded.head_sha, run_id = excluded.run_id,
           acquired_at = excluded.acquired_at, expires_at = excluded.expires_at,
           lease_id = excluded.lease_id, token = excluded.token, pr_number = excluded.pr_number,
           head_repo = excluded.head_repo, critical_since = NULL`
      ).run(
        repo,
        branch,
        req.headSha,
        req.runId,
        at,
        expiresAt,
        leaseId,
        token,
        req.prNumber ?? null,
        headRepo
      );
      clearWaiting(db, repo, branch);
      const holder = liveLease(db, repo)!;
      if (cur) {
        logEvent(db, self, 'reclaimed', leaseId, cur, at);
        bumpCounter(db, repo, COUNTER.staleReclaim);
        chainLease(db, repo, {
          op: 'reclaim',
          actor: req.runId,
          reason: `reclaimed by ${branch} from ${cur.branch} (run ${cur.runId}, expired ${cur.expiresAt})`,
          at
        });
        return { outcome: 'reclaimed', holder, leaseId, previous: cur };
      }
      logEvent(db, self, 'acquired', leaseId, null, at);
      chainLease(db, repo, {
        op: 'acquire',
        actor: req.runId,
        reason: `acquired by ${branch}`,
        at
      });
      return { outcome: 'acquired', holder, leaseId };
    })
    .immediate();
}

/**
 * Gives the lease back. Only the holder may: the row must name `req.branch`
 * (and `req.runId` / `req.leaseId` when given), otherwise 'not-holder' and
 * nothing changes. A holder releasing after its expiry (nobody reclaimed it
 * yet) still releases; the event says 'expired-release'.
 */
export function releaseLease(db: Database, req: ReleaseRequest, now: Date): ReleaseOutcome {
  const repo = repoKey(req.repo);
  const branch = branchKey(req.branch);
  return db
    .transaction((): ReleaseOutcome => {
      requireUntouched(db, 'lease', chainKey(repo));
      const cur = liveLease(db, repo);
      if (!cur) return 'absent';
      if (
        cur.branch !== branch ||
        (req.runId !== undefined && cur.runId !== req.runId) ||
        (req.leaseId !== undefined && cur.leaseId !== req.leaseId) ||
        (req.token !== undefined && cur.token !== req.token) ||
        !sameIdentity(cur, req, req.headRepo === undefined ? null : repoKey(req.headRepo))
      )
        return 'not-holder';
      if (req.refuseInWindow && !leaseExpired(cur, now) && inWindow(db, repo)) return 'in-window';
      db.prepare('DELETE FROM merge_lease WHERE repo = ? AND lease_id = ?').run(repo, cur.leaseId);
      const event = leaseExpired(cur, now) ? 'expired-release' : 'released';
      logEvent(db, cur, event, cur.leaseId, null, now.toISOString());
      chainLease(db, repo, {
        op: event === 'released' ? 'release' : event,
        actor: req.runId ?? null,
        reason: `${event} for ${cur.branch} (run ${cur.runId})`,
        at: now
      });
      return 'released';
    })
    .immediate();
}

export interface FenceCheck {
  branch: string;
  leaseId: string;
  token: number;
  /** How long the confirmed lease lasts from now (the expiry moves on). */
  ttlMs: number;
}

export type ConfirmOutcome =
  { held: true; lease: Lease } | { held: false; why: string; holder: Lease | undefined };

/**
 * The fencing check a holder makes before it acts on the lease (the merge
 * gate before it says PASS): the row must still carry its lease id and token.
 * A lease released, reclaimed or taken by anyone else since is lost, whatever
 * its branch name says. While held, its expiry moves on by `ttlMs` in the
 * same transaction (an expired lease nobody reclaimed is still the holder's).
 */
export function confirmLease(
  db: Database,
  repo: string,
  check: FenceCheck,
  now: Date
): ConfirmOutcome {
  const r = repoKey(repo);
  return db
    .transaction((): ConfirmOutcome => {
      requireUntouched(db, 'lease', chainKey(r));
      const cur = liveLease(db, r);
      if (!cur) return { held: false, why: 'the lease was released', holder: undefined };
      if (cur.leaseId !== check.leaseId || cur.token !== check.token || cur.branch !== check.branch)
        return {
          held: false,
          why: `the lease is now held by ${cur.branch} (token ${cur.token}, run ${cur.runId})`,
          holder: cur
        };
      db.prepare('UPDATE merge_lease SET expires_at = ? WHERE repo = ? AND lease_id = ?').run(
        new Date(now.getTime() + check.ttlMs).toISOString(),
        r,
        cur.leaseId
      );
      chainLease(db, r, {
        op: 'confirm',
        actor: cur.runId,
        reason: `confirmed by ${cur.branch} (token ${cur.token})`,
        at: now
      });
      return { held: true, lease: liveLease(db, r)! };
    })
    .immediate();
}

function nextToken(db: Database, repo: string): number {
  const last = db.prepare('SELECT last_token FROM lease_fence WHERE repo = ?').pluck().get(repo) as
    number | undefined;
  // A lease written before fencing existed carries token 0; start above any row.
  const next = Math.max(last ?? 0, liveLease(db, repo)?.token ?? 0) + 1;
  db.prepare(
    `INSERT INTO lease_fence (repo, last_token) VALUES (?, ?)
     ON CONFLICT (repo) DO UPDATE SET last_token = excluded.last_token`
  ).run(repo, next);
  return next;
}

/** Identity fields known on both sides must agree (a fork's PR never matches the base repository's). */
function sameIdentity(cur: Lease, req: LeaseIdentity, headRepo: string | null): boolean {
  if (cur.prNumber !== null && req.prNumber !== undefined && cur.prNumber !== req.prNumber)
    return false;
  if (cur.headRepo !== null && headRepo !== null && cur.headRepo !== headRepo) return false;
  return true;
}

function inWindow(db: Database, repo: string): boolean {
  const since = db
    .prepare('SELECT critical_since FROM merge_lease WHERE repo = ?')
    .pluck()
    .get(repo) as string | null | undefined;
  return typeof since === 'string' && since !== '';
}

/**
 * The lease row of `repo`, expired or not (compare expiresAt, or use
 * leaseExpired()). Throws a StoreError (code 'tampered') when the lease was
 * changed outside the store or the chain does not verify.
 */
export function currentLease(db: Database, repo: string): Lease | undefined {
  requireUntouched(db, 'lease', chainKey(repoKey(repo)));
  return liveLease(db, repo);
}

/**
 * The lease row as the table holds it, unchecked: for code that already
 * checked it in the same transaction, and for views that show it next to an
 * integrity report (status).
 */
export function liveLease(db: Database, repo: string): Lease | undefined {
  const row = db.prepare('SELECT * FROM merge_lease WHERE repo = ?').get(repoKey(repo)) as
    LeaseRow | undefined;
  return row && fromRow(row);
}

/** The chain row of a lease change, in the caller's transaction. */
export function chainLease(db: Database, repo: string, change: ChangeInput): void {
  recordChange(db, 'lease', chainKey(repoKey(repo)), change);
}

/** Puts the branch on the waiting list; a branch already waiting keeps its first `since` (its place). */
export function markWaiting(
  db: Database,
  repo: string,
  branch: string,
  now: Date,
  prNumber?: number
): void {
  const r = repoKey(repo);
  const b = branchKey(branch);
  db.transaction(() =>
    db
      .prepare(
        `INSERT INTO waiting (repo, branch, since, pr_number) VALUES (?, ?, ?, ?)
         ON CONFLICT (repo, branch) DO UPDATE SET pr_number = COALESCE(excluded.pr_number, pr_number)`
      )
      .run(r, b, now.toISOString(), prNumber ?? null)
  ).immediate();
}

/** Records a wake-up sent (error undefined) or attempted for a waiting branch; false when it no longer waits. */
export function noteWake(
  db: Database,
  repo: string,
  branch: string,
  now: Date,
  error?: string
): boolean {
  return (
    db
      .prepare(
        'UPDATE waiting SET woken_at = ?, wake_attempts = wake_attempts + 1, wake_error = ? WHERE repo = ? AND branch = ?'
      )
      .run(now.toISOString(), error ?? null, repoKey(repo), branchKey(branch)).changes > 0
  );
}

/**
 * Claims the wake-up of a waiting branch before it is dispatched: sets
 * woken_at to `now` only if nobody woke it within `graceMs` (a wake-up that
 * failed does not count). false: another waker (or its own polling run) has
 * it, or it no longer waits. Claiming first, in one write, means two wakers
 * that read the queue at the same time, or a waker whose record of the
 * dispatch was lost, cannot dispatch the same branch twice.
 */
export function claimWake(
  db: Database,
  repo: string,
  branch: string,
  now: Date,
  graceMs: number
): boolean {
  const cutoff = new Date(now.getTime() - graceMs).toISOString();
  return (
    db
      .prepare(
        `UPDATE waiting SET woken_at = ?, wake_attempts = wake_attempts + 1, wake_error = NULL
         WHERE repo = ? AND branch = ?
           AND (woken_at IS NULL OR wake_error IS NOT NULL OR woken_at <= ?)`
      )
      .run(now.toISOString(), repoKey(repo), branchKey(branch), cutoff).changes > 0
  );
}

/** The claimed wake-up of `branch` (claimWake) was not sent: its error, for the next release to retry. */
export function failClaimedWake(db: Database, repo: string, branch: string, error: string): void {
  db.prepare('UPDATE waiting SET wake_error = ? WHERE repo = ? AND branch = ?').run(
    error,
    repoKey(repo),
    branchKey(branch)
  );
}

/**
 * A waiting branch whose run is polling the lease right now (`at`), or whose
 * run stopped polling and ended DEFER (undefined: the next release wakes it).
 */
function notePolling(db: Database, repo: string, branch: string, at: Date | undefined): void {
  db.prepare(
    'UPDATE waiting SET woken_at = ?, wake_error = NULL WHERE repo = ? AND branch = ?'
  ).run(at ? at.toISOString() : null, repoKey(repo), branchKey(branch));
}

/** Takes the branch off the waiting list; true when it was on it. */
export function clearWaiting(db: Database, repo: string, branch: string): boolean {
  const r = repoKey(repo);
  const b = branchKey(branch);
  return db
    .transaction(
      () => db.prepare('DELETE FROM waiting WHERE repo = ? AND branch = ?').run(r, b).changes > 0
    )
    .immediate();
}

/** Branches waiting for the lease, longest-waiting first. */
export function waitingBranches(db: Database, repo: string): Waiting[] {
  return db
    .prepare(
      `SELECT repo, branch, since, pr_number AS prNumber, woken_at AS wokenAt,
              wake_attempts AS wakeAttempts, wake_error AS wakeError
       FROM waiting WHERE repo = ? ORDER BY since, branch`
    )
    .all(repoKey(repo)) as Waiting[];
}

/** The lease log of `repo`, newest first. */
export function leaseEvents(db: Database, repo: string, limit = 50): LeaseEvent[] {
  const rows = db
    .prepare('SELECT * FROM lease_event WHERE repo = ? ORDER BY id DESC LIMIT ?')
    .all(repoKey(repo), Math.max(0, Math.floor(limit))) as EventRow[];
  return rows.map((r) => ({
    id: r.id,
    repo: r.repo,
    branch: r.branch,
    event: r.event,
    headSha: r.head_sha,
    runId: r.run_id,
    leaseId: r.lease_id,
    other:
      r.other_branch === null
        ? null
        : {
            branch: r.other_branch,
            runId: r.other_run_id ?? '',
            headSha: r.other_head_sha ?? '',
            leaseId: r.other_lease_id ?? '',
            expiresAt: r.other_expires_at ?? ''
          },
    at: r.at
  }));
}

export interface WaitOptions {
  /** How long to keep trying after the first refusal; 0 tries once. */
  waitMs: number;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter. */
  random?: () => number;
  /** First delay (default 1000 ms), doubling up to maxDelayMs (default 30000 ms). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * The merge queue: a branch that does not get the lease stays on the
   * waiting list after the wait (its place is kept for the wake-up), with
   * its pull request when known. Without it the branch waits only while it
   * polls.
   */
  queue?: {
    prNumber?: number;
    /** This run is the branch's wake-up (dispatched by a release): a DEFER clears its woken mark so the next release wakes it again. */
    woken?: boolean;
  };
}

export interface WaitResult {
  acquired: boolean;
  outcome: AcquireOutcome;
  /** The lease row after the last attempt: the caller's own when acquired, the other holder's when busy. */
  holder: Lease;
  leaseId: string | undefined;
  attempts: number;
  /** From the first attempt to the result, state writes included. */
  waitedMs: number;
  /** Of that, the time spent sleeping between attempts (the poll; bounded by waitMs). */
  sleptMs: number;
}

/**
 * Tries to take the lease through `backend` until it is ours or `waitMs` is
 * over, sleeping between attempts with exponential backoff (equal jitter:
 * half the delay fixed, half random), never past the end of the wait. While
 * it waits the branch is on the waiting list; it is taken off at the end,
 * whatever the result. Refuses a backend without atomic updates.
 */
export async function acquireLeaseWithWait<W = undefined>(
  backend: StateBackend,
  req: LeaseRequest,
  opts: WaitOptions & {
    /** Runs in the transaction that takes the lease (one state write for both); its value comes back as `acquiredWith`. */
    whenAcquired?: (db: Database, r: AcquireResult, at: Date) => W;
  }
): Promise<WaitResult & { acquiredWith?: W }> {
  requireAtomic(backend, 'the merge lease');
  const now = opts.now ?? (() => new Date());
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  const base = opts.baseDelayMs ?? 1000;
  const max = opts.maxDelayMs ?? 30_000;
  const start = now().getTime();
  const deadline = start + Math.max(0, opts.waitMs);
  let attempts = 0;
  let waiting = false;
  let polling = false;
  let sleptMs = 0;
  let failed = false;
  try {
    for (;;) {
      attempts++;
      const first = attempts === 1;
      const at = now();
      const markIfBusy = first && (deadline > at.getTime() || opts.queue !== undefined);
      // The queue's wake-up must not dispatch a branch whose run is alive and
      // polling (it would gate the branch twice): while it polls, its row
      // says it was woken just now; the attempt that ends the wait (DEFER)
      // clears that, so the next release wakes it.
      const last = at.getTime() >= deadline;
      // Polling reads: a busy lease costs no write (on git-ref, no push that
      // every other waiter must then fetch); the write comes when the lease
      // looks free (or expired), and at the end of the wait.
      if (!first && !last) {
        const held = await backend.withDb('read', (db) => liveLease(db, req.repo));
        const free =
          held === undefined ||
          Date.parse(held.expiresAt) <= at.getTime() ||
          held.runId === req.runId;
        const left = deadline - now().getTime();
        if (!free && left > 0) {
          const step = Math.min(max, base * 2 ** (attempts - 1));
          const nap = Math.max(0, Math.min(left, step / 2 + random() * (step / 2)));
          sleptMs += nap;
          await sleep(nap);
          continue;
        }
      }
      const r = await backend.withDb(
        'write',
        (db) =>
          db
            .transaction(() => {
              const res: AcquireResult & { with?: W } = tryAcquireLease(db, req, at, {
                logRefusal: first
              });
              if (res.outcome !== 'busy' && opts.whenAcquired)
                res.with = opts.whenAcquired(db, res, at);
              if (res.outcome === 'busy' && markIfBusy)
                markWaiting(db, req.repo, req.branch, at, opts.queue?.prNumber);
              // A dispatch for this branch may be on its way: its woken_at
              // is left alone unless this run set it (polling) or this run
              // is that wake-up (it lost the lease to another branch).
              if (res.outcome === 'busy' && opts.queue !== undefined) {
                if (!last) notePolling(db, req.repo, req.branch, at);
                else if (polling || opts.queue.woken)
                  notePolling(db, req.repo, req.branch, undefined);
              }
              return res;
            })
            .immediate(),
        { message: (res) => leaseMessage(req, res) }
      );
      if (r.outcome === 'busy' && markIfBusy) waiting = true;
      if (r.outcome !== 'busy') {
        waiting = false; // acquiring cleared it in the same transaction
        return {
          acquired: true,
          ...pick(r),
          attempts,
          waitedMs: now().getTime() - start,
          sleptMs,
          ...(opts.whenAcquired ? { acquiredWith: r.with } : {})
        };
      }
      polling = opts.queue !== undefined && !last;
      const remaining = deadline - now().getTime();
      if (remaining <= 0) {
        if (polling)
          await backend.withDb('write', (db) => notePolling(db, req.repo, req.branch, undefined));
        return {
          acquired: false,
          ...pick(r),
          attempts,
          waitedMs: now().getTime() - start,
          sleptMs
        };
      }
      const step = Math.min(max, base * 2 ** (attempts - 1));
      const nap = Math.max(0, Math.min(remaining, step / 2 + random() * (step / 2)));
      sleptMs += nap;
      await sleep(nap);
    }
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    if (waiting && (failed || opts.queue === undefined)) {
      const clear = backend.withDb('write', (db) => clearWaiting(db, req.repo, req.branch), {
        message: () => `merge lease ${repoKey(req.repo)}: ${req.branch} stopped waiting`
      });
      // After a failure the first error is the one to report; the stale
      // waiting row is harmless (the next acquire of the branch clears it).
      if (failed) await clear.catch(() => undefined);
      else await clear;
    }
  }
}

function pick(r: AcquireResult): Pick<WaitResult, 'outcome' | 'holder' | 'leaseId'> {
  return { outcome: r.outcome, holder: r.holder, leaseId: r.leaseId };
}

function leaseMessage(req: LeaseRequest, r: AcquireResult): string {
  const who = `${req.branch} (run ${req.runId})`;
  const repo = repoKey(req.repo);
  if (r.outcome === 'busy')
    return `merge lease ${repo}: ${who} refused, held by ${r.holder.branch} (run ${r.holder.runId})`;
  if (r.outcome === 'reclaimed')
    return `merge lease ${repo}: reclaimed by ${who} from ${r.previous?.branch} (run ${r.previous?.runId}), expired ${r.previous?.expiresAt}`;
  return `merge lease ${repo}: ${r.outcome} by ${who} until ${r.holder.expiresAt}`;
}

function logEvent(
  db: Database,
  who: { repo: string; branch: string; headSha: string; runId: string },
  event: LeaseEventKind,
  leaseId: string | null,
  other: Lease | null,
  at: string
): void {
  db.prepare(
    `INSERT INTO lease_event (repo, branch, event, head_sha, run_id, lease_id, other_branch,
       other_run_id, other_head_sha, other_lease_id, other_expires_at, at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
  ).run(
    who.repo,
    who.branch,
    event,
    who.headSha,
    who.runId,
    leaseId,
    other?.branch ?? null,
    other?.runId ?? null,
    other?.headSha ?? null,
    other?.leaseId ?? null,
    other?.expiresAt ?? null,
    at
  );
}

function requireText(what: string, value: string): void {
  if (value.trim() === '') throw new RangeError(`state store: lease ${what} must not be empty`);
}

function fromRow(r: LeaseRow): Lease {
  return {
    repo: r.repo,
    branch: r.branch,
    headSha: r.head_sha,
    runId: r.run_id,
    acquiredAt: r.acquired_at,
    expiresAt: r.expires_at,
    leaseId: r.lease_id,
    token: r.token ?? 0,
    prNumber: r.pr_number ?? null,
    headRepo: r.head_repo ?? null
  };
}
