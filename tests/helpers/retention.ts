// What the retention tests count: the rows of every table retention bounds.
import type { Database } from 'better-sqlite3';

export const BOUNDED_TABLES = [
  'gate_run',
  'lease_event',
  'coverage_measurement',
  'baseline_audit',
  'green_test',
  'gate_failure',
  'state_chain',
  'state_chain_head'
] as const;

export type TableCounts = Record<(typeof BOUNDED_TABLES)[number], number>;

export function tableCounts(db: Database): TableCounts {
  return Object.fromEntries(
    BOUNDED_TABLES.map((t) => [t, db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get() as number])
  ) as TableCounts;
}

/** The most rows a table capped at `cap` holds: it is cut once a tenth over. */
export function within(cap: number): number {
  return cap + Math.max(1, Math.ceil(cap / 10));
}
