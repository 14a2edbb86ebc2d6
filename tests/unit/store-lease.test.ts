import type { Database } from 'better-sqlite3';
import type { StateBackend } from '../../packages/store/src/backend.ts';
import { ConfigurationError } from '../../packages/core/src/errors.ts';
import { COUNTER, bumpCounter, counters } from '../../packages/store/src/counters.ts';
import {
  acquireLeaseWithWait,
  clearWaiting,
  currentLease,
  leaseEvents,
  markWaiting,
  noteWake,
  releaseLease,
  tryAcquireLease,
  waitingBranches,
  type LeaseRequest
} from '../../packages/store/src/lease.ts';
import { currentVersion, latestVersion, userTables } from '../../packages/store/src/migrations.ts';
import { T0, freshDb, sha } from '../helpers/store-db.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const REPO = 'Acme/App';
const TTL = 60_000;
const at = (ms: number) => new Date(T0.getTime() + ms);
const req = (branch: string, runId: string, n = 1): LeaseRequest => ({
  repo: REPO,
  branch,
  headSha: sha(n),
  runId,
  ttlMs: TTL
});

let db: Database;
beforeEach(() => {
  db = freshDb().db;
});
afterEach(() => db.close());

describe('schema v2', () => {
  it('adds the lease, event, counter and waiting tables', () => {
    expect(currentVersion(db)).toBe(latestVersion());
    expect(latestVersion()).toBeGreaterThanOrEqual(2);
    expect(userTables(db)).toEqual(
      expect.arrayContaining(['merge_lease', 'lease_event', 'counter', 'waiting'])
    );
  });
});

describe('tryAcquireLease', () => {
  it('acquires a free lease, logs it, keys the repo case-insensitively', () => {
    const r = tryAcquireLease(db, req('feat/a', 'run-1'), T0, { newLeaseId: () => 'L1' });
    expect(r).toEqual({
      outcome: 'acquired',
      leaseId: 'L1',
      holder: {
        repo: 'acme/app',
        branch: 'feat/a',
        headSha: sha(1),
        runId: 'run-1',
        acquiredAt: T0.toISOString(),
        expiresAt: at(TTL).toISOString(),
        leaseId: 'L1',
        token: 1,
        prNumber: null,
        headRepo: null
      }
    });
    expect(currentLease(db, 'acme/APP')).toEqual(r.holder);
    expect(leaseEvents(db, REPO, 10)).toEqual([
      expect.objectContaining({ event: 'acquired', branch: 'feat/a', runId: 'run-1', other: null })
    ]);
  });

  it('a random lease id by default', () => {
    const a = tryAcquireLease(db, req('feat/a', 'run-1'), T0);
    expect(a.leaseId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('renews for the same branch and run: same lease id, later expiry, new head', () => {
    const a = tryAcquireLease(db, req('feat/a', 'run-1', 1), T0);
    const b = tryAcquireLease(db, req('feat/a', 'run-1', 2), at(30_000));
    expect(b).toMatchObject({ outcome: 'renewed', leaseId: a.leaseId });
    expect(b.holder).toMatchObject({
      headSha: sha(2),
      acquiredAt: T0.toISOString(),
      expiresAt: at(30_000 + TTL).toISOString()
    });
    expect(leaseEvents(db, REPO).map((e) => e.event)).toEqual(['acquired']);
  });

  it('is busy for another branch, and for another run of the same branch, naming the holder', () => {
    const a = tryAcquireLease(db, req('feat/a', 'run-1'), T0);
    const b = tryAcquireLease(db, req('feat/b', 'run-2'), at(1000));
    expect(b).toEqual({ outcome: 'busy', holder: a.holder, leaseId: undefined });
    const c = tryAcquireLease(db, req('feat/a', 'run-9'), at(TTL - 1));
    expect(c.outcome).toBe('busy');
    expect(currentLease(db, REPO)).toEqual(a.holder);
    const [refusedA, refusedB] = leaseEvents(db, REPO);
    expect(refusedB).toMatchObject({
      event: 'refused',
      branch: 'feat/b',
      other: { branch: 'feat/a', runId: 'run-1', leaseId: a.leaseId }
    });
    expect(refusedA).toMatchObject({ event: 'refused', branch: 'feat/a', runId: 'run-9' });
  });

  it('logRefusal false leaves no trace of a busy attempt', () => {
    tryAcquireLease(db, req('feat/a', 'run-1'), T0);
    const before = db.prepare('SELECT COUNT(*) FROM lease_event').pluck().get();
    tryAcquireLease(db, req('feat/b', 'run-2'), at(1), { logRefusal: false });
    expect(db.prepare('SELECT COUNT(*) FROM lease_event').pluck().get()).toBe(before);
  });

  it('reclaims a lease past its expiry, logging and counting the stale holder', () => {
    const a = tryAcquireLease(db, req('feat/a', 'run-1'), T0);
    expect(tryAcquireLease(db, req('feat/b', 'run-2'), at(TTL - 1)).outcome).toBe('busy');
    const b = tryAcquireLease(db, req('feat/b', 'run-2'), at(TTL));
    expect(b.outcome).toBe('reclaimed');
    expect(b.previous).toEqual(a.holder);
    expect(b.holder).toMatchObject({ branch: 'feat/b', runId: 'run-2', leaseId: b.leaseId });
    expect(b.leaseId).not.toBe(a.leaseId);
    expect(leaseEvents(db, REPO, 1)[0]).toMatchObject({
      event: 'reclaimed',
      branch: 'feat/b',
      leaseId: b.leaseId,
      other: {
        branch: 'feat/a',
        runId: 'run-1',
        leaseId: a.leaseId,
        expiresAt: at(TTL).toISOString()
      }
    });
    expect(counters(db, REPO)).toEqual({ [COUNTER.staleReclaim]: 1 });
  });

  it('the stale holder itself coming back after expiry renews (nobody reclaimed it yet)', () => {
    const a = tryAcquireLease(db, req('feat/a', 'run-1'), T0);
    expect(tryAcquireLease(db, req('feat/a', 'run-1'), at(TTL * 2))).toMatchObject({
      outcome: 'renewed',
      leaseId: a.leaseId
    });
  });

  it('rejects empty keys and a non-positive ttl', () => {
    expect(() => tryAcquireLease(db, { ...req('b', 'r'), branch: ' ' }, T0)).toThrow(RangeError);
    expect(() => tryAcquireLease(db, { ...req('b', 'r'), runId: '' }, T0)).toThrow(/run id/);
    expect(() => tryAcquireLease(db, { ...req('b', 'r'), ttlMs: 0 }, T0)).toThrow(/ttlMs/);
    expect(currentLease(db, REPO)).toBeUndefined();
  });
});

describe('releaseLease', () => {
  it('only the holder releases: another branch or run gets not-holder and changes nothing', () => {
    const a = tryAcquireLease(db, req('feat/a', 'run-1'), T0);
    expect(releaseLease(db, { repo: REPO, branch: 'feat/b' }, at(1))).toBe('not-holder');
    expect(releaseLease(db, { repo: REPO, branch: 'feat/a', runId: 'run-2' }, at(1))).toBe(
      'not-holder'
    );
    expect(releaseLease(db, { repo: REPO, branch: 'feat/a', leaseId: 'nope' }, at(1))).toBe(
      'not-holder'
    );
    expect(currentLease(db, REPO)).toEqual(a.holder);
    expect(
      releaseLease(db, { repo: REPO, branch: 'feat/a', runId: 'run-1', leaseId: a.leaseId }, at(2))
    ).toBe('released');
    expect(currentLease(db, REPO)).toBeUndefined();
    expect(leaseEvents(db, REPO, 1)[0]).toMatchObject({
      event: 'released',
      branch: 'feat/a',
      runId: 'run-1',
      leaseId: a.leaseId,
      at: at(2).toISOString()
    });
  });

  it('absent when nobody holds it', () => {
    expect(releaseLease(db, { repo: REPO, branch: 'feat/a' }, T0)).toBe('absent');
    expect(leaseEvents(db, REPO)).toEqual([]);
  });

  it('a holder releasing after its expiry logs expired-release', () => {
    tryAcquireLease(db, req('feat/a', 'run-1'), T0);
    expect(releaseLease(db, { repo: REPO, branch: 'feat/a', runId: 'run-1' }, at(TTL + 5))).toBe(
      'released'
    );
    expect(leaseEvents(db, REPO, 1)[0].event).toBe('expired-release');
  });

  it('a holder displaced by a reclaim can no longer release', () => {
    tryAcquireLease(db, req('feat/a', 'run-1'), T0);
    tryAcquireLease(db, req('feat/b', 'run-2'), at(TTL + 1));
    expect(releaseLease(db, { repo: REPO, branch: 'feat/a', runId: 'run-1' }, at(TTL + 2))).toBe(
      'not-holder'
    );
    expect(currentLease(db, REPO)?.branch).toBe('feat/b');
  });
});

describe('waiting list and counters', () => {
  it('markWaiting keeps the first since; acquiring or clearWaiting removes the branch', () => {
    markWaiting(db, REPO, 'feat/b', T0);
    markWaiting(db, REPO, 'feat/b', at(5000));
    markWaiting(db, REPO, 'feat/c', at(1000));
    const idle = { prNumber: null, wokenAt: null, wakeAttempts: 0, wakeError: null };
    expect(waitingBranches(db, REPO)).toEqual([
      { repo: 'acme/app', branch: 'feat/b', since: T0.toISOString(), ...idle },
      { repo: 'acme/app', branch: 'feat/c', since: at(1000).toISOString(), ...idle }
    ]);
    // The queue's bookkeeping: the pull request sticks, wake-ups are counted with their last error.
    markWaiting(db, REPO, 'feat/c', at(7000), 12);
    expect(noteWake(db, REPO, 'feat/c', at(8000), 'dispatch failed')).toBe(true);
    expect(noteWake(db, REPO, 'feat/c', at(9000))).toBe(true);
    expect(noteWake(db, REPO, 'feat/zzz', at(9000))).toBe(false);
    expect(waitingBranches(db, REPO)[1]).toEqual({
      repo: 'acme/app',
      branch: 'feat/c',
      since: at(1000).toISOString(),
      prNumber: 12,
      wokenAt: at(9000).toISOString(),
      wakeAttempts: 2,
      wakeError: null
    });
    tryAcquireLease(db, req('feat/b', 'run-2'), at(6000));
    expect(waitingBranches(db, REPO).map((w) => w.branch)).toEqual(['feat/c']);
    expect(clearWaiting(db, REPO, 'feat/c')).toBe(true);
    expect(clearWaiting(db, REPO, 'feat/c')).toBe(false);
    expect(waitingBranches(db, REPO)).toEqual([]);
  });

  it('bumpCounter adds and returns the new value, per repository', () => {
    expect(bumpCounter(db, REPO, COUNTER.pass)).toBe(1);
    expect(bumpCounter(db, 'acme/app', COUNTER.pass)).toBe(2);
    expect(bumpCounter(db, REPO, COUNTER.fail('tests'), 3)).toBe(3);
    bumpCounter(db, REPO, COUNTER.defer);
    bumpCounter(db, REPO, COUNTER.infraRetry);
    bumpCounter(db, 'other/repo', COUNTER.pass);
    expect(counters(db, REPO)).toEqual({
      pass: 2,
      'fail:tests': 3,
      defer: 1,
      'infra-retry': 1
    });
    expect(counters(db, 'nobody/here')).toEqual({});
    expect(() => bumpCounter(db, REPO, COUNTER.pass, 0.5)).toThrow(RangeError);
    expect(() => bumpCounter(db, REPO, ' ')).toThrow(RangeError);
  });
});

/** A backend over one open database: enough for the waiting logic with a fake clock. */
function memoryBackend(d: Database, atomic = true): StateBackend & { writes: number } {
  const b = {
    name: atomic ? ('file' as const) : ('artifact' as const),
    atomic,
    writes: 0,
    describe: () => 'memory',
    async withDb<T>(mode: 'read' | 'write', fn: (x: Database) => T): Promise<T> {
      if (mode === 'write') b.writes++;
      return fn(d);
    }
  };
  return b;
}

function fakeClock() {
  let t = T0.getTime();
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => new Date(t),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    advance: (ms: number) => (t += ms)
  };
}

describe('acquireLeaseWithWait', () => {
  it('acquires at once when free', async () => {
    const c = fakeClock();
    const r = await acquireLeaseWithWait(memoryBackend(db), req('feat/a', 'run-1'), {
      waitMs: 60_000,
      ...c
    });
    expect(r).toMatchObject({ acquired: true, outcome: 'acquired', attempts: 1, waitedMs: 0 });
    expect(c.sleeps).toEqual([]);
  });

  it('backs off exponentially with jitter, capped at 30 s and by the wait, then gives up naming the holder', async () => {
    tryAcquireLease(db, { ...req('feat/a', 'run-1'), ttlMs: 3_600_000 }, T0);
    const c = fakeClock();
    const seen: string[][] = [];
    const backend = memoryBackend(db);
    const r = await acquireLeaseWithWait(backend, req('feat/b', 'run-2'), {
      waitMs: 100_000,
      now: c.now,
      sleep: async (ms) => {
        seen.push(waitingBranches(db, REPO).map((w) => w.branch));
        await c.sleep(ms);
      },
      random: () => 1
    });
    // 1, 2, 4, 8, 16, 30, 30 s: 91 s; the last sleep is cut to the 9 s left.
    expect(c.sleeps).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 9000]);
    expect(r).toMatchObject({
      acquired: false,
      outcome: 'busy',
      attempts: 9,
      waitedMs: 100_000,
      leaseId: undefined,
      holder: { branch: 'feat/a', runId: 'run-1' }
    });
    expect(seen.every((w) => w.length === 1 && w[0] === 'feat/b')).toBe(true);
    expect(waitingBranches(db, REPO)).toEqual([]);
    // one refusal logged for the whole wait, not one per attempt
    expect(leaseEvents(db, REPO).map((e) => e.event)).toEqual(['refused', 'acquired']);
  });

  it('jitter keeps at least half of each step', async () => {
    tryAcquireLease(db, { ...req('feat/a', 'run-1'), ttlMs: 3_600_000 }, T0);
    const c = fakeClock();
    await acquireLeaseWithWait(memoryBackend(db), req('feat/b', 'run-2'), {
      waitMs: 7000,
      ...c,
      random: () => 0
    });
    expect(c.sleeps).toEqual([500, 1000, 2000, 3500]);
  });

  it('acquires as soon as the holder releases, and leaves the waiting list', async () => {
    const holder = tryAcquireLease(db, req('feat/a', 'run-1'), T0);
    const c = fakeClock();
    let sleeps = 0;
    const r = await acquireLeaseWithWait(memoryBackend(db), req('feat/b', 'run-2'), {
      waitMs: 60_000,
      now: c.now,
      random: () => 0.5,
      sleep: async (ms) => {
        await c.sleep(ms);
        if (++sleeps === 2)
          releaseLease(db, { repo: REPO, branch: 'feat/a', leaseId: holder.leaseId }, c.now());
      }
    });
    expect(r).toMatchObject({ acquired: true, outcome: 'acquired', attempts: 3 });
    expect(r.holder.branch).toBe('feat/b');
    expect(waitingBranches(db, REPO)).toEqual([]);
  });

  it('reclaims once the holder expires during the wait', async () => {
    tryAcquireLease(db, { ...req('feat/a', 'run-1'), ttlMs: 5000 }, T0);
    const c = fakeClock();
    const r = await acquireLeaseWithWait(memoryBackend(db), req('feat/b', 'run-2'), {
      waitMs: 60_000,
      ...c,
      random: () => 1
    });
    expect(r).toMatchObject({ acquired: true, outcome: 'reclaimed' });
    expect(c.sleeps).toEqual([1000, 2000, 4000]);
  });

  it('with the queue, a polling branch reads as woken just now (no wake-up gates it twice); the attempts between are reads; the attempt that ends in DEFER clears the mark', async () => {
    tryAcquireLease(db, { ...req('feat/a', 'run-1'), ttlMs: 3_600_000 }, T0);
    const c = fakeClock();
    const backend = memoryBackend(db);
    const during: (string | null)[] = [];
    const r = await acquireLeaseWithWait(backend, req('feat/b', 'run-2'), {
      waitMs: 3000,
      now: c.now,
      random: () => 1,
      sleep: async (ms) => {
        during.push(waitingBranches(db, REPO)[0]?.wokenAt ?? null);
        await c.sleep(ms);
      },
      queue: { prNumber: 7 }
    });
    expect(r).toMatchObject({ acquired: false, outcome: 'busy', attempts: 3 });
    // Sleeps of 1 s and 2 s: the first attempt marked the run alive; the second only read.
    expect(during).toEqual([T0.toISOString(), T0.toISOString()]);
    const [w] = waitingBranches(db, REPO);
    expect(w).toMatchObject({ branch: 'feat/b', prNumber: 7, wokenAt: null, wakeError: null });
    expect(w.since).toBe(T0.toISOString());
    expect(backend.writes).toBe(2);
  });

  it('with the queue and no wait, DEFER at once leaves the branch queued and not woken', async () => {
    tryAcquireLease(db, req('feat/a', 'run-1'), T0);
    const c = fakeClock();
    noteWake(db, REPO, 'feat/b', T0); // nothing to note: not waiting yet
    const r = await acquireLeaseWithWait(memoryBackend(db), req('feat/b', 'run-2'), {
      waitMs: 0,
      ...c,
      queue: {}
    });
    expect(r.acquired).toBe(false);
    expect(waitingBranches(db, REPO)).toMatchObject([{ branch: 'feat/b', wokenAt: null }]);
  });

  it('a DEFER keeps the mark of a wake-up on its way; the woken run itself losing the race clears it (the next release wakes it again)', async () => {
    tryAcquireLease(db, req('feat/a', 'run-1'), T0);
    markWaiting(db, REPO, 'feat/b', T0, 7);
    const woken = new Date(T0.getTime() + 5000);
    noteWake(db, REPO, 'feat/b', woken);
    const c = fakeClock();
    // Another run of the branch (a push's pull_request run) finds the lease busy.
    await acquireLeaseWithWait(memoryBackend(db), req('feat/b', 'run-2'), {
      waitMs: 0,
      ...c,
      queue: { prNumber: 7 }
    });
    expect(waitingBranches(db, REPO)[0].wokenAt).toBe(woken.toISOString());
    // The dispatched run arrives and loses the lease to another branch.
    await acquireLeaseWithWait(memoryBackend(db), req('feat/b', 'run-3'), {
      waitMs: 0,
      ...c,
      queue: { prNumber: 7, woken: true }
    });
    expect(waitingBranches(db, REPO)[0]).toMatchObject({ wokenAt: null, since: T0.toISOString() });
  });

  it('waitMs 0 tries once and never marks the branch waiting', async () => {
    tryAcquireLease(db, req('feat/a', 'run-1'), T0);
    const c = fakeClock();
    const backend = memoryBackend(db);
    const r = await acquireLeaseWithWait(backend, req('feat/b', 'run-2'), { waitMs: 0, ...c });
    expect(r).toMatchObject({ acquired: false, outcome: 'busy', attempts: 1 });
    expect(backend.writes).toBe(1);
    expect(waitingBranches(db, REPO)).toEqual([]);
  });

  it('refuses a backend without atomic updates before touching it', async () => {
    const backend = memoryBackend(db, false);
    const err = await acquireLeaseWithWait(backend, req('feat/a', 'run-1'), { waitMs: 0 }).catch(
      (e: unknown) => e
    );
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).input).toBe('state-backend');
    expect(backend.writes).toBe(0);
  });

  it('a store failure mid-wait is rethrown; the waiting row is cleaned up when possible', async () => {
    tryAcquireLease(db, req('feat/a', 'run-1'), T0);
    const c = fakeClock();
    const backend = memoryBackend(db);
    const real = backend.withDb.bind(backend);
    let calls = 0;
    backend.withDb = async <T>(mode: 'read' | 'write', fn: (x: Database) => T): Promise<T> => {
      if (++calls === 2) throw new Error('remote went away');
      return real(mode, fn);
    };
    await expect(
      acquireLeaseWithWait(backend, req('feat/b', 'run-2'), { waitMs: 60_000, ...c })
    ).rejects.toThrow('remote went away');
    expect(waitingBranches(db, REPO)).toEqual([]);
  });
});
