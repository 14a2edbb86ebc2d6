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
      'the root says 5/10 lines but its <line> elements give 5/9; the lines are used'
    ]);
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
  it('takes the report-level LINE counter, never a sum of the repeated ones', async () => {
    const r = await parseJacoco({ path: hand('jacoco-multi.xml') });
    expect(r).toMatchObject({
      format: 'jacoco',
      measure: 'lines',
      covered: 4,
      total: 10,
      notes: []
    });
    expect(r.files).toEqual([
      { path: 'com/example/A.java', covered: 3, total: 5 },
      { path: 'com/example/util/B.java', covered: 1, total: 5 }
    ]);
  });

  it('reads a report-aggregate report with groups', async () => {
    const r = await parseJacoco({ path: real('jacoco-groups.xml') });
    expect([r.covered, r.total, r.files.length]).toEqual([7, 17, 2]);
  });

  it('notes source files that do not add up to the report counter', async () => {
    const r = await parseJacoco({
      text: '<report name="x"><package name="p"><sourcefile name="A.java"><counter type="LINE" missed="1" covered="1"/></sourcefile></package><counter type="LINE" missed="2" covered="2"/></report>'
    });
    expect(r.notes).toEqual([
      'the source files add up to 1/2 lines but the report counter says 2/4; the report counter is used'
    ]);
  });

  it('adds up a source file listed in two groups, and says so', async () => {
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

  it.each([
    [
      'jacoco-no-report-counter.xml',
      /no report-level <counter type="LINE"> \(a direct child of <report>\)/
    ],
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

  it('refuses two report-level LINE counters', async () => {
    await expect(
      parseJacoco({
        text: '<report name="x"><counter type="LINE" missed="1" covered="1"/><counter type="LINE" missed="1" covered="1"/></report>'
      })
    ).rejects.toThrow(/two report-level LINE counters/);
  });
});
