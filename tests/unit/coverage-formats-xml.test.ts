// The minimal streaming XML reader (split at every byte, well-formedness,
// no entity expansion) and the two XML formats, Cobertura and JaCoCo.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCobertura } from '../../packages/coverage/src/formats/cobertura.ts';
import { parseJacoco } from '../../packages/coverage/src/formats/jacoco.ts';
import { XmlStreamParser, XmlSyntaxError } from '../../packages/coverage/src/formats/xml-stream.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const hand = (f: string): string => join(here, '../fixtures/coverage/hand', f);
const real = (f: string): string => join(here, '../fixtures/coverage/real', f);

afterAll(cleanupTempDirs);

/** Events as text, the document fed in the given pieces. */
function events(pieces: Buffer[]): string[] {
  const out: string[] = [];
  const p = new XmlStreamParser({
    open: (name, attrs) => out.push(`<${name} ${JSON.stringify(attrs)}>`),
    close: (name) => out.push(`</${name}>`)
  });
  for (const piece of pieces) p.write(piece);
  p.end();
  return out;
}

function splits(text: string | Buffer): Buffer[][] {
  const b = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const out: Buffer[][] = [[b], [...b].map((x) => Buffer.from([x]))];
  for (let i = 1; i < b.length; i++) out.push([b.subarray(0, i), b.subarray(i)]);
  return out;
}

describe('XmlStreamParser', () => {
  const doc =
    '\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd">\n' +
    '<!-- a comment with <tags> and -- dashes --><r a="1" b=\'two\'>text &amp; more<![CDATA[ <not> a tag ]]>' +
    '<c name="&lt;init&gt; &quot;q&quot; &apos;s&apos; &#233;&#xe9; été" gt="a>b"/><d ></d ><?pi data?></r>\n<!-- after -->\n';
  const expected = [
    '<r {"a":"1","b":"two"}>',
    `<c ${JSON.stringify({ name: `<init> "q" 's' éé été`, gt: 'a>b' })}>`,
    '</c>',
    '<d {}>',
    '</d>',
    '</r>'
  ];

  it('reads elements and attributes the same way split at every byte', () => {
    for (const pieces of splits(doc)) expect(events(pieces)).toEqual(expected);
  });

  it.each([
    '<!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd"[]><r a="1"/>',
    '<!DOCTYPE report [ \r\n\t ] ><r a="1"/>',
    '<?xml version="1.0"?>\n<!DOCTYPE report SYSTEM "x.dtd" [\n]>\n<r a="1"/>\n'
  ])('accepts a DOCTYPE whose internal subset declares nothing: %p, split anywhere', (text) => {
    for (const pieces of splits(text)) expect(events(pieces)).toEqual(['<r {"a":"1"}>', '</r>']);
  });

  it('reads the real JaCoCo report split at every byte', () => {
    const b = readFileSync(real('jacoco.xml'));
    const whole = events([b]);
    expect(whole.length).toBeGreaterThan(100);
    for (let i = 1; i < b.length; i += 13) {
      expect(events([b.subarray(0, i), b.subarray(i)])).toEqual(whole);
    }
  });

  const INVALID: [string, RegExp][] = [
    ['', /empty document/],
    ['  \n ', /empty document/],
    ['<a>', /truncated XML: 1 element not closed \(innermost <a>\)/],
    ['<a><b x="1"', /truncated XML: the document ends inside a tag/],
    ['<a><!-- open', /truncated XML: the document ends inside a comment/],
    ['<a><![CDATA[ open', /truncated XML: the document ends inside a CDATA section/],
    ['<a></b>', /<\/b> closes <a>/],
    ['<a/></a>', /<\/a> without a start tag/],
    ['<a/><b/>', /a second root element <b>/],
    ['text<a/>', /text before the root element/],
    ['<a/>text', /content after the root element/],
    ['<a x=1/>', /attribute x of <a> is not quoted/],
    ['<a x="1" x="2"/>', /attribute x repeated in <a>/],
    ['<a x/>', /attribute x of <a> has no value/],
    ['<a x="1"y="2"/>', /no space before an attribute of <a>/],
    ['<a x="&foo;"/>', /undefined entity &foo;/],
    ['<a x="a & b"/>', /'&' not starting a reference/],
    ['<a x="<"/>', /'<' inside a tag|'<' in attribute/],
    ['<1a/>', /a tag or attribute without a valid name/],
    ['<!DOCTYPE a [<!ENTITY x "y">]><a/>', /DOCTYPE with an internal subset is refused/],
    ['<!DOCTYPE a [ <!ENTITY x "y"> ]><a/>', /DOCTYPE with an internal subset is refused/],
    ['<!DOCTYPE a [%pe;]><a/>', /DOCTYPE with an internal subset is refused/],
    ['<!DOCTYPE a [ <!-- c --> ]><a/>', /DOCTYPE with an internal subset is refused/],
    ['<!DOCTYPE a [] [<!ENTITY x "y">]><a/>', /DOCTYPE with an internal subset is refused/],
    [
      '<!DOCTYPE a SYSTEM "a.dtd" [<!ENTITY x SYSTEM "file:///etc/passwd">]><a x="&x;"/>',
      /DOCTYPE with an internal subset is refused/
    ],
    ['<!DOCTYPE a [ ', /truncated XML/],
    ['<a><!DOCTYPE a></a>', /unexpected markup|DOCTYPE after the root element/],
    ['<a><!BOGUS></a>', /unexpected markup after <!/]
  ];

  it.each(INVALID)('refuses %p, split anywhere', (text, message) => {
    for (const pieces of splits(text)) {
      let err: unknown;
      try {
        events(pieces);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(XmlSyntaxError);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('never expands entities, however nested the DOCTYPE tries to make them', async () => {
    await expect(parseCobertura({ path: hand('cobertura-entities.xml') })).rejects.toThrow(
      /DOCTYPE with an internal subset is refused \(entities are never expanded\)/
    );
  });

  it('refuses a tag longer than 1 MiB rather than buffering it', () => {
    const p = new XmlStreamParser({ open: () => {}, close: () => {} });
    p.write(Buffer.from('<a x="'));
    expect(() => {
      for (let i = 0; i < 40; i++) p.write(Buffer.alloc(64 * 1024, 0x61));
    }).toThrow(/a tag longer than 1 MiB/);
  });
});

describe('Cobertura', () => {
  it('counts class lines only, unites files across classes and packages, notes the root', async () => {
    const r = await parseCobertura({ path: hand('cobertura-multi.xml') });
    expect(r).toMatchObject({ format: 'cobertura', measure: 'lines', covered: 5, total: 9 });
    expect(r.files).toEqual([
      { path: 'com/example/Outer.java', covered: 3, total: 4 },
      { path: 'com/example/util/Util.java', covered: 2, total: 5 }
    ]);
    expect(r.notes).toEqual([
      'the root says 5/10 lines but its <line> elements give 5/9; the lines are used',
      'the root line-rate 0.5 (50.00 %) disagrees with its <line> elements, 5/9 (55.56 %); the lines are used'
    ]);
  });

  it('says when the root line-rate disagrees with the lines, within the writers’ rounding', async () => {
    const doc = (rate: string): string =>
      `<coverage line-rate="${rate}"><packages><package><classes><class filename="a.py"><lines><line number="1" hits="1"/><line number="2" hits="1"/><line number="3" hits="0"/></lines></class></classes></package></packages></coverage>`;
    // 2/3: coverage.py writes %.4g, istanbul its percentage truncated to two decimals.
    for (const rate of ['0.6667', '0.6666', '0.6666666666666666']) {
      expect((await parseCobertura({ text: doc(rate) })).notes).toEqual([]);
    }
    const r = await parseCobertura({ text: doc('1') });
    expect([r.covered, r.total]).toEqual([2, 3]);
    expect(r.notes).toEqual([
      'the root line-rate 1 (100.00 %) disagrees with its <line> elements, 2/3 (66.67 %); the lines are used'
    ]);
  });

  it('gcovr 8: a line listed once per function instance counts once, covered if any instance ran', async () => {
    // clamp.hpp lines 6-11 twice (clamp_to<int>, clamp_to<double>); gcovr's
    // root counts instances (15 of 23), its text report with --merge-lines
    // and every other writer of the same run say 13 of 17.
    const r = await parseCobertura({ path: real('gcovr8-cobertura.xml') });
    expect([r.covered, r.total]).toEqual([13, 17]);
    expect(r.files).toEqual([
      { path: 'src/clamp.hpp', covered: 8, total: 10 },
      { path: 'src/main.cpp', covered: 5, total: 7 }
    ]);
    expect(r.notes).toEqual([
      'the root says 15/23 lines but its <line> elements give 13/17; the lines are used',
      'the root line-rate 0.6521739130434783 (65.22 %) disagrees with its <line> elements, 13/17 (76.47 %); the lines are used'
    ]);
  });

  it('one file written two ways is one file, its lines united', async () => {
    const cls = (file: string, lines: string): string =>
      `<class filename="${file}"><lines>${lines}</lines></class>`;
    const r = await parseCobertura({
      text: `<coverage line-rate="0.5"><packages><package><classes>${cls('src/a.c', '<line number="1" hits="0"/><line number="2" hits="0"/>')}${cls('./src/a.c', '<line number="2" hits="1"/>')}${cls('src\\a.c', '<line number="3" hits="0"/>')}</classes></package></packages></coverage>`
    });
    expect(r.files).toEqual([{ path: 'src/a.c', covered: 1, total: 3 }]);
    expect(r.notes).toContain(
      '"./src/a.c" names the same file as "src/a.c" (and 1 more); each file is counted once'
    );
  });

  it('ignores the copies of lines under <methods> (istanbul writes them)', async () => {
    const r = await parseCobertura({ path: real('istanbul-cobertura.xml') });
    expect([r.covered, r.total]).toEqual([4, 8]);
  });

  it('falls back to the root counts when there are no <line> elements', async () => {
    const r = await parseCobertura({ path: hand('cobertura-summary-only.xml') });
    expect(r).toMatchObject({ covered: 30, total: 40, files: [] });
    expect(r.notes).toEqual(['no <line> elements: the root lines-covered/lines-valid are used']);
  });

  it.each([
    [
      'cobertura-rate-only.xml',
      /no <line> elements and no lines-covered\/lines-valid: a line-rate alone cannot be weighed/
    ],
    ['cobertura-bad-rate.xml', /line-rate "NaN" is not a rate within 0\.\.1/],
    ['cobertura-rate-over-1.xml', /line-rate "1\.5" is not a rate within 0\.\.1/],
    ['cobertura-negative-hits.xml', /<line number="1"> in a\.py has hits "-1", not a count/],
    ['cobertura-truncated.xml', /truncated XML/],
    ['cobertura-mismatched-tags.xml', /invalid XML at byte \d+: <\/classes> closes <package>/],
    ['clover.xml', /no <line> elements and no lines-covered\/lines-valid$/],
    ['empty.info', /: empty file$/]
  ])('%s: %p', async (file, message) => {
    await expect(parseCobertura({ path: hand(file) })).rejects.toThrow(message);
  });

  it.each([
    ['<coverage lines-covered="3" lines-valid="2"/>', /lines-covered 3 > lines-valid 2/],
    [
      '<coverage lines-covered="-3" lines-valid="2"/>',
      /lines-covered "-3" is not a whole non-negative number/
    ],
    ['<coverage lines-covered="0" lines-valid="0"/>', /0 lines instrumented/],
    [
      '<coverage><packages><package><classes><class name="A"><lines/></class></classes></package></packages></coverage>',
      /<class name="A"> has no filename/
    ],
    [
      '<coverage><packages><package><classes><class filename="a"><lines><line hits="1"/></lines></class></classes></package></packages></coverage>',
      /a <line> in a has number null/
    ],
    [
      '<coverage><packages><package><classes><class filename="a"><lines><line number="1" hits="x"/></lines></class></classes></package></packages></coverage>',
      /<line number="1"> in a has hits "x", not a count/
    ]
  ])('refuses %p', async (text, message) => {
    await expect(parseCobertura({ text })).rejects.toThrow(message);
  });

  it('streams a large report across read chunks', async () => {
    const dir = tempDir();
    const path = join(dir, 'coverage.xml');
    const parts = [
      '<?xml version="1.0"?>\n<coverage line-rate="0.5"><packages><package name="p"><classes>'
    ];
    let covered = 0;
    for (let c = 0; c < 200; c++) {
      parts.push(`<class name="C${c}" filename="src/f${c % 150}.py"><methods/><lines>`);
      for (let l = 1; l <= 400; l++) {
        const hits = (l + c) % 3 === 0 ? 0 : 1;
        parts.push(`<line number="${l}" hits="${hits}" branch="false"/>\n`);
      }
      parts.push('</lines></class>');
    }
    parts.push('</classes></package></packages></coverage>\n');
    writeFileSync(path, parts.join(''));
    // 150 files of 400 lines; the 50 repeated files take the union with the first pass.
    for (let f = 0; f < 150; f++) {
      for (let l = 1; l <= 400; l++) {
        const first = (l + f) % 3 !== 0;
        const second = f < 50 && (l + f + 150) % 3 !== 0;
        if (first || second) covered++;
      }
    }
    const r = await parseCobertura({ path });
    expect([r.covered, r.total, r.files.length]).toEqual([covered, 150 * 400, 150]);
  });
});

describe('JaCoCo', () => {
  it('counts each source file’s lines once, never a sum of the repeated counters', async () => {
    // A.java: lines 1-3 ran, 5-6 did not. B.java lists one line (ran) while its
    // hand-written counters say 1 of 5: the lines decide, and the note says so.
    const r = await parseJacoco({ path: hand('jacoco-multi.xml') });
    expect(r).toMatchObject({ format: 'jacoco', measure: 'lines', covered: 4, total: 6 });
    expect(r.files).toEqual([
      { path: 'com/example/A.java', covered: 3, total: 5 },
      { path: 'com/example/util/B.java', covered: 1, total: 1 }
    ]);
    expect(r.notes).toEqual([
      'the report counter says 4/10 lines but its source files give 4/6; the source files are used'
    ]);
  });

  it('reads a report-aggregate report with groups', async () => {
    const r = await parseJacoco({ path: real('jacoco-groups.xml') });
    expect([r.covered, r.total, r.files.length]).toEqual([7, 17, 2]);
    expect(r.notes).toEqual([]);
  });

  it('a line is covered when any of its instructions ran (ci > 0), as JaCoCo counts it', async () => {
    const r = await parseJacoco({
      text: '<report name="x"><package name="p"><sourcefile name="A.java"><line nr="1" mi="3" ci="1"/><line nr="2" mi="2" ci="0"/><line nr="3" mi="0" ci="0"/></sourcefile></package></report>'
    });
    expect(r.files).toEqual([{ path: 'p/A.java', covered: 1, total: 2 }]);
  });

  it('uses the source files’ counters where lines are missing, and notes a report counter that disagrees', async () => {
    const r = await parseJacoco({
      text: '<report name="x"><package name="p"><sourcefile name="A.java"><counter type="LINE" missed="1" covered="1"/></sourcefile></package><counter type="LINE" missed="2" covered="2"/></report>'
    });
    expect([r.covered, r.total]).toEqual([1, 2]);
    expect(r.notes).toEqual([
      'the report counter says 2/4 lines but its source files give 1/2; the source files are used'
    ]);
  });

  it('a report without its report-level counter is read from its source files', async () => {
    const r = await parseJacoco({ path: hand('jacoco-no-report-counter.xml') });
    expect(r.files).toEqual([{ path: 'p/A.java', covered: 1, total: 2 }]);
    expect(r.notes).toEqual([]);
  });

  it('uses the report counter when no file is listed', async () => {
    const r = await parseJacoco({
      text: '<report name="x"><counter type="LINE" missed="3" covered="1"/></report>'
    });
    expect([r.covered, r.total, r.files]).toEqual([1, 4, []]);
  });

  it('adds up the counters of a source file listed in two groups, and says so', async () => {
    const file =
      '<package name="p"><sourcefile name="A.java"><counter type="LINE" missed="1" covered="1"/></sourcefile></package>';
    const r = await parseJacoco({
      text: `<report name="x"><group name="a">${file}</group><group name="b">${file}</group><counter type="LINE" missed="2" covered="2"/></report>`
    });
    expect(r.files).toEqual([{ path: 'p/A.java', covered: 2, total: 4 }]);
    expect(r.notes).toEqual([
      '1 source files appear in more than one group; their counters are added'
    ]);
  });

  it('unites the lines of a source file listed in two groups (or under two spellings)', async () => {
    const file = (pkg: string, lines: string): string =>
      `<package name="${pkg}"><sourcefile name="A.java">${lines}</sourcefile></package>`;
    const r = await parseJacoco({
      text: `<report name="x"><group name="a">${file('p', '<line nr="1" mi="1" ci="0"/><line nr="2" mi="1" ci="0"/>')}</group><group name="b">${file('./p', '<line nr="2" mi="0" ci="1"/><line nr="3" mi="1" ci="0"/>')}</group></report>`
    });
    expect(r.files).toEqual([{ path: 'p/A.java', covered: 1, total: 3 }]);
    expect(r.notes).toEqual([
      '1 source files appear in more than one group; each of their lines is counted once',
      '"./p/A.java" names the same file as "p/A.java"; each file is counted once'
    ]);
  });

  it('Pester 5 (PowerShell 7): the empty internal subset [] is read, lines counted once', async () => {
    // Calc.ps1: 11 commands on 8 lines; 3, 6, 7, 14 and 15 ran (14 holds three
    // commands, 15 two), 4, 9 and 19 did not: Pester's LINE counter 5 of 8.
    const r = await parseJacoco({ path: real('pester-jacoco.xml') });
    expect(r).toMatchObject({ format: 'jacoco', covered: 5, total: 8, notes: [] });
    expect(r.files).toEqual([{ path: 'src/Calc.ps1', covered: 5, total: 8 }]);
  });

  it('Pester 5 on Windows PowerShell 5.1 (UTF-8 BOM, CRLF) gives the same figure', async () => {
    const text = readFileSync(real('pester-jacoco.xml'), 'utf8').replace(/\n/g, '\r\n');
    const dir = tempDir();
    const path = join(dir, 'coverage.xml');
    writeFileSync(path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
    const r = await parseJacoco({ path });
    expect([r.covered, r.total]).toEqual([5, 8]);
  });

  it('gcovr 7.2: no <sourcefile>, each class counted under its sourcefilename; its wrong report counter noted', async () => {
    // gcovr 7.2 writes the last class's counter (5 of 7) as the report's.
    const r = await parseJacoco({ path: real('gcovr7-jacoco.xml') });
    expect([r.covered, r.total]).toEqual([13, 17]);
    expect(r.files).toEqual([
      { path: 'src/clamp.hpp', covered: 8, total: 10 },
      { path: 'src/main.cpp', covered: 5, total: 7 }
    ]);
    expect(r.notes).toEqual([
      'the report counter says 5/7 lines but its source files give 13/17; the source files are used'
    ]);
  });

  it('gcovr 8 --merge-lines: lines without mi/ci, each listed once: the file counters', async () => {
    const r = await parseJacoco({ path: real('gcovr8-merged-jacoco.xml') });
    expect(r).toMatchObject({ covered: 13, total: 17, notes: [] });
  });

  it('gcovr 8: refuses lines listed once per instance with no per-line coverage, naming the way out', async () => {
    await expect(
      parseJacoco({ path: real('gcovr8-jacoco.xml'), name: 'jacoco.xml' })
    ).rejects.toThrow(
      'coverage report jacoco.xml: src/clamp.hpp: line 6 is listed 2 times (once per function instance, as gcovr writes templates and inline functions) without per-line coverage (mi/ci), and its LINE counter (10 of 16) counts instances, so its lines cannot be counted once: run gcovr with --merge-lines, or read its Cobertura or LCOV report of the same run'
    );
  });

  it('gcovr 8: repeated lines are still exact when every instance ran, or none did', async () => {
    const doc = (missed: number, covered: number): string =>
      `<report name="x"><package name="src"><sourcefile name="t.hpp"><line nr="3"/><line nr="3"/><line nr="4"/><line nr="4"/><line nr="5"/><counter type="LINE" missed="${missed}" covered="${covered}"/></sourcefile></package></report>`;
    const all = await parseJacoco({ text: doc(0, 5) });
    expect(all.files).toEqual([{ path: 'src/t.hpp', covered: 3, total: 3 }]);
    const none = await parseJacoco({ text: doc(5, 0) });
    expect(none.files).toEqual([{ path: 'src/t.hpp', covered: 0, total: 3 }]);
  });

  it.each([
    [
      'jacoco-bad-counter.xml',
      /the LINE counter of the report has missed="-1" covered="1", not whole non-negative numbers/
    ],
    ['jacoco-empty-report.xml', /: 0 lines instrumented/],
    ['cobertura-multi.xml', /root element is <coverage>, not JaCoCo's <report>/],
    ['empty.info', /: empty file$/]
  ])('%s: %p', async (file, message) => {
    await expect(parseJacoco({ path: hand(file) })).rejects.toThrow(message);
  });

  it.each([
    [
      '<report><package name="p"><sourcefile name="A.java"><line nr="x" mi="0" ci="1"/></sourcefile></package></report>',
      /a <line> in p\/A\.java has nr "x"/
    ],
    [
      '<report><package name="p"><sourcefile name="A.java"><line nr="1" mi="1"/></sourcefile></package></report>',
      /<line nr="1"> in p\/A\.java has mi="1" ci=null, not whole non-negative numbers/
    ],
    [
      '<report><package name="p"><sourcefile name="A.java"><counter type="LINE" missed="1"/></sourcefile></package></report>',
      /the LINE counter of sourcefile p\/A\.java has missed="1" covered=null/
    ],
    [
      '<report name="x"><counter type="LINE" missed="1" covered="1"/><counter type="LINE" missed="1" covered="1"/></report>',
      /two report-level LINE counters/
    ]
  ])('refuses %p', async (text, message) => {
    await expect(parseJacoco({ text })).rejects.toThrow(message);
  });
});
