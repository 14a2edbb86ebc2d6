// A fresh, migrated state database in a temp dir for the store's unit tests.
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import { tempDir } from './tmp.ts';

export function freshDb(): { db: Database; path: string } {
  const path = join(tempDir('qg-store-'), 'state.sqlite');
  return { db: openStateDatabase(path, { journal: 'wal', writable: true }), path };
}

export const T0 = new Date('2026-01-02T03:04:05.000Z');

export function sha(n: number): string {
  return n.toString(16).padStart(40, '0');
}

/** Runs `fn` on the state file at `path` (created and migrated if new), then closes it. */
export function withStateDb<T>(path: string, fn: (db: Database) => T): T {
  const db = openStateDatabase(path, { journal: 'wal', writable: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}
