// A gate cycle: what one task branch does to the state store on its way
// through the edge, as the gates do it, on a simulated clock. The git-ref
// benchmark (bench-git-ref.ts) and the retention tests run it.

import type { Database } from 'better-sqlite3';
import { ratchetBaseline } from '../packages/store/src/baseline.ts';
import { recordGateRun, recentGateRuns } from '../packages/store/src/gate-run.ts';
import { recordGreenTest } from '../packages/store/src/green-test.ts';
import { currentLease, releaseLease, tryAcquireLease } from '../packages/store/src/lease.ts';
import { recordMeasurement } from '../packages/store/src/measurement.ts';
import { enterCritical, leaveCritical } from '../packages/store/src/merge-window.ts';
import { recordGateVerdict } from '../packages/store/src/retries.ts';

export const BENCH_REPO = 'bench/repo';
export const T0 = Date.parse('2026-01-01T00:00:00Z');
/** Simulated time between two cycles. */
const CYCLE_MS = 10 * 60_000;

const hex = (n: number, salt: number): string =>
  `${salt.toString(16).padStart(8, '0')}${n.toString(16).padStart(32, '0')}`;

/** The time of cycle `i` on the simulated clock. */
export function cycleTime(i: number): Date {
  return new Date(T0 + i * CYCLE_MS);
}

/**
 * The state operations of gate cycle `i` (task branch task/<i>), in the
 * order the gates make them: merge gate (acquire the lease; enter the
 * window, record the green re-test, leave it, verdict and run), the landing's
 * lease release, the coverage gate and the ratchet on main (two
 * measurements, the branch's and main's); then a read
 * (the status: lease and recent runs). `files` per-file rows per measurement.
 */
export function gateCycle(
  i: number,
  files = 40
): { writes: ((db: Database) => unknown)[]; read: (db: Database) => unknown } {
  const at = cycleTime(i);
  const branch = `task/${i}`;
  const head = hex(i, 1);
  const tree = hex(i, 2);
  const runId = `run-${i}`;
  const percent = Math.min(100, 50 + Math.floor(i / 50) / 100);
  const verdict = (gate: string) => ({
    repo: BENCH_REPO,
    branch,
    gate,
    verdict: 'PASS' as const,
    sha: head
  });
  const run = (db: Database, gate: string) =>
    recordGateRun(
      db,
      { repo: BENCH_REPO, branch, gate, sha: head, verdict: 'PASS', summary: `${gate} passed` },
      at
    );
  return {
    writes: [
      (db) =>
        tryAcquireLease(
          db,
          { repo: BENCH_REPO, branch, headSha: head, runId, ttlMs: 3_600_000 },
          at
        ),
      (db) => {
        enterCritical(db, BENCH_REPO, { branch }, at);
        recordGreenTest(
          db,
          {
            repo: BENCH_REPO,
            treeSha: tree,
            command: 'npm test',
            sha: head,
            branch,
            gate: 'merge'
          },
          at
        );
        leaveCritical(db, BENCH_REPO, { branch }, at);
        recordGateVerdict(db, verdict('security'), at);
        recordGateVerdict(db, verdict('merge'), at);
        run(db, 'security');
        run(db, 'merge');
      },
      (db) => releaseLease(db, { repo: BENCH_REPO, branch, runId }, at),
      (db) => {
        // The coverage gate's measurement of the branch, then the ratchet's of main (the same tree, landed).
        for (const on of [branch, 'main'])
          recordMeasurement(
            db,
            {
              repo: BENCH_REPO,
              branch: on,
              sha: head,
              treeSha: tree,
              percent,
              format: 'lcov',
              files: Array.from({ length: files }, (_, k) => ({
                path: `src/module-${k}/file-${k}.ts`,
                covered: 80 + ((i + k) % 20),
                total: 100
              }))
            },
            at
          );
        recordGateVerdict(db, verdict('coverage'), at);
        run(db, 'coverage');
        ratchetBaseline(
          db,
          {
            repo: BENCH_REPO,
            branch: 'main',
            percent,
            sha: head,
            actor: 'bench',
            reason: `landed ${branch}`
          },
          at
        );
      }
    ],
    read: (db) => [currentLease(db, BENCH_REPO), recentGateRuns(db, BENCH_REPO, 10)]
  };
}
