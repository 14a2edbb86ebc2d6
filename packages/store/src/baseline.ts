// The coverage baseline per repository and branch, and its audit trail. The
// ratchet only ever raises it; a manual set may lower it and a reset removes
// it, and both leave an audit row naming who and why. Every change is one
// BEGIN IMMEDIATE transaction: the read and the write cannot interleave with
// another process's, so no raise is lost and no stale value wins.
//
// Every change is also one row of the state chain (state-chain.ts), in the
// same transaction. When the table says something the chain does not (an
// edit made outside the store), a read returns the last audited value with a
// `tampered` note, the ratchet refuses (StoreError code 'tampered'), and a
// maintainer's set or reset, which is audited itself, replaces it and says
// so. A broken chain refuses every read and write of a baseline.

import type { Database } from 'better-sqlite3';
import { chainKey } from './chained-rows.ts';
import { branchKey, hundredths, repoKey, storedPercent } from './keys.ts';
import { keyState, recordChange, requireUntouched, type KeyState } from './state-chain.ts';

export interface Baseline {
  repo: string;
  branch: string;
  percent: number;
  /** Commit whose measurement set the value. */
  sha: string;
  updatedAt: string;
  updatedBy: string;
  reason: string;
  /**
   * Set when the table says something else (an edit made outside the
   * store): this Baseline is the last audited value, and the line says what
   * the table holds.
   */
  tampered?: string;
}

export const BASELINE_HOWS = ['ratchet', 'bootstrap', 'set', 'reset'] as const;
export type BaselineHow = (typeof BASELINE_HOWS)[number];

export interface AuditEntry {
  id: number;
  repo: string;
  branch: string;
  /** null when there was no baseline (bootstrap, or set on an empty branch). */
  old: number | null;
  /** null when the baseline was removed (reset). */
  new: number | null;
  sha: string;
  actor: string;
  reason: string;
  how: BaselineHow;
  at: string;
}

export interface BaselineInput {
  repo: string;
  branch: string;
  percent: number;
  sha: string;
  actor: string;
  reason: string;
}

export interface RatchetResult {
  outcome: 'raised' | 'unchanged' | 'bootstrapped';
  old: number | null;
  /** The baseline after the call (equal to old when unchanged). */
  new: number;
}

export interface SetResult {
  /** The audited value before the change (what the chain said, not an edited table). */
  old: number | null;
  new: number;
  /** Set when the change replaced a value edited outside the store: what differed. */
  tampered?: string;
}

export interface ResetInput {
  repo: string;
  branch: string;
  actor: string;
  reason: string;
  /** Commit the reset refers to, if any (for the audit row). */
  sha?: string;
}

export interface ResetResult {
  outcome: 'removed' | 'absent';
  old: number | null;
  /** Set when the reset removed a value edited outside the store: what differed. */
  tampered?: string;
}

interface BaselineRow {
  repo: string;
  branch: string;
  percent: number;
  sha: string;
  updated_at: string;
  updated_by: string;
  reason: string;
}

interface AuditRow {
  id: number;
  repo: string;
  branch: string;
  old_percent: number | null;
  new_percent: number | null;
  sha: string;
  actor: string;
  reason: string;
  how: BaselineHow;
  at: string;
}

/**
 * The baseline of `repo` and `branch`: the last audited value. When the table
 * was edited outside the store, that value with a `tampered` note (undefined
 * when the chain never had one). Throws a StoreError (code 'tampered') when
 * the chain does not verify.
 */
export function getBaseline(db: Database, repo: string, branch: string): Baseline | undefined {
  const r = repoKey(repo);
  const b = branchKey(branch);
  return fromState(r, b, keyState(db, 'baseline', chainKey(r, b)));
}

function fromState(repo: string, branch: string, s: KeyState): Baseline | undefined {
  const v = s.chained === null ? undefined : (JSON.parse(s.chained) as BaselineValue);
  if (!v) return undefined;
  return {
    repo,
    branch,
    percent: v.percent,
    sha: v.sha,
    updatedAt: v.updated_at,
    updatedBy: v.updated_by,
    reason: v.reason,
    ...(s.problem ? { tampered: s.problem } : {})
  };
}

type BaselineValue = Omit<BaselineRow, 'repo' | 'branch'>;

/**
 * Raises the baseline to `percent` when that is higher (in hundredths),
 * creates it when there is none, and otherwise changes nothing, not even
 * the sha: an unchanged baseline still names the commit that set it.
 */
export function ratchetBaseline(db: Database, input: BaselineInput, at: Date): RatchetResult {
  const repo = repoKey(input.repo);
  const branch = branchKey(input.branch);
  const percent = storedPercent(input.percent);
  return db
    .transaction((): RatchetResult => {
      // Neither raise nor bootstrap over a table edited outside the store.
      requireUntouched(db, 'baseline', chainKey(repo, branch));
      const cur = currentPercent(db, repo, branch);
      if (cur !== null && hundredths(percent) <= hundredths(cur)) {
        return { outcome: 'unchanged', old: cur, new: cur };
      }
      const how: BaselineHow = cur === null ? 'bootstrap' : 'ratchet';
      write(db, { ...input, repo, branch, percent }, at);
      audit(db, { ...input, repo, branch }, cur, percent, how, at);
      chain(db, repo, branch, how, input, at);
      return { outcome: cur === null ? 'bootstrapped' : 'raised', old: cur, new: percent };
    })
    .immediate();
}

/** A manual override: may lower the baseline; always audited (how 'set'). */
export function setBaseline(db: Database, input: BaselineInput, at: Date): SetResult {
  const repo = repoKey(input.repo);
  const branch = branchKey(input.branch);
  const percent = storedPercent(input.percent);
  requireWhy(input.actor, input.reason);
  return db
    .transaction((): SetResult => {
      const s = keyState(db, 'baseline', chainKey(repo, branch));
      const cur = audited(s);
      write(db, { ...input, repo, branch, percent }, at);
      audit(db, { ...input, repo, branch }, cur, percent, 'set', at);
      chain(db, repo, branch, 'set', input, at);
      return { old: cur, new: percent, ...(s.problem ? { tampered: s.problem } : {}) };
    })
    .immediate();
}

/** Removes the baseline so the next landing bootstraps it; audited (how 'reset') when one existed. */
export function resetBaseline(db: Database, input: ResetInput, at: Date): ResetResult {
  const repo = repoKey(input.repo);
  const branch = branchKey(input.branch);
  requireWhy(input.actor, input.reason);
  return db
    .transaction((): ResetResult => {
      const s = keyState(db, 'baseline', chainKey(repo, branch));
      const cur = audited(s);
      if (cur === null && s.live === null) return { outcome: 'absent', old: null };
      db.prepare('DELETE FROM coverage_baseline WHERE repo = ? AND branch = ?').run(repo, branch);
      audit(db, { ...input, sha: input.sha ?? '', repo, branch }, cur, null, 'reset', at);
      chain(db, repo, branch, 'reset', input, at);
      return { outcome: 'removed', old: cur, ...(s.problem ? { tampered: s.problem } : {}) };
    })
    .immediate();
}

/**
 * Every coverage baseline of `repo`, by branch name (for status views): the
 * audited values, with a `tampered` note where the table differs. Never
 * throws for tampering: when the chain does not verify, the table's rows,
 * each with that note.
 */
export function repositoryBaselines(db: Database, repo: string): Baseline[] {
  const r = repoKey(repo);
  const rows = db
    .prepare('SELECT * FROM coverage_baseline WHERE repo = ? ORDER BY branch')
    .all(r) as BaselineRow[];
  const branches = new Set(rows.map((x) => x.branch));
  for (const k of chainedBranches(db, r)) branches.add(k);
  const out: Baseline[] = [];
  for (const branch of [...branches].sort()) {
    let s: KeyState;
    try {
      s = keyState(db, 'baseline', chainKey(r, branch));
    } catch (err) {
      const row = rows.find((x) => x.branch === branch);
      if (row) out.push({ ...fromRow(row), tampered: (err as Error).message });
      continue;
    }
    const b = fromState(r, branch, s);
    if (b) out.push(b);
  }
  return out;
}

/** Branches of `repo` the chain has a baseline head for (a row removed outside the store included). */
function chainedBranches(db: Database, repo: string): string[] {
  const has = db
    .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'state_chain_head'")
    .get();
  if (!has) return [];
  const keys = db
    .prepare("SELECT key FROM state_chain_head WHERE kind = 'baseline' AND value IS NOT NULL")
    .pluck()
    .all() as string[];
  const out: string[] = [];
  for (const k of keys) {
    try {
      const [kr, kb] = JSON.parse(k) as [string, string];
      if (kr === repo && typeof kb === 'string') out.push(kb);
    } catch {
      // A head with a key that is not ours fails verification elsewhere.
    }
  }
  return out;
}

/** Newest first. */
export function auditLog(db: Database, repo: string, branch: string, limit = 50): AuditEntry[] {
  const rows = db
    .prepare('SELECT * FROM baseline_audit WHERE repo = ? AND branch = ? ORDER BY id DESC LIMIT ?')
    .all(repoKey(repo), branchKey(branch), Math.max(0, Math.floor(limit))) as AuditRow[];
  return rows.map((r) => ({
    id: r.id,
    repo: r.repo,
    branch: r.branch,
    old: r.old_percent,
    new: r.new_percent,
    sha: r.sha,
    actor: r.actor,
    reason: r.reason,
    how: r.how,
    at: r.at
  }));
}

/** The audited percent of a key's state (the chain's value, not an edited table's). */
function audited(s: KeyState): number | null {
  if (s.chained === null) return null;
  return (JSON.parse(s.chained) as BaselineValue).percent;
}

function chain(
  db: Database,
  repo: string,
  branch: string,
  how: BaselineHow,
  who: { actor: string; reason: string },
  at: Date
): void {
  recordChange(db, 'baseline', chainKey(repo, branch), {
    op: how,
    actor: who.actor,
    reason: who.reason,
    at
  });
}

function currentPercent(db: Database, repo: string, branch: string): number | null {
  const v = db
    .prepare('SELECT percent FROM coverage_baseline WHERE repo = ? AND branch = ?')
    .pluck()
    .get(repo, branch);
  return typeof v === 'number' ? v : null;
}

function write(db: Database, b: BaselineInput, at: Date): void {
  db.prepare(
    `INSERT INTO coverage_baseline (repo, branch, percent, sha, updated_at, updated_by, reason)
     VALUES (@repo, @branch, @percent, @sha, @at, @actor, @reason)
     ON CONFLICT (repo, branch) DO UPDATE SET
       percent = excluded.percent, sha = excluded.sha, updated_at = excluded.updated_at,
       updated_by = excluded.updated_by, reason = excluded.reason`
  ).run({ ...pick(b), at: at.toISOString() });
}

function audit(
  db: Database,
  b: Omit<BaselineInput, 'percent'>,
  old: number | null,
  next: number | null,
  how: BaselineHow,
  at: Date
): void {
  db.prepare(
    `INSERT INTO baseline_audit (repo, branch, old_percent, new_percent, sha, actor, reason, how, at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
  ).run(b.repo, b.branch, old, next, b.sha, b.actor, b.reason, how, at.toISOString());
}

function pick(b: BaselineInput): Record<string, string | number> {
  return {
    repo: b.repo,
    branch: b.branch,
    percent: b.percent,
    sha: b.sha,
    actor: b.actor,
    reason: b.reason
  };
}

function requireWhy(actor: string, reason: string): void {
  if (actor.trim() === '' || reason.trim() === '')
    throw new RangeError('state store: a manual baseline change needs an actor and a reason');
}

function fromRow(r: BaselineRow): Baseline {
  return {
    repo: r.repo,
    branch: r.branch,
    percent: r.percent,
    sha: r.sha,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
    reason: r.reason
  };
}
