// Schema v3 on a real SQLite file: the retry cap's FAIL counts and the merge
// defer streak, the STOP marks on a branch, the merge window on the lease,
// and STOP's one-transaction decision (cancel now, or defer to the gate).
import type { Database } from 'better-sqlite3';
import {
  cancelBranch,
  honourPendingStop,
  inMergeWindow,
  stopOrDefer
} from '../../packages/store/src/branch-cancel.ts';
import {
  branchState,
  clearBranch,
  isCancelled,
  markCancelled,
  pendingStop,
  requestStop,
  stoppedBranches
} from '../../packages/store/src/branch-state.ts';
import { currentLease, leaseEvents, tryAcquireLease } from '../../packages/store/src/lease.ts';
import {
  enterCritical,
  leaveCritical,
  mergeWindow
} from '../../packages/store/src/merge-window.ts';
import { currentVersion, userTables } from '../../packages/store/src/migrations.ts';
import {
  branchFailures,
  deferStreak,
  gateFailures,
  recordDefer,
  recordGateVerdict,
  repositoryFailures,
  resetBranch,
  resetCounters
} from '../../packages/store/src/retries.ts';
import { T0, freshDb, sha } from '../helpers/store-db.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const REPO = 'Acme/App';
const at = (ms: number) => new Date(T0.getTime() + ms);
const MIN = 60_000;
const fail = (gate: string, n = 1) => ({
  repo: REPO,
  branch: 'agent/a',
  gate,
  verdict: 'FAIL' as const,
  sha: sha(n)
});
const stop = (branch = 'agent/a') => ({ repo: REPO, branch, by: 'alice', reason: 'wrong task' });

let db: Database;
beforeEach(() => {
  db = freshDb().db;
});
afterEach(() => db.close());

describe('schema v3', () => {
  it('adds gate_failure, branch_state and the lease critical_since column', () => {
    expect(currentVersion(db)).toBeGreaterThanOrEqual(3);
    expect(userTables(db)).toEqual(expect.arrayContaining(['gate_failure', 'branch_state']));
    const cols = db.prepare("SELECT name FROM pragma_table_info('merge_lease')").pluck().all();
    expect(cols).toContain('critical_since');
  });
});

describe('retry counts', () => {
  it('counts FAILs per branch and gate; PASS, SKIPPED and DEFER do not reset them', () => {
    expect(recordGateVerdict(db, fail('security', 1), T0)).toEqual({ failures: 1 });
    expect(recordGateVerdict(db, fail('security', 2), at(1))).toEqual({ failures: 2 });
    for (const verdict of ['PASS', 'SKIPPED', 'DEFER'] as const)
      expect(recordGateVerdict(db, { ...fail('security', 3), verdict }, at(2))).toEqual({
        failures: 2
      });
    // A flapping agent still reaches the cap.
    expect(recordGateVerdict(db, fail('security', 4), at(3))).toEqual({ failures: 3 });
    recordGateVerdict(db, fail('coverage', 5), at(4));
    recordGateVerdict(db, { ...fail('security'), branch: 'agent/b' }, at(5));
    expect(gateFailures(db, 'acme/app', 'agent/a', 'security')).toBe(3);
    expect(gateFailures(db, REPO, 'agent/a', 'merge')).toBe(0);
    expect(branchFailures(db, REPO, 'agent/a')).toEqual({ coverage: 1, security: 3 });
    expect(branchFailures(db, REPO, 'agent/b')).toEqual({ security: 1 });
    expect(repositoryFailures(db, REPO).find((f) => f.gate === 'security')).toMatchObject({
      branch: 'agent/a',
      failures: 3,
      lastVerdict: 'FAIL',
      lastSha: sha(4),
      updatedAt: at(3).toISOString()
    });
  });

  it('records the last verdict even when it is not a FAIL', () => {
    recordGateVerdict(db, fail('merge'), T0);
    recordGateVerdict(db, { ...fail('merge', 9), verdict: 'PASS' }, at(1));
    expect(repositoryFailures(db, REPO)[0]).toMatchObject({
      failures: 1,
      lastVerdict: 'PASS',
      lastSha: sha(9)
    });
  });

  it('refuses an unknown verdict and an empty gate', () => {
    expect(() =>
      recordGateVerdict(db, { ...fail('merge'), verdict: 'MAYBE' as 'FAIL' }, T0)
    ).toThrow(/verdict must be one of PASS, FAIL, SKIPPED, DEFER/);
    expect(() => recordGateVerdict(db, fail(' '), T0)).toThrow(/gate must not be empty/);
  });

  it('counts consecutive merge DEFERs; any other merge verdict ends the streak', () => {
    expect(recordDefer(db, REPO, 'agent/a', T0)).toBe(1);
    recordGateVerdict(db, { ...fail('merge'), verdict: 'DEFER' }, at(1));
    expect(recordDefer(db, REPO, 'agent/a', at(2))).toBe(2);
    // Another gate's verdict does not touch the merge streak.
    recordGateVerdict(db, { ...fail('security'), verdict: 'PASS' }, at(3));
    expect(recordDefer(db, REPO, 'agent/a', at(4))).toBe(3);
    recordGateVerdict(db, { ...fail('merge'), verdict: 'PASS' }, at(5));
    expect(deferStreak(db, REPO, 'agent/a')).toBe(0);
    expect(recordDefer(db, REPO, 'agent/a', at(6))).toBe(1);
    expect(deferStreak(db, REPO, 'agent/b')).toBe(0);
  });

  it('resetCounters forgets one branch; resetBranch also clears the cancelled mark', () => {
    recordGateVerdict(db, fail('security'), T0);
    recordDefer(db, REPO, 'agent/a', T0);
    recordGateVerdict(db, { ...fail('security'), branch: 'agent/b' }, T0);
    markCancelled(db, stop(), T0);
    expect(resetCounters(db, REPO, 'agent/a')).toBe(2);
    expect(branchFailures(db, REPO, 'agent/a')).toEqual({});
    expect(isCancelled(db, REPO, 'agent/a')).toBe(true);
    recordGateVerdict(db, fail('security'), at(1));
    resetBranch(db, REPO, 'agent/a');
    expect(branchFailures(db, REPO, 'agent/a')).toEqual({});
    expect(deferStreak(db, REPO, 'agent/a')).toBe(0);
    expect(branchState(db, REPO, 'agent/a')).toBeUndefined();
    expect(branchFailures(db, REPO, 'agent/b')).toEqual({ security: 1 });
  });
});

describe('branch state', () => {
  it('a pending STOP keeps its first time; cancelling fulfils it', () => {
    expect(pendingStop(db, REPO, 'agent/a')).toBeUndefined();
    requestStop(db, stop(), T0);
    const again = requestStop(db, { ...stop(), by: 'bob', reason: 'really' }, at(MIN));
    expect(again).toEqual({
      branch: 'agent/a',
      requestedAt: T0.toISOString(),
      by: 'bob',
      reason: 'really'
    });
    expect(isCancelled(db, REPO, 'agent/a')).toBe(false);
    markCancelled(db, stop(), at(2 * MIN));
    expect(isCancelled(db, REPO, 'agent/a')).toBe(true);
    expect(pendingStop(db, REPO, 'agent/a')).toBeUndefined();
    expect(branchState(db, 'ACME/app', 'agent/a')).toEqual({
      branch: 'agent/a',
      state: 'cancelled',
      cancelledAt: at(2 * MIN).toISOString(),
      cancelledBy: 'alice',
      reason: 'wrong task',
      stopRequestedAt: null,
      stopRequestedBy: null
    });
    requestStop(db, stop('agent/b'), at(3 * MIN));
    expect(stoppedBranches(db, REPO).map((b) => [b.branch, b.state])).toEqual([
      ['agent/b', null],
      ['agent/a', 'cancelled']
    ]);
    expect(clearBranch(db, REPO, 'agent/a')).toBe(true);
    expect(clearBranch(db, REPO, 'agent/a')).toBe(false);
  });
});

describe('merge window', () => {
  const take = (branch: string, now = T0) =>
    tryAcquireLease(
      db,
      { repo: REPO, branch, headSha: sha(1), runId: `run-${branch}`, ttlMs: 10 * MIN },
      now
    );

  it('only the holder enters and leaves it; an expired lease is never inside it', () => {
    const l = take('agent/a');
    expect(enterCritical(db, REPO, { branch: 'agent/b' }, T0)).toBe(false);
    expect(enterCritical(db, REPO, { branch: 'agent/a', leaseId: 'other' }, T0)).toBe(false);
    expect(mergeWindow(db, REPO, T0)).toBeUndefined();
    expect(enterCritical(db, REPO, { branch: 'agent/a', leaseId: l.leaseId }, at(MIN))).toBe(true);
    expect(mergeWindow(db, REPO, at(2 * MIN))).toMatchObject({
      since: at(MIN).toISOString(),
      lease: { branch: 'agent/a' }
    });
    expect(inMergeWindow(db, REPO, 'agent/a', at(2 * MIN))).toBe(true);
    expect(inMergeWindow(db, REPO, 'agent/b', at(2 * MIN))).toBe(false);
    expect(mergeWindow(db, REPO, at(10 * MIN))).toBeUndefined();
    expect(leaveCritical(db, REPO, { branch: 'agent/b' })).toBe(false);
    expect(leaveCritical(db, REPO, { branch: 'agent/a' })).toBe(true);
    expect(mergeWindow(db, REPO, at(2 * MIN))).toBeUndefined();
  });

  it('a reclaim of a crashed holder clears its window', () => {
    take('agent/a');
    enterCritical(db, REPO, { branch: 'agent/a' }, T0);
    const r = take('agent/b', at(11 * MIN));
    expect(r.outcome).toBe('reclaimed');
    expect(db.prepare('SELECT critical_since FROM merge_lease').pluck().get()).toBeNull();
  });

  it('STOP outside the window cancels at once: lease released, counts reset, in one go', () => {
    take('agent/a');
    recordGateVerdict(db, fail('merge'), T0);
    const d = stopOrDefer(db, stop(), at(MIN));
    expect(d).toEqual({ outcome: 'cancelled', lease: 'released', countersCleared: 1 });
    expect(currentLease(db, REPO)).toBeUndefined();
    expect(leaseEvents(db, REPO, 1)[0]).toMatchObject({ event: 'released', branch: 'agent/a' });
    expect(isCancelled(db, REPO, 'agent/a')).toBe(true);
  });

  it("STOP never releases another branch's lease", () => {
    take('agent/b');
    expect(cancelBranch(db, stop('agent/a'), T0)).toEqual({
      lease: 'not-holder',
      countersCleared: 0
    });
    expect(currentLease(db, REPO)?.branch).toBe('agent/b');
  });

  it('STOP inside the window defers; leaving the window honours it', () => {
    const l = take('agent/a');
    const holder = { branch: 'agent/a', leaseId: l.leaseId };
    enterCritical(db, REPO, holder, T0);
    const d = stopOrDefer(db, stop(), at(MIN));
    expect(d).toMatchObject({
      outcome: 'deferred',
      window: { since: T0.toISOString() },
      request: { by: 'alice', reason: 'wrong task', requestedAt: at(MIN).toISOString() }
    });
    expect(currentLease(db, REPO)?.branch).toBe('agent/a');
    expect(isCancelled(db, REPO, 'agent/a')).toBe(false);
    const h = honourPendingStop(db, REPO, holder, at(2 * MIN));
    expect(h).toMatchObject({ stop: { by: 'alice' }, result: { lease: 'released' } });
    expect(currentLease(db, REPO)).toBeUndefined();
    expect(branchState(db, REPO, 'agent/a')).toMatchObject({
      state: 'cancelled',
      cancelledBy: 'alice',
      cancelledAt: at(2 * MIN).toISOString(),
      stopRequestedAt: null
    });
  });

  it('leaving without a pending STOP only closes the window', () => {
    const l = take('agent/a');
    const holder = { branch: 'agent/a', leaseId: l.leaseId };
    enterCritical(db, REPO, holder, T0);
    expect(honourPendingStop(db, REPO, holder, at(MIN))).toBeUndefined();
    expect(currentLease(db, REPO)?.branch).toBe('agent/a');
    expect(mergeWindow(db, REPO, at(MIN))).toBeUndefined();
  });
});
