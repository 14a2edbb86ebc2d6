// Per-repository counters of the merge gate (passes, failures by class,
// defers, infra retries, stale lease reclaims): one row per (repo, name),
// bumped in one immediate transaction so concurrent runs never lose a count.

import type { Database } from 'better-sqlite3';
import { repoKey } from './keys.ts';

/** Well-known counter names; failures are counted per class as `fail:<class>`. */
export const COUNTER = {
  pass: 'pass',
  defer: 'defer',
  infraRetry: 'infra-retry',
  staleReclaim: 'stale-reclaim',
  /** A wake-up that found its branch already landed (merge gate SKIPPED). */
  lateWake: 'late-wake',
  fail: (failureClass: string): string => `fail:${failureClass}`
} as const;

function counterName(name: string): string {
  if (name.trim() === '') throw new RangeError('state store: counter name must not be empty');
  return name;
}

/** Adds `by` (an integer, default 1) to the counter and returns its new value. */
export function bumpCounter(db: Database, repo: string, name: string, by = 1): number {
  if (!Number.isSafeInteger(by))
    throw new RangeError(`state store: a counter moves by a whole number (got ${by})`);
  const key = repoKey(repo);
  const n = counterName(name);
  return db
    .transaction(
      () =>
        db
          .prepare(
            `INSERT INTO counter (repo, name, value) VALUES (?, ?, ?)
             ON CONFLICT (repo, name) DO UPDATE SET value = value + excluded.value
             RETURNING value`
          )
          .pluck()
          .get(key, n, by) as number
    )
    .immediate();
}

/** Every counter of `repo` that is not zero, by name (absent names are zero: never bumped, or taken back). */
export function counters(db: Database, repo: string): Record<string, number> {
  const rows = db
    .prepare('SELECT name, value FROM counter WHERE repo = ? AND value != 0 ORDER BY name')
    .all(repoKey(repo)) as { name: string; value: number }[];
  const out: Record<string, number> = {};
  for (const r of rows) out[r.name] = r.value;
  return out;
}
