import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLcov } from '../../packages/coverage/src/formats/lcov.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const hand = (f: string): string => join(here, '../fixtures/coverage/hand', f);
const real = (f: string): string => join(here, '../fixtures/coverage/real', f);
const text = (t: string, name = 'lcov.info'): ReturnType<typeof parseLcov> =>
  parseLcov({ text: t, name });

afterAll(cleanupTempDirs);

describe('LCOV', () => {
  it('unites duplicate SF records (union of lines, covered if any record covered) beside LF/LH-only records', async () => {
    const r = await parseLcov({ path: hand('lcov-multi.info') });
    expect(r).toMatchObject({ format: 'lcov', measure: 'lines', covered: 7, total: 16 });
    expect(r.files).toEqual([
      { path: 'src/a.ts', covered: 3, total: 4 },
      { path: 'src/b.ts', covered: 0, total: 2 },
      { path: 'src/legacy.js', covered: 4, total: 10 }
    ]);
    expect(r.notes).toEqual([]);
  });

  it('uses DA when present and notes LF/LH that disagree', async () => {
    const r = await parseLcov({ path: hand('lcov-mismatch.info') });
    expect([r.covered, r.total]).toEqual([1, 2]);
    expect(r.notes).toEqual(['src/a.ts: LF/LH say 1/5 but its DA lines give 1/2; DA is used']);
  });

  it('caps the mismatch notes at three and counts the rest', async () => {
    let t = '';
    for (let i = 0; i < 5; i++) t += `SF:f${i}\nDA:1,1\nLF:9\nLH:1\nend_of_record\n`;
    const r = await text(t);
    expect(r.notes).toHaveLength(4);
    expect(r.notes[3]).toBe('2 more records whose LF/LH disagree with their DA lines');
  });

  it('uses LF/LH for records without DA, the fullest when a file repeats', async () => {
    const r = await text(
      'SF:a\nLF:10\nLH:3\nend_of_record\nSF:a\nLF:10\nLH:6\nend_of_record\nSF:a\nLF:4\nLH:4\nend_of_record\n'
    );
    expect(r.files).toEqual([{ path: 'a', covered: 6, total: 10 }]);
  });

  it('a duplicate DA in one record counts once, covered if any hit', async () => {
    const r = await text('SF:a\nDA:1,0\nDA:1,4\nDA:2,0\nDA:2,0\nend_of_record\n');
    expect([r.covered, r.total]).toEqual([1, 2]);
  });

  it('reads CRLF line ends, DA checksums, trailing blanks and future keys', async () => {
    const r = await text(
      'VER:2.0\r\nTN:\r\nSF:C:\\src\\a.c\r\nFNL:0,1,3\r\nFNA:0,1,main\r\nDA:1,1,abc123\r\nDA:2,0 \r\nDA:3,12345678901234567890\r\n\r\nend_of_record\r\n'
    );
    expect(r.files).toEqual([{ path: 'C:/src/a.c', covered: 2, total: 3 }]);
  });

  it('accepts a last end_of_record without a newline', async () => {
    const r = await text('SF:a\nDA:1,1\nend_of_record');
    expect(r.total).toBe(1);
  });

  it('accepts float hit counts some writers emit', async () => {
    const r = await text('SF:a\nDA:1,1.0\nDA:2,0.0\nDA:3,2e3\nend_of_record\n');
    expect([r.covered, r.total]).toEqual([2, 3]);
  });

  it('handles records split across 1 MiB read chunks', async () => {
    const dir = tempDir();
    const path = join(dir, 'big.info');
    let t = '';
    let covered = 0;
    let total = 0;
    for (let f = 0; f < 300; f++) {
      t += `TN:\nSF:/src/dir/file-\u00e9${f}.ts\n`;
      for (let l = 1; l <= 800; l++) {
        const hits = (l * 7 + f) % 5;
        t += `DA:${l},${hits}\n`;
        total++;
        if (hits > 0) covered++;
      }
      t += 'LF:800\nend_of_record\n';
    }
    writeFileSync(path, t);
    expect(t.length).toBeGreaterThan(2 * 1024 * 1024);
    const r = await parseLcov({ path });
    expect([r.covered, r.total, r.files.length]).toEqual([covered, total, 300]);
    expect(r.files[0].path).toBe('/src/dir/file-\u00e90.ts');
  });

  it('LH above LF is only refused where a record has no DA: its DA lines are counted', async () => {
    const r = await parseLcov({ path: hand('lcov-lh-gt-lf.info') });
    expect([r.covered, r.total]).toEqual([2, 2]);
    expect(r.notes).toEqual(['src/a.ts: LF/LH say 3/2 but its DA lines give 2/2; DA is used']);
  });

  it("coverage.py 6.5's lcov (LH > LF, docstrings listed as DA) gives coverage.py's own figure", async () => {
    // `coverage report` of the same run: 26 statements, 7 missed; __init__.py
    // is empty (DA:0,1, LF 0, LH 1), ops.py lists its docstring and a
    // `pragma: no cover` line as run (20 DA lines, LF 18, LH 18, 2 missed).
    const r = await parseLcov({ path: real('py-run.info') });
    expect([r.covered, r.total]).toEqual([19, 26]);
    expect(r.files).toEqual([
      { path: 'src/calc/__init__.py', covered: 0, total: 0 },
      { path: 'src/calc/ops.py', covered: 16, total: 18 },
      { path: 'src/calc/text.py', covered: 3, total: 8 }
    ]);
    expect(r.notes).toEqual([
      '2 records list DA lines that LF does not count while LH counts every hit one (coverage.py lists docstrings and excluded lines that ran): read as LF lines with the missed DA lines uncovered, e.g. src/calc/__init__.py (1 DA lines, LF 0, LH 1: 0/0)'
    ]);
  });

  it('counts DA as written when LF/LH disagree with it any other way', async () => {
    // LH is not the hit DA lines: not coverage.py's shape.
    const a = await text('SF:a\nDA:1,1\nDA:2,1\nDA:3,0\nLF:2\nLH:1\nend_of_record\n');
    expect([a.covered, a.total]).toEqual([2, 3]);
    // More missed DA lines than LF: they cannot all be instrumented lines.
    const b = await text('SF:a\nDA:1,0\nDA:2,0\nDA:3,1\nLF:1\nLH:1\nend_of_record\n');
    expect([b.covered, b.total]).toEqual([1, 3]);
    expect(b.notes).toEqual(['a: LF/LH say 1/1 but its DA lines give 1/3; DA is used']);
  });

  it('one DA line per function instance (geninfo 1.16 with gcc 12) counts each line once', async () => {
    // Lines 6-11 of the template are listed once per instantiation; gcovr's
    // text report of the same run says 13 of 17 lines.
    const r = await parseLcov({ path: real('geninfo-lcov.info') });
    expect([r.covered, r.total]).toEqual([13, 17]);
    expect(r.files).toEqual([
      { path: '/tmp/qg-cpp/src/clamp.hpp', covered: 8, total: 10 },
      { path: '/tmp/qg-cpp/src/main.cpp', covered: 5, total: 7 }
    ]);
  });

  it('reads a report that starts with a UTF-8 BOM, as file and as text', async () => {
    const bytes = readFileSync(real('gcovr7-lcov.info'));
    const dir = tempDir();
    const path = join(dir, 'bom.info');
    writeFileSync(path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]));
    const plain = await parseLcov({ path: real('gcovr7-lcov.info') });
    const withBom = await parseLcov({ path });
    expect(withBom).toEqual(plain);
    expect([withBom.covered, withBom.total]).toEqual([13, 17]);
    const r = await text('\ufeffSF:a\r\nDA:1,1\r\nend_of_record\r\n');
    expect(r.files).toEqual([{ path: 'a', covered: 1, total: 1 }]);
    // Only at the start of the file.
    await expect(text('SF:a\nDA:1,1\nend_of_record\n\ufeffSF:b\n')).rejects.toThrow(
      /line 4: not an LCOV line/
    );
  });

  it('one file written two ways is one file, its lines united', async () => {
    const r = await text(
      'SF:src/a.c\nDA:1,1\nDA:2,0\nend_of_record\nSF:./src/a.c\nDA:2,3\nDA:3,0\nend_of_record\nSF:src//x/./b.c\nDA:1,0\nend_of_record\nSF:C:\\x\\c.c\nDA:1,1\nend_of_record\nSF:c:/x/c.c\nDA:2,0\nend_of_record\n'
    );
    expect(r.files).toEqual([
      { path: 'C:/x/c.c', covered: 1, total: 2 },
      { path: 'src/a.c', covered: 2, total: 3 },
      { path: 'src/x/b.c', covered: 0, total: 1 }
    ]);
    expect([r.covered, r.total]).toEqual([3, 6]);
    expect(r.notes).toEqual([
      '"./src/a.c" names the same file as "src/a.c" (and 1 more); each file is counted once'
    ]);
  });

  it.each([
    [
      'lcov-truncated.info',
      "truncated LCOV (the last line has no newline): line 8: malformed DA entry 'DA:2'"
    ],
    ['lcov-negative-hits.info', "line 2: DA hit count '-3' is not a non-negative number"],
    ['lcov-nan-hits.info', "line 2: DA hit count 'NaN' is not a non-negative number"],
    ['lcov-da-outside.info', 'line 1: DA outside a record (no SF before it)'],
    ['lcov-garbage.info', "line 3: not an LCOV line: 'this is not lcov'"],
    [
      'lcov-zero.info',
      '0 lines instrumented (nothing was measured: check the coverage source settings)'
    ],
    ['empty.info', 'empty file']
  ])('%s: %s', async (file, problem) => {
    await expect(parseLcov({ path: hand(file), name: file })).rejects.toThrow(
      `coverage report ${file}: ${problem}`
    );
  });

  it.each([
    ['SF:a\nDA:1,1\n', 'truncated LCOV: the record for a (from line 1) has no end_of_record'],
    ['SF:a\nLF:2\nLH:3\nend_of_record\n', 'line 4: record for a has LH 3 > LF 2'],
    ['SF:a\nLH:3\nend_of_record\n', 'line 3: record for a has LH 3 but no LF'],
    ['SF:a\nLF:x\nend_of_record\n', "line 2: LF 'x' is not a whole non-negative number"],
    ['SF:a\nLH:-1\nend_of_record\n', "line 2: LH '-1' is not a whole non-negative number"],
    ['LF:3\n', 'line 1: LF outside a record (no SF before it)'],
    [
      'SF:a\nDA:x,1\nend_of_record\n',
      "line 2: DA line number 'x' is not a whole non-negative number"
    ],
    [
      'SF:a\nDA:-1,1\nend_of_record\n',
      "line 2: DA line number '-1' is not a whole non-negative number"
    ],
    ['SF:a\nDA:7\nend_of_record\n', "line 2: malformed DA entry 'DA:7'"],
    ['SF:a\nDA:1,\nend_of_record\n', "line 2: DA hit count '' is not a non-negative number"],
    [
      'SF:a\nDA:1,Infinity\nend_of_record\n',
      "line 2: DA hit count 'Infinity' is not a non-negative number"
    ],
    ['SF:\nend_of_record\n', 'line 1: SF with an empty file name'],
    ['end_of_record\n', 'line 1: end_of_record without a record'],
    ['TN:only a test name\n', 'no SF records: not an LCOV tracefile'],
    ['SF:a\nend_of_record\n', '0 lines instrumented']
  ])('%p: %s', async (t, problem) => {
    await expect(text(t)).rejects.toThrow(`coverage report lcov.info: ${problem}`);
  });

  it('a record left open by the next SF is closed, not an error', async () => {
    const r = await text('SF:a\nDA:1,1\nSF:b\nDA:1,0\nend_of_record\n');
    expect(r.files).toEqual([
      { path: 'a', covered: 1, total: 1 },
      { path: 'b', covered: 0, total: 1 }
    ]);
  });
});
