// Format detection, dispatch and the errors every reader shares, plus real
// tools' output (tests/fixtures/coverage/real, see its README) read through
// auto-detection with the figures each tool printed itself.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ToolError } from '../../packages/core/src/errors.ts';
import {
  CoverageReportError,
  detectFormat,
  parseCoverageText,
  readCoverageReport
} from '../../packages/coverage/src/formats/index.ts';
import { fileKey } from '../../packages/coverage/src/formats/file-key.ts';
import { LineStates } from '../../packages/coverage/src/formats/line-states.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const real = (f: string): string => join(here, '../fixtures/coverage/real', f);
const hand = (f: string): string => join(here, '../fixtures/coverage/hand', f);

afterAll(cleanupTempDirs);

async function failure(p: Promise<unknown>): Promise<CoverageReportError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CoverageReportError) return err;
    throw err;
  }
  throw new Error('expected a CoverageReportError');
}

describe('real tool output, auto-detected', () => {
  // covered/total as each tool states it: jest's "% Lines" 50, node --test's
  // "all files" 60.71, `coverage report` 19 of 26, JaCoCo's report counter,
  // and for Go the block expansion worked out by hand in the fixtures README.
  it.each([
    ['istanbul-coverage-final.json', 'istanbul-final', 4, 8, 2],
    ['istanbul-coverage-summary.json', 'istanbul-summary', 4, 8, 2],
    ['istanbul-lcov.info', 'lcov', 4, 8, 2],
    ['istanbul-cobertura.xml', 'cobertura', 4, 8, 2],
    ['node-lcov.info', 'lcov', 17, 28, 2],
    ['coverage-py.json', 'coverage-py', 19, 26, 3],
    ['coverage-py-branch.json', 'coverage-py', 19, 26, 3],
    ['cobertura-py.xml', 'cobertura', 19, 26, 3],
    ['cobertura-py-branch.xml', 'cobertura', 19, 26, 3],
    ['jacoco.xml', 'jacoco', 7, 17, 2],
    ['jacoco-groups.xml', 'jacoco', 7, 17, 2],
    ['go-set.out', 'go', 13, 27, 2],
    ['go-count.out', 'go', 13, 27, 2],
    ['go-atomic-coverpkg.out', 'go', 13, 27, 2],
    ['py-run.json', 'coverage-py', 19, 26, 3],
    ['py-run.xml', 'cobertura', 19, 26, 3],
    ['py-run.info', 'lcov', 19, 26, 3],
    ['c8-coverage-final.json', 'istanbul-final', 17, 28, 2],
    ['c8-coverage-summary.json', 'istanbul-summary', 17, 28, 2],
    ['c8-lcov.info', 'lcov', 17, 28, 2],
    ['c8-cobertura.xml', 'cobertura', 17, 28, 2],
    ['gcovr8-cobertura.xml', 'cobertura', 13, 17, 2],
    ['gcovr8-lcov.info', 'lcov', 13, 17, 2],
    ['gcovr8-merged-cobertura.xml', 'cobertura', 13, 17, 2],
    ['gcovr8-merged-jacoco.xml', 'jacoco', 13, 17, 2],
    ['gcovr8-merged-lcov.info', 'lcov', 13, 17, 2],
    ['gcovr7-cobertura.xml', 'cobertura', 13, 17, 2],
    ['gcovr7-jacoco.xml', 'jacoco', 13, 17, 2],
    ['gcovr7-lcov.info', 'lcov', 13, 17, 2],
    ['gcovr5-cobertura.xml', 'cobertura', 13, 17, 2],
    ['geninfo-lcov.info', 'lcov', 13, 17, 2],
    ['go124-count.out', 'go', 13, 27, 2],
    ['go124-covdata.out', 'go', 13, 27, 2],
    ['pester-jacoco.xml', 'jacoco', 5, 8, 1]
  ])('%s: %s, %i of %i lines in %i files', async (file, format, covered, total, files) => {
    const r = await readCoverageReport(real(file));
    expect(r).toMatchObject({ format, measure: 'lines', covered, total });
    expect(r.percent).toBeCloseTo((covered / total) * 100, 10);
    expect(r.files).toHaveLength(files);
    expect(r.files.reduce((s, f) => s + f.total, 0)).toBe(total);
    expect(r.files.reduce((s, f) => s + f.covered, 0)).toBe(covered);
  });

  it('gives the per-file figures of each tool', async () => {
    expect((await readCoverageReport(real('node-lcov.info'))).files).toEqual([
      { path: 'src/math.js', covered: 11, total: 16 },
      { path: 'src/text.js', covered: 6, total: 12 }
    ]);
    expect((await readCoverageReport(real('jacoco.xml'))).files).toEqual([
      { path: 'com/example/calc/Calc.java', covered: 6, total: 10 },
      { path: 'com/example/text/Text.java', covered: 1, total: 7 }
    ]);
    expect((await readCoverageReport(real('go-set.out'))).files).toEqual([
      { path: 'example.com/qgdemo/calc/calc.go', covered: 12, total: 19 },
      { path: 'example.com/qgdemo/text/text.go', covered: 1, total: 8 }
    ]);
  });

  it('notes that coverage.py with --branch put branches in its own percentage', async () => {
    const r = await readCoverageReport(real('coverage-py-branch.json'));
    expect(r.notes).toEqual([
      "coverage.py's percent_covered 63.89 includes branches; the line figure is used",
      // This run's module docstrings ran: listed as executed, not statements.
      "coverage.py lists 2 line(s) that ran but are not statements (docstrings) as executed; the figures leave them out, patch coverage counts a changed one as covered (coverage.py's XML report of the same run lists statements only)"
    ]);
  });

  it('states for Go that lines come from blocks', async () => {
    const r = await readCoverageReport(real('go-set.out'));
    expect(r.notes.join(' ')).toMatch(/lines are derived from statement blocks/);
  });
});

describe('one figure per test run', () => {
  // Each group is one run of one program written by one tool (or its
  // companions) in every format it has; README.md says how each was made.
  const RUNS: [string, string[], number, number][] = [
    // `coverage report`: 26 statements, 7 missed.
    ['coverage.py 6.5', ['py-run.json', 'py-run.xml', 'py-run.info'], 19, 26],
    // c8's text report: All files % Lines 60.71.
    [
      'c8 12 (node --test)',
      ['c8-coverage-final.json', 'c8-coverage-summary.json', 'c8-lcov.info', 'c8-cobertura.xml'],
      17,
      28
    ],
    // gcovr --merge-lines and gcovr 5/7's text reports: 13 of 17 lines.
    [
      'gcovr and geninfo (one .gcda)',
      [
        'gcovr8-cobertura.xml',
        'gcovr8-lcov.info',
        'gcovr8-merged-cobertura.xml',
        'gcovr8-merged-jacoco.xml',
        'gcovr8-merged-lcov.info',
        'gcovr7-cobertura.xml',
        'gcovr7-jacoco.xml',
        'gcovr7-lcov.info',
        'gcovr5-cobertura.xml',
        'geninfo-lcov.info'
      ],
      13,
      17
    ],
    // Lines spanned by blocks, see README.md.
    ['go 1.24', ['go124-count.out', 'go124-covdata.out'], 13, 27]
  ];

  it.each(RUNS)('%s: every format gives %i of %i lines', async (_tool, files, covered, total) => {
    const figures = await Promise.all(
      files.map(async (f) => {
        const r = await readCoverageReport(real(f));
        return { file: f, covered: r.covered, total: r.total, percent: r.percent };
      })
    );
    for (const fig of figures) {
      expect(fig).toEqual({ file: fig.file, covered, total, percent: (covered / total) * 100 });
    }
  });

  it('gcovr 8 JaCoCo of the same run is refused rather than read as another figure', async () => {
    // It lists clamp.hpp lines 6-11 once per template instance without per-line
    // coverage, and counts instances (15 of 23): no line-based figure is in it.
    const err = await failure(readCoverageReport(real('gcovr8-jacoco.xml')));
    expect(err.message).toMatch(
      /run gcovr with --merge-lines, or read its Cobertura or LCOV report/
    );
    expect(err.message).not.toContain('\n');
  });

  it('a report that starts with a UTF-8 BOM is detected and read in every line format', async () => {
    const dir = tempDir();
    for (const f of ['go124-count.out', 'c8-lcov.info', 'pester-jacoco.xml']) {
      const path = join(dir, f);
      writeFileSync(path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), readFileSync(real(f))]));
      const withBom = await readCoverageReport(path, 'auto', f);
      expect(withBom).toEqual(await readCoverageReport(real(f), 'auto', f));
    }
  });
});

describe('fileKey', () => {
  it.each([
    ['src/a.c', 'src/a.c'],
    ['./src/a.c', 'src/a.c'],
    ['././src/./a.c', 'src/a.c'],
    ['src//a.c', 'src/a.c'],
    ['src/', 'src'],
    ['/abs//x/./a.c', '/abs/x/a.c'],
    ['C:\\x\\a.c', 'C:/x/a.c'],
    ['c:/x/a.c', 'C:/x/a.c'],
    ['c:\\X\\A.c', 'C:/X/A.c'],
    ['\\\\server\\share\\a.c', '//server/share/a.c'],
    ['../lib/./a.c', '../lib/a.c'],
    ['a/../b.c', 'a/../b.c'],
    ['.hidden/a.c', '.hidden/a.c'],
    ['example.com/m/a.go', 'example.com/m/a.go'],
    ['.', '.']
  ])('%p -> %p', (path, key) => {
    expect(fileKey(path)).toBe(key);
  });
});

describe('detectFormat', () => {
  it.each([
    ['coverage-py.json', 'coverage-py'],
    ['istanbul-summary.json', 'istanbul-summary'],
    ['istanbul-final.json', 'istanbul-final'],
    ['istanbul-final-wrapped.json', 'istanbul-final'],
    ['lcov-multi.info', 'lcov'],
    ['cobertura-multi.xml', 'cobertura'],
    ['jacoco-multi.xml', 'jacoco'],
    ['go-blocks.out', 'go'],
    ['go-no-mode.out', 'go'],
    ['coverage-final.json', 'istanbul-final']
  ])('%s is %s', (file, format) => {
    expect(detectFormat(hand(file), readFileSync(hand(file)))).toBe(format);
  });

  it('reads content, not the file name', () => {
    const lcov = readFileSync(hand('lcov-multi.info'));
    expect(detectFormat('coverage.xml', lcov)).toBe('lcov');
    expect(detectFormat('report.json', readFileSync(real('jacoco.xml')))).toBe('jacoco');
    expect(detectFormat('lcov.info', readFileSync(real('go-set.out')))).toBe('go');
  });

  it('accepts a BOM, leading whitespace and a string head', () => {
    expect(detectFormat('x', `\ufeff\n\n  {"meta": {"version": "7"}}`)).toBe('coverage-py');
    expect(detectFormat('x', '\r\nTN:\nSF:a\n')).toBe('lcov');
  });

  it('detects from a head cut anywhere after the first nested key', () => {
    const text = readFileSync(real('istanbul-coverage-final.json'));
    for (let n = text.indexOf('"path":') + 8; n < text.length; n += 7) {
      expect(detectFormat('x', text.subarray(0, n))).toBe('istanbul-final');
    }
    const xml = readFileSync(real('jacoco.xml'));
    expect(detectFormat('x', xml.subarray(0, 180))).toBe('jacoco');
  });

  it.each([
    ['unknown.txt', /unknown format: text starting "hello world"; supported: coverage.py JSON/],
    ['package-like.json', /unknown format: JSON with top-level keys "name", "version"/],
    ['array.json', /unknown format: a JSON document that is not an object/],
    ['clover.xml', /unknown format: Clover XML \(not supported\)/],
    ['jacoco.exec', /JaCoCo execution data \(\.exec\); use its XML report/],
    ['blank.txt', /: empty file$/],
    ['empty.info', /: empty file$/],
    ['cobertura-entities.xml', /DOCTYPE with an internal subset is refused/]
  ])('%s: %p', (file, message) => {
    const run = (): unknown => detectFormat(hand(file), readFileSync(hand(file)));
    expect(run).toThrow(CoverageReportError);
    expect(run).toThrow(message);
  });

  it('an empty object is only istanbul when the file says coverage-final.json', () => {
    expect(() => detectFormat('x.json', '{}')).toThrow(/unknown format: an empty JSON object/);
  });
});

describe('readCoverageReport', () => {
  it('throws a one-line coverage-tool ToolError naming the report', async () => {
    const err = await failure(readCoverageReport(hand('lcov-garbage.info')));
    expect(err).toBeInstanceOf(ToolError);
    expect(err.kind).toBe('coverage-tool');
    expect(err.source).toBe(hand('lcov-garbage.info'));
    expect(err.message).toBe(
      `coverage report ${hand('lcov-garbage.info')}: line 3: not an LCOV line: 'this is not lcov'`
    );
    expect(err.message).not.toContain('\n');
  });

  it('names the report as the caller asks', async () => {
    const err = await failure(readCoverageReport(hand('empty.info'), 'auto', 'coverage/lcov.info'));
    expect(err.message).toBe('coverage report coverage/lcov.info: empty file');
  });

  it('says when the file is missing or a directory', async () => {
    const dir = tempDir();
    await expect(readCoverageReport(join(dir, 'nope.json'))).rejects.toThrow(
      `coverage report ${join(dir, 'nope.json')}: not found`
    );
    await expect(readCoverageReport(dir, 'lcov')).rejects.toThrow(/is a directory/);
    await expect(readCoverageReport(dir)).rejects.toThrow(/is a directory/);
  });

  it('a format override skips detection, and the reader says what does not fit', async () => {
    const r = await readCoverageReport(hand('lcov-multi.info'), 'lcov');
    expect(r.format).toBe('lcov');
    await expect(readCoverageReport(hand('lcov-multi.info'), 'cobertura')).rejects.toThrow(
      /invalid XML at byte 0: text before the root element/
    );
    await expect(readCoverageReport(hand('lcov-multi.info'), 'coverage-py')).rejects.toThrow(
      /invalid JSON at byte 0: expected a value, found 'T'/
    );
    await expect(readCoverageReport(real('jacoco.xml'), 'cobertura')).rejects.toThrow(
      /root element is <report>, not Cobertura's <coverage>/
    );
    await expect(readCoverageReport(real('cobertura-py.xml'), 'jacoco')).rejects.toThrow(
      /root element is <coverage>, not JaCoCo's <report>/
    );
    await expect(readCoverageReport(real('go-set.out'), 'lcov')).rejects.toThrow(
      /line 1: not an LCOV line: 'mode: set'/
    );
    await expect(readCoverageReport(hand('lcov-multi.info'), 'go')).rejects.toThrow(
      /line 1: expected 'mode: set\|count\|atomic', found 'TN:unit'/
    );
  });

  it('an empty file is an error in every format', async () => {
    for (const format of [
      'auto',
      'coverage-py',
      'istanbul-summary',
      'istanbul-final',
      'lcov',
      'cobertura',
      'jacoco',
      'go'
    ] as const) {
      await expect(readCoverageReport(hand('empty.info'), format)).rejects.toThrow(/: empty file$/);
    }
  });

  it('refuses an unknown format name', async () => {
    await expect(readCoverageReport(hand('lcov-multi.info'), 'clover' as 'lcov')).rejects.toThrow(
      /unknown format 'clover'/
    );
  });

  it('reads text as well as files', async () => {
    const r = await parseCoverageText('SF:a.c\nDA:1,1\nDA:2,0\nend_of_record\n');
    expect(r).toEqual({
      format: 'lcov',
      measure: 'lines',
      covered: 1,
      total: 2,
      percent: 50,
      files: [{ path: 'a.c', covered: 1, total: 2 }],
      notes: []
    });
    await expect(parseCoverageText('', 'auto', 'stdin')).rejects.toThrow(
      'coverage report stdin: empty file'
    );
  });

  it('sorts files by path', async () => {
    const r = await parseCoverageText('SF:b\nDA:1,1\nend_of_record\nSF:a\nDA:1,0\nend_of_record\n');
    expect(r.files.map((f) => f.path)).toEqual(['a', 'b']);
  });

  it('reads a report that starts with a BOM', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(
      join(dir, 'sub', 'r.json'),
      `\ufeff${readFileSync(hand('coverage-py.json'), 'utf8')}`
    );
    const r = await readCoverageReport(join(dir, 'sub', 'r.json'));
    expect(r).toMatchObject({ format: 'coverage-py', covered: 5, total: 10 });
  });
});

describe('LineStates', () => {
  it('covered wins whatever the order, and counts stay exact', () => {
    const s = new LineStates();
    s.mark(3, false);
    s.mark(3, true);
    s.mark(3, false);
    s.mark(4, false);
    expect([s.covered, s.total]).toEqual([1, 2]);
  });

  it('turns sparse for a huge line number instead of allocating for it', () => {
    const s = new LineStates();
    s.mark(1, true);
    s.mark(2_000_000_000, false);
    s.mark(2_000_000_000, true);
    s.mark(5, false);
    expect([s.covered, s.total]).toEqual([2, 3]);
    const t = new LineStates();
    t.mark(5, true);
    t.mark(6, false);
    t.merge(s);
    expect([t.covered, t.total]).toEqual([3, 4]);
    s.merge(t);
    expect([s.covered, s.total]).toEqual([3, 4]);
  });

  it('grows densely for ordinary files', () => {
    const s = new LineStates();
    for (let l = 1; l <= 100_000; l++) s.mark(l, l % 2 === 0);
    expect([s.covered, s.total]).toEqual([50_000, 100_000]);
  });
});
