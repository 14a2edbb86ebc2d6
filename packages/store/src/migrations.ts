// The schema, as an ordered list of migrations. A later feature (merge lease,
// counters) adds one entry at the end; nothing is ever edited in place once
// released, because state files in the wild are at that version. Each
// migration runs in its own BEGIN IMMEDIATE transaction and records itself in
// schema_version, so concurrent openers of a new file cannot apply one twice.

import type { Database } from 'better-sqlite3';
import { StoreError } from './errors.ts';
import { CHAIN_SQL, CHAIN_TABLES, sealGenesis } from './state-chain.ts';

/** What a migration's seal step gets besides the database. */
export interface MigrationContext {
  now: Date;
  /** The state-key input, when the opener has one. */
  stateKey?: string;
  /** The schema version the database had before this open (0: new). */
  fromVersion: number;
}

export interface Migration {
  /** 1, 2, 3, ... with no gaps: the value recorded in schema_version. */
  version: number;
  description: string;
  /** Tables that exist from this version on; opening checks them, so a damaged schema is refused. */
  tables: readonly string[];
  /** Idempotent DDL (`IF NOT EXISTS`), run inside the migration's transaction. */
  sql: string;
  /** Runs after `sql` in the same transaction: data a migration must compute (v5 seals the rows). */
  seal?: (db: Database, ctx: MigrationContext) => void;
}

/** PRAGMA application_id of a quality-gates state database: 'QGST'. */
export const APPLICATION_ID = 0x51475354;

const SCHEMA_VERSION_DDL = `
CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at TEXT NOT NULL
) STRICT;`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'coverage baseline, measurements, baseline audit, gate runs',
    tables: ['coverage_baseline', 'coverage_measurement', 'baseline_audit', 'gate_run'],
    sql: `
CREATE TABLE IF NOT EXISTS coverage_baseline (
  repo TEXT NOT NULL,
  branch TEXT NOT NULL,
  percent REAL NOT NULL CHECK (percent >= 0 AND percent <= 100),
  sha TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (repo, branch)
) STRICT;

CREATE TABLE IF NOT EXISTS coverage_measurement (
  id INTEGER PRIMARY KEY,
  repo TEXT NOT NULL,
  branch TEXT NOT NULL,
  sha TEXT NOT NULL,
  tree_sha TEXT NOT NULL,
  percent REAL NOT NULL CHECK (percent >= 0 AND percent <= 100),
  format TEXT NOT NULL,
  measured_at TEXT NOT NULL,
  files TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(files))
) STRICT;
CREATE INDEX IF NOT EXISTS coverage_measurement_tree ON coverage_measurement (repo, tree_sha, id);
CREATE INDEX IF NOT EXISTS coverage_measurement_branch ON coverage_measurement (repo, branch, id);

CREATE TABLE IF NOT EXISTS baseline_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repo TEXT NOT NULL,
  branch TEXT NOT NULL,
  old_percent REAL,
  new_percent REAL,
  sha TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  how TEXT NOT NULL CHECK (how IN ('ratchet', 'bootstrap', 'set', 'reset')),
  at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS baseline_audit_branch ON baseline_audit (repo, branch, id);

CREATE TABLE IF NOT EXISTS gate_run (
  id INTEGER PRIMARY KEY,
  repo TEXT NOT NULL,
  branch TEXT NOT NULL,
  gate TEXT NOT NULL,
  sha TEXT NOT NULL,
  verdict TEXT NOT NULL,
  summary TEXT NOT NULL,
  at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS gate_run_repo ON gate_run (repo, id);
`
  },
  {
    version: 2,
    description: 'merge lease, lease event log, counters, branches waiting for the lease',
    tables: ['merge_lease', 'lease_event', 'counter', 'waiting'],
    sql: `
CREATE TABLE IF NOT EXISTS merge_lease (
  repo TEXT PRIMARY KEY,
  branch TEXT NOT NULL,
  head_sha TEXT NOT NULL,
  run_id TEXT NOT NULL,
  acquired_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  lease_id TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS lease_event (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repo TEXT NOT NULL,
  branch TEXT NOT NULL,
  event TEXT NOT NULL
    CHECK (event IN ('acquired', 'released', 'reclaimed', 'refused', 'expired-release')),
  head_sha TEXT NOT NULL,
  run_id TEXT NOT NULL,
  lease_id TEXT,
  other_branch TEXT,
  other_run_id TEXT,
  other_head_sha TEXT,
  other_lease_id TEXT,
  other_expires_at TEXT,
  at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS lease_event_repo ON lease_event (repo, id);

CREATE TABLE IF NOT EXISTS counter (
  repo TEXT NOT NULL,
  name TEXT NOT NULL,
  value INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (repo, name)
) STRICT;

CREATE TABLE IF NOT EXISTS waiting (
  repo TEXT NOT NULL,
  branch TEXT NOT NULL,
  since TEXT NOT NULL,
  PRIMARY KEY (repo, branch)
) STRICT;
`
  },
  {
    version: 3,
    description:
      'retry cap (FAILs per branch and gate, defer streak), cancelled branches, merge window',
    tables: ['gate_failure', 'branch_state'],
    // The ALTER TABLE has no IF NOT EXISTS form; it runs once all the same,
    // because migrate() re-reads the version inside this transaction.
    sql: `
CREATE TABLE IF NOT EXISTS gate_failure (
  repo TEXT NOT NULL,
  branch TEXT NOT NULL,
  gate TEXT NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
  defer_streak INTEGER NOT NULL DEFAULT 0 CHECK (defer_streak >= 0),
  last_verdict TEXT,
  last_sha TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (repo, branch, gate)
) STRICT;

CREATE TABLE IF NOT EXISTS branch_state (
  repo TEXT NOT NULL,
  branch TEXT NOT NULL,
  state TEXT CHECK (state IS NULL OR state = 'cancelled'),
  cancelled_at TEXT,
  cancelled_by TEXT,
  reason TEXT,
  stop_requested_at TEXT,
  stop_requested_by TEXT,
  PRIMARY KEY (repo, branch)
) STRICT;

ALTER TABLE merge_lease ADD COLUMN critical_since TEXT;
`
  },
  {
    version: 4,
    description:
      'lease fencing token and holder identity (pull request, head repository), proof of green re-tests',
    tables: ['lease_fence', 'green_test'],
    sql: `
ALTER TABLE merge_lease ADD COLUMN token INTEGER NOT NULL DEFAULT 0;
ALTER TABLE merge_lease ADD COLUMN pr_number INTEGER;
ALTER TABLE merge_lease ADD COLUMN head_repo TEXT;

CREATE TABLE IF NOT EXISTS lease_fence (
  repo TEXT PRIMARY KEY,
  last_token INTEGER NOT NULL CHECK (last_token >= 0)
) STRICT;

CREATE TABLE IF NOT EXISTS green_test (
  repo TEXT NOT NULL,
  tree_sha TEXT NOT NULL,
  command_sha TEXT NOT NULL,
  sha TEXT NOT NULL,
  branch TEXT NOT NULL,
  gate TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (repo, tree_sha, command_sha)
) STRICT;
`
  },
  {
    version: 5,
    description:
      'tamper-evident state: a hash chain of every baseline, lease and green-test change, signed heads and checkpoint',
    tables: CHAIN_TABLES,
    // The rows an older file holds are sealed as found (a genesis row, one
    // row per key), so an old file verifies from here on.
    sql: CHAIN_SQL,
    seal: (db, ctx) =>
      sealGenesis(db, { key: ctx.stateKey, at: ctx.now, fromVersion: ctx.fromVersion })
  },
  {
    version: 6,
    description:
      'merge queue: a waiting branch keeps its pull request and the wake-ups sent for it (dispatches, their last error)',
    tables: [],
    sql: `
ALTER TABLE waiting ADD COLUMN pr_number INTEGER;
ALTER TABLE waiting ADD COLUMN woken_at TEXT;
ALTER TABLE waiting ADD COLUMN wake_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE waiting ADD COLUMN wake_error TEXT;
`
  }
];

/** The newest schema version `migrations` produce. */
export function latestVersion(migrations: readonly Migration[] = MIGRATIONS): number {
  return migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
}

/** Throws unless versions run 1, 2, 3, ... (a programming error, caught by the unit tests). */
export function assertOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`bug: migration #${i} has version ${m.version}, expected ${i + 1}`);
  });
}

export function userTables(db: Database): string[] {
  return (
    db
      .prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
      )
      .pluck()
      .all() as string[]
  ).map(String);
}

/** 0 for a database without schema_version (new, or not ours: the caller tells which). */
export function currentVersion(db: Database): number {
  const has = db
    .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'")
    .get();
  if (!has) return 0;
  const v = db.prepare('SELECT MAX(version) FROM schema_version').pluck().get();
  return typeof v === 'number' ? v : 0;
}

/**
 * Brings the schema up to the newest version. The version is re-read inside
 * each transaction: another process may have migrated meanwhile.
 */
export function migrate(
  db: Database,
  location: string,
  now: () => Date,
  migrations: readonly Migration[] = MIGRATIONS,
  opts: { stateKey?: string } = {}
): { from: number; to: number } {
  assertOrdered(migrations);
  const from = currentVersion(db);
  if (from === latestVersion(migrations)) return { from, to: from };
  for (const m of migrations) {
    db.transaction(() => {
      const cur = currentVersion(db);
      if (cur >= m.version) return;
      if (cur !== m.version - 1)
        throw new StoreError(location, `schema version ${cur} cannot take migration ${m.version}`);
      // Set in the same transaction as the first tables, so a crash cannot
      // leave tables without the mark that tells them apart from a foreign file.
      if (cur === 0) db.pragma(`application_id = ${APPLICATION_ID}`);
      db.exec(SCHEMA_VERSION_DDL);
      db.exec(m.sql);
      m.seal?.(db, { now: now(), stateKey: opts.stateKey, fromVersion: from });
      db.prepare(
        'INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)'
      ).run(m.version, m.description, now().toISOString());
    }).immediate();
  }
  return { from, to: currentVersion(db) };
}

/** Tables the schema at `version` must have. */
export function expectedTables(
  version: number,
  migrations: readonly Migration[] = MIGRATIONS
): string[] {
  return [
    'schema_version',
    ...migrations.filter((m) => m.version <= version).flatMap((m) => m.tables)
  ];
}
