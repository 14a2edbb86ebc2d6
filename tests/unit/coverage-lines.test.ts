// Line-by-line coverage (FileCoverage.lines) from every reader, for patch
// coverage: the states agree with each file's figure, the formats of one run
// agree line by line (or differ only as documented), and lines read off the
// fixtures by hand come out as written. Plus Cobertura's <sources>.
// Fixtures: tests/fixtures/coverage (see its README for which are one run).

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  CoverageFormat,
  CoverageReport,
  FileCoverage,
  LineState
} from '../../packages/coverage/src/coverage-report.ts';
import { parseCobertura } from '../../packages/coverage/src/formats/cobertura.ts';
import { parseCoveragePy } from '../../packages/coverage/src/formats/coverage-py.ts';
import {
  parseCoverageText,
  readCoverageReport
} from '../../packages/coverage/src/formats/index.ts';
import { parseJacoco } from '../../packages/coverage/src/formats/jacoco.ts';
import { JsonStreamParser } from '../../packages/coverage/src/formats/json-stream.ts';
import { LineStates } from '../../packages/coverage/src/formats/line-states.ts';
import { XmlStreamParser } from '../../packages/coverage/src/formats/xml-stream.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const real = (f: string): string => join(here, '../fixtures/coverage/real', f);
const hand = (f: string): string => join(here, '../fixtures/coverage/hand', f);

/** Far past the last line of any fixture's sources. */
const SCAN = 5000;

interface Split {
  /** Lines in state 2, ascending. */
  covered: number[];
  /** Lines in state 1, ascending. */
  uncovered: number[];
}

/** A file's lines 1..SCAN by state (line 0 is no source line: see lineZero). */
function split(f: FileCoverage): Split {
  const lines = f.lines;
  if (lines === undefined) throw new Error(`${f.path} has no lines`);
  const out: Split = { covered: [], uncovered: [] };
  for (let l = 1; l <= SCAN; l++) {
    const s = lines.state(l);
    if (s === 2) out.covered.push(l);
    else if (s === 1) out.uncovered.push(l);
  }
  return out;
}

/** The file whose path is `rel` or ends with `/rel` (formats name files differently). */
function file(r: CoverageReport, rel: string): FileCoverage {
  const found = r.files.filter((f) => f.path === rel || f.path.endsWith(`/${rel}`));
  if (found.length !== 1) throw new Error(`${rel}: ${found.length} files match`);
  return found[0];
}

function state(r: CoverageReport, rel: string, line: number): LineState | undefined {
  return file(r, rel).lines?.state(line);
}

const reports = new Map<string, Promise<CoverageReport>>();
/** Each real fixture read once, with its format given (not detected). */
function read(name: string, format: CoverageFormat): Promise<CoverageReport> {
  const key = `${name} ${format}`;
  let r = reports.get(key);
  if (r === undefined) {
    r = readCoverageReport(real(name), format);
    reports.set(key, r);
  }
  return r;
}

// coverage.py 6.5 lists as executed the lines that ran but are not
// statements, which its own counts leave out: the module docstring of ops.py
// (line 1) in JSON and LCOV, and in LCOV also the `pragma: no cover` line
// that ran (30; JSON lists it in excluded_lines, so the reader drops it).
const PY_JSON_EXTRA = { 'src/calc/ops.py': [1] };
const PY_LCOV_EXTRA = { 'src/calc/ops.py': [1, 30] };

/** [fixture, format, files without lines, covered lines beyond the file's figure]. */
const FIXTURES: [string, CoverageFormat, 'all' | 'none', Record<string, number[]>][] = [
  ['py-run.json', 'coverage-py', 'none', PY_JSON_EXTRA],
  ['py-run.xml', 'cobertura', 'none', {}],
  ['py-run.info', 'lcov', 'none', PY_LCOV_EXTRA],
  ['coverage-py.json', 'coverage-py', 'none', PY_JSON_EXTRA],
  ['coverage-py-branch.json', 'coverage-py', 'none', PY_JSON_EXTRA],
  ['cobertura-py.xml', 'cobertura', 'none', {}],
  ['cobertura-py-branch.xml', 'cobertura', 'none', {}],
  ['c8-coverage-final.json', 'istanbul-final', 'none', {}],
  ['c8-lcov.info', 'lcov', 'none', {}],
  ['c8-cobertura.xml', 'cobertura', 'none', {}],
  ['c8-coverage-summary.json', 'istanbul-summary', 'all', {}],
  ['istanbul-coverage-final.json', 'istanbul-final', 'none', {}],
  ['istanbul-lcov.info', 'lcov', 'none', {}],
  ['istanbul-cobertura.xml', 'cobertura', 'none', {}],
  ['istanbul-coverage-summary.json', 'istanbul-summary', 'all', {}],
  ['node-lcov.info', 'lcov', 'none', {}],
  ['gcovr5-cobertura.xml', 'cobertura', 'none', {}],
  ['gcovr7-cobertura.xml', 'cobertura', 'none', {}],
  ['gcovr7-lcov.info', 'lcov', 'none', {}],
  // gcovr 7's JaCoCo has no <sourcefile>: read from class counters only.
  ['gcovr7-jacoco.xml', 'jacoco', 'all', {}],
  ['gcovr8-cobertura.xml', 'cobertura', 'none', {}],
  ['gcovr8-lcov.info', 'lcov', 'none', {}],
  ['gcovr8-merged-cobertura.xml', 'cobertura', 'none', {}],
  ['gcovr8-merged-lcov.info', 'lcov', 'none', {}],
  // gcovr's JaCoCo <line>s carry no mi/ci, and neither file ran all or none of its lines.
  ['gcovr8-merged-jacoco.xml', 'jacoco', 'all', {}],
  ['geninfo-lcov.info', 'lcov', 'none', {}],
  ['go-set.out', 'go', 'none', {}],
  ['go-count.out', 'go', 'none', {}],
  ['go-atomic-coverpkg.out', 'go', 'none', {}],
  ['go124-count.out', 'go', 'none', {}],
  ['go124-covdata.out', 'go', 'none', {}],
  ['jacoco.xml', 'jacoco', 'none', {}],
  ['jacoco-groups.xml', 'jacoco', 'none', {}],
  ['pester-jacoco.xml', 'jacoco', 'none', {}]
];

describe('each file: the lines agree with its figure', () => {
  it.each(FIXTURES)('%s (%s)', async (name, format, missing, extra) => {
    const r = await read(name, format);
    expect(r.files.length).toBeGreaterThan(0);
    for (const f of r.files) {
      if (missing === 'all') {
        expect(f.lines).toBeUndefined();
        continue;
      }
      const { covered, uncovered } = split(f);
      const more = Object.entries(extra).find(([rel]) => f.path.endsWith(rel))?.[1] ?? [];
      for (const l of more) expect(covered).toContain(l);
      expect([covered.length - more.length, uncovered.length]).toEqual([
        f.covered,
        f.total - f.covered
      ]);
    }
  });

  it('line 0 (no source line): coverage.py marks it run for an empty module in JSON and LCOV', async () => {
    for (const [name, format] of [
      ['py-run.json', 'coverage-py'],
      ['py-run.info', 'lcov'],
      ['coverage-py.json', 'coverage-py']
    ] as const) {
      const init = file(await read(name, format), 'src/calc/__init__.py');
      expect([init.covered, init.total, init.lines?.state(0)]).toEqual([0, 0, 2]);
      expect(split(init)).toEqual({ covered: [], uncovered: [] });
    }
    const xml = file(await read('py-run.xml', 'cobertura'), 'src/calc/__init__.py');
    expect(xml.lines?.state(0)).toBe(0);
  });

  it('gcovr 8 JaCoCo without --merge-lines is still refused (instances, not lines)', async () => {
    await expect(readCoverageReport(real('gcovr8-jacoco.xml'), 'jacoco')).rejects.toThrow(
      /--merge-lines/
    );
  });
});

/** The files' line states of each report, compared with the first's, by relative path. */
async function sameLines(
  rels: string[],
  runs: [string, CoverageFormat][],
  extra: Record<string, Record<string, number[]>> = {}
): Promise<void> {
  const [first, ...rest] = await Promise.all(runs.map(([n, f]) => read(n, f)));
  for (const rel of rels) {
    const want = split(file(first, rel));
    for (let k = 0; k < rest.length; k++) {
      const got = split(file(rest[k], rel));
      const more = extra[runs[k + 1][0]]?.[rel] ?? [];
      expect({ run: runs[k + 1][0], rel, ...got }).toEqual({
        run: runs[k + 1][0],
        rel,
        covered: [...want.covered, ...more].sort((a, b) => a - b),
        uncovered: want.uncovered
      });
    }
  }
}

describe('the formats of one run give the same lines', () => {
  const PY = ['src/calc/__init__.py', 'src/calc/ops.py', 'src/calc/text.py'];

  it('coverage.py 6.5 (py-run): XML; JSON adds the docstring; LCOV the docstring and the excluded line that ran', async () => {
    await sameLines(
      PY,
      [
        ['py-run.xml', 'cobertura'],
        ['py-run.json', 'coverage-py'],
        ['py-run.info', 'lcov']
      ],
      { 'py-run.json': PY_JSON_EXTRA, 'py-run.info': PY_LCOV_EXTRA }
    );
  });

  it('coverage.py: coverage-py.json with cobertura-py.xml, with and without --branch', async () => {
    await sameLines(
      PY,
      [
        ['cobertura-py.xml', 'cobertura'],
        ['coverage-py.json', 'coverage-py'],
        ['cobertura-py-branch.xml', 'cobertura'],
        ['coverage-py-branch.json', 'coverage-py']
      ],
      { 'coverage-py.json': PY_JSON_EXTRA, 'coverage-py-branch.json': PY_JSON_EXTRA }
    );
  });

  it('c8 12: coverage-final.json, LCOV and Cobertura', async () => {
    await sameLines(
      ['src/math.js', 'src/text.js'],
      [
        ['c8-cobertura.xml', 'cobertura'],
        ['c8-coverage-final.json', 'istanbul-final'],
        ['c8-lcov.info', 'lcov']
      ]
    );
  });

  it('jest (istanbul): coverage-final.json, LCOV and Cobertura', async () => {
    await sameLines(
      ['src/math.js', 'src/untested.js'],
      [
        ['istanbul-cobertura.xml', 'cobertura'],
        ['istanbul-coverage-final.json', 'istanbul-final'],
        ['istanbul-lcov.info', 'lcov']
      ]
    );
  });

  it('gcovr 5, 7, 8 (with and without --merge-lines) and geninfo on one .gcda', async () => {
    await sameLines(
      ['src/clamp.hpp', 'src/main.cpp'],
      [
        ['gcovr8-merged-cobertura.xml', 'cobertura'],
        ['gcovr8-merged-lcov.info', 'lcov'],
        ['gcovr8-cobertura.xml', 'cobertura'],
        ['gcovr8-lcov.info', 'lcov'],
        ['gcovr7-cobertura.xml', 'cobertura'],
        ['gcovr7-lcov.info', 'lcov'],
        ['gcovr5-cobertura.xml', 'cobertura'],
        ['geninfo-lcov.info', 'lcov']
      ]
    );
  });

  it("gcovr's JaCoCo: the same figures, no lines (its <line>s carry no mi/ci)", async () => {
    const lcov = await read('gcovr8-merged-lcov.info', 'lcov');
    for (const name of ['gcovr7-jacoco.xml', 'gcovr8-merged-jacoco.xml']) {
      const r = await read(name, 'jacoco');
      for (const rel of ['src/clamp.hpp', 'src/main.cpp']) {
        const j = file(r, rel);
        const l = file(lcov, rel);
        expect([j.covered, j.total, j.lines]).toEqual([l.covered, l.total, undefined]);
      }
    }
  });

  it('go 1.19 set/count/atomic with -coverpkg and go 1.24 profile and covdata textfmt', async () => {
    await sameLines(
      ['calc/calc.go', 'text/text.go'],
      [
        ['go-count.out', 'go'],
        ['go-set.out', 'go'],
        ['go-atomic-coverpkg.out', 'go'],
        ['go124-count.out', 'go'],
        ['go124-covdata.out', 'go']
      ]
    );
  });

  it('JaCoCo: one report and the same data in groups', async () => {
    await sameLines(
      ['com/example/calc/Calc.java', 'com/example/text/Text.java'],
      [
        ['jacoco.xml', 'jacoco'],
        ['jacoco-groups.xml', 'jacoco']
      ]
    );
  });
});

describe('lines read off the fixtures by hand', () => {
  it('coverage.py XML, JSON and LCOV', async () => {
    const xml = await read('py-run.xml', 'cobertura');
    // <line number="10" hits="0"/>, <line number="4" hits="1"/>; 1 (docstring), 2 (blank), 30 (excluded) absent.
    expect([10, 4, 1, 2, 30].map((l) => state(xml, 'src/calc/ops.py', l))).toEqual([1, 2, 0, 0, 0]);
    const json = await read('py-run.json', 'coverage-py');
    // executed_lines has 1 and 30, missing_lines 18, excluded_lines [30, 31].
    expect([1, 30, 31, 18, 28].map((l) => state(json, 'src/calc/ops.py', l))).toEqual([
      2, 0, 0, 1, 2
    ]);
    const lcov = await read('py-run.info', 'lcov');
    // DA:18,0; DA:30,1 (the excluded line that ran); no DA for 31.
    expect([18, 30, 31].map((l) => state(lcov, 'src/calc/ops.py', l))).toEqual([1, 2, 0]);
    expect([5, 6].map((l) => state(lcov, 'src/calc/text.py', l))).toEqual([2, 1]);
  });

  it('c8 Cobertura: the class line, not its <methods> copy', async () => {
    const r = await read('c8-cobertura.xml', 'cobertura');
    // math.js line 12: hits="1" in <lines>, hits="0" under <methods>; line 9 hits="0".
    expect([12, 9, 17].map((l) => state(r, 'src/math.js', l))).toEqual([2, 1, 0]);
  });

  it('gcovr 8 Cobertura: a line per function instance, covered when any instance ran', async () => {
    const r = await read('gcovr8-cobertura.xml', 'cobertura');
    // clamp.hpp line 8: hits 1 and hits 0; line 11: hits 0 twice; 12 and 13 not listed.
    expect([8, 11, 12, 13].map((l) => state(r, 'src/clamp.hpp', l))).toEqual([2, 1, 0, 0]);
    // main.cpp line 3: hits="0".
    expect(state(r, 'src/main.cpp', 3)).toBe(1);
  });

  it('go: every line of a block, covered when any block over it ran', async () => {
    const r = await read('go-count.out', 'go');
    const at = (l: number) => state(r, 'calc/calc.go', l);
    // 12.2,12.10 count 0; 19.2,19.12 count 1 and 19.12,21.3 count 0; 25.24,28.2 count 0;
    // 30.15,30.16 has no statement; 13-14 in no block.
    expect([12, 19, 20, 21, 25, 28, 30, 13, 14].map(at)).toEqual([1, 2, 1, 1, 1, 1, 0, 0, 0]);
  });

  it('JaCoCo and Pester: covered when ci > 0', async () => {
    const j = await read('jacoco.xml', 'jacoco');
    // Calc.java: nr 3 mi 3 ci 0, nr 7 mi 0 ci 2, no nr 4; Text.java nr 10 mi 18 ci 0.
    expect([3, 7, 4].map((l) => state(j, 'com/example/calc/Calc.java', l))).toEqual([1, 2, 0]);
    expect(state(j, 'com/example/text/Text.java', 10)).toBe(1);
    const p = await read('pester-jacoco.xml', 'jacoco');
    // nr 14 ci 3, nr 19 mi 1 ci 0, nr 5 absent.
    expect([14, 19, 5].map((l) => state(p, 'src/Calc.ps1', l))).toEqual([2, 1, 0]);
  });

  it('istanbul: LCOV DA and coverage-final statements', async () => {
    const lcov = await read('istanbul-lcov.info', 'lcov');
    // DA:12,0, DA:7,2, no DA for 1.
    expect([12, 7, 1].map((l) => state(lcov, 'src/math.js', l))).toEqual([1, 2, 0]);
    const final = await read('istanbul-coverage-final.json', 'istanbul-final');
    expect([12, 7, 1].map((l) => state(final, 'src/math.js', l))).toEqual([1, 2, 0]);
  });
});

describe('formats and files without lines', () => {
  it('istanbul-summary has none', async () => {
    for (const r of [
      await read('istanbul-coverage-summary.json', 'istanbul-summary'),
      await read('c8-coverage-summary.json', 'istanbul-summary'),
      await readCoverageReport(hand('istanbul-summary.json'), 'istanbul-summary')
    ]) {
      expect(r.files.length).toBeGreaterThan(0);
      for (const f of r.files) expect(f.lines).toBeUndefined();
    }
  });

  it('LCOV: a record with only LF/LH has none', async () => {
    const r = await readCoverageReport(hand('lcov-multi.info'), 'lcov');
    expect(file(r, 'src/legacy.js').lines).toBeUndefined();
    expect(split(file(r, 'src/a.ts'))).toEqual({ covered: [1, 2, 3], uncovered: [4] });
  });

  it('Cobertura with only the root counts has no files, so no lines', async () => {
    const r = await readCoverageReport(hand('cobertura-summary-only.xml'), 'cobertura');
    expect(r.files).toEqual([]);
  });
});

describe('lines are attached, not copied', () => {
  it("each reader keeps its LineStates by reference, out of JSON and of the files' own keys", async () => {
    const r = await read('c8-lcov.info', 'lcov');
    const f = file(r, 'src/math.js');
    expect(f.lines).toBeInstanceOf(LineStates);
    expect(Object.keys(f)).toEqual(['path', 'covered', 'total']);
    expect(JSON.stringify(f)).toBe('{"path":"src/math.js","covered":11,"total":16}');
    for (const [name, format] of [
      ['c8-cobertura.xml', 'cobertura'],
      ['c8-coverage-final.json', 'istanbul-final'],
      ['go-count.out', 'go'],
      ['jacoco.xml', 'jacoco']
    ] as const) {
      for (const g of (await read(name, format)).files) expect(g.lines).toBeInstanceOf(LineStates);
    }
  });

  it('one file under two spellings: the merged lines', async () => {
    const lcov = await parseCoverageText(
      'SF:src/a.c\nDA:1,1\nDA:2,0\nend_of_record\nSF:./src/a.c\nDA:2,3\nDA:3,0\nend_of_record\n',
      'lcov'
    );
    expect(lcov.files).toHaveLength(1);
    expect(split(lcov.files[0])).toEqual({ covered: [1, 2], uncovered: [3] });

    const cob = await parseCoverageText(
      '<coverage><packages><package name="p"><classes>' +
        '<class name="A" filename="src\\a.py"><lines><line number="1" hits="0"/><line number="2" hits="0"/></lines></class>' +
        '<class name="B" filename="./src/a.py"><lines><line number="2" hits="4"/></lines></class>' +
        '</classes></package></packages></coverage>',
      'cobertura'
    );
    expect(cob.files.map((f) => [f.path, split(f)])).toEqual([
      ['src/a.py', { covered: [2], uncovered: [1] }]
    ]);

    const go = await parseCoverageText(
      'mode: set\nm/a.go:1.1,2.2 1 0\n./m/a.go:2.1,3.2 1 1\n',
      'go'
    );
    expect(go.files.map((f) => [f.path, split(f)])).toEqual([
      ['m/a.go', { covered: [2, 3], uncovered: [1] }]
    ]);

    const final = await parseCoverageText(
      JSON.stringify({
        'src/a.js': {
          path: 'src/a.js',
          statementMap: { '0': { start: { line: 1 } }, '1': { start: { line: 2 } } },
          s: { '0': 0, '1': 0 }
        },
        './src/a.js': {
          path: './src/a.js',
          statementMap: { '0': { start: { line: 2 } } },
          s: { '0': 1 }
        }
      }),
      'istanbul-final'
    );
    expect(final.files.map((f) => [f.path, split(f)])).toEqual([
      ['src/a.js', { covered: [2], uncovered: [1] }]
    ]);

    const jacoco = await parseJacoco({
      text:
        '<report name="r"><group name="m1"><package name="p"><sourcefile name="A.java">' +
        '<line nr="1" mi="1" ci="0"/><line nr="2" mi="1" ci="0"/></sourcefile></package></group>' +
        '<group name="m2"><package name="p"><sourcefile name="A.java">' +
        '<line nr="2" mi="0" ci="1"/></sourcefile></package></group></report>'
    });
    expect(jacoco.files.map((f) => [f.path, split(f)])).toEqual([
      ['p/A.java', { covered: [2], uncovered: [1] }]
    ]);
  });
});

describe('JaCoCo paths and lines without mi/ci', () => {
  it('a <sourcefile> is named package/name, relative to a source root', async () => {
    const r = await parseJacoco({
      text:
        '<report name="r"><package name="com/example"><sourcefile name="A.java"><line nr="1" mi="0" ci="1"/></sourcefile></package>' +
        '<package name=""><sourcefile name="B.java"><line nr="1" mi="1" ci="0"/></sourcefile></package></report>'
    });
    expect(r.files.map((f) => f.path)).toEqual(['B.java', 'com/example/A.java']);
  });

  const bare = (lines: string, missed: number, covered: number): string =>
    `<report name="gcovr"><package name="src"><sourcefile name="a.cpp">${lines}` +
    `<counter type="LINE" missed="${missed}" covered="${covered}"/></sourcefile></package></report>`;

  it.each([
    ['all ran', '<line nr="3"/><line nr="5"/>', 0, 2, { covered: [3, 5], uncovered: [] }],
    ['none ran', '<line nr="3"/><line nr="5"/>', 2, 0, { covered: [], uncovered: [3, 5] }],
    [
      'all instances ran',
      '<line nr="3"/><line nr="3"/><line nr="5"/>',
      0,
      3,
      { covered: [3, 5], uncovered: [] }
    ],
    [
      'no instance ran',
      '<line nr="3"/><line nr="3"/><line nr="5"/>',
      3,
      0,
      { covered: [], uncovered: [3, 5] }
    ]
  ])('the counter decides every line (%s): lines', async (_, lines, missed, covered, want) => {
    const r = await parseJacoco({ text: bare(lines, missed, covered) });
    expect(split(r.files[0])).toEqual(want);
    expect([r.files[0].covered, r.files[0].total]).toEqual([want.covered.length, 2]);
  });

  it.each([
    ['some ran', '<line nr="3"/><line nr="5"/>', 1, 1],
    ['the counter counts other lines than those listed', '<line nr="3"/>', 0, 2]
  ])('the counter does not decide each line (%s): no lines', async (_, lines, missed, covered) => {
    const r = await parseJacoco({ text: bare(lines, missed, covered) });
    expect([r.files[0].covered, r.files[0].total, r.files[0].lines]).toEqual([
      covered,
      missed + covered,
      undefined
    ]);
  });
});

describe('coverage.py JSON lines', () => {
  const doc = (files: Record<string, unknown>, covered: number, total: number): string =>
    JSON.stringify({ files, totals: { covered_lines: covered, num_statements: total } });

  it('executed 2, missing 1, excluded 0; the figure stays the summary', async () => {
    const r = await parseCoveragePy({
      text: doc(
        {
          'a.py': {
            executed_lines: [1, 2, 4, 7],
            summary: { covered_lines: 2, num_statements: 3 },
            missing_lines: [5],
            excluded_lines: [7, 8]
          }
        },
        2,
        3
      )
    });
    const f = r.files[0];
    // 1 is a docstring the summary leaves out: the JSON cannot say so.
    expect([f.covered, f.total, split(f)]).toEqual([2, 3, { covered: [1, 2, 4], uncovered: [5] }]);
  });

  it('empty arrays: lines with nothing instrumented; no arrays or bad entries: no lines', async () => {
    const summary = { covered_lines: 0, num_statements: 0 };
    const r = await parseCoveragePy({
      text: doc(
        {
          'empty.py': { executed_lines: [], summary, missing_lines: [] },
          'none.py': { summary },
          'bad.py': { executed_lines: [1, 'x'], summary, missing_lines: [] },
          'object.py': { executed_lines: { a: 1 }, summary, missing_lines: [] },
          'float.py': { executed_lines: [1.5], summary, missing_lines: [] },
          'b.py': { executed_lines: [3], summary: { covered_lines: 1, num_statements: 1 } }
        },
        1,
        1
      )
    });
    const by = new Map(r.files.map((f) => [f.path, f]));
    expect(split(by.get('empty.py') as FileCoverage)).toEqual({ covered: [], uncovered: [] });
    for (const p of ['none.py', 'bad.py', 'object.py', 'float.py']) {
      expect(by.get(p)?.lines).toBeUndefined();
    }
    expect(split(by.get('b.py') as FileCoverage)).toEqual({ covered: [3], uncovered: [] });
    expect([r.covered, r.total]).toEqual([1, 1]);
  });

  it('one file under two names: the lines of the entry whose figure is kept', async () => {
    const r = await parseCoveragePy({
      text: doc(
        {
          'src\\a.py': {
            executed_lines: [1],
            summary: { covered_lines: 1, num_statements: 2 },
            missing_lines: [2]
          },
          './src/a.py': {
            executed_lines: [1, 2],
            summary: { covered_lines: 2, num_statements: 2 },
            missing_lines: []
          }
        },
        2,
        2
      )
    });
    expect(r.files.map((f) => [f.path, f.covered, split(f)])).toEqual([
      ['src/a.py', 2, { covered: [1, 2], uncovered: [] }]
    ]);
  });
});

describe("the JSON reader's `each` selection (coverage.py's line arrays)", () => {
  const read = (pieces: Buffer[]): string[] => {
    const got: string[] = [];
    const p = new JsonStreamParser({
      select: (path) => (path.length === 0 ? 'walk' : path[0] === 'skip' ? 'skip' : 'each'),
      value: (path, v) => got.push(`${path.join('.')}=${JSON.stringify(v)}`),
      end: (path) => got.push(`end ${path.join('.')}`)
    });
    for (const piece of pieces) p.write(piece);
    p.end();
    return got;
  };

  it('hands over each child with its path, the same split at every byte', () => {
    const text = Buffer.from(
      '{"a": [1, 20, -3, 4.5e1, "x", [7], {"k": 8}, null], "skip": [9], "o": {"k": 10}, "e": []}'
    );
    const want = [
      'a.0=1',
      'a.1=20',
      'a.2=-3',
      'a.3=45',
      'a.4="x"',
      'a.5=[7]',
      'a.6={"k":8}',
      'a.7=null',
      'end a',
      'o.k=10',
      'end o',
      'end e',
      'end '
    ];
    expect(read([text])).toEqual(want);
    for (let i = 1; i < text.length; i++) {
      expect(read([text.subarray(0, i), text.subarray(i)])).toEqual(want);
    }
  });

  it('checks numbers as strictly as the rest', () => {
    expect(() => read([Buffer.from('{"a": [01]}')])).toThrow(/invalid number '01'/);
    expect(() => read([Buffer.from('{"a": [1e400]}')])).toThrow(
      /"a"\[0\] is 1e400, out of range for a number/
    );
  });
});

describe('Cobertura <sources>', () => {
  it.each([
    ['py-run.xml', ['/tmp/qg-py']],
    ['cobertura-py.xml', ['/tmp/realgen/py']],
    ['c8-cobertura.xml', ['/tmp/qg-c8']],
    ['istanbul-cobertura.xml', ['/tmp/realgen/jest']],
    ['gcovr5-cobertura.xml', ['.']],
    ['gcovr7-cobertura.xml', ['.']],
    ['gcovr8-cobertura.xml', ['/tmp/qg-cpp']]
  ])('%s: %j', async (name, sources) => {
    expect((await read(name, 'cobertura')).sources).toEqual(sources);
  });

  it('a hand-written report: its one root', async () => {
    const r = await readCoverageReport(hand('cobertura-multi.xml'), 'cobertura');
    expect(r.sources).toEqual(['/repo/src/main/java']);
  });

  it('undefined without <sources>, and for every other format', async () => {
    expect((await readCoverageReport(hand('cobertura-summary-only.xml'))).sources).toBeUndefined();
    for (const [name, format] of [
      ['py-run.json', 'coverage-py'],
      ['py-run.info', 'lcov'],
      ['jacoco.xml', 'jacoco'],
      ['go-count.out', 'go'],
      ['c8-coverage-final.json', 'istanbul-final'],
      ['c8-coverage-summary.json', 'istanbul-summary']
    ] as const) {
      expect('sources' in (await read(name, format))).toBe(false);
    }
  });

  const lines =
    '<packages><package name="p"><classes><class name="A" filename="a.py"><lines><line number="1" hits="1"/></lines></class></classes></package></packages>';

  it('several roots in order, trimmed, empty ones left out, references and CDATA decoded', async () => {
    const r = await parseCobertura({
      text:
        '<coverage><sources>\n  <source>\n\t/repo/src \n</source><source/><source>   </source>' +
        '<source>/a &amp; b/&#233;t&#xe9;</source><source><![CDATA[/c<d>]]>/e</source>' +
        `<!-- <source>/not</source> --><source>C:\\proj\\src</source></sources>${lines}</coverage>`
    });
    expect(r.sources).toEqual(['/repo/src', '/a & b/été', '/c<d>/e', 'C:\\proj\\src']);
  });

  it('only <coverage><sources><source>; empty <sources> leaves it undefined', async () => {
    const elsewhere = await parseCobertura({
      text: `<coverage><source>/x</source><sources><other><source>/y</source></other></sources>${lines}</coverage>`
    });
    expect(elsewhere.sources).toBeUndefined();
    const empty = await parseCobertura({ text: `<coverage><sources/>${lines}</coverage>` });
    expect(empty.sources).toBeUndefined();
  });

  it('kept when the report has only root counts', async () => {
    const r = await parseCobertura({
      text: '<coverage lines-covered="1" lines-valid="2"><sources><source>/r</source></sources><packages/></coverage>'
    });
    expect([r.covered, r.total, r.sources]).toEqual([1, 2, ['/r']]);
  });

  it('an undefined entity in a <source> is refused', async () => {
    await expect(
      parseCobertura({
        text: `<coverage><sources><source>/a &x; b</source></sources>${lines}</coverage>`
      })
    ).rejects.toThrow(/undefined entity &x;/);
  });

  it("the XML reader gives an element's own text the same split at every byte", () => {
    const text = Buffer.from(
      '<r><s>a &amp; <i>skipped</i>b<![CDATA[ <c> ]]>é&#x20AC;</s><t>not asked</t><s/></r>',
      'utf8'
    );
    const read = (pieces: Buffer[]): (string | undefined)[] => {
      const got: (string | undefined)[] = [];
      const p = new XmlStreamParser({
        open: () => {},
        wantsText: (name) => name === 's',
        close: (name, t) => {
          if (name !== 'r') got.push(`${name}:${t ?? '-'}`);
        }
      });
      for (const piece of pieces) p.write(piece);
      p.end();
      return got;
    };
    const want = ['i:-', 's:a & b <c> é€', 't:-', 's:'];
    expect(read([text])).toEqual(want);
    expect(read([...text].map((b) => Buffer.from([b])))).toEqual(want);
    for (let i = 1; i < text.length; i++) {
      expect(read([text.subarray(0, i), text.subarray(i)])).toEqual(want);
    }
  });
});
