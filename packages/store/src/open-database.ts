// Opens a state database safely: the file's bytes are checked first
// (sqlite-file.ts), then SQLite's quick_check, then that it is ours and not
// from a newer release, and only then is anything written (journal mode,
// migrations). A file that fails any check is left exactly as it was.

import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { oneLine } from '../../core/src/verdict.ts';
import type { Database as Db } from 'better-sqlite3';
import { StoreError, asStoreError } from './errors.ts';
import {
  APPLICATION_ID,
  MIGRATIONS,
  currentVersion,
  expectedTables,
  latestVersion,
  migrate,
  userTables,
  type Migration
} from './migrations.ts';
import { inspectStateFile } from './sqlite-file.ts';
import { bindStateContext } from './state-context.ts';

export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

export interface OpenOptions {
  /**
   * 'wal' for a file shared by processes (readers never block the writer);
   * 'delete' for a private copy that must be one self-contained file once closed.
   */
  journal: 'wal' | 'delete';
  /** Refuse a database SQLite could open only read-only. */
  writable: boolean;
  /** fsync on commit (synchronous=FULL). Off only for a private copy whose bytes are read after close. */
  durable?: boolean;
  busyTimeoutMs?: number;
  /** Where messages say the state lives; default the path. */
  location?: string;
  migrations?: readonly Migration[];
  now?: () => Date;
  /**
   * The state-key input: the state chain (state-chain.ts) is signed with
   * HMAC-SHA256 under it; without one, plain SHA-256. Bound to the
   * connection, so the domain functions use it without being passed it.
   */
  stateKey?: string;
}

export function openStateDatabase(path: string, opts: OpenOptions): Db {
  const location = opts.location ?? path;
  const migrations = opts.migrations ?? MIGRATIONS;
  const now = opts.now ?? (() => new Date());
  if (path !== ':memory:') {
    const state = inspectStateFile(path, location);
    if (opts.writable) checkWritable(path, state !== 'absent', location);
  }
  let db: Db;
  try {
    db = new Database(path, { timeout: opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  } catch (err) {
    throw asStoreError(location, err);
  }
  try {
    checkIntegrity(db, location);
    // One read transaction: application_id, the table list and the version
    // must come from the same snapshot, or another process's first
    // migration, committed between two reads, looks like a foreign schema.
    db.transaction(() => checkIdentity(db, location, migrations)).deferred();
    // From here on the file is known to be ours and readable: writing is safe.
    const mode = String(
      db.pragma(`journal_mode = ${opts.journal === 'wal' ? 'WAL' : 'DELETE'}`, { simple: true })
    );
    if (opts.journal === 'delete' && mode !== 'delete' && mode !== 'memory')
      throw new StoreError(location, `could not leave journal mode '${mode}'`);
    db.pragma(`synchronous = ${opts.durable === false ? 'OFF' : 'FULL'}`);
    db.pragma('foreign_keys = ON');
    const stateKey = opts.stateKey || undefined;
    const context = { key: stateKey, location, openedAtVersion: currentVersion(db) };
    bindStateContext(db, context);
    const { from } = migrate(db, location, now, migrations, { stateKey });
    context.openedAtVersion = from;
    const missing = expectedTables(currentVersion(db), migrations).filter(
      (t) => !userTables(db).includes(t)
    );
    if (missing.length > 0)
      throw new StoreError(location, `schema is damaged: table(s) ${missing.join(', ')} missing`);
    return db;
  } catch (err) {
    db.close();
    throw asStoreError(location, err);
  }
}

function checkIntegrity(db: Db, location: string): void {
  let rows: unknown;
  try {
    rows = db.pragma('quick_check');
  } catch (err) {
    throw new StoreError(
      location,
      `is not a readable SQLite database (${oneLine((err as Error).message, 160)}); it was left untouched`
    );
  }
  // One finding may span lines ('*** in database main ***' then the problem).
  const lines = (rows as { quick_check?: unknown }[]).map((r) =>
    oneLine(String(r.quick_check).replace('*** in database main ***', ''), 160)
  );
  if (lines.length !== 1 || lines[0] !== 'ok') {
    throw new StoreError(
      location,
      `fails SQLite's quick_check (${lines[0] ?? 'no answer'}${lines.length > 1 ? `, and ${lines.length - 1} more` : ''}); it was left untouched`
    );
  }
}

/** Refuses another application's database and a schema newer than this code. */
function checkIdentity(db: Db, location: string, migrations: readonly Migration[]): void {
  const appId = Number(db.pragma('application_id', { simple: true }));
  const tables = userTables(db);
  if (appId !== APPLICATION_ID) {
    // A database with no tables at all is a new one (an empty file, or a
    // migration that was rolled back before its first commit).
    if (appId !== 0 || tables.length > 0) {
      const what =
        appId !== 0 ? `application_id ${appId}` : `tables ${tables.slice(0, 5).join(', ')}`;
      throw new StoreError(
        location,
        `is a SQLite database but not a quality-gates state database (${what}); it was left untouched`
      );
    }
    return;
  }
  if (!tables.includes('schema_version'))
    throw new StoreError(
      location,
      'has no schema_version table; the schema is damaged; it was left untouched'
    );
  const version = currentVersion(db);
  const known = latestVersion(migrations);
  if (version > known) {
    throw new StoreError(
      location,
      `has schema version ${version}, but this quality-gates release knows versions up to ${known}; use a newer release (the file was left untouched)`
    );
  }
}

/**
 * SQLite silently falls back to a read-only connection when the file is not
 * writable, and the first write then fails deep inside an operation; asking
 * up front gives a message that names the path. The directory matters too:
 * the journal (or WAL and shm) files are created beside the database.
 */
function checkWritable(path: string, exists: boolean, location: string): void {
  for (const [target, what] of [
    ...(exists ? [[path, 'the file'] as const] : []),
    [dirname(path), 'its directory'] as const
  ]) {
    try {
      accessSync(target, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new StoreError(
        location,
        `${what} is not writable (${code}); the state location must be writable`
      );
    }
  }
}
