// The retry cap's counts: FAIL verdicts per (repo, branch, gate), and the
// streak of consecutive DEFERs of the merge gate per (repo, branch), kept on
// the branch's 'merge' row. A PASS does not reset the failure count (an agent
// whose branch flaps between red and green still reaches the cap); only
// resetBranch() does, when a cancelled branch starts from scratch. Every
// write is one immediate transaction, so concurrent runs never lose a count.

import type { Database } from 'better-sqlite3';
import { VERDICTS, type Verdict } from '../../core/src/verdict.ts';
import { clearBranch } from './branch-state.ts';
import { branchKey, repoKey } from './keys.ts';

/** The gate whose DEFERs make the streak (the merge lease is busy). */
export const DEFER_GATE = 'merge';

export interface VerdictInput {
  repo: string;
  branch: string;
  gate: string;
  verdict: Verdict;
  /** The gated commit ('' when unknown). */
  sha: string;
}

export interface GateFailure {
  branch: string;
  gate: string;
  failures: number;
  deferStreak: number;
  lastVerdict: string | null;
  lastSha: string | null;
  updatedAt: string;
}

interface Row {
  branch: string;
  gate: string;
  failures: number;
  defer_streak: number;
  last_verdict: string | null;
  last_sha: string | null;
  updated_at: string;
}

function gateKey(gate: string): string {
  if (gate.trim() === '') throw new RangeError('state store: gate must not be empty');
  return gate;
}

/**
 * Records one verdict of a gate on a branch: FAIL adds one to the count,
 * every verdict becomes last_verdict. A merge verdict other than DEFER ends
 * the defer streak. Returns the branch's FAIL count for the gate after it.
 */
export function recordGateVerdict(db: Database, v: VerdictInput, now: Date): { failures: number } {
  if (!(VERDICTS as readonly string[]).includes(v.verdict))
    throw new RangeError(
      `state store: verdict must be one of ${VERDICTS.join(', ')} (got ${v.verdict})`
    );
  const repo = repoKey(v.repo);
  const branch = branchKey(v.branch);
  const gate = gateKey(v.gate);
  const fail = v.verdict === 'FAIL' ? 1 : 0;
  const endsStreak = gate === DEFER_GATE && v.verdict !== 'DEFER' ? 1 : 0;
  return db
    .transaction(() => {
      const failures = db
        .prepare(
          `INSERT INTO gate_failure (repo, branch, gate, failures, last_verdict, last_sha, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (repo, branch, gate) DO UPDATE SET
             failures = failures + excluded.failures,
             defer_streak = CASE WHEN ? THEN 0 ELSE defer_streak END,
             last_verdict = excluded.last_verdict, last_sha = excluded.last_sha,
             updated_at = excluded.updated_at
           RETURNING failures`
        )
        .pluck()
        .get(repo, branch, gate, fail, v.verdict, v.sha, now.toISOString(), endsStreak) as number;
      return { failures };
    })
    .immediate();
}

/** The FAIL count of `gate` on the branch (0 when none was recorded). */
export function gateFailures(db: Database, repo: string, branch: string, gate: string): number {
  const v = db
    .prepare('SELECT failures FROM gate_failure WHERE repo = ? AND branch = ? AND gate = ?')
    .pluck()
    .get(repoKey(repo), branchKey(branch), gate) as number | undefined;
  return v ?? 0;
}

/** FAIL counts of every gate that ran on the branch, by gate. */
export function branchFailures(db: Database, repo: string, branch: string): Record<string, number> {
  const rows = db
    .prepare('SELECT gate, failures FROM gate_failure WHERE repo = ? AND branch = ? ORDER BY gate')
    .all(repoKey(repo), branchKey(branch)) as { gate: string; failures: number }[];
  const out: Record<string, number> = {};
  for (const r of rows) out[r.gate] = r.failures;
  return out;
}

/** Every branch and gate of the repository with a recorded verdict, by branch then gate. */
export function repositoryFailures(db: Database, repo: string): GateFailure[] {
  const rows = db
    .prepare(
      `SELECT branch, gate, failures, defer_streak, last_verdict, last_sha, updated_at
       FROM gate_failure WHERE repo = ? ORDER BY branch, gate`
    )
    .all(repoKey(repo)) as Row[];
  return rows.map((r) => ({
    branch: r.branch,
    gate: r.gate,
    failures: r.failures,
    deferStreak: r.defer_streak,
    lastVerdict: r.last_verdict,
    lastSha: r.last_sha,
    updatedAt: r.updated_at
  }));
}

/** One more consecutive DEFER of the merge gate on the branch; returns the streak. */
export function recordDefer(db: Database, repo: string, branch: string, now = new Date()): number {
  const r = repoKey(repo);
  const b = branchKey(branch);
  return db
    .transaction(
      () =>
        db
          .prepare(
            `INSERT INTO gate_failure (repo, branch, gate, defer_streak, updated_at)
             VALUES (?, ?, ?, 1, ?)
             ON CONFLICT (repo, branch, gate) DO UPDATE SET
               defer_streak = defer_streak + 1, updated_at = excluded.updated_at
             RETURNING defer_streak`
          )
          .pluck()
          .get(r, b, DEFER_GATE, now.toISOString()) as number
    )
    .immediate();
}

/** The branch's current streak of consecutive merge DEFERs. */
export function deferStreak(db: Database, repo: string, branch: string): number {
  const v = db
    .prepare('SELECT defer_streak FROM gate_failure WHERE repo = ? AND branch = ? AND gate = ?')
    .pluck()
    .get(repoKey(repo), branchKey(branch), DEFER_GATE) as number | undefined;
  return v ?? 0;
}

/** Forgets the branch's FAIL counts and defer streak; returns how many gate rows went. */
export function resetCounters(db: Database, repo: string, branch: string): number {
  const r = repoKey(repo);
  const b = branchKey(branch);
  return db
    .transaction(
      () => db.prepare('DELETE FROM gate_failure WHERE repo = ? AND branch = ?').run(r, b).changes
    )
    .immediate();
}

/**
 * A cancelled branch that is reopened starts from scratch: counts, defer
 * streak, the cancelled mark and any pending STOP go, in one transaction.
 */
export function resetBranch(db: Database, repo: string, branch: string): void {
  db.transaction(() => {
    resetCounters(db, repo, branch);
    clearBranch(db, repo, branch);
  }).immediate();
}
