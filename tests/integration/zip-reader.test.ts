// The zip reader (packages/core/src/zip-reader.ts) behind the artefact
// backend and the offline OSV database: stored and deflated entries,
// directories left out, unsafe names refusing the whole archive, inconsistent
// headers, lying sizes and CRCs, the size bound, zip64 archives written by
// Info-ZIP, and what is not a zip at all.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unsafeEntryName, ZipError, zipEntries } from '../../packages/core/src/zip-reader.ts';
import { makeZip } from '../helpers/contract-zip.ts';
import { commandRuns } from '../helpers/processes.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';
import { writeZip } from '../fixtures/osv/zip-writer.ts';

afterAll(cleanupTempDirs);

const MiB = 1024 * 1024;
const bounded = { maxEntryBytes: MiB };

test('reads stored and deflated files and skips directories', () => {
  const zip = makeZip([
    { name: 'dir/', data: '', method: 'store' },
    { name: 'dir/a.txt', data: 'alpha', method: 'store' },
    { name: 'b.bin', data: Buffer.alloc(100_000, 7) }
  ]);
  const files = zipEntries(zip, bounded);
  expect(files.map((f) => [f.name, f.size])).toEqual([
    ['dir/a.txt', 5],
    ['b.bin', 100_000]
  ]);
  expect(files[0].read().toString()).toBe('alpha');
  expect(files[1].read()).toEqual(Buffer.alloc(100_000, 7));
});

test.each([
  ['../state.sqlite', "a '..' segment (path traversal)"],
  ['a/../../b', "a '..' segment (path traversal)"],
  ['/etc/passwd', 'an absolute path'],
  ['C:/x', 'a drive letter'],
  ['a\\..\\b', 'a backslash'],
  ['a\0b', 'a NUL byte']
])('an entry named %j refuses the archive (%s)', (name, why) => {
  expect(unsafeEntryName(name)).toBe(why);
  const zip = makeZip([
    { name: 'state.sqlite', data: 'ok' },
    { name, data: 'evil' }
  ]);
  expect(() => zipEntries(zip, bounded)).toThrow(ZipError);
  expect(() => zipEntries(zip, bounded)).toThrow(`its name has ${why}`);
});

test('ordinary names are fine', () => {
  for (const n of ['state.sqlite', 'a/b/c.db', '..hidden', 'x..y'])
    expect(unsafeEntryName(n)).toBeUndefined();
});

test('a local header that names the entry differently is refused', () => {
  const zip = makeZip([{ name: 'state.sqlite', localName: '../state.sqlite', data: 'x' }]);
  const [f] = zipEntries(zip, bounded);
  expect(() => f.read()).toThrow(
    /local header names it "\.\.\/state\.sqlite"; refusing an inconsistent archive/
  );
});

test('a wrong CRC or a size that lies fails the check', () => {
  expect(() =>
    zipEntries(makeZip([{ name: 'a', data: 'abc', crc: 42 }]), bounded)[0].read()
  ).toThrow('a fails its size or CRC check');
  // Declares 10 bytes, inflates to 1 MiB: stopped while inflating.
  const bomb = makeZip([{ name: 'bomb', data: Buffer.alloc(MiB), size: 10 }]);
  expect(() => zipEntries(bomb, bounded)[0].read()).toThrow(/bomb does not inflate/);
});

test('an entry above the size bound is refused before inflating', () => {
  const zip = makeZip([{ name: 'big', data: Buffer.alloc(2 * MiB) }]);
  expect(() => zipEntries(zip, bounded)[0].read()).toThrow(
    `big is ${2 * MiB} bytes, more than the ${MiB}-byte limit`
  );
});

test('not a zip, a truncated one, and an unsupported method', () => {
  expect(() =>
    zipEntries(Buffer.from('SQLite format 3\0 and more bytes here....'), bounded)
  ).toThrow('not a zip archive (no end-of-central-directory record)');
  const zip = makeZip([{ name: 'a', data: Buffer.alloc(1000, 1), method: 'store' }]);
  const cut = Buffer.concat([zip.subarray(0, 200), zip.subarray(zip.length - 22 - 31 - 1)]);
  expect(() => zipEntries(cut, bounded)).toThrow(ZipError);
  const odd = makeZip([{ name: 'a', data: 'x', method: 'store' }]);
  odd.writeUInt16LE(12, odd.length - 22 - 47 + 10); // central directory: method 12 (bzip2)
  expect(() => zipEntries(odd, bounded)[0].read()).toThrow(
    'a uses unsupported compression method 12'
  );
});

test('rejects what is not a zip and detects damage', () => {
  expect(() => zipEntries(Buffer.from('not a zip at all, just text'))).toThrow(ZipError);
  const zip = writeZip([{ name: 'a.json', data: '{"id":"A"}', deflate: false }]);
  zip[zip.indexOf('{"id"')] = 0x5b; // flip a byte of the stored data
  expect(() => zipEntries(zip)[0].read()).toThrow(/CRC/);
});

test('a zip64 marker without the zip64 end records is named', () => {
  const zip = makeZip([{ name: 'a', data: 'x' }]);
  zip.writeUInt16LE(0xffff, zip.length - 22 + 10); // entry count: "see the zip64 record"
  expect(() => zipEntries(zip)).toThrow(new ZipError('zip64 end-of-directory locator missing'));
});

describe('zip64 written by Info-ZIP', () => {
  const infoZip = commandRuns('zip', '-v') ? it : it.skip;
  const zip64 = (): Buffer => {
    const dir = tempDir('qg-zip-');
    writeFileSync(join(dir, 'A.json'), '{"id":"A"}');
    writeFileSync(join(dir, 'B.json'), JSON.stringify({ id: 'B', pad: 'x'.repeat(5000) }));
    execFileSync('zip', ['-q', '-fz', join(dir, 'all.zip'), 'A.json', 'B.json'], { cwd: dir });
    return readFileSync(join(dir, 'all.zip'));
  };

  infoZip('reads a zip64 archive written by Info-ZIP', () => {
    const archive = zip64();
    expect(archive.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true); // a zip64 end record
    const entries = zipEntries(archive);
    expect(entries.map((e) => e.name)).toEqual(['A.json', 'B.json']);
    expect(JSON.parse(entries[1].read().toString()).pad).toHaveLength(5000);
  });

  infoZip('holds zip64 entries to the size bound too', () => {
    const [a, b] = zipEntries(zip64(), { maxEntryBytes: 1000 });
    expect(a.read().toString()).toBe('{"id":"A"}');
    expect(() => b.read()).toThrow(/^B\.json is \d+ bytes, more than the 1000-byte limit$/);
  });
});
