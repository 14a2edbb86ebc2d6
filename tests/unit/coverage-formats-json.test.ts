// The streaming JSON reader (checked against JSON.parse, split at every byte
// and on mutated documents) and the three JSON formats: coverage.py,
// istanbul's coverage-summary.json and coverage-final.json (checked against
// istanbul-lib-coverage itself, which jest brings).

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCoveragePy } from '../../packages/coverage/src/formats/coverage-py.ts';
import { parseIstanbulFinal } from '../../packages/coverage/src/formats/istanbul-final.ts';
import { parseIstanbulSummary } from '../../packages/coverage/src/formats/istanbul-summary.ts';
import {
  JsonStreamParser,
  JsonSyntaxError,
  visitJson,
  type JsonPath,
  type JsonSelection
} from '../../packages/coverage/src/formats/json-stream.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const hand = (f: string): string => join(here, '../fixtures/coverage/hand', f);
const real = (f: string): string => join(here, '../fixtures/coverage/real', f);

afterAll(cleanupTempDirs);

/** Builds the whole document, fed in the given pieces. */
function buildAll(pieces: Buffer[]): unknown {
  let out: unknown;
  const p = new JsonStreamParser({
    select: () => 'build',
    value: (_path, v) => (out = v)
  });
  for (const piece of pieces) p.write(piece);
  p.end();
  return out;
}

function splits(text: string): Buffer[][] {
  const b = Buffer.from(text, 'utf8');
  const out: Buffer[][] = [[b], [...b].map((x) => Buffer.from([x]))];
  for (let i = 1; i < b.length; i++) out.push([b.subarray(0, i), b.subarray(i)]);
  return out;
}

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALID = [
  '{}',
  '[]',
  ' { "a" : [ 1 , -2.5e+3 , 0 , 0.125, 1E-2, -0 ] , "b" : { } , "c" : [ ] } ',
  '"plain"',
  '"esc \\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00 end"',
  '"utf-8 été 😀 直接"',
  '[true,false,null,"x",{"k":[{"deep":[[[]]]}]}]',
  '123456789012345678901234567890',
  '{"__proto__": {"polluted": true}, "constructor": 1}',
  '{"dup": 1, "dup": 2}',
  '\n\t\r [1,\n2]\n'
];

describe('JsonStreamParser', () => {
  it.each(VALID)('builds %p exactly as JSON.parse, split at every byte', (text) => {
    for (const pieces of splits(text)) expect(buildAll(pieces)).toEqual(JSON.parse(text));
  });

  it('keeps __proto__ as a plain key', () => {
    const v = buildAll([Buffer.from('{"__proto__": {"polluted": true}}')]) as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(v)).toBeNull();
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  const INVALID: [string, RegExp][] = [
    ['', /empty document/],
    ['   ', /empty document/],
    ['{', /truncated JSON: the document ends inside an object/],
    ['[1, [2', /truncated JSON: the document ends inside an array \(2 levels open\)/],
    ['{"a": "b', /truncated JSON: the document ends inside a string/],
    ['{"a": tr', /truncated JSON: the document ends inside a literal/],
    ['{"a": 12', /truncated JSON: the document ends inside an object/],
    ['[1,]', /expected a value, found '\]'/],
    ['{"a":1,}', /expected a key string, found '}'/],
    ['{"a" 1}', /expected ':'/],
    ['{a: 1}', /expected a key string, found 'a'/],
    ['[1 2]', /expected ',' or '\]'/],
    ['{"a":1}}', /after the end of the JSON value/],
    ['{} {}', /after the end of the JSON value/],
    ['01', /after the end of the JSON value|invalid number/],
    ['[01]', /invalid number '01'/],
    ['[1.]', /invalid number '1\.'/],
    ['[.5]', /expected a value, found '\.'/],
    ['[-]', /invalid number '-'/],
    ['[1e]', /invalid number '1e'/],
    ['[+1]', /expected a value, found '\+'/],
    ['[NaN]', /NaN and Infinity are not JSON numbers/],
    ['[Infinity]', /NaN and Infinity are not JSON numbers/],
    ['["a\u0001"]', /control character/],
    ['["\\q"]', /invalid escape '\\q'/],
    ['["\\u12G4"]', /invalid \\u escape/],
    ['[tru]', /unexpected '\]' \(expected 'true'\)/],
    ["['a']", /expected a value, found '''/]
  ];

  it.each(INVALID)('refuses %p, split anywhere', (text, message) => {
    for (const pieces of splits(text)) {
      let err: unknown;
      try {
        buildAll(pieces);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(JsonSyntaxError);
      expect((err as Error).message).toMatch(message);
    }
    expect(() => JSON.parse(text)).toThrow();
  });

  it('names a selected number no double can hold by its path and its text, split anywhere', () => {
    const text = '{"f.js": {"s": {"0": 1, "3": 1e400}}, "k": [1, {"big x": -2E+999}]}';
    const built = (select: (p: JsonPath) => JsonSelection) => (pieces: Buffer[]) => {
      const p = new JsonStreamParser({ select, value: () => {} });
      for (const piece of pieces) p.write(piece);
      p.end();
    };
    const walkToLeaves = built((p) => (p.length === 3 && p[1] === 's' ? 'build' : 'walk'));
    const buildAllOf = built(() => 'build');
    const buildK = built((p) => (p.length === 0 ? 'walk' : p[0] === 'k' ? 'build' : 'skip'));
    for (const pieces of splits(text)) {
      expect(() => walkToLeaves(pieces)).toThrow(
        /^"f\.js"\.s\["3"\] is 1e400, out of range for a number \(byte 29\)$/
      );
      expect(() => buildAllOf(pieces)).toThrow(/^"f\.js"\.s\["3"\] is 1e400/);
      expect(() => buildK(pieces)).toThrow(/^"k"\[1\]\["big x"\] is -2E\+999, out of range/);
    }
    // Skipped, it is only checked as JSON: nothing reads it.
    expect(() =>
      built((p) => (p.length === 0 ? 'walk' : 'skip'))([Buffer.from(text)])
    ).not.toThrow();
  });

  it('agrees with JSON.parse on thousands of mutated documents', () => {
    const rnd = prng(1234);
    const base =
      '{"meta": {"v": "7.6", "ok": true}, "files": {"a\\"b.py": {"executed_lines": [1, 2, 30], "summary": {"covered_lines": 3, "percent_covered": 75.5e0}}}, "x": [null, false, -0.5, "\\u00e9"]}';
    const alphabet = '{}[]",:0123456789-+.eE \\ntrufalsn';
    let agreed = 0;
    let validCount = 0;
    for (let n = 0; n < 4000; n++) {
      const chars = [...base];
      const edits = 1 + Math.floor(rnd() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rnd() * chars.length);
        const op = rnd();
        const c = alphabet[Math.floor(rnd() * alphabet.length)];
        if (op < 0.33) chars.splice(at, 1);
        else if (op < 0.66) chars.splice(at, 0, c);
        else chars[at] = c;
      }
      const text = chars.join('');
      let expected: unknown;
      let valid = true;
      try {
        expected = JSON.parse(text);
      } catch {
        valid = false;
      }
      const cut = 1 + Math.floor(rnd() * (text.length - 1));
      const b = Buffer.from(text);
      let got: unknown;
      let ok = true;
      try {
        got = buildAll([b.subarray(0, cut), b.subarray(cut)]);
      } catch (err) {
        if (!(err instanceof JsonSyntaxError)) throw err;
        ok = false;
      }
      if (ok !== valid) throw new Error(`disagrees with JSON.parse (${valid}) on ${text}`);
      if (valid) {
        expect(got).toEqual(expected);
        validCount++;
      }
      agreed++;
    }
    expect(agreed).toBe(4000);
    // Both sides of the fence are exercised.
    expect(validCount).toBeGreaterThan(200);
    expect(agreed - validCount).toBeGreaterThan(200);
  });

  it('walks selected paths, builds selected values and reports walked containers closing', () => {
    const seen: string[] = [];
    const select = (p: JsonPath): JsonSelection => {
      seen.push(`select ${JSON.stringify(p)}`);
      if (p.length <= 1) return 'walk';
      return p[1] === 'keep' ? 'build' : 'skip';
    };
    visitJson('{"a": {"keep": [1, {"x": "y"}], "drop": {"keep": 2}}, "b": [7, {"keep": 3}]}', {
      select,
      value: (p, v) => seen.push(`value ${JSON.stringify(p)} ${JSON.stringify(v)}`),
      end: (p) => seen.push(`end ${JSON.stringify(p)}`)
    });
    expect(seen).toEqual([
      'select []',
      'select ["a"]',
      'select ["a","keep"]',
      'value ["a","keep"] [1,{"x":"y"}]',
      'select ["a","drop"]',
      'end ["a"]',
      'select ["b"]',
      'select ["b",0]',
      'select ["b",1]',
      'end ["b"]',
      'end []'
    ]);
  });

  it('skipped strings are scanned, not decoded, however long', () => {
    const long = 'x'.repeat(3 * 1024 * 1024);
    const text = `{"skip": "${long}", "keep": 1}`;
    const b = Buffer.from(text);
    const p = new JsonStreamParser({
      select: (path) => (path.length === 0 ? 'walk' : path[0] === 'keep' ? 'build' : 'skip'),
      value: (_path, v) => expect(v).toBe(1)
    });
    for (let i = 0; i < b.length; i += 65536) p.write(b.subarray(i, i + 65536));
    p.end();
  });
});

describe('coverage.py JSON', () => {
  it('reads totals and per-file summaries', async () => {
    const r = await parseCoveragePy({ path: hand('coverage-py.json') });
    expect(r).toEqual({
      format: 'coverage-py',
      measure: 'lines',
      covered: 5,
      total: 10,
      percent: 50,
      files: [
        { path: 'src/app/__init__.py', covered: 0, total: 0 },
        { path: 'src/app/core.py', covered: 5, total: 6 },
        { path: 'src/app/été.py', covered: 0, total: 4 }
      ],
      notes: []
    });
  });

  it('notes files that do not add up to the totals', async () => {
    const r = await parseCoveragePy({
      text: JSON.stringify({
        files: { a: { summary: { covered_lines: 1, num_statements: 2 } } },
        totals: { covered_lines: 3, num_statements: 4, percent_covered: 75 }
      })
    });
    expect(r.notes).toEqual(['the files add up to 1/2 lines but totals say 3/4; totals are used']);
  });

  it.each([
    [
      'coverage-py-nan.json',
      /invalid JSON at byte \d+: expected a value, found 'N' \(NaN and Infinity/
    ],
    ['coverage-py-over-100.json', /totals\.percent_covered is 120, not a percentage 0\.\.100/],
    ['coverage-py-negative.json', /totals\.covered_lines is -1, not a whole non-negative number/],
    [
      'coverage-py-percent-mismatch.json',
      /totals\.percent_covered 95 disagrees with its own counts 8\/10 \(80\.00 %\)/
    ],
    ['coverage-py-zero.json', /: 0 lines instrumented/],
    ['coverage-py-no-totals.json', /no "totals" object: not coverage\.py JSON/],
    ['coverage-py-truncated.json', /: truncated JSON: the document ends inside/],
    ['empty.info', /: empty file$/]
  ])('%s: %p', async (file, message) => {
    await expect(parseCoveragePy({ path: hand(file) })).rejects.toThrow(message);
  });

  it.each([
    [
      { totals: { covered_lines: 5, num_statements: 4 } },
      /more lines covered than instrumented \(5 of 4\)/
    ],
    [{ totals: { covered_lines: 1.5, num_statements: 4 } }, /totals\.covered_lines is 1\.5/],
    [{ totals: { covered_lines: '1', num_statements: 4 } }, /totals\.covered_lines is "1"/],
    [{ totals: { num_statements: 4 } }, /totals\.covered_lines is missing/],
    [{ totals: [] }, /no "totals" object/],
    [
      { totals: { covered_lines: 1, num_statements: 4, percent_covered: -3 } },
      /percent_covered is -3/
    ],
    [
      {
        files: { 'a.py': { summary: { covered_lines: 3, num_statements: 2 } } },
        totals: { covered_lines: 1, num_statements: 2 }
      },
      /files\["a\.py"\]\.summary covers 3 of 2 lines/
    ],
    [
      { files: { 'a.py': { summary: null } }, totals: { covered_lines: 1, num_statements: 2 } },
      /files\["a\.py"\]\.summary\.covered_lines is missing/
    ]
  ])('refuses %j', async (doc, message) => {
    await expect(parseCoveragePy({ text: JSON.stringify(doc) })).rejects.toThrow(message);
  });

  it('streams a large report with bounded work and the same figure', async () => {
    const dir = tempDir();
    const path = join(dir, 'coverage.json');
    const files: Record<string, unknown> = {};
    let covered = 0;
    let total = 0;
    for (let f = 0; f < 400; f++) {
      const executed = Array.from({ length: 600 }, (_, i) => i * 2 + 1);
      const missing = Array.from({ length: 150 + (f % 50) }, (_, i) => i * 2 + 2);
      files[`src/m${f}.py`] = {
        executed_lines: executed,
        summary: {
          covered_lines: executed.length,
          num_statements: executed.length + missing.length
        },
        missing_lines: missing
      };
      covered += executed.length;
      total += executed.length + missing.length;
    }
    const doc = {
      meta: { version: '7' },
      files,
      totals: {
        covered_lines: covered,
        num_statements: total,
        percent_covered: (covered / total) * 100
      }
    };
    writeFileSync(path, JSON.stringify(doc, null, 1));
    const r = await parseCoveragePy({ path });
    expect([r.covered, r.total, r.files.length]).toEqual([covered, total, 400]);
  });
});

describe('one file under two names in a summary format', () => {
  it('coverage.py: normalised paths, the fuller entry kept, totals untouched', async () => {
    const doc = {
      meta: { version: '6.5.0' },
      files: {
        'src\\a.py': { summary: { covered_lines: 1, num_statements: 2 } },
        './src/a.py': { summary: { covered_lines: 2, num_statements: 2 } },
        'src//b.py': { summary: { covered_lines: 0, num_statements: 1 } }
      },
      totals: { covered_lines: 2, num_statements: 3, percent_covered: 66.666666 }
    };
    const r = await parseCoveragePy({ text: JSON.stringify(doc) });
    expect([r.covered, r.total]).toEqual([2, 3]);
    expect(r.files).toEqual([
      { path: 'src/a.py', covered: 2, total: 2 },
      { path: 'src/b.py', covered: 0, total: 1 }
    ]);
    expect(r.notes).toContain(
      '"./src/a.py" names the same file as "src\\\\a.py"; each file is counted once'
    );
  });

  it('istanbul coverage-summary.json: normalised paths', async () => {
    const lines = (covered: number, total: number) => ({ lines: { total, covered, pct: 0 } });
    const doc = {
      total: { lines: { total: 3, covered: 1, pct: 33.33 } },
      'C:\\repo\\a.js': { lines: { total: 3, covered: 1, pct: 33.33 } },
      'c:/repo/./a.js': lines(0, 0)
    };
    const r = await parseIstanbulSummary({ text: JSON.stringify(doc) });
    expect(r.files).toEqual([{ path: 'C:/repo/a.js', covered: 1, total: 3 }]);
    expect(r.notes).toHaveLength(1);
  });
});

describe('istanbul coverage-summary.json', () => {
  it('reads total.lines and each file', async () => {
    const r = await parseIstanbulSummary({ path: hand('istanbul-summary.json') });
    expect(r).toMatchObject({ format: 'istanbul-summary', covered: 5, total: 9 });
    expect(r.files).toEqual([
      { path: '/repo/src/a.js', covered: 5, total: 6 },
      { path: '/repo/src/b.js', covered: 0, total: 3 }
    ]);
  });

  it.each([
    ['istanbul-summary-unknown.json', /: 0 lines instrumented/],
    ['istanbul-summary-bad-pct.json', /total\.lines\.pct is 150, not a percentage 0\.\.100/],
    ['coverage-py.json', /no "total\.lines" object: not an istanbul coverage-summary\.json/]
  ])('%s: %p', async (file, message) => {
    await expect(parseIstanbulSummary({ path: hand(file) })).rejects.toThrow(message);
  });

  it.each([
    [
      { total: { lines: { total: 10, covered: 5, pct: 70 } } },
      /total\.lines\.pct 70 disagrees with its own counts 5\/10/
    ],
    [
      { total: { lines: { total: 10, covered: 11, pct: 100 } } },
      /total\.lines covers 11 of 10 lines/
    ],
    [{ total: { lines: 'all' } }, /total\.lines is not an object/],
    [{ total: { lines: { total: 10, covered: 5, pct: 'NaN' } } }, /total\.lines\.pct is NaN/],
    [
      {
        total: { lines: { total: 3, covered: 1, pct: 33.33 } },
        'a.js': { lines: { total: -3, covered: 1 } }
      },
      /"a\.js"\.lines\.total is -3/
    ]
  ])('refuses %j', async (doc, message) => {
    await expect(parseIstanbulSummary({ text: JSON.stringify(doc) })).rejects.toThrow(message);
  });

  it('accepts istanbul’s truncated two-decimal pct', async () => {
    const r = await parseIstanbulSummary({
      text: JSON.stringify({ total: { lines: { total: 3, covered: 2, pct: 66.66 } } })
    });
    expect(r.percent).toBeCloseTo(66.6667, 3);
  });
});

describe('istanbul coverage-final.json', () => {
  const require = createRequire(import.meta.url);
  const libCoverage = require('istanbul-lib-coverage') as {
    createCoverageMap(data: unknown): {
      getCoverageSummary(): { lines: { total: number; covered: number } };
    };
  };
  const oracle = (text: string): [number, number] => {
    const s = libCoverage.createCoverageMap(JSON.parse(text)).getCoverageSummary().lines;
    return [s.covered, s.total];
  };

  it('follows getLineCoverage: start lines only, max count per line, statements of s only', async () => {
    const r = await parseIstanbulFinal({ path: hand('istanbul-final.json') });
    expect(r.files).toEqual([
      { path: '/repo/src/a.js', covered: 2, total: 5 },
      { path: '/repo/src/empty.js', covered: 0, total: 0 }
    ]);
    expect([r.covered, r.total]).toEqual(oracle(readFileSync(hand('istanbul-final.json'), 'utf8')));
  });

  it('agrees with istanbul-lib-coverage on the real jest output', async () => {
    const text = readFileSync(real('istanbul-coverage-final.json'), 'utf8');
    const r = await parseIstanbulFinal({ text });
    expect([r.covered, r.total]).toEqual(oracle(text));
  });

  it('agrees with istanbul-lib-coverage on random coverage maps', async () => {
    const rnd = prng(99);
    for (let n = 0; n < 50; n++) {
      const map: Record<string, unknown> = {};
      for (let f = 0; f < 1 + Math.floor(rnd() * 4); f++) {
        const statementMap: Record<string, unknown> = {};
        const s: Record<string, number> = {};
        for (let i = 0; i < Math.floor(rnd() * 40); i++) {
          const line = 1 + Math.floor(rnd() * 15);
          statementMap[i] = {
            start: { line, column: 0 },
            end: { line: line + Math.floor(rnd() * 3), column: 1 }
          };
          if (rnd() < 0.9) s[i] = rnd() < 0.5 ? 0 : Math.floor(rnd() * 9);
        }
        const path = `/src/f${f}.js`;
        map[path] = { path, statementMap, fnMap: {}, branchMap: {}, s, f: {}, b: {} };
      }
      const text = JSON.stringify(map);
      const [covered, total] = oracle(text);
      if (total === 0) continue;
      const r = await parseIstanbulFinal({ text });
      expect([r.covered, r.total]).toEqual([covered, total]);
    }
  });

  it('reads the old { data: ... } wrapper', async () => {
    const r = await parseIstanbulFinal({ path: hand('istanbul-final-wrapped.json') });
    expect(r.files).toEqual([{ path: '/repo/src/w.js', covered: 1, total: 2 }]);
  });

  it.each([
    ['istanbul-final-bad-count.json', /"\/repo\/src\/a\.js"\.s\["0"\] is -2, not a hit count/],
    ['coverage-final.json', /: 0 lines instrumented/]
  ])('%s: %p', async (file, message) => {
    await expect(parseIstanbulFinal({ path: hand(file) })).rejects.toThrow(message);
  });

  it('names an s entry of 1e400 and its value (it would read as Infinity)', async () => {
    const doc = `{"/repo/src/a.js": {"path": "/repo/src/a.js", "statementMap": {"0": {"start": {"line": 1}}, "1": {"start": {"line": 2}}}, "s": {"0": 1, "1": 1e400}}}`;
    await expect(parseIstanbulFinal({ text: doc, name: 'coverage-final.json' })).rejects.toThrow(
      /^coverage report coverage-final\.json: "\/repo\/src\/a\.js"\.s\["1"\] is 1e400, out of range for a number \(byte \d+\)$/
    );
  });

  it('unites one file under two keys line by line (./src/a.js and src/a.js)', async () => {
    const entry = (path: string, lines: number[], s: number[]) => ({
      path,
      statementMap: Object.fromEntries(lines.map((line, i) => [i, { start: { line } }])),
      s: Object.fromEntries(s.map((n, i) => [i, n]))
    });
    const doc = {
      'src/a.js': entry('src/a.js', [1, 2, 3], [1, 0, 0]),
      './src/a.js': entry('./src/a.js', [2, 3, 4], [5, 0, 0]),
      'src\\b.js': entry('src\\b.js', [1], [1])
    };
    const r = await parseIstanbulFinal({ text: JSON.stringify(doc) });
    expect(r.files).toEqual([
      { path: 'src/a.js', covered: 2, total: 4 },
      { path: 'src/b.js', covered: 1, total: 1 }
    ]);
    expect(r.notes).toEqual([
      '"./src/a.js" names the same file as "src/a.js"; each file is counted once'
    ]);
  });

  it('refuses a start line that is not a line number', async () => {
    const doc = {
      'a.js': { path: 'a.js', statementMap: { 0: { start: { line: 'one' } } }, s: { 0: 1 } }
    };
    await expect(parseIstanbulFinal({ text: JSON.stringify(doc) })).rejects.toThrow(
      /"a\.js"\.statementMap\["0"\]\.start\.line is "one", not a line number/
    );
  });
});
