// The one zip reader (OSV's all.zip per ecosystem, the zip a workflow
// artefact downloads as): central directory, zip64, stored and deflated
// entries, sizes bounded before and while inflating, CRC checked. An entry
// whose name could escape a directory (absolute, drive letter, backslash,
// '..', NUL), or whose local header names it differently, makes the archive
// refused: nothing here writes by entry name, but such a name means the
// archive was crafted. No encryption, no multi-disk archives; no dependency.

import { constants as bufferConstants } from 'node:buffer';
import { crc32, inflateRawSync } from 'node:zlib';

export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipError';
  }
}

export interface ZipEntry {
  name: string;
  /** Uncompressed size from the central directory (zip64 field when present). */
  size: number;
  /** The entry's bytes, inflated and checked against size and CRC. */
  read(): Buffer;
}

export interface ZipReadOptions {
  /** An entry declaring more bytes than this is refused by read(), before inflating. */
  maxEntryBytes?: number;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const ZIP64_EXTRA = 0x0001;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

/** Why an entry name is unsafe to extract, or undefined when it is fine. */
export function unsafeEntryName(name: string): string | undefined {
  if (name === '') return 'an empty name';
  if (name.includes('\0')) return 'a NUL byte';
  if (name.includes('\\')) return 'a backslash';
  if (name.startsWith('/')) return 'an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'a drive letter';
  if (name.split('/').some((seg) => seg === '..')) return "a '..' segment (path traversal)";
  return undefined;
}

/** The archive's files (directories left out), every name checked first. */
export function zipEntries(buf: Buffer, options: ZipReadOptions = {}): ZipEntry[] {
  const maxEntryBytes = options.maxEntryBytes ?? Number.POSITIVE_INFINITY;
  const { count, cdOffset } = centralDirectory(buf);
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL) {
      throw new ZipError(`central directory entry ${i + 1} is damaged`);
    }
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let csize = buf.readUInt32LE(p + 20);
    let usize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let local = buf.readUInt32LE(p + 42);
    const extraStart = p + 46 + nameLen;
    const extraEnd = extraStart + extraLen;
    if (extraStart > buf.length) throw new ZipError(`entry ${i + 1} name is truncated`);
    if (extraEnd > buf.length) throw new ZipError(`entry ${i + 1} extra field is truncated`);
    const name = buf.toString('utf8', p + 46, extraStart);
    const unsafe = unsafeEntryName(name);
    if (unsafe)
      throw new ZipError(`entry ${JSON.stringify(name)} is refused: its name has ${unsafe}`);
    // Zip64 values live in extra field 0x0001, in this order, only for the fields that overflowed.
    for (let e = extraStart; e + 4 <= extraEnd;) {
      const id = buf.readUInt16LE(e);
      const end = e + 4 + buf.readUInt16LE(e + 2);
      if (id === ZIP64_EXTRA) {
        let q = e + 4;
        const next = (field: string): number => {
          if (q + 8 > Math.min(end, extraEnd)) {
            throw new ZipError(`${name}: zip64 extra field is too short for its ${field}`);
          }
          const v = safeNumber(buf.readBigUInt64LE(q), `${name}: zip64 ${field}`);
          q += 8;
          return v;
        };
        if (usize === U32_MAX) usize = next('size');
        if (csize === U32_MAX) csize = next('compressed size');
        if (local === U32_MAX) local = next('local header offset');
      }
      e = end;
    }
    p = extraEnd + commentLen;
    if (name.endsWith('/')) continue; // a directory
    const info: EntryInfo = { name, flags, method, crc, csize, usize, local };
    entries.push({ name, size: usize, read: () => readEntry(buf, info, maxEntryBytes) });
  }
  return entries;
}

interface EntryInfo {
  name: string;
  flags: number;
  method: number;
  crc: number;
  csize: number;
  usize: number;
  local: number;
}

function readEntry(buf: Buffer, e: EntryInfo, maxEntryBytes: number): Buffer {
  if (e.flags & 1) throw new ZipError(`${e.name} is encrypted`);
  if (e.usize > maxEntryBytes) {
    throw new ZipError(`${e.name} is ${e.usize} bytes, more than the ${maxEntryBytes}-byte limit`);
  }
  if (e.usize > bufferConstants.MAX_LENGTH) {
    throw new ZipError(`${e.name} is ${e.usize} bytes, more than a buffer can hold`);
  }
  if (e.local + 30 > buf.length || buf.readUInt32LE(e.local) !== LOCAL) {
    throw new ZipError(`${e.name}: local header is damaged`);
  }
  const localNameLen = buf.readUInt16LE(e.local + 26);
  const localName = buf.toString('utf8', e.local + 30, e.local + 30 + localNameLen);
  if (localName !== e.name) {
    // Two names for one entry is how archives smuggle a path past a checker.
    throw new ZipError(
      `${e.name}: local header names it ${JSON.stringify(localName)}; refusing an inconsistent archive`
    );
  }
  const start = e.local + 30 + localNameLen + buf.readUInt16LE(e.local + 28);
  const raw = buf.subarray(start, start + e.csize);
  if (raw.length !== e.csize) throw new ZipError(`${e.name} is truncated`);
  let data: Buffer;
  if (e.method === 0) data = raw;
  else if (e.method === 8) {
    try {
      // The declared size bounds the inflating: a zip bomb stops there.
      data = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.usize) });
    } catch (err) {
      throw new ZipError(`${e.name} does not inflate (${(err as Error).message})`);
    }
  } else throw new ZipError(`${e.name} uses unsupported compression method ${e.method}`);
  if (data.length !== e.usize || crc32(data) !== e.crc) {
    throw new ZipError(`${e.name} fails its size or CRC check`);
  }
  return data;
}

/** Entry count and central directory offset, from the zip64 record when the classic one overflowed. */
function centralDirectory(buf: Buffer): { count: number; cdOffset: number } {
  const eocd = findEocd(buf);
  const count = buf.readUInt16LE(eocd + 10);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (count !== U16_MAX && cdOffset !== U32_MAX) return { count, cdOffset };
  const loc = eocd - 20;
  if (loc < 0 || buf.readUInt32LE(loc) !== EOCD64_LOCATOR) {
    throw new ZipError('zip64 end-of-directory locator missing');
  }
  const rec = safeNumber(buf.readBigUInt64LE(loc + 8), 'zip64 end-of-directory offset');
  if (rec + 56 > buf.length || buf.readUInt32LE(rec) !== EOCD64) {
    throw new ZipError('zip64 end-of-directory record missing');
  }
  return {
    count: safeNumber(buf.readBigUInt64LE(rec + 32), 'zip64 entry count'),
    cdOffset: safeNumber(buf.readBigUInt64LE(rec + 48), 'zip64 central directory offset')
  };
}

function findEocd(buf: Buffer): number {
  // The record is 22 bytes plus a comment of up to 65535.
  const stop = Math.max(0, buf.length - 22 - 0xffff);
  for (let i = buf.length - 22; i >= stop; i--) {
    if (buf.readUInt32LE(i) === EOCD) return i;
  }
  throw new ZipError('not a zip archive (no end-of-central-directory record)');
}

function safeNumber(b: bigint, what: string): number {
  if (b > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(`${what} is too large (${b})`);
  return Number(b);
}
