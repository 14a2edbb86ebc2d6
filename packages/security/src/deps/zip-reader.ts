// A minimal reader for the zip archives OSV publishes (all.zip per
// ecosystem): central directory, zip64, stored and deflated entries, CRC
// checked. No encryption, no multi-disk archives; no dependency needed.

import { crc32, inflateRawSync } from 'node:zlib';

export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipError';
  }
}

export interface ZipEntry {
  name: string;
  /** The entry's bytes, decompressed and CRC-checked. */
  read(): Buffer;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;

export function zipEntries(buf: Buffer): ZipEntry[] {
  const eocd = findEocd(buf);
  let count = buf.readUInt16LE(eocd + 10);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === U32_MAX) {
    const loc = eocd - 20;
    if (loc < 0 || buf.readUInt32LE(loc) !== EOCD64_LOCATOR)
      throw new ZipError('zip64 end-of-directory locator missing');
    const rec = num(buf.readBigUInt64LE(loc + 8));
    if (rec + 56 > buf.length || buf.readUInt32LE(rec) !== EOCD64)
      throw new ZipError('zip64 end-of-directory record missing');
    count = num(buf.readBigUInt64LE(rec + 32));
    cdOffset = num(buf.readBigUInt64LE(rec + 48));
  }
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL)
      throw new ZipError(`central directory entry ${i + 1} is damaged`);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let csize = buf.readUInt32LE(p + 20);
    let usize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    // Zip64 sizes live in extra field 0x0001, in this order, only for fields that overflowed.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = buf.readUInt16LE(e);
      const size = buf.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const next = (): number => {
          const v = num(buf.readBigUInt64LE(q));
          q += 8;
          return v;
        };
        if (usize === U32_MAX) usize = next();
        if (csize === U32_MAX) csize = next();
        if (local === U32_MAX) local = next();
      }
      e += 4 + size;
    }
    p = extraEnd + commentLen;
    if (name.endsWith('/')) continue; // a directory
    entries.push({
      name,
      read: () => {
        if (flags & 1) throw new ZipError(`${name} is encrypted`);
        if (local + 30 > buf.length || buf.readUInt32LE(local) !== LOCAL)
          throw new ZipError(`${name}: local header is damaged`);
        const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
        const raw = buf.subarray(start, start + csize);
        if (raw.length !== csize) throw new ZipError(`${name} is truncated`);
        let data: Buffer;
        if (method === 0) data = raw;
        else if (method === 8) {
          try {
            data = inflateRawSync(raw);
          } catch (err) {
            throw new ZipError(`${name} does not inflate (${(err as Error).message})`);
          }
        } else throw new ZipError(`${name} uses unsupported compression method ${method}`);
        if (data.length !== usize || crc32(data) !== crc)
          throw new ZipError(`${name} fails its size or CRC check`);
        return data;
      }
    });
  }
  return entries;
}

function findEocd(buf: Buffer): number {
  // The record is 22 bytes plus a comment of up to 65535.
  const stop = Math.max(0, buf.length - 22 - 0xffff);
  for (let i = buf.length - 22; i >= stop; i--) {
    if (buf.readUInt32LE(i) === EOCD) return i;
  }
  throw new ZipError('not a zip archive (no end-of-central-directory record)');
}

function num(b: bigint): number {
  if (b > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError('zip64 offset too large');
  return Number(b);
}
