// Reads the zip a workflow artefact downloads as (both forges wrap v4
// artefacts in one zip): central directory, stored and deflated entries,
// sizes bounded before inflating, CRC checked. An entry whose name could
// escape a directory (absolute, drive letter, backslash, '..', NUL) makes the
// whole archive refused: nothing here writes by entry name, but such a name
// means the archive was crafted, not produced by upload-artifact. No zip64
// (a state file beyond 4 GiB is not a state file), no encryption.

import { crc32, inflateRawSync } from 'node:zlib';

export class ArtifactZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArtifactZipError';
  }
}

export interface ZipFile {
  name: string;
  /** Uncompressed size from the central directory. */
  size: number;
  /** The entry's bytes, inflated and checked against size and CRC. */
  read(): Buffer;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
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

/** The archive's files (directories left out), each name checked first. */
export function zipFiles(buf: Buffer, maxEntryBytes: number): ZipFile[] {
  const eocd = findEocd(buf);
  const count = buf.readUInt16LE(eocd + 10);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === U16_MAX || cdOffset === U32_MAX) {
    throw new ArtifactZipError('zip64 archives are not supported');
  }
  const files: ZipFile[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL) {
      throw new ArtifactZipError(`central directory entry ${i + 1} is damaged`);
    }
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const csize = buf.readUInt32LE(p + 20);
    const usize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    if (p + 46 + nameLen > buf.length)
      throw new ArtifactZipError(`entry ${i + 1} name is truncated`);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    const unsafe = unsafeEntryName(name);
    if (unsafe) {
      throw new ArtifactZipError(
        `entry ${JSON.stringify(name)} is refused: its name has ${unsafe}`
      );
    }
    if (csize === U32_MAX || usize === U32_MAX || local === U32_MAX) {
      throw new ArtifactZipError(`${name}: zip64 entries are not supported`);
    }
    if (name.endsWith('/')) continue;
    files.push({
      name,
      size: usize,
      read: () => readEntry(buf, { name, flags, method, crc, csize, usize, local }, maxEntryBytes)
    });
  }
  return files;
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
  if (e.flags & 1) throw new ArtifactZipError(`${e.name} is encrypted`);
  if (e.usize > maxEntryBytes) {
    throw new ArtifactZipError(
      `${e.name} is ${e.usize} bytes, more than the ${maxEntryBytes}-byte limit`
    );
  }
  if (e.local + 30 > buf.length || buf.readUInt32LE(e.local) !== LOCAL) {
    throw new ArtifactZipError(`${e.name}: local header is damaged`);
  }
  const localNameLen = buf.readUInt16LE(e.local + 26);
  const localName = buf.toString('utf8', e.local + 30, e.local + 30 + localNameLen);
  if (localName !== e.name) {
    // Two names for one entry is how archives smuggle a path past a checker.
    throw new ArtifactZipError(
      `${e.name}: local header names it ${JSON.stringify(localName)}; refusing an inconsistent archive`
    );
  }
  const start = e.local + 30 + localNameLen + buf.readUInt16LE(e.local + 28);
  const raw = buf.subarray(start, start + e.csize);
  if (raw.length !== e.csize) throw new ArtifactZipError(`${e.name} is truncated`);
  let data: Buffer;
  if (e.method === 0) data = raw;
  else if (e.method === 8) {
    try {
      // The bound applies while inflating: a zip bomb stops at the limit.
      data = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.usize) });
    } catch (err) {
      throw new ArtifactZipError(`${e.name} does not inflate (${(err as Error).message})`);
    }
  } else throw new ArtifactZipError(`${e.name} uses unsupported compression method ${e.method}`);
  if (data.length !== e.usize || crc32(data) !== e.crc) {
    throw new ArtifactZipError(`${e.name} fails its size or CRC check`);
  }
  return data;
}

function findEocd(buf: Buffer): number {
  // The record is 22 bytes plus a comment of up to 65535.
  const stop = Math.max(0, buf.length - 22 - 0xffff);
  for (let i = buf.length - 22; i >= stop; i--) {
    if (buf.readUInt32LE(i) === EOCD) return i;
  }
  throw new ArtifactZipError('not a zip archive (no end-of-central-directory record)');
}
