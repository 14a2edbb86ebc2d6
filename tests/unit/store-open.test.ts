import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ToolError } from '../../packages/core/src/errors.ts';
import { StoreError } from '../../packages/store/src/errors.ts';
import {
  APPLICATION_ID,
  MIGRATIONS,
  assertOrdered,
  currentVersion,
  latestVersion,
  type Migration
} from '../../packages/store/src/migrations.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import { getBaseline, ratchetBaseline } from '../../packages/store/src/baseline.ts';
import { inspectStateFile } from '../../packages/store/src/sqlite-file.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';
import { T0, sha } from '../helpers/store-db.ts';

afterAll(cleanupTempDirs);

const open = (path: string, migrations?: readonly Migration[]) =>
  openStateDatabase(path, { journal: 'wal', writable: true, migrations });

/** A real state database with some rows, closed (checkpointed into one file). */
function realDb(rows = 300): string {
  const path = join(tempDir('qg-store-open-'), 'state.sqlite');
  const db = open(path);
  // One outer transaction (the ratchets nest as savepoints): fast to build.
  db.transaction(() => {
    for (let i = 0; i < rows; i++)
      ratchetBaseline(
        db,
        {
          repo: `acme/r${i}`,
          branch: 'main',
          percent: i % 100,
          sha: sha(i),
          actor: 'ci',
          reason: 'x'.repeat(200)
        },
        T0
      );
  })();
  db.close();
  return path;
}

/** Expects opening `path` to fail with a StoreError naming it, leaving every byte as it was. */
function expectRefused(path: string, message: RegExp): StoreError {
  const before = readFileSync(path);
  let caught: unknown;
  try {
    open(path).close();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(StoreError);
  const e = caught as StoreError;
  expect(e.message).toContain(path);
  expect(e.message).toMatch(message);
  expect(readFileSync(path).equals(before)).toBe(true);
  expect(existsSync(`${path}-journal`)).toBe(false);
  return e;
}

describe('opening a state file', () => {
  it('creates a new database with the current schema and marks it as ours', () => {
    const path = join(tempDir(), 'state.sqlite');
    const db = open(path);
    expect(currentVersion(db)).toBe(latestVersion());
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(10000);
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    db.close();
    expect(inspectStateFile(path)).toBe('sqlite');
  });

  it('reopening does not migrate again', () => {
    const path = realDb(1);
    const db = open(path);
    expect(db.prepare('SELECT COUNT(*) FROM schema_version').pluck().get()).toBe(MIGRATIONS.length);
    expect(getBaseline(db, 'acme/r0', 'main')?.percent).toBe(0);
    db.close();
  });

  it('treats a zero-length file as a new database (documented: nothing to damage)', () => {
    const path = join(tempDir(), 'state.sqlite');
    writeFileSync(path, '');
    expect(inspectStateFile(path)).toBe('empty');
    const db = open(path);
    expect(currentVersion(db)).toBe(latestVersion());
    db.close();
  });

  it('refuses a text file and leaves it untouched', () => {
    const path = join(tempDir(), 'state.sqlite');
    writeFileSync(path, 'this is my shopping list\n'.repeat(100));
    expectRefused(path, /is not a SQLite database/);
  });

  it('refuses a file that only starts like SQLite (short header)', () => {
    const path = join(tempDir(), 'state.sqlite');
    writeFileSync(path, 'SQLite format 3\0');
    expectRefused(path, /is not a SQLite database/);
  });

  it.each([
    ['the header only', 100],
    ['half a page', 2048],
    ['one page', 4096],
    ['three pages and a bit', 3 * 4096 + 17]
  ])('refuses a copy truncated to %s', (_what, bytes) => {
    const path = realDb();
    const full = readFileSync(path);
    expect(full.length).toBeGreaterThan(8 * 4096);
    writeFileSync(path, full.subarray(0, bytes));
    expectRefused(path, /truncated|not a SQLite database/);
  });

  it('refuses a copy missing its last pages', () => {
    const path = realDb();
    const full = readFileSync(path);
    writeFileSync(path, full.subarray(0, full.length - 2 * 4096));
    expectRefused(path, /is truncated .* the header says \d+ pages/);
  });

  it('refuses a database whose pages are damaged (quick_check)', () => {
    const path = realDb();
    const buf = readFileSync(path);
    // Overwrite the middle of page 3 (a b-tree page of coverage data) with garbage.
    buf.fill(0xa5, 2 * 4096 + 8, 3 * 4096 - 8);
    writeFileSync(path, buf);
    expectRefused(path, /quick_check|not a readable SQLite database|corrupt/);
  });

  it('refuses a database from a newer release, naming both versions', () => {
    const path = realDb(1);
    const raw = new Database(path);
    raw.prepare("INSERT INTO schema_version VALUES (7, 'from the future', 'x')").run();
    raw.close();
    const e = expectRefused(
      path,
      new RegExp(
        `schema version 7, but this quality-gates release knows versions up to ${latestVersion()}`
      )
    );
    expect(e.kind).toBe('state');
    expect(e).toBeInstanceOf(ToolError);
    // still readable by the release that wrote it
    const again = new Database(path);
    expect(again.prepare('SELECT MAX(version) FROM schema_version').pluck().get()).toBe(7);
    again.close();
  });

  it("refuses another application's SQLite database", () => {
    const path = join(tempDir(), 'state.sqlite');
    const raw = new Database(path);
    raw.exec(
      'CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 1);'
    );
    raw.close();
    expectRefused(path, /not a quality-gates state database \(tables users\)/);
    const other = new Database(path);
    other.pragma('application_id = 42');
    other.close();
    expectRefused(path, /not a quality-gates state database \(application_id 42\)/);
  });

  it('refuses a state database whose tables were dropped instead of recreating them empty', () => {
    const path = realDb(1);
    const raw = new Database(path);
    raw.exec('DROP TABLE coverage_baseline');
    raw.close();
    expectRefused(path, /schema is damaged: table\(s\) coverage_baseline missing/);
  });

  it('refuses a directory where the file should be', () => {
    const path = join(tempDir(), 'state.sqlite');
    mkdirSync(path);
    expect(() => open(path)).toThrow(StoreError);
    expect(() => open(path)).toThrow(/is not a regular file/);
  });

  it('refuses a path under a regular file (a read-only location in effect)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'plain-file'), 'x');
    const path = join(dir, 'plain-file', 'state.sqlite');
    expect(() => open(path)).toThrow(StoreError);
    expect(() => open(path)).toThrow(
      new RegExp(`${path}.*(not a directory|a parent of the path is a file)`)
    );
  });
});

describe('migrations', () => {
  it('are numbered 1, 2, 3 ... without gaps', () => {
    expect(() => assertOrdered(MIGRATIONS)).not.toThrow();
    expect(() => assertOrdered([{ ...MIGRATIONS[0], version: 2 }])).toThrow(/expected 1/);
  });

  it('a new array entry upgrades an existing database in place, once', () => {
    const path = realDb(1);
    const known = latestVersion();
    const v2: Migration = {
      version: known + 1,
      description: 'a future feature',
      tables: ['future_thing'],
      sql: 'CREATE TABLE IF NOT EXISTS future_thing (repo TEXT PRIMARY KEY, holder TEXT NOT NULL) STRICT;'
    };
    const next = [...MIGRATIONS, v2];
    const db = open(path, next);
    expect(currentVersion(db)).toBe(known + 1);
    expect(getBaseline(db, 'acme/r0', 'main')?.percent).toBe(0);
    db.prepare("INSERT INTO future_thing VALUES ('acme/app', 'job-1')").run();
    db.close();
    const again = open(path, next);
    expect(
      again.prepare('SELECT version FROM schema_version ORDER BY version').pluck().all()
    ).toEqual(next.map((m) => m.version));
    again.close();
    // ... and the release that knows only the current versions now refuses the file
    expectRefused(
      path,
      new RegExp(
        `schema version ${known + 1}, but this quality-gates release knows versions up to ${known}`
      )
    );
  });

  it('a failing migration rolls back completely', () => {
    const path = realDb(1);
    const bad: Migration = {
      version: latestVersion() + 1,
      description: 'broken',
      tables: ['half'],
      sql: 'CREATE TABLE half (x INTEGER); THIS IS NOT SQL;'
    };
    expect(() => open(path, [...MIGRATIONS, bad])).toThrow(StoreError);
    const db = open(path);
    expect(currentVersion(db)).toBe(latestVersion());
    expect(db.prepare("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'half'").pluck().get()).toBe(
      0
    );
    db.close();
  });
});

describe('StoreError', () => {
  it('is a ToolError of kind state naming the location', () => {
    const e = new StoreError('/x/state.sqlite', 'went wrong');
    expect(e).toBeInstanceOf(ToolError);
    expect(e.kind).toBe('state');
    expect(e.location).toBe('/x/state.sqlite');
    expect(e.message).toBe('state store /x/state.sqlite: went wrong');
  });

  it('copying a state file keeps it usable', () => {
    const path = realDb(3);
    const copy = join(tempDir(), 'copy.sqlite');
    copyFileSync(path, copy);
    const db = open(copy);
    expect(getBaseline(db, 'acme/r2', 'main')?.percent).toBe(2);
    db.close();
  });
});
