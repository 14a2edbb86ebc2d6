// The tamper-evident state: every change of a coverage baseline, a merge
// lease or a proof of a green re-test is one row in state_chain, in the same
// transaction as the change. Each row carries the hash of the row before it,
// and its own hash is SHA-256 (HMAC-SHA256 with the state-key input) over
// that and the row: a value is the canonical JSON of the rows of one key
// after the change (chained-rows.ts).
//
// Two small tables make checking cheap, whatever the length of the chain:
//   state_chain_head        the last chained value of every key, signed: what
//                           the tables must say
//   state_chain_checkpoint  the newest row's id and hash and how many keys of
//                           each kind have rows, signed: the chain's tip
// Every write extends the chain from the checkpoint and moves it, so in a
// state only quality-gates wrote, the checkpoint is always the newest row.
// verifyState() checks the checkpoint, the newest row, that no row follows
// or is missing, the key counts, and every baseline and lease key against its
// signed head; proofs of green re-tests are checked one by one when used, and
// all of them when their count is off. `full` also walks the whole chain.
//
// Without a key anyone who knows this scheme can recompute every hash: it
// detects a naive edit (an UPDATE of a table, a row inserted or deleted),
// not a forger. With a key, a process that never sees it (the code under
// test) cannot produce a row, head or checkpoint that verifies. What no
// in-file scheme detects is the whole file replaced by an older copy of
// itself (docs/state-store.md).

import { createHash, createHmac } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import {
  CHAINED_KINDS,
  CHAINED_ROWS,
  canonicalJson,
  describeDifference,
  type ChainedKind
} from './chained-rows.ts';
import { StoreError } from './errors.ts';
import { stateContext } from './state-context.ts';
import { stmt } from './statements.ts';

export const CHAIN_ALGS = ['sha256', 'hmac-sha256'] as const;
export type ChainAlg = (typeof CHAIN_ALGS)[number];
/** The prev_hash of the first row. */
export const GENESIS_HASH = '0'.repeat(64);
/** The schema version that introduced the chain. */
export const CHAIN_SCHEMA_VERSION = 5;
const DOMAIN = 'quality-gates state chain v1';

/** kind 'seal': the genesis (the state as found at schema v5) and every reseal. */
export type ChainRowKind = ChainedKind | 'seal';

export interface ChainRow {
  id: number;
  kind: ChainRowKind;
  key: string;
  op: string;
  value: string | null;
  actor: string | null;
  reason: string | null;
  at: string;
  alg: ChainAlg;
  prev_hash: string;
  hash: string;
}

interface HeadRow {
  kind: ChainedKind;
  key: string;
  value: string | null;
  chain_id: number;
  chain_hash: string;
  alg: ChainAlg;
  mac: string;
}

interface CheckpointRow {
  chain_id: number;
  chain_hash: string;
  counts: string;
  /** Row ids below chain_id a reseal accepted as missing (a deletion it was made for). */
  missing: number;
  alg: ChainAlg;
  mac: string;
}

export type KeyCounts = Record<ChainedKind, number>;

export const CHAIN_SQL = `
CREATE TABLE IF NOT EXISTS state_chain (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('seal', 'baseline', 'lease', 'green-test')),
  key TEXT NOT NULL,
  op TEXT NOT NULL,
  value TEXT,
  actor TEXT,
  reason TEXT,
  at TEXT NOT NULL,
  alg TEXT NOT NULL CHECK (alg IN ('sha256', 'hmac-sha256')),
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS state_chain_key ON state_chain (kind, key, id);

CREATE TABLE IF NOT EXISTS state_chain_head (
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT,
  chain_id INTEGER NOT NULL,
  chain_hash TEXT NOT NULL,
  alg TEXT NOT NULL,
  mac TEXT NOT NULL,
  PRIMARY KEY (kind, key)
) STRICT;

CREATE TABLE IF NOT EXISTS state_chain_checkpoint (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  chain_id INTEGER NOT NULL,
  chain_hash TEXT NOT NULL,
  counts TEXT NOT NULL,
  missing INTEGER NOT NULL CHECK (missing >= 0),
  alg TEXT NOT NULL,
  mac TEXT NOT NULL
) STRICT;
`;

export const CHAIN_TABLES = ['state_chain', 'state_chain_head', 'state_chain_checkpoint'];

// ---------------------------------------------------------------- hashing

export function algFor(key: string | undefined): ChainAlg {
  return key ? 'hmac-sha256' : 'sha256';
}

/** SHA-256 or HMAC-SHA256 over the canonical JSON of `parts`; undefined when `alg` needs a key and there is none. */
export function chainDigest(
  alg: ChainAlg,
  key: string | undefined,
  parts: readonly unknown[]
): string | undefined {
  const text = canonicalJson([DOMAIN, ...parts]);
  if (alg === 'sha256') return createHash('sha256').update(text, 'utf8').digest('hex');
  if (!key) return undefined;
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

export function rowHash(row: Omit<ChainRow, 'hash'>, key: string | undefined): string | undefined {
  return chainDigest(row.alg, key, [
    'row',
    row.prev_hash,
    {
      id: row.id,
      kind: row.kind,
      key: row.key,
      op: row.op,
      value: row.value,
      actor: row.actor,
      reason: row.reason,
      at: row.at,
      alg: row.alg
    }
  ]);
}

function headMac(h: Omit<HeadRow, 'mac'>, key: string | undefined): string | undefined {
  return chainDigest(h.alg, key, ['head', h.kind, h.key, h.value, h.chain_id, h.chain_hash]);
}

function checkpointMac(c: Omit<CheckpointRow, 'mac'>, key: string | undefined): string | undefined {
  return chainDigest(c.alg, key, ['checkpoint', c.chain_id, c.chain_hash, c.counts, c.missing]);
}

// ---------------------------------------------------------------- reading

const sealedConnections = new WeakSet<Database>();

/** True when the database has the chain (schema v5 on); older schemas have nothing to verify. */
export function isSealed(db: Database): boolean {
  if (sealedConnections.has(db)) return true;
  const has =
    db
      .prepare(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'state_chain_checkpoint'"
      )
      .get() !== undefined;
  if (has) sealedConnections.add(db);
  return has;
}

function readCheckpoint(db: Database): CheckpointRow | undefined {
  return stmt(db, 'SELECT * FROM state_chain_checkpoint WHERE id = 1').get() as
    CheckpointRow | undefined;
}

function readRow(db: Database, id: number): ChainRow | undefined {
  return stmt(db, 'SELECT * FROM state_chain WHERE id = ?').get(id) as ChainRow | undefined;
}

function readHead(db: Database, kind: ChainedKind, key: string): HeadRow | undefined {
  return stmt(db, 'SELECT * FROM state_chain_head WHERE kind = ? AND key = ?').get(kind, key) as
    HeadRow | undefined;
}

function parseCounts(text: string): KeyCounts {
  const out = { baseline: 0, lease: 0, 'green-test': 0 } as KeyCounts;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    for (const k of CHAINED_KINDS) if (typeof v[k] === 'number') out[k] = v[k];
  } catch {
    // A checkpoint whose counts do not parse fails its MAC anyway.
  }
  return out;
}

export function liveCounts(db: Database): KeyCounts {
  const out = {} as KeyCounts;
  for (const k of CHAINED_KINDS) out[k] = CHAINED_ROWS[k].count(db);
  return out;
}

/** The chain's tip as the checkpoint records it, and whether it holds. */
export interface ChainTip {
  /** One line when the chain cannot be trusted: nothing chained is raised, lowered or used. */
  broken?: string;
  /** The problem is the state key (signed with one and opened without, or the reverse). */
  keyProblem?: boolean;
  /** The algorithm the state is signed with. */
  alg?: ChainAlg;
  id: number;
  hash?: string;
  counts?: KeyCounts;
  missing?: number;
}

/**
 * Checks the checkpoint and the newest row: O(1) in the chain's length
 * (a handful of indexed reads and two hashes).
 */
export function chainTip(db: Database, key: string | undefined): ChainTip {
  const cp = readCheckpoint(db);
  if (!cp) {
    const rows = db.prepare('SELECT COUNT(*) FROM state_chain').pluck().get() as number;
    return {
      id: 0,
      broken: `the chain checkpoint is missing (${rows} chain rows)`
    };
  }
  const tip: ChainTip = { id: cp.chain_id, hash: cp.chain_hash, alg: cp.alg };
  const runAlg = algFor(key);
  if (cp.alg !== runAlg) {
    tip.keyProblem = true;
    tip.broken =
      cp.alg === 'hmac-sha256'
        ? 'the state is signed with a state-key and this run has none (pass the same state-key to every quality-gates step)'
        : 'the state was sealed without a state-key and this run has one (adopt the key once: quality-gates state reseal --reason "..." with the state-key)';
    return tip;
  }
  if (checkpointMac(cp, key) !== cp.mac) {
    tip.broken = `the chain checkpoint does not verify (changed outside the store${key ? ', or signed with a different state-key' : ''})`;
    tip.keyProblem = key !== undefined;
    return tip;
  }
  tip.counts = parseCounts(cp.counts);
  tip.missing = cp.missing;
  const row = readRow(db, cp.chain_id);
  if (!row) {
    tip.broken = `chain row ${cp.chain_id}, the newest, is missing`;
    return tip;
  }
  if (row.hash !== cp.chain_hash || rowHash(row, key) !== row.hash) {
    tip.broken = `chain row ${cp.chain_id}, the newest, was changed`;
    return tip;
  }
  // Two statements: SQLite answers each from the b-tree alone, but not both at once.
  const max = stmt(db, 'SELECT MAX(id) FROM state_chain').pluck().get() as number;
  if (max > cp.chain_id) {
    const after = db
      .prepare('SELECT COUNT(*) FROM state_chain WHERE id > ?')
      .pluck()
      .get(cp.chain_id) as number;
    tip.broken = `${after} chain row(s) after row ${cp.chain_id} were written outside the store`;
    return tip;
  }
  const n = stmt(db, 'SELECT COUNT(*) FROM state_chain').pluck().get() as number;
  if (n + cp.missing !== cp.chain_id) {
    tip.broken = `${cp.chain_id - cp.missing - n} chain row(s) before row ${cp.chain_id} were removed`;
    return tip;
  }
  return tip;
}

/** The chained view of one key: what the tables say and what the chain says they must. */
export interface KeyState {
  /** False for a database from before the chain (schema < 5): nothing to compare. */
  sealed: boolean;
  live: string | null;
  /** The last chained value (null: no row, or never chained). */
  chained: string | null;
  /** One line when the tables differ from the chain. */
  problem?: string;
}

/**
 * The key's live and chained values. Throws a StoreError (code 'tampered')
 * when the chain is broken or the key's head does not verify: then there is
 * no value to trust.
 */
export function keyState(db: Database, kind: ChainedKind, key: string): KeyState {
  return snapshot(db, () => keyStateIn(db, kind, key));
}

/**
 * Runs `fn` on one snapshot of the database: inside the caller's transaction,
 * or a read transaction of its own. Outside one, each statement would see
 * the latest commit, and another process's change landing between reading
 * the checkpoint and the chain would look like tampering.
 */
function snapshot<T>(db: Database, fn: () => T): T {
  return db.inTransaction ? fn() : db.transaction(fn).deferred();
}

function keyStateIn(db: Database, kind: ChainedKind, key: string): KeyState {
  const live = CHAINED_ROWS[kind].live(db, key);
  if (!isSealed(db)) return { sealed: false, live, chained: live };
  const ctx = stateContext(db);
  const tip = chainTip(db, ctx.key);
  if (tip.broken) throw tamperedError(db, tip.broken);
  const head = readHead(db, kind, key);
  if (head && !headValid(head, tip.alg!, ctx.key))
    throw tamperedError(
      db,
      `the audited value of ${CHAINED_ROWS[kind].name(key)} does not verify (its chain head was changed)`
    );
  const chained = head ? head.value : null;
  return {
    sealed: true,
    live,
    chained,
    problem: live === chained ? undefined : describeDifference(kind, key, live, chained)
  };
}

/** Throws a StoreError (code 'tampered') unless the chain holds and the key's rows are what it says. */
export function requireUntouched(db: Database, kind: ChainedKind, key: string): void {
  const s = keyState(db, kind, key);
  if (s.problem) throw tamperedError(db, s.problem);
}

/** Throws a StoreError (code 'tampered') when the chain does not verify. */
export function requireIntactChain(db: Database): void {
  if (!isSealed(db)) return;
  const tip = snapshot(db, () => chainTip(db, stateContext(db).key));
  if (tip.broken) throw tamperedError(db, tip.broken);
}

export function tamperedError(db: Database, line: string): StoreError {
  return new StoreError(
    stateContext(db).location,
    `tampered: ${line}; refused, the state was left as it is (a maintainer checks it, then runs quality-gates state reseal)`,
    undefined,
    'tampered'
  );
}

function headValid(h: HeadRow, alg: ChainAlg, key: string | undefined): boolean {
  return h.alg === alg && headMac(h, key) === h.mac;
}

// ---------------------------------------------------------------- writing

/** A row to append: what it records; appendRow numbers, links and hashes it. */
type NewRow = Omit<ChainRow, 'id' | 'alg' | 'prev_hash' | 'hash'>;

function appendRow(
  db: Database,
  key: string | undefined,
  prev: { id: number; hash: string },
  r: NewRow
): ChainRow {
  const base = { id: prev.id + 1, ...r, alg: algFor(key), prev_hash: prev.hash };
  const row: ChainRow = { ...base, hash: rowHash(base, key)! };
  stmt(
    db,
    `INSERT INTO state_chain (id, kind, key, op, value, actor, reason, at, alg, prev_hash, hash)
     VALUES (@id, @kind, @key, @op, @value, @actor, @reason, @at, @alg, @prev_hash, @hash)`
  ).run(row);
  return row;
}

function writeHead(
  db: Database,
  key: string | undefined,
  kind: ChainedKind,
  k: string,
  value: string | null,
  row: { id: number; hash: string }
): void {
  const h = { kind, key: k, value, chain_id: row.id, chain_hash: row.hash, alg: algFor(key) };
  stmt(
    db,
    `INSERT INTO state_chain_head (kind, key, value, chain_id, chain_hash, alg, mac)
     VALUES (@kind, @key, @value, @chain_id, @chain_hash, @alg, @mac)
     ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, chain_id = excluded.chain_id,
       chain_hash = excluded.chain_hash, alg = excluded.alg, mac = excluded.mac`
  ).run({ ...h, mac: headMac(h, key)! });
}

function writeCheckpoint(
  db: Database,
  key: string | undefined,
  row: { id: number; hash: string },
  counts: KeyCounts,
  missing: number
): void {
  const c = {
    chain_id: row.id,
    chain_hash: row.hash,
    counts: canonicalJson(counts),
    missing,
    alg: algFor(key)
  };
  stmt(
    db,
    `INSERT INTO state_chain_checkpoint (id, chain_id, chain_hash, counts, missing, alg, mac)
     VALUES (1, @chain_id, @chain_hash, @counts, @missing, @alg, @mac)
     ON CONFLICT (id) DO UPDATE SET chain_id = excluded.chain_id, chain_hash = excluded.chain_hash,
       counts = excluded.counts, missing = excluded.missing, alg = excluded.alg, mac = excluded.mac`
  ).run({ ...c, mac: checkpointMac(c, key)! });
}

export interface ChangeInput {
  /** What the change was: ratchet, bootstrap, set, reset, acquire, release, record, ... */
  op: string;
  actor?: string | null;
  reason?: string | null;
  at: Date | string;
}

/**
 * Appends the chain row for a change the caller just made to the rows of
 * `key`, inside the caller's transaction (call it after the write, before
 * the transaction commits). The value is read back from the tables, so the
 * row says exactly what they hold. Refuses (StoreError 'tampered') when the
 * chain does not verify. Nothing happens on a database without the chain.
 */
export function recordChange(
  db: Database,
  kind: ChainedKind,
  key: string,
  change: ChangeInput
): ChainRow | undefined {
  if (!isSealed(db)) return undefined;
  const secret = stateContext(db).key;
  const tip = chainTip(db, secret);
  if (tip.broken) throw tamperedError(db, tip.broken);
  const value = CHAINED_ROWS[kind].live(db, key);
  const before = readHead(db, kind, key);
  const counts = { ...tip.counts! };
  counts[kind] += (value !== null ? 1 : 0) - (before && before.value !== null ? 1 : 0);
  const row = appendRow(
    db,
    secret,
    { id: tip.id, hash: tip.hash! },
    {
      kind,
      key,
      op: change.op,
      value,
      actor: change.actor ?? null,
      reason: change.reason ?? null,
      at: typeof change.at === 'string' ? change.at : change.at.toISOString()
    }
  );
  writeHead(db, secret, kind, key, value, row);
  writeCheckpoint(db, secret, row, counts, tip.missing ?? 0);
  return row;
}

/**
 * Retention (retention.ts): removes the chain rows below row `below` that no
 * signed head names (and the heads of removed keys, whose value is null,
 * with them), then appends one `prune` seal row saying where the chain was
 * cut and the hash that linked the first kept row, and moves the checkpoint
 * (its count of missing rows takes the removed ones). What a decision reads
 * (the heads of every baseline, lease and proof, the checkpoint, the newest
 * row) is never removed, so verifyState() answers as before, and a full walk
 * checks the kept rows below the cut one by one and the links from it on.
 * Runs inside the caller's transaction; refuses a chain that does not verify
 * (the evidence stays). Returns how many rows went (0: nothing to do, no row
 * appended).
 */
export function pruneChain(
  db: Database,
  opts: { below: number; at: Date; reason: string; minRows?: number }
): number {
  if (!isSealed(db)) return 0;
  const secret = stateContext(db).key;
  const tip = chainTip(db, secret);
  if (tip.broken) throw tamperedError(db, tip.broken);
  const first = stmt(
    db,
    'SELECT id, prev_hash FROM state_chain WHERE id >= ? ORDER BY id LIMIT 1'
  ).get(Math.min(opts.below, tip.id)) as { id: number; prev_hash: string } | undefined;
  if (!first) return 0;
  const named = 'SELECT chain_id FROM state_chain_head WHERE value IS NOT NULL';
  const removable = stmt(
    db,
    `SELECT COUNT(*) FROM state_chain WHERE id < ? AND id NOT IN (${named})`
  )
    .pluck()
    .get(first.id) as number;
  if (removable === 0 || removable < (opts.minRows ?? 1)) return 0;
  stmt(db, 'DELETE FROM state_chain_head WHERE value IS NULL AND chain_id < ?').run(first.id);
  const removed = stmt(db, `DELETE FROM state_chain WHERE id < ? AND id NOT IN (${named})`).run(
    first.id
  ).changes;
  const marker = appendRow(
    db,
    secret,
    { id: tip.id, hash: tip.hash! },
    {
      kind: 'seal',
      key: '',
      op: 'prune',
      value: canonicalJson({ below: first.id, link: first.prev_hash, removed }),
      actor: 'quality-gates',
      reason: opts.reason,
      at: opts.at.toISOString()
    }
  );
  const rows = stmt(db, 'SELECT COUNT(*) FROM state_chain').pluck().get() as number;
  writeCheckpoint(db, secret, marker, tip.counts!, marker.id - rows);
  return removed;
}

/**
 * Seals the state as found (the v5 migration of an existing file, or a new
 * one): a genesis row, then one row per key with rows, then the heads and
 * the checkpoint. Runs inside the migration's transaction.
 */
export function sealGenesis(
  db: Database,
  opts: { key?: string; at: Date; fromVersion: number }
): void {
  const at = opts.at.toISOString();
  const counts = liveCounts(db);
  let prev = appendRow(
    db,
    opts.key,
    { id: 0, hash: GENESIS_HASH },
    {
      kind: 'seal',
      key: '',
      op: 'genesis',
      value: canonicalJson({ schema: CHAIN_SCHEMA_VERSION, from: opts.fromVersion, rows: counts }),
      actor: 'quality-gates',
      reason:
        opts.fromVersion === 0
          ? 'a new state'
          : `the rows of a schema v${opts.fromVersion} state, sealed as found`,
      at
    }
  );
  for (const kind of CHAINED_KINDS)
    for (const [k, v] of CHAINED_ROWS[kind].all(db)) {
      prev = appendRow(db, opts.key, prev, {
        kind,
        key: k,
        op: 'genesis',
        value: v,
        actor: null,
        reason: null,
        at
      });
      writeHead(db, opts.key, kind, k, v, prev);
    }
  writeCheckpoint(db, opts.key, prev, counts, 0);
}

// ---------------------------------------------------------------- verifying

export interface IntegrityProblem {
  /** 'chain': the chain itself; otherwise the kind of the key that differs. */
  kind: ChainedKind | 'chain';
  key?: string;
  line: string;
}

export interface IntegrityReport {
  /** False for a database from before the chain (schema < 5). */
  sealed: boolean;
  /** True when nothing is wrong. */
  ok: boolean;
  /** The state is signed with a state-key (HMAC-SHA256), not plain SHA-256. */
  keyed: boolean;
  /** Set when the chain itself does not verify: baselines and leases are refused. */
  broken?: string;
  keyProblem: boolean;
  /** Everything found, the broken chain first; one line each. */
  problems: IntegrityProblem[];
  /** problems as lines. */
  lines: string[];
  /** Chain rows (the checkpoint's id). */
  length: number;
  /** Hash of the newest chain row. */
  head?: string;
  /** Keys compared with the tables, and chain rows re-hashed, by this check. */
  checked: { keys: number; rows: number };
  /** full: problems in rows a later reseal accepted (not counted as problems). */
  accepted?: number;
}

export interface VerifyOptions {
  /** Default: the key bound to the connection (the state-key input). */
  key?: string;
  /** Also walk every chain row and compare every key (the CLI's state verify --full). */
  full?: boolean;
}

/**
 * Checks the state against its chain; see the top of this file for what is
 * checked. Never throws for what it finds: the report says it.
 */
export function verifyState(db: Database, opts: VerifyOptions = {}): IntegrityReport {
  return snapshot(db, () => verifyIn(db, opts));
}

function verifyIn(db: Database, opts: VerifyOptions): IntegrityReport {
  const key = 'key' in opts ? opts.key : stateContext(db).key;
  const report: IntegrityReport = {
    sealed: isSealed(db),
    ok: true,
    keyed: false,
    keyProblem: false,
    problems: [],
    lines: [],
    length: 0,
    checked: { keys: 0, rows: 0 }
  };
  if (!report.sealed) return report;
  const tip = chainTip(db, key);
  report.length = tip.id;
  report.head = tip.hash;
  report.keyed = tip.alg === 'hmac-sha256';
  // The newest row, re-hashed by chainTip.
  report.checked.rows = tip.counts ? 1 : 0;
  if (tip.broken) {
    report.broken = tip.broken;
    report.keyProblem = tip.keyProblem === true;
    report.problems.push({ kind: 'chain', line: tip.broken });
  }
  // Without a verified checkpoint there is nothing to compare the keys with.
  if (tip.counts && tip.alg) {
    const live = liveCounts(db);
    for (const kind of CHAINED_KINDS) {
      const countOff = live[kind] !== tip.counts[kind];
      if (kind === 'green-test' && !countOff && !opts.full) continue;
      const before = report.problems.length;
      report.checked.keys += compareKind(db, kind, tip.alg, key, report.problems);
      if (countOff && report.problems.length === before)
        report.problems.push({
          kind,
          line: `${live[kind]} ${kind} key(s) have rows, the chain says ${tip.counts[kind]}`
        });
    }
  }
  if (opts.full) walkChain(db, key, tip, report);
  report.lines = report.problems.map((p) => p.line);
  report.ok = report.problems.length === 0;
  return report;
}

/** Compares every key of `kind` with its signed head; returns how many keys it looked at. */
function compareKind(
  db: Database,
  kind: ChainedKind,
  alg: ChainAlg,
  key: string | undefined,
  problems: IntegrityProblem[]
): number {
  const rows = CHAINED_ROWS[kind];
  const live = rows.all(db);
  let n = 0;
  for (const h of db
    .prepare('SELECT * FROM state_chain_head WHERE kind = ?')
    .iterate(kind) as Iterable<HeadRow>) {
    n++;
    const v = live.get(h.key) ?? null;
    live.delete(h.key);
    if (!headValid(h, alg, key))
      problems.push({
        kind,
        key: h.key,
        line: `the audited value of ${rows.name(h.key)} does not verify (its chain head was changed)`
      });
    else if (v !== h.value)
      problems.push({ kind, key: h.key, line: describeDifference(kind, h.key, v, h.value) });
  }
  for (const [k, v] of live) {
    n++;
    problems.push({ kind, key: k, line: describeDifference(kind, k, v, null) });
  }
  return n;
}

/** The newest reseal marker's id (0: never resealed): problems before it were accepted. */
function lastResealId(db: Database): number {
  const v = db
    .prepare("SELECT MAX(id) FROM state_chain WHERE kind = 'seal' AND op = 'reseal'")
    .pluck()
    .get();
  return typeof v === 'number' ? v : 0;
}

/** Where the newest prune (pruneChain) cut the chain: rows below `below` are kept only one by one. */
function lastPrune(db: Database): { below: number; link: string } | undefined {
  const v = db
    .prepare(
      "SELECT value FROM state_chain WHERE kind = 'seal' AND op = 'prune' ORDER BY id DESC LIMIT 1"
    )
    .pluck()
    .get();
  try {
    const p = JSON.parse(String(v)) as { below?: unknown; link?: unknown };
    return typeof p.below === 'number' && typeof p.link === 'string'
      ? { below: p.below, link: p.link }
      : undefined;
  } catch {
    return undefined;
  }
}

function walkChain(
  db: Database,
  key: string | undefined,
  tip: ChainTip,
  report: IntegrityReport
): void {
  const resealed = lastResealId(db);
  // Below a prune only the rows signed heads still name are left: each is
  // checked on its own; the links are checked from the prune's boundary on.
  const pruned = lastPrune(db);
  let accepted = 0;
  const found: string[] = [];
  const note = (id: number, line: string): void => {
    if (id < resealed) accepted++;
    else found.push(line);
  };
  let expect = 1;
  let prevHash = GENESIS_HASH;
  let unverifiable = 0;
  const last = new Map<string, ChainRow>();
  for (const row of db
    .prepare('SELECT * FROM state_chain ORDER BY id')
    .iterate() as Iterable<ChainRow>) {
    report.checked.rows++;
    const kept = pruned !== undefined && row.id < pruned.below;
    if (pruned && !kept && expect < pruned.below) {
      expect = pruned.below;
      prevHash = pruned.link;
    }
    if (!kept && row.id !== expect)
      note(row.id, `chain rows ${expect} to ${row.id - 1} are missing`);
    if (!kept && row.prev_hash !== prevHash)
      note(row.id, `chain row ${row.id} does not follow the row before it`);
    const h = rowHash(row, key);
    if (h === undefined) unverifiable++;
    else if (h !== row.hash) note(row.id, `chain row ${row.id} was changed`);
    if (row.id > resealed && tip.alg && row.alg !== tip.alg)
      note(row.id, `chain row ${row.id} is signed with ${row.alg}, the state with ${tip.alg}`);
    if (row.kind !== 'seal') last.set(`${row.kind}\u0000${row.key}`, row);
    if (kept) continue;
    prevHash = row.hash;
    expect = row.id + 1;
  }
  if (unverifiable > 0)
    found.push(`${unverifiable} chain row(s) are signed with a state-key this run does not have`);
  for (const h of db.prepare('SELECT * FROM state_chain_head').iterate() as Iterable<HeadRow>) {
    const r = last.get(`${h.kind}\u0000${h.key}`);
    if (!r || r.id !== h.chain_id || r.hash !== h.chain_hash || r.value !== h.value)
      found.push(
        `the chain head of ${CHAINED_ROWS[h.kind]?.name(h.key) ?? h.key} does not match its chain rows`
      );
  }
  for (const line of [...new Set(found)].slice(0, 20))
    report.problems.push({ kind: 'chain', line });
  if (found.length > 20)
    report.problems.push({ kind: 'chain', line: `and ${found.length - 20} more chain problem(s)` });
  report.accepted = accepted;
}

// ---------------------------------------------------------------- reseal

export type ResealAccept = 'tables' | 'chain';

export interface ResealInput {
  actor: string;
  reason: string;
  /**
   * tables (default): what the tables hold now becomes the audited state.
   * chain: every key whose audited value still verifies gets it back in the
   * tables (an edit is undone); keys without one keep the table's value.
   */
  accept?: ResealAccept;
}

export interface ResealChange {
  kind: ChainedKind;
  key: string;
  name: string;
  /** What the tables held before the reseal. */
  table: string;
  /** What they hold, and the chain says, after it. */
  now: string;
  /** True when the tables were changed back to the audited value. */
  restored: boolean;
}

export interface ResealResult {
  /** The problems the reseal was made for (verifyState, full), one line each. */
  before: string[];
  accept: ResealAccept;
  changes: ResealChange[];
  /** Id of the reseal row. */
  markerId: number;
  length: number;
  head: string;
  keyed: boolean;
}

/**
 * A maintainer's recovery after a change outside the store: appends a
 * reseal row (who, why, what was wrong, what was accepted) and one row per
 * key whose value is accepted or restored, re-signs every head with this
 * run's key (or none) and moves the checkpoint. Also how a state adopts a
 * state-key, or drops one. One immediate transaction.
 */
export function resealState(db: Database, input: ResealInput, at: Date): ResealResult {
  if (input.actor.trim() === '' || input.reason.trim() === '')
    throw new RangeError('state store: a reseal needs an actor and a reason');
  if (!isSealed(db))
    throw new StoreError(
      stateContext(db).location,
      'has no state chain to reseal (schema before v5)'
    );
  const accept = input.accept ?? 'tables';
  return db
    .transaction((): ResealResult => {
      const ctx = stateContext(db);
      const secret = ctx.key;
      const alg = algFor(secret);
      const before = verifyState(db, { full: true, key: secret });
      const last = db.prepare('SELECT id, hash FROM state_chain ORDER BY id DESC LIMIT 1').get() as
        { id: number; hash: string } | undefined;
      const stamp = at.toISOString();
      const marker = appendRow(db, secret, last ?? { id: 0, hash: GENESIS_HASH }, {
        kind: 'seal',
        key: '',
        op: 'reseal',
        value: canonicalJson({
          accept,
          alg,
          problems: before.lines.slice(0, 20),
          foreign: ctx.foreign ?? null,
          previous: last ?? null
        }),
        actor: input.actor,
        reason: input.reason,
        at: stamp
      });
      let prev: { id: number; hash: string } = marker;
      const changes: ResealChange[] = [];
      for (const kind of CHAINED_KINDS) {
        const rows = CHAINED_ROWS[kind];
        const live = rows.all(db);
        const heads = new Map<string, HeadRow>();
        for (const h of db
          .prepare('SELECT * FROM state_chain_head WHERE kind = ?')
          .iterate(kind) as Iterable<HeadRow>)
          heads.set(h.key, h);
        for (const k of new Set([...live.keys(), ...heads.keys()])) {
          const table = live.get(k) ?? null;
          const h = heads.get(k);
          // The audited value, if it can still be believed: signed (under
          // its own algorithm) with what this run can check.
          const trusted = h && headMac(h, secret) === h.mac ? h : undefined;
          const target = accept === 'chain' && trusted ? trusted.value : table;
          if (target !== table) rows.restore(db, k, target);
          const current =
            h !== undefined &&
            trusted !== undefined &&
            h.alg === alg &&
            h.value === target &&
            headRowHolds(db, h, secret);
          if (!current) {
            prev = appendRow(db, secret, prev, {
              kind,
              key: k,
              op: 'reseal',
              value: target,
              actor: input.actor,
              reason: input.reason,
              at: stamp
            });
            writeHead(db, secret, kind, k, target, prev);
          }
          if (target !== table || (h?.value ?? null) !== table)
            changes.push({
              kind,
              key: k,
              name: rows.name(k),
              table: rows.show(table),
              now: rows.show(target),
              restored: target !== table
            });
        }
      }
      const rows = db.prepare('SELECT COUNT(*) FROM state_chain').pluck().get() as number;
      writeCheckpoint(db, secret, prev, liveCounts(db), prev.id - rows);
      return {
        before: before.lines,
        accept,
        changes,
        markerId: marker.id,
        length: prev.id,
        head: prev.hash,
        keyed: alg === 'hmac-sha256'
      };
    })
    .immediate();
}

/** The head's row exists, verifies, and is the key's newest row (no later row names the key). */
function headRowHolds(db: Database, h: HeadRow, key: string | undefined): boolean {
  const row = readRow(db, h.chain_id);
  const newest = db
    .prepare('SELECT MAX(id) FROM state_chain WHERE kind = ? AND key = ?')
    .pluck()
    .get(h.kind, h.key);
  return (
    row !== undefined &&
    newest === h.chain_id &&
    row.hash === h.chain_hash &&
    rowHash(row, key) === row.hash
  );
}

/** The hash of the newest chain row as the checkpoint says (undefined before v5 or without one). */
export function chainHeadHash(db: Database): string | undefined {
  if (!isSealed(db)) return undefined;
  return readCheckpoint(db)?.chain_hash;
}

/** The audited history of one key, newest first (for `baseline show` and the CLI). */
export function chainHistory(
  db: Database,
  kind: ChainedKind,
  key: string,
  limit = 50
): Pick<ChainRow, 'id' | 'op' | 'value' | 'actor' | 'reason' | 'at'>[] {
  if (!isSealed(db)) return [];
  return db
    .prepare(
      'SELECT id, op, value, actor, reason, at FROM state_chain WHERE kind = ? AND key = ? ORDER BY id DESC LIMIT ?'
    )
    .all(kind, key, Math.max(0, Math.floor(limit))) as Pick<
    ChainRow,
    'id' | 'op' | 'value' | 'actor' | 'reason' | 'at'
  >[];
}
