// A small reader for (uncompressed) tar archives, enough for release
// tarballs: ustar, GNU and pax headers, regular files, directories and links.
// It only reads; nothing is written to disk here. Any entry whose path could
// leave the extraction directory makes the whole archive unreadable, and a
// header with a bad checksum or a body past the end is refused, not skipped.

const BLOCK = 512;

export class TarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarError';
  }
}

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** Normalized relative path: no leading './', no trailing '/'. */
  path: string;
  type: TarEntryType;
  mode: number;
  size: number;
  /** The body, for regular files only. */
  data?: Buffer;
  linkName?: string;
}

function cString(b: Buffer, start: number, end: number): string {
  const field = b.subarray(start, end);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? field.length : nul).toString('utf8');
}

function numeric(b: Buffer, start: number, end: number, what: string): number {
  const field = b.subarray(start, end);
  if (field[0] !== undefined && (field[0] & 0x80) !== 0) {
    // GNU base-256 for values that do not fit the octal field.
    let n = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i];
    if (!Number.isSafeInteger(n)) throw new TarError(`${what} is too large`);
    return n;
  }
  const text = cString(b, start, end).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError(`${what} is not an octal number`);
  return parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  const stored = numeric(header, 148, 156, 'header checksum');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return sum === stored;
}

function isZeroBlock(b: Buffer): boolean {
  for (const byte of b) if (byte !== 0) return false;
  return true;
}

function quoted(path: string): string {
  const shown = path.length > 80 ? `${path.slice(0, 77)}...` : path;
  return JSON.stringify(shown);
}

/** Throws for any path that is absolute, climbs with '..', or uses '\' or a drive letter. */
export function safeEntryPath(raw: string): string {
  if (raw.startsWith('/') || raw.includes('\\') || /^[A-Za-z]:/.test(raw) || raw.includes('\0')) {
    throw new TarError(`archive entry ${quoted(raw)} has an unsafe path`);
  }
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..'))
    throw new TarError(`archive entry ${quoted(raw)} has an unsafe path`);
  return parts.join('/');
}

/** pax extended header records: "<len> <key>=<value>\n". */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = Number(data.subarray(pos, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0 || pos + len > data.length) {
      throw new TarError('malformed pax header');
    }
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

function typeOf(flag: string): TarEntryType {
  if (flag === '0' || flag === '\0' || flag === '7') return 'file';
  if (flag === '5') return 'directory';
  if (flag === '2') return 'symlink';
  if (flag === '1') return 'hardlink';
  return 'other';
}

export function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (isZeroBlock(header)) return entries;
    if (!checksumOk(header)) throw new TarError(`header checksum mismatch at byte ${offset}`);
    const flag = String.fromCharCode(header[156]);
    let size = numeric(header, 124, 136, 'entry size');
    if (pax.has('size')) size = Number(pax.get('size'));
    if (!Number.isSafeInteger(size) || size < 0) throw new TarError('entry size is invalid');
    const dataStart = offset + BLOCK;
    if (dataStart + size > archive.length) throw new TarError('archive is truncated');
    const data = archive.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    // Meta entries describe the entry that follows them.
    if (flag === 'x') {
      pax = paxRecords(data);
      continue;
    }
    if (flag === 'g') continue;
    if (flag === 'L') {
      longName = cString(data, 0, data.length);
      continue;
    }
    if (flag === 'K') {
      longLink = cString(data, 0, data.length);
      continue;
    }

    let name = cString(header, 0, 100);
    if (cString(header, 257, 262) === 'ustar') {
      const prefix = cString(header, 345, 500);
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    name = pax.get('path') ?? longName ?? name;
    const link = pax.get('linkpath') ?? longLink ?? cString(header, 157, 257);
    pax = new Map();
    longName = undefined;
    longLink = undefined;

    const type = typeOf(flag);
    const entry: TarEntry = {
      path: safeEntryPath(name),
      type,
      mode: numeric(header, 100, 108, 'entry mode'),
      size
    };
    if (type === 'file') entry.data = data;
    if (type === 'symlink' || type === 'hardlink') entry.linkName = link;
    entries.push(entry);
  }
  if (offset < archive.length) throw new TarError('archive is truncated');
  // No end-of-archive blocks: accepted, as GNU tar does with a warning.
  return entries;
}
