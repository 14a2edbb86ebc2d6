// The coverage baseline per repository and branch, and its audit trail. The
// ratchet only ever raises it; a manual set may lower it and a reset removes
// it, and both leave an audit row naming who and why. Every change is one
// BEGIN IMMEDIATE transaction: the read and the write cannot interleave with
// another process's, so no raise is lost and no stale value wins.

import type { Database } from 'better-sqlite3';
import { branchKey, hundredths, repoKey, storedPercent } from './keys.ts';

export interface Baseline {
  repo: string;
  branch: string;
  percent: number;
  /** Commit whose measurement set the value. */
  sha: string;
  updatedAt: string;
  updatedBy: string;
  reason: string;
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
  old: number | null;
  new: number;
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

export function getBaseline(db: Database, repo: string, branch: string): Baseline | undefined {
  const row = db
    .prepare('SELECT * FROM coverage_baseline WHERE repo = ? AND branch = ?')
    .get(repoKey(repo), branchKey(branch)) as BaselineRow | undefined;
  return row && fromRow(row);
}

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
      const cur = currentPercent(db, repo, branch);
      if (cur !== null && hundredths(percent) <= hundredths(cur)) {
        return { outcome: 'unchanged', old: cur, new: cur };
      }
      const how: BaselineHow = cur === null ? 'bootstrap' : 'ratchet';
      write(db, { ...input, repo, branch, percent }, at);
      audit(db, { ...input, repo, branch }, cur, percent, how, at);
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
      const cur = currentPercent(db, repo, branch);
      write(db, { ...input, repo, branch, percent }, at);
      audit(db, { ...input, repo, branch }, cur, percent, 'set', at);
      return { old: cur, new: percent };
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
      const cur = currentPercent(db, repo, branch);
      if (cur === null) return { outcome: 'absent', old: null };
      db.prepare('DELETE FROM coverage_baseline WHERE repo = ? AND branch = ?').run(repo, branch);
      audit(db, { ...input, sha: input.sha ?? '', repo, branch }, cur, null, 'reset', at);
      return { outcome: 'removed', old: cur };
    })
    .immediate();
}

/** Newest first. */
/** Every coverage baseline of `repo`, by branch name (for status views). */
export function repositoryBaselines(db: Database, repo: string): Baseline[] {
  const rows = db
    .prepare('SELECT * FROM coverage_baseline WHERE repo = ? ORDER BY branch')
    .all(repoKey(repo)) as BaselineRow[];
  return rows.map(fromRow);
}

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
