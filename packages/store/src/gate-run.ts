// A record of each gate run (gate, commit, verdict, one-line summary): the
// history behind "how often did this gate fail here lately".

import type { Database } from 'better-sqlite3';
import { branchKey, repoKey } from './keys.ts';

export interface GateRunInput {
  repo: string;
  branch: string;
  gate: string;
  sha: string;
  verdict: string;
  summary: string;
}

export interface GateRun extends GateRunInput {
  id: number;
  at: string;
}

/** Stores one run; returns its id. */
export function recordGateRun(db: Database, run: GateRunInput, at: Date): number {
  const insert = db.prepare(
    'INSERT INTO gate_run (repo, branch, gate, sha, verdict, summary, at) VALUES (?, ?, ?, ?, ?, ?, ?)'
  );
  const r = db
    .transaction(() =>
      insert.run(
        repoKey(run.repo),
        branchKey(run.branch),
        run.gate,
        run.sha,
        run.verdict,
        run.summary,
        at.toISOString()
      )
    )
    .immediate();
  return Number(r.lastInsertRowid);
}

/** Newest first. */
export function recentGateRuns(db: Database, repo: string, limit = 20): GateRun[] {
  return db
    .prepare(
      'SELECT id, repo, branch, gate, sha, verdict, summary, at FROM gate_run WHERE repo = ? ORDER BY id DESC LIMIT ?'
    )
    .all(repoKey(repo), Math.max(0, Math.floor(limit))) as GateRun[];
}
