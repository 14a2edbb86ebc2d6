// The artefact zip reader: stored and deflated entries, directories left
// out, unsafe names refusing the whole archive, inconsistent headers, lying
// sizes and CRCs, the size bound, and what is not a zip at all.
import {
  ArtifactZipError,
  unsafeEntryName,
  zipFiles
} from '../../packages/store/src/backends/artifact-zip.ts';
import { makeZip } from '../helpers/contract-zip.ts';

const MiB = 1024 * 1024;

test('reads stored and deflated files and skips directories', () => {
  const zip = makeZip([
    { name: 'dir/', data: '', method: 'store' },
    { name: 'dir/a.txt', data: 'alpha', method: 'store' },
    { name: 'b.bin', data: Buffer.alloc(100_000, 7) }
  ]);
  const files = zipFiles(zip, MiB);
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
  expect(() => zipFiles(zip, MiB)).toThrow(ArtifactZipError);
  expect(() => zipFiles(zip, MiB)).toThrow(`its name has ${why}`);
});

test('ordinary names are fine', () => {
  for (const n of ['state.sqlite', 'a/b/c.db', '..hidden', 'x..y'])
    expect(unsafeEntryName(n)).toBeUndefined();
});

test('a local header that names the entry differently is refused', () => {
  const zip = makeZip([{ name: 'state.sqlite', localName: '../state.sqlite', data: 'x' }]);
  const [f] = zipFiles(zip, MiB);
  expect(() => f.read()).toThrow(
    /local header names it "\.\.\/state\.sqlite"; refusing an inconsistent archive/
  );
});

test('a wrong CRC or a size that lies fails the check', () => {
  expect(() => zipFiles(makeZip([{ name: 'a', data: 'abc', crc: 42 }]), MiB)[0].read()).toThrow(
    'a fails its size or CRC check'
  );
  // Declares 10 bytes, inflates to 1 MiB: stopped while inflating.
  const bomb = makeZip([{ name: 'bomb', data: Buffer.alloc(MiB), size: 10 }]);
  expect(() => zipFiles(bomb, MiB)[0].read()).toThrow(/bomb does not inflate/);
});

test('an entry above the size bound is refused before inflating', () => {
  const zip = makeZip([{ name: 'big', data: Buffer.alloc(2 * MiB) }]);
  expect(() => zipFiles(zip, MiB)[0].read()).toThrow(
    `big is ${2 * MiB} bytes, more than the ${MiB}-byte limit`
  );
});

test('not a zip, a truncated one, and an unsupported method', () => {
  expect(() => zipFiles(Buffer.from('SQLite format 3\0 and more bytes here....'), MiB)).toThrow(
    'not a zip archive (no end-of-central-directory record)'
  );
  const zip = makeZip([{ name: 'a', data: Buffer.alloc(1000, 1), method: 'store' }]);
  const cut = Buffer.concat([zip.subarray(0, 200), zip.subarray(zip.length - 22 - 31 - 1)]);
  expect(() => zipFiles(cut, MiB)).toThrow(ArtifactZipError);
  const odd = makeZip([{ name: 'a', data: 'x', method: 'store' }]);
  odd.writeUInt16LE(12, odd.length - 22 - 47 + 10); // central directory: method 12 (bzip2)
  expect(() => zipFiles(odd, MiB)[0].read()).toThrow('a uses unsupported compression method 12');
});
