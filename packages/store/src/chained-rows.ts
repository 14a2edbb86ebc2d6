// The rows the state chain (state-chain.ts) protects, seen as key -> value:
// the coverage baseline per repository and branch, the merge lease per
// repository (its row in merge_lease and its fencing counter in lease_fence,
// one value), and each proof of a green re-test. A value is the canonical
// JSON of the row without its key columns, or null when there is no row.
// This module only reads, restores and describes rows; it decides nothing.

import type { Database } from 'better-sqlite3';
import { stmt } from './statements.ts';

export const CHAINED_KINDS = ['baseline', 'lease', 'green-test'] as const;
export type ChainedKind = (typeof CHAINED_KINDS)[number];

/** JSON with object keys sorted at every level: one text for one value. */
export function canonicalJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return 'null';
  return JSON.stringify(v);
}

/** The chain key of a row: the canonical JSON array of its key columns. */
export function chainKey(...parts: (string | number)[]): string {
  return canonicalJson(parts);
}

export function keyParts(key: string): string[] {
  try {
    const parts = JSON.parse(key) as unknown;
    return Array.isArray(parts) ? parts.map(String) : [key];
  } catch {
    return [key];
  }
}

interface KindRows {
  /** The value of one key (null: no row). */
  live(db: Database, key: string): string | null;
  /** Every key with a row, and its value. */
  all(db: Database): Map<string, string>;
  /** How many keys have a row. */
  count(db: Database): number;
  /** Makes the rows of `key` say `value` (null removes them): a reseal that restores the chain. */
  restore(db: Database, key: string, value: string | null): void;
  /** 'coverage baseline acme/app@main' */
  name(key: string): string;
  /** A value in a few words, for a one-line message. */
  show(value: string | null): string;
}

type Row = Record<string, unknown>;

const BASELINE_VALUE = ['percent', 'sha', 'updated_at', 'updated_by', 'reason'] as const;
const LEASE_VALUE = [
  'branch',
  'head_sha',
  'run_id',
  'acquired_at',
  'expires_at',
  'lease_id',
  'token',
  'pr_number',
  'head_repo',
  'critical_since'
] as const;
const GREEN_VALUE = ['sha', 'branch', 'gate', 'at'] as const;

function pick(row: Row, cols: readonly string[]): Row {
  const out: Row = {};
  for (const c of cols) out[c] = row[c] ?? null;
  return out;
}

function parse(value: string | null): Row | null {
  if (value === null) return null;
  try {
    const v = JSON.parse(value) as unknown;
    return v !== null && typeof v === 'object' ? (v as Row) : null;
  } catch {
    return null;
  }
}

const pct = (v: unknown): string => (typeof v === 'number' ? `${v.toFixed(2)}%` : String(v));

const baseline: KindRows = {
  live(db, key) {
    const [repo, branch] = keyParts(key);
    const row = stmt(db, 'SELECT * FROM coverage_baseline WHERE repo = ? AND branch = ?').get(
      repo,
      branch
    ) as Row | undefined;
    return row ? canonicalJson(pick(row, BASELINE_VALUE)) : null;
  },
  all(db) {
    const out = new Map<string, string>();
    for (const row of db.prepare('SELECT * FROM coverage_baseline').iterate() as Iterable<Row>)
      out.set(
        chainKey(String(row.repo), String(row.branch)),
        canonicalJson(pick(row, BASELINE_VALUE))
      );
    return out;
  },
  count(db) {
    return stmt(db, 'SELECT COUNT(*) FROM coverage_baseline').pluck().get() as number;
  },
  restore(db, key, value) {
    const [repo, branch] = keyParts(key);
    db.prepare('DELETE FROM coverage_baseline WHERE repo = ? AND branch = ?').run(repo, branch);
    const v = parse(value);
    if (v)
      db.prepare(
        `INSERT INTO coverage_baseline (repo, branch, percent, sha, updated_at, updated_by, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?)`
      ).run(repo, branch, v.percent, v.sha, v.updated_at, v.updated_by, v.reason);
  },
  name(key) {
    const [repo, branch] = keyParts(key);
    return `coverage baseline ${repo}@${branch}`;
  },
  show(value) {
    const v = parse(value);
    return v ? `${pct(v.percent)} (by ${v.updated_by}: ${v.reason})` : 'no baseline';
  }
};

const lease: KindRows = {
  live(db, key) {
    const [repo] = keyParts(key);
    const row = stmt(db, 'SELECT * FROM merge_lease WHERE repo = ?').get(repo) as Row | undefined;
    const fence = stmt(db, 'SELECT last_token FROM lease_fence WHERE repo = ?').pluck().get(repo);
    return leaseValue(row, fence);
  },
  all(db) {
    const out = new Map<string, string>();
    const rows = new Map<string, Row>();
    for (const row of db.prepare('SELECT * FROM merge_lease').iterate() as Iterable<Row>)
      rows.set(String(row.repo), row);
    const fences = new Map<string, unknown>();
    for (const f of db
      .prepare('SELECT repo, last_token FROM lease_fence')
      .iterate() as Iterable<Row>)
      fences.set(String(f.repo), f.last_token);
    for (const repo of new Set([...rows.keys(), ...fences.keys()]))
      out.set(chainKey(repo), leaseValue(rows.get(repo), fences.get(repo))!);
    return out;
  },
  count(db) {
    return stmt(
      db,
      'SELECT COUNT(*) FROM (SELECT repo FROM merge_lease UNION SELECT repo FROM lease_fence)'
    )
      .pluck()
      .get() as number;
  },
  restore(db, key, value) {
    const [repo] = keyParts(key);
    db.prepare('DELETE FROM merge_lease WHERE repo = ?').run(repo);
    db.prepare('DELETE FROM lease_fence WHERE repo = ?').run(repo);
    const v = parse(value);
    const l = (v?.lease ?? null) as Row | null;
    if (l)
      db.prepare(
        `INSERT INTO merge_lease (repo, branch, head_sha, run_id, acquired_at, expires_at, lease_id,
           token, pr_number, head_repo, critical_since)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
      ).run(
        repo,
        l.branch,
        l.head_sha,
        l.run_id,
        l.acquired_at,
        l.expires_at,
        l.lease_id,
        l.token ?? 0,
        l.pr_number ?? null,
        l.head_repo ?? null,
        l.critical_since ?? null
      );
    if (v && typeof v.fence === 'number')
      db.prepare('INSERT INTO lease_fence (repo, last_token) VALUES (?, ?)').run(repo, v.fence);
  },
  name(key) {
    return `merge lease ${keyParts(key)[0]}`;
  },
  show(value) {
    const l = (parse(value)?.lease ?? null) as Row | null;
    if (!l) return 'free';
    const window = l.critical_since ? `, in its merge window since ${l.critical_since}` : '';
    return `held by ${l.branch} (run ${l.run_id}, token ${l.token}, until ${l.expires_at}${window})`;
  }
};

function leaseValue(row: Row | undefined, fence: unknown): string | null {
  if (!row && (fence === undefined || fence === null)) return null;
  return canonicalJson({
    lease: row ? pick(row, LEASE_VALUE) : null,
    fence: typeof fence === 'number' ? fence : null
  });
}

const greenTest: KindRows = {
  live(db, key) {
    const [repo, tree, command] = keyParts(key);
    const row = stmt(
      db,
      'SELECT * FROM green_test WHERE repo = ? AND tree_sha = ? AND command_sha = ?'
    ).get(repo, tree, command) as Row | undefined;
    return row ? canonicalJson(pick(row, GREEN_VALUE)) : null;
  },
  all(db) {
    const out = new Map<string, string>();
    for (const row of db.prepare('SELECT * FROM green_test').iterate() as Iterable<Row>)
      out.set(
        chainKey(String(row.repo), String(row.tree_sha), String(row.command_sha)),
        canonicalJson(pick(row, GREEN_VALUE))
      );
    return out;
  },
  count(db) {
    return stmt(db, 'SELECT COUNT(*) FROM green_test').pluck().get() as number;
  },
  restore(db, key, value) {
    const [repo, tree, command] = keyParts(key);
    db.prepare('DELETE FROM green_test WHERE repo = ? AND tree_sha = ? AND command_sha = ?').run(
      repo,
      tree,
      command
    );
    const v = parse(value);
    if (v)
      db.prepare(
        `INSERT INTO green_test (repo, tree_sha, command_sha, sha, branch, gate, at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`
      ).run(repo, tree, command, v.sha, v.branch, v.gate, v.at);
  },
  name(key) {
    const [repo, tree] = keyParts(key);
    return `green test proof ${repo} tree ${String(tree).slice(0, 12)}`;
  },
  show(value) {
    const v = parse(value);
    return v
      ? `green at ${String(v.sha).slice(0, 12)} on ${v.branch} (${v.gate}, ${v.at})`
      : 'no proof';
  }
};

export const CHAINED_ROWS: Record<ChainedKind, KindRows> = {
  baseline,
  lease,
  'green-test': greenTest
};

/**
 * What differs between two values of one key, in a few words: the first
 * differing fields with the table's and the chain's side.
 */
export function describeDifference(
  kind: ChainedKind,
  key: string,
  live: string | null,
  chained: string | null
): string {
  const rows = CHAINED_ROWS[kind];
  const name = rows.name(key);
  if (chained === null) return `${name} was added outside the store (${rows.show(live)})`;
  if (live === null)
    return `${name} was removed outside the store (the audited value is ${rows.show(chained)})`;
  const a = flatten(parse(live) ?? {});
  const b = flatten(parse(chained) ?? {});
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((f) => a[f] !== b[f])
    .slice(0, 3)
    .map((f) => `${f} ${a[f] ?? 'null'} in the table, ${b[f] ?? 'null'} audited`);
  const shown = [rows.show(live), rows.show(chained)];
  const detail =
    kind !== 'green-test' && shown[0] !== shown[1]
      ? `the table says ${shown[0]}, the audited value is ${shown[1]}`
      : fields.join('; ');
  return `${name} was changed outside the store: ${detail}`;
}

function flatten(v: Row, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (x !== null && typeof x === 'object') Object.assign(out, flatten(x as Row, name));
    else out[name] = x === null ? 'null' : String(x);
  }
  return out;
}
