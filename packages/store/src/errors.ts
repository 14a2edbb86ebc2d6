// StoreError: the state store could not do its job (unreadable or foreign
// file, schema from a newer release, read-only location, a git-ref race lost
// too often). A ToolError of kind 'state', so each gate's policy decides what
// an unavailable store means for its verdict. A state changed outside the
// store (state-chain.ts) is a StoreError with code 'tampered' and its own
// kind, 'state-tampered', which no gate lists as fail-open: it fails closed.

import { ToolError } from '../../core/src/errors.ts';

export const STATE_ERROR_KIND = 'state';
/** The ToolError kind of a StoreError with code 'tampered'. */
export const TAMPERED_ERROR_KIND = 'state-tampered';

export type StoreErrorCode = 'tampered';

export class StoreError extends ToolError {
  /** Where the state lives: a file path, `<remote> <ref>`, an artefact name. */
  readonly location: string;
  /** SQLite's error code when SQLite raised it (SQLITE_BUSY, ...). */
  readonly sqlite?: string;
  /** 'tampered': the state was changed outside quality-gates; nothing was changed. */
  readonly code?: StoreErrorCode;
  constructor(location: string, message: string, sqlite?: string, code?: StoreErrorCode) {
    super(
      code === 'tampered' ? TAMPERED_ERROR_KIND : STATE_ERROR_KIND,
      `state store ${location}: ${message}`
    );
    this.name = 'StoreError';
    this.location = location;
    this.sqlite = sqlite;
    this.code = code;
  }
}

/** True for a StoreError saying the state was changed outside quality-gates. */
export function isTampered(err: unknown): err is StoreError {
  return err instanceof StoreError && err.code === 'tampered';
}

/** SQLite's own error (better-sqlite3's SqliteError), recognised by its code. */
export function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/**
 * A lock conflict SQLite reports without waiting for the busy handler (two
 * processes creating the file or switching it to WAL at the same moment,
 * WAL recovery): retrying the whole operation is safe and settles it.
 */
export function isBusy(err: unknown): boolean {
  const code = err instanceof StoreError ? err.sqlite : sqliteCode(err);
  return code !== undefined && /^SQLITE_(BUSY|LOCKED)/.test(code);
}

/** Rethrows SQLite and file-system errors as a StoreError naming `location`; others pass through. */
export function asStoreError(location: string, err: unknown): unknown {
  if (err instanceof StoreError) return err;
  const sq = sqliteCode(err);
  if (sq) {
    // Extended codes (SQLITE_IOERR_SHORT_READ) fall back to their primary code's text.
    const primary = sq.split('_').slice(0, 2).join('_');
    const why = READABLE[sq] ?? READABLE[primary] ?? (err as Error).message;
    return new StoreError(location, `${why} (${sq})`, sq);
  }
  const fsCode = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof fsCode === 'string' && /^E[A-Z]+$/.test(fsCode)) {
    return new StoreError(location, `${FS_READABLE[fsCode] ?? (err as Error).message} (${fsCode})`);
  }
  return err;
}

const READABLE: Record<string, string> = {
  SQLITE_READONLY: 'the database is read-only here; the state location must be writable',
  SQLITE_READONLY_DIRECTORY: 'the directory is read-only; the state location must be writable',
  SQLITE_READONLY_DBMOVED: 'the database file was moved or deleted while open',
  SQLITE_CANTOPEN: 'the database file cannot be opened (missing directory or no permission)',
  SQLITE_NOTADB: 'the file is not a SQLite database',
  SQLITE_CORRUPT: 'the database is corrupt or truncated',
  SQLITE_BUSY: 'the database stayed locked by another process beyond the busy timeout',
  SQLITE_FULL: 'the disk is full',
  SQLITE_IOERR: 'an I/O error occurred'
};

const FS_READABLE: Record<string, string> = {
  EACCES: 'permission denied; the state location must be writable',
  EPERM: 'operation not permitted; the state location must be writable',
  EROFS: 'the file system is read-only; the state location must be writable',
  ENOTDIR: 'a parent of the state path is a file, not a directory',
  EISDIR: 'the state path is a directory, not a file',
  ENOSPC: 'the disk is full'
};
