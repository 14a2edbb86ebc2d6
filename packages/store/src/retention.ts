// Retention: the history tables of the state are bounded, so what a state
// operation costs (the file every git-ref operation fetches and pushes, the
// tables every check reads) stops growing with the number of gate cycles.
// Every write operation of a backend ends with pruneState(), in its own
// immediate transaction, in the same commit of the state (git-ref) as the
// write.
//
// Two bounds, whichever cuts more: rows older than `days` (the input
// state-retention-days), and at most a fixed number of rows per table (the
// newest kept), so a busy repository is bounded too. A table is cut only once
// it is a tenth over its cap, so most writes prune nothing.
//
// Never pruned, because a decision reads it: the coverage baselines, the
// merge lease and its fence, counters, cancelled branches and pending STOPs,
// the waiting list; the newest measurement of every branch with a baseline
// (the coverage report compares with it); the newest audit row of every
// baseline; every signed chain head and the row it names, the checkpoint and
// the newest chain row (state-chain.ts pruneChain). A proof of a green
// re-test that ages out is removed through the chain (op `expire`), so the
// chain still accounts for every proof; without it the merge gate re-tests.
// Nothing is pruned while the state does not verify: what was found stays
// as evidence until a maintainer's reseal.

import type { Database } from 'better-sqlite3';
import { chainKey } from './chained-rows.ts';
import { pruneChain, recordChange } from './state-chain.ts';
import { stmt } from './statements.ts';

export const DEFAULT_RETENTION_DAYS = 90;
/** The longest retention the input accepts (ten years). */
export const MAX_RETENTION_DAYS = 3650;

/** Rows kept per table at most (the newest), whatever their age. */
export interface RowCaps {
  gateRuns: number;
  leaseEvents: number;
  measurements: number;
  /** Bytes of per-file coverage (the measurements' files column) kept at most: a big project's rows are big. */
  measurementBytes: number;
  baselineAudit: number;
  greenTests: number;
  gateFailures: number;
  /** State chain rows besides those the signed heads name. */
  chainRows: number;
}

export const DEFAULT_ROW_CAPS: Readonly<RowCaps> = {
  gateRuns: 300,
  leaseEvents: 300,
  measurements: 10,
  measurementBytes: 128 * 1024,
  baselineAudit: 200,
  greenTests: 50,
  gateFailures: 300,
  chainRows: 150
};

export interface RetentionPolicy {
  /** History older than this many days is pruned; 0: no age limit (the row caps still apply). */
  days: number;
  /** Per-table row caps; unset ones are DEFAULT_ROW_CAPS. */
  rows?: Partial<RowCaps>;
}

export const DEFAULT_RETENTION: Readonly<RetentionPolicy> = { days: DEFAULT_RETENTION_DAYS };

/** Rows removed by one pruneState(), per table. */
export type PruneCounts = Partial<Record<keyof RowCaps, number>>;

/** A plain table with an INTEGER PRIMARY KEY id that grows with time. */
interface HistoryTable {
  cap: keyof RowCaps;
  table: string;
  /** The time column (ISO text). */
  at: string;
  /** Ids never pruned (a subquery), if any. */
  keep?: string;
}

/** The newest measurement of each branch that has a baseline: what the next report compares with. */
const KEEP_MEASUREMENTS = `SELECT MAX(m.id) FROM coverage_measurement m
  JOIN coverage_baseline b ON b.repo = m.repo AND b.branch = m.branch
  GROUP BY m.repo, m.branch`;

const HISTORY: readonly HistoryTable[] = [
  { cap: 'gateRuns', table: 'gate_run', at: 'at' },
  { cap: 'leaseEvents', table: 'lease_event', at: 'at' },
  {
    cap: 'measurements',
    table: 'coverage_measurement',
    at: 'measured_at',
    keep: KEEP_MEASUREMENTS
  },
  {
    cap: 'baselineAudit',
    table: 'baseline_audit',
    at: 'at',
    keep: 'SELECT MAX(id) FROM baseline_audit GROUP BY repo, branch'
  }
];

/** Cut a table once it is this far over its cap (a tenth, at least one row). */
function slack(cap: number): number {
  return Math.max(1, Math.ceil(cap / 10));
}

function capsOf(policy: RetentionPolicy): RowCaps {
  const out = { ...DEFAULT_ROW_CAPS };
  for (const [k, v] of Object.entries(policy.rows ?? {}))
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1) out[k as keyof RowCaps] = v;
  return out;
}

/**
 * Prunes the history tables to `policy` as of `now`, in one immediate
 * transaction. The caller runs it only on a state that verified. Cheap when
 * there is nothing to do: a few indexed reads per table.
 */
export function pruneState(db: Database, policy: RetentionPolicy, now: Date): PruneCounts {
  const caps = capsOf(policy);
  const days = Number.isFinite(policy.days) && policy.days > 0 ? policy.days : 0;
  const cutoff = days > 0 ? new Date(now.getTime() - days * 86_400_000).toISOString() : undefined;
  const counts: PruneCounts = {};
  const note = (k: keyof RowCaps, n: number): void => {
    if (n > 0) counts[k] = (counts[k] ?? 0) + n;
  };
  db.transaction(() => {
    for (const t of HISTORY) note(t.cap, pruneHistory(db, t, caps[t.cap], cutoff));
    note('measurements', pruneMeasurementBytes(db, caps.measurementBytes));
    note('gateFailures', pruneGateFailures(db, caps.gateFailures, cutoff));
    // Proofs first: their expiry appends chain rows, which the chain prune may then take.
    note('greenTests', pruneGreenTests(db, caps.greenTests, cutoff, now));
    note('chainRows', pruneChainRows(db, caps.chainRows, cutoff, days, now));
  }).immediate();
  return counts;
}

function pruneHistory(
  db: Database,
  t: HistoryTable,
  cap: number,
  cutoff: string | undefined
): number {
  const keep = t.keep ? ` AND id NOT IN (${t.keep})` : '';
  let removed = 0;
  if (cutoff !== undefined) {
    const oldest = stmt(db, `SELECT ${t.at} FROM ${t.table} ORDER BY id LIMIT 1`).pluck().get() as
      string | undefined;
    if (oldest !== undefined && oldest < cutoff)
      removed += stmt(db, `DELETE FROM ${t.table} WHERE ${t.at} < ?${keep}`).run(cutoff).changes;
  }
  // MAX - MIN + 1 bounds the count from above: no counting while well under the cap.
  const span = stmt(db, `SELECT MAX(id) - MIN(id) + 1 FROM ${t.table}`).pluck().get() as
    number | null;
  if (span === null || span <= cap + slack(cap)) return removed;
  const over = stmt(db, `SELECT id FROM ${t.table} ORDER BY id DESC LIMIT 1 OFFSET ?`)
    .pluck()
    .get(cap + slack(cap)) as number | undefined;
  if (over === undefined) return removed;
  const last = stmt(db, `SELECT id FROM ${t.table} ORDER BY id DESC LIMIT 1 OFFSET ?`)
    .pluck()
    .get(cap) as number;
  return removed + stmt(db, `DELETE FROM ${t.table} WHERE id <= ?${keep}`).run(last).changes;
}

/** The oldest measurements while their per-file coverage is over `budget` bytes (the kept ones aside). */
function pruneMeasurementBytes(db: Database, budget: number): number {
  const total = stmt(db, 'SELECT SUM(length(files)) FROM coverage_measurement').pluck().get() as
    number | null;
  if (total === null || total <= budget + slack(budget)) return 0;
  let sum = 0;
  for (const r of db
    .prepare(
      `SELECT id, length(files) AS bytes FROM coverage_measurement
       WHERE id NOT IN (${KEEP_MEASUREMENTS}) ORDER BY id DESC`
    )
    .iterate() as Iterable<{ id: number; bytes: number }>) {
    sum += r.bytes;
    if (sum > budget)
      return stmt(
        db,
        `DELETE FROM coverage_measurement WHERE id <= ? AND id NOT IN (${KEEP_MEASUREMENTS})`
      ).run(r.id).changes;
  }
  return 0;
}

/** Retry counts of branches nobody gated for `days`, and the least recently updated beyond the cap. */
function pruneGateFailures(db: Database, cap: number, cutoff: string | undefined): number {
  let removed = 0;
  if (cutoff !== undefined)
    removed += stmt(db, 'DELETE FROM gate_failure WHERE updated_at < ?').run(cutoff).changes;
  const n = stmt(db, 'SELECT COUNT(*) FROM gate_failure').pluck().get() as number;
  if (n <= cap + slack(cap)) return removed;
  return (
    removed +
    stmt(
      db,
      `DELETE FROM gate_failure WHERE rowid IN
         (SELECT rowid FROM gate_failure ORDER BY updated_at, rowid LIMIT ?)`
    ).run(n - cap).changes
  );
}

/** Proofs older than `days`, and the oldest beyond the cap, each removed through the chain. */
function pruneGreenTests(db: Database, cap: number, cutoff: string | undefined, now: Date): number {
  const n = stmt(db, 'SELECT COUNT(*) FROM green_test').pluck().get() as number;
  const beyond = n > cap + slack(cap) ? n - cap : 0;
  const old =
    cutoff === undefined
      ? 0
      : (stmt(db, 'SELECT COUNT(*) FROM green_test WHERE at < ?').pluck().get(cutoff) as number);
  const take = Math.max(beyond, old);
  if (take === 0) return 0;
  const rows = stmt(
    db,
    'SELECT repo, tree_sha, command_sha FROM green_test ORDER BY at, rowid LIMIT ?'
  ).all(take) as { repo: string; tree_sha: string; command_sha: string }[];
  const del = stmt(
    db,
    'DELETE FROM green_test WHERE repo = ? AND tree_sha = ? AND command_sha = ?'
  );
  for (const r of rows) {
    del.run(r.repo, r.tree_sha, r.command_sha);
    recordChange(db, 'green-test', chainKey(r.repo, r.tree_sha, r.command_sha), {
      op: 'expire',
      actor: 'quality-gates',
      reason: 'retention',
      at: now
    });
  }
  return rows.length;
}

/** Chain rows older than `days` or beyond the newest `cap`, unless a signed head names them. */
function pruneChainRows(
  db: Database,
  cap: number,
  cutoff: string | undefined,
  days: number,
  now: Date
): number {
  const max = stmt(db, 'SELECT MAX(id) FROM state_chain').pluck().get() as number | null;
  if (max === null) return 0;
  let below = max - cap + 1;
  if (cutoff !== undefined) {
    const young = stmt(db, 'SELECT id FROM state_chain WHERE at >= ? ORDER BY id LIMIT 1')
      .pluck()
      .get(cutoff) as number | undefined;
    below = Math.max(below, young ?? max);
  }
  if (below <= 1) return 0;
  return pruneChain(db, {
    below,
    at: now,
    minRows: slack(cap),
    reason: `retention: chain rows ${days > 0 ? `older than ${days} days or ` : ''}beyond the newest ${cap}`
  });
}

/** What a backend keeps of its pruning: the warnings it reports, and the newest prune's counts. */
export interface RetentionNotes {
  warnings: string[];
  lastPruned?: PruneCounts;
}

/**
 * pruneState() at the end of a backend's write, when the state verified at
 * open (`ok`). A failure to prune is one line in the backend's warnings,
 * never the write's failure: the state is what it would be without
 * retention.
 */
export function pruneAfterWrite(
  notes: RetentionNotes,
  db: Database,
  policy: RetentionPolicy | undefined,
  ok: boolean,
  now: Date
): void {
  if (!policy || !ok) return;
  try {
    const pruned = pruneState(db, policy, now);
    if (Object.keys(pruned).length > 0) notes.lastPruned = pruned;
  } catch (err) {
    const line = `retention: nothing pruned (${(err as Error).message})`;
    if (!notes.warnings.includes(line)) notes.warnings.push(line);
  }
}
