// Retention on real SQLite files: the history tables stay under their caps
// and their age whatever the number of gate cycles, what a decision reads
// is kept, the state chain still verifies (quickly and in a full walk, with
// and without a state-key) after its old rows are pruned, and tampering is
// still found afterwards.
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { join } from 'node:path';
import { auditLog, getBaseline, ratchetBaseline } from '../../packages/store/src/baseline.ts';
import { FileBackend } from '../../packages/store/src/backends/file.ts';
import { recordGateRun } from '../../packages/store/src/gate-run.ts';
import { findGreenTest } from '../../packages/store/src/green-test.ts';
import { currentLease, tryAcquireLease } from '../../packages/store/src/lease.ts';
import { latestMeasurement } from '../../packages/store/src/measurement.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import {
  DEFAULT_ROW_CAPS,
  pruneState,
  type RetentionPolicy,
  type RowCaps
} from '../../packages/store/src/retention.ts';
import { resealState, verifyState } from '../../packages/store/src/state-chain.ts';
import { BENCH_REPO as REPO, cycleTime, gateCycle } from '../../scripts/gate-cycle.ts';
import { BOUNDED_TABLES, tableCounts, within } from '../helpers/retention.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const KEY = 'k'.repeat(32);
const SMALL: RowCaps = {
  gateRuns: 30,
  leaseEvents: 20,
  measurements: 5,
  measurementBytes: 1_000_000,
  baselineAudit: 10,
  greenTests: 8,
  gateFailures: 24,
  chainRows: 40
};

function newPath(): string {
  return join(tempDir('qg-retention-'), 'state.sqlite');
}

function open(path: string, stateKey?: string): Db {
  return openStateDatabase(path, { journal: 'wal', writable: true, durable: false, stateKey });
}

/** Runs cycles from..to-1, pruning after every write as a backend does. */
function cycles(db: Db, from: number, to: number, policy: RetentionPolicy, files = 3): void {
  for (let i = from; i < to; i++)
    for (const w of gateCycle(i, files).writes) {
      w(db);
      pruneState(db, policy, cycleTime(i));
    }
}

function count(db: Db, table: string): number {
  return db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
}

/** Where the newest prune cut the chain. */
function newestCut(db: Db): number {
  const value = db
    .prepare("SELECT value FROM state_chain WHERE op = 'prune' ORDER BY id DESC LIMIT 1")
    .pluck()
    .get() as string;
  return (JSON.parse(value) as { below: number }).below;
}

/**
 * A state file after `n` cycles with the small caps, where the newest
 * prune cut its chain, and the id `pick` chooses, then changed by `sql`
 * (run on that id) with no quality-gates code involved.
 */
function prunedThenChanged(
  n: number,
  pick: (db: Db, below: number) => number,
  sql: string
): { path: string; id: number } {
  const path = newPath();
  const db = open(path);
  let id: number;
  try {
    cycles(db, 0, n, { days: 0, rows: SMALL });
    id = pick(db, newestCut(db));
  } finally {
    db.close();
  }
  const raw = new Database(path);
  raw.prepare(sql).run(id);
  raw.close();
  return { path, id };
}

describe('retention', () => {
  it('keeps every history table under its cap over 200 cycles; what decisions read stays', () => {
    const db = open(newPath());
    try {
      cycles(db, 0, 200, { days: 0, rows: SMALL });
      const c = tableCounts(db);
      expect(c.gate_run).toBeLessThanOrEqual(within(SMALL.gateRuns));
      expect(c.lease_event).toBeLessThanOrEqual(within(SMALL.leaseEvents));
      expect(c.coverage_measurement).toBeLessThanOrEqual(within(SMALL.measurements) + 1);
      expect(c.baseline_audit).toBeLessThanOrEqual(within(SMALL.baselineAudit) + 1);
      expect(c.green_test).toBeLessThanOrEqual(within(SMALL.greenTests));
      expect(c.gate_failure).toBeLessThanOrEqual(within(SMALL.gateFailures));
      // The chain: the newest rows, plus the rows the signed heads name (one per proof, the lease, the baseline).
      expect(c.state_chain).toBeLessThanOrEqual(within(SMALL.chainRows) + c.state_chain_head + 1);
      expect(c.state_chain_head).toBeLessThanOrEqual(
        within(SMALL.greenTests) + 2 + SMALL.chainRows
      );
      // Prune markers are chain rows like any other: only those among the newest rows remain.
      const markers = db
        .prepare("SELECT id FROM state_chain WHERE op = 'prune' ORDER BY id")
        .pluck()
        .all() as number[];
      expect(markers.length).toBeGreaterThan(0);
      expect(markers.length).toBeLessThanOrEqual(within(SMALL.chainRows));

      // Decisions: the baseline and its newest audit row, main's newest measurement, the lease, recent proofs.
      expect(getBaseline(db, REPO, 'main')?.percent).toBe(50.03);
      expect(auditLog(db, REPO, 'main', 1)[0]).toMatchObject({ new: 50.03 });
      expect(latestMeasurement(db, REPO, 'main')?.sha).toBe(
        `00000001${(199).toString(16).padStart(32, '0')}`
      );
      expect(currentLease(db, REPO)).toBeUndefined();
      const tree = (i: number) => `00000002${i.toString(16).padStart(32, '0')}`;
      expect(findGreenTest(db, REPO, tree(199), 'npm test')).toBeDefined();
      expect(findGreenTest(db, REPO, tree(0), 'npm test')).toBeUndefined();
      expect(verifyState(db)).toMatchObject({ ok: true });
      expect(verifyState(db, { full: true })).toMatchObject({ ok: true, lines: [] });
    } finally {
      db.close();
    }
  });

  it('is bounded: 600 cycles leave the same row counts as 300 (within the slack)', () => {
    const a = open(newPath());
    const b = open(newPath());
    try {
      cycles(a, 0, 300, { days: 0, rows: SMALL });
      cycles(b, 0, 600, { days: 0, rows: SMALL });
      const ca = tableCounts(a);
      const cb = tableCounts(b);
      for (const t of BOUNDED_TABLES)
        expect({ t, diff: Math.abs(cb[t] - ca[t]) <= Math.ceil(ca[t] / 5) + 2 }).toEqual({
          t,
          diff: true
        });
    } finally {
      a.close();
      b.close();
    }
  });

  it('prunes by age: rows older than the retention go, younger ones stay; 0 days keeps them', () => {
    // 10-minute cycles: 300 cycles are about two days; one day of retention keeps the newer half.
    const db = open(newPath());
    const none = open(newPath());
    const big: RowCaps = { ...DEFAULT_ROW_CAPS, gateRuns: 10_000, leaseEvents: 10_000 };
    try {
      cycles(db, 0, 300, { days: 1, rows: big });
      cycles(none, 0, 300, { days: 0, rows: big });
      const cutoff = new Date(cycleTime(299).getTime() - 86_400_000).toISOString();
      const oldest = (d: Db, t: string) =>
        d.prepare(`SELECT MIN(at) FROM ${t}`).pluck().get() as string;
      expect(oldest(db, 'gate_run') >= cutoff).toBe(true);
      expect(oldest(db, 'lease_event') >= cutoff).toBe(true);
      expect(count(db, 'gate_run')).toBeLessThan(count(none, 'gate_run'));
      expect(count(none, 'gate_run')).toBe(900);
      expect(verifyState(db, { full: true })).toMatchObject({ ok: true });
    } finally {
      db.close();
      none.close();
    }
  });

  it('a state-key state verifies after pruning, an edit is still found, and nothing is pruned then', async () => {
    const path = newPath();
    let db = open(path, KEY);
    cycles(db, 0, 120, { days: 0, rows: SMALL });
    expect(verifyState(db, { full: true })).toMatchObject({ ok: true, keyed: true });
    db.close();
    // The code under test lowers the baseline: found, the ratchet refuses.
    const raw = new Database(path);
    raw.exec('UPDATE coverage_baseline SET percent = 0');
    raw.close();
    db = open(path, KEY);
    try {
      expect(verifyState(db).lines).toEqual([
        expect.stringMatching(/coverage baseline bench\/repo@main was changed outside the store/)
      ]);
      expect(() =>
        ratchetBaseline(
          db,
          { repo: REPO, branch: 'main', percent: 99, sha: 'f'.repeat(40), actor: 'x', reason: 'y' },
          cycleTime(121)
        )
      ).toThrow(expect.objectContaining({ code: 'tampered' }));
      // Nothing is pruned while the state does not verify: the evidence stays.
      const before = count(db, 'gate_run');
      db.close();
      const backend = new FileBackend({
        path,
        stateKey: KEY,
        retention: { days: 0, rows: { gateRuns: 1 } }
      });
      await backend.withDb('write', (d) =>
        recordGateRun(
          d,
          {
            repo: REPO,
            branch: 'x',
            gate: 'merge',
            sha: 'a'.repeat(40),
            verdict: 'PASS',
            summary: ''
          },
          cycleTime(122)
        )
      );
      expect(backend.tamper).toHaveLength(1);
      db = open(path, KEY);
      expect(count(db, 'gate_run')).toBe(before + 1);
    } finally {
      db.close();
    }
  });

  it('a kept head row changed below the cut is found by the full walk; a reseal after pruning verifies', () => {
    const { path, id } = prunedThenChanged(
      120,
      (db, below) => {
        const kept = db
          .prepare('SELECT id FROM state_chain WHERE id < ? ORDER BY id LIMIT 1')
          .pluck()
          .get(below) as number;
        expect(kept).toBeLessThan(below);
        return kept;
      },
      "UPDATE state_chain SET reason = 'edited' WHERE id = ?"
    );
    const db = open(path);
    try {
      expect(verifyState(db).ok).toBe(true);
      expect(verifyState(db, { full: true }).lines).toContain(`chain row ${id} was changed`);
      resealState(db, { actor: 'alice', reason: 'accept the edit' }, cycleTime(121));
      cycles(db, 121, 180, { days: 0, rows: SMALL });
      expect(verifyState(db, { full: true })).toMatchObject({ ok: true, lines: [] });
    } finally {
      db.close();
    }
  });

  it('a chain row removed between the cut and the newest row is still found', () => {
    const { path } = prunedThenChanged(
      100,
      (_db, below) => below + 1,
      'DELETE FROM state_chain WHERE id = ?'
    );
    const db = open(path);
    try {
      const tip = db.prepare('SELECT chain_id FROM state_chain_checkpoint').pluck().get();
      expect(verifyState(db).lines).toEqual([`1 chain row(s) before row ${tip} were removed`]);
    } finally {
      db.close();
    }
  });

  it('the lease held across a prune keeps its audited value', () => {
    const db = open(newPath());
    try {
      cycles(db, 0, 60, { days: 0, rows: SMALL });
      tryAcquireLease(
        db,
        {
          repo: REPO,
          branch: 'task/held',
          headSha: 'e'.repeat(40),
          runId: 'held',
          ttlMs: 3_600_000
        },
        cycleTime(60)
      );
      // Another repository's traffic pushes the chain past its cap several times.
      for (let i = 61; i < 200; i++) {
        const other = { repo: 'other/repo', branch: 'main', percent: i / 2, sha: 'a'.repeat(40) };
        ratchetBaseline(db, { ...other, actor: 'x', reason: 'y' }, cycleTime(i));
        pruneState(db, { days: 0, rows: SMALL }, cycleTime(i));
      }
      expect(currentLease(db, REPO)?.branch).toBe('task/held');
      expect(verifyState(db, { full: true })).toMatchObject({ ok: true });
    } finally {
      db.close();
    }
  });
});
