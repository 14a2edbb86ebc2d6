// Looks at a state file's bytes before SQLite is allowed near it. A file
// that is not a SQLite database, or is visibly truncated, is refused here so
// nothing later can write into it; SQLite's own quick_check (see
// open-database.ts) covers damage the header cannot show.

import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { StoreError } from './errors.ts';

/** "SQLite format 3\0": the first 16 bytes of every SQLite 3 database. */
export const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER_BYTES = 100;

export type FileState =
  /** No file: a new database will be created. */
  | 'absent'
  /**
   * Zero bytes. SQLite treats it as an empty database and so do we: it holds
   * nothing that could be damaged, and it is what `touch`, `mktemp` or a
   * volume placeholder leave behind. Losing data this way is no different
   * from losing the whole file, which also starts a new state.
   */
  | 'empty'
  | 'sqlite';

export interface SqliteHeader {
  pageSize: number;
  /** Pages according to the header, or undefined when that field is stale (pre-3.7 writers). */
  pageCount?: number;
  /** PRAGMA application_id, stored at offset 68. */
  applicationId: number;
  /** 1 = rollback journal, 2 = WAL (offsets 18/19). */
  writeVersion: number;
}

export function parseHeader(buf: Buffer): SqliteHeader | undefined {
  if (buf.length < HEADER_BYTES || !buf.subarray(0, 16).equals(SQLITE_MAGIC)) return undefined;
  const raw = buf.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return undefined;
  // The in-header page count is trusted only when the change counter (24)
  // matches version-valid-for (92), as SQLite itself does.
  const valid = buf.readUInt32BE(24) === buf.readUInt32BE(92);
  const count = buf.readUInt32BE(28);
  return {
    pageSize,
    pageCount: valid && count > 0 ? count : undefined,
    applicationId: buf.readUInt32BE(68),
    writeVersion: buf[18]
  };
}

/**
 * Classifies `path` or throws a StoreError naming it.
 *
 * The size checks need care on a live WAL database: another process's
 * checkpoint writes page 1 (with the new page count) before the pages that
 * extend the file, and its last connection deletes the -wal file on close,
 * so a look from outside SQLite's locks can catch a moment that seems
 * truncated. A WAL file beside the database means pages may legitimately
 * live there (skip the checks); for a database in WAL mode a failed check is
 * looked at again a few times before it counts. A file in rollback mode (a
 * copy, a git-ref blob) has no such moments and is judged at once.
 */
export function inspectStateFile(path: string, location: string = path): FileState {
  for (let look = 1; ; look++) {
    const snap = snapshot(path, location);
    if (snap === 'absent' || snap === 'empty') return snap;
    const problem = hasWal(path) ? undefined : sizeProblem(snap.size, snap.header);
    if (problem === undefined) return 'sqlite';
    if (snap.header.writeVersion !== 2 || look >= WAL_LOOKS)
      throw new StoreError(location, `${problem}; it was left untouched`);
    sleepSync(WAL_LOOK_INTERVAL_MS);
  }
}

const WAL_LOOKS = 10;
const WAL_LOOK_INTERVAL_MS = 20;

function snapshot(
  path: string,
  location: string
): 'absent' | 'empty' | { size: number; header: SqliteHeader } {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new StoreError(location, 'exists but is not a regular file');
    size = st.size;
  } catch (err) {
    if (err instanceof StoreError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'absent';
    if (code === 'ENOTDIR')
      throw new StoreError(location, 'a parent of the path is a file, not a directory');
    throw new StoreError(location, `cannot be examined (${code ?? (err as Error).message})`);
  }
  if (size === 0) return 'empty';
  const buf = Buffer.alloc(HEADER_BYTES);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new StoreError(
      location,
      `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`
    );
  }
  let read: number;
  try {
    read = readSync(fd, buf, 0, HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  const header = parseHeader(buf.subarray(0, read));
  if (!header) {
    throw new StoreError(
      location,
      `is not a SQLite database (${size} bytes without a valid SQLite header); it was left untouched`
    );
  }
  return { size, header };
}

function sizeProblem(size: number, header: SqliteHeader): string | undefined {
  if (size % header.pageSize !== 0 || size < header.pageSize)
    return `is truncated (${size} bytes is not a whole number of ${header.pageSize}-byte pages)`;
  if (header.pageCount !== undefined && size < header.pageCount * header.pageSize)
    return `is truncated (${size} bytes, the header says ${header.pageCount} pages of ${header.pageSize})`;
  return undefined;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function hasWal(path: string): boolean {
  const wal = `${path}-wal`;
  try {
    return existsSync(wal) && statSync(wal).size > 0;
  } catch {
    return false;
  }
}
