// Units behind the leak fixes: printable runs of binary lines, UTF-16
// detection and decoding, commit-message lines and changed paths from the
// parser, masking of names, and how the report shows name findings.
import {
  AddedLinesParser,
  addedLinesArgs,
  decodeUtf16Line,
  pickRuns,
  printableRuns,
  sniffNulContent,
  type AddedLine,
  type ChangedPath
} from '../../packages/git/src/added-lines.ts';
import {
  SECRET_MASK,
  describePlace,
  makeRedactor,
  maskSpans,
  withRedactor,
  type SecretFinding,
  type SecretScanResult
} from '../../packages/security/src/findings.ts';
import { findingFile, findingLine } from '../../packages/security/src/report.ts';
import { blockingLines, moreLine } from '../../packages/security/src/gate.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const M = '\x01QG-COMMIT ';

function parse(
  text: string,
  opts: ConstructorParameters<typeof AddedLinesParser>[1] = {}
): { lines: AddedLine[]; parser: AddedLinesParser } {
  const lines: AddedLine[] = [];
  const parser = new AddedLinesParser((l) => lines.push(l), opts);
  for (const l of text.split('\n')) parser.feed(l);
  parser.end();
  return { lines, parser };
}

describe('printableRuns', () => {
  it('keeps runs of at least 8 printable bytes and UTF-16 runs in either byte order, in order', () => {
    const b = Buffer.concat([
      Buffer.from([0, 1]),
      Buffer.from('short'),
      Buffer.from([0]),
      Buffer.from('long enough text'),
      Buffer.from([0xff, 0]),
      Buffer.from('wide string', 'utf16le'),
      Buffer.from([0, 0, 0xfe]),
      Buffer.from('big endian!', 'utf16le').swap16(),
      Buffer.from([0xff])
    ]);
    expect(printableRuns(b).runs).toEqual(['long enough text', 'wide string', 'big endian!']);
  });

  it('finds what a pass over every offset at both alignments and byte orders finds, on any bytes', () => {
    // The obvious reading, `strings` and `strings -el`/`-eb` at both alignments, merged as printableRuns merges (pickRuns).
    const isP = (c: number): boolean => (c >= 0x20 && c <= 0x7e) || c === 9;
    const obvious = (
      b: Uint8Array,
      min: number,
      maxChars: number
    ): ReturnType<typeof printableRuns> => {
      const found: { at: number; end: number; text: string }[] = [];
      const n = b.length;
      for (let i = 0; i < n;) {
        let j = i;
        while (j < n && isP(b[j])) j++;
        if (j - i >= min)
          found.push({ at: i, end: j, text: Buffer.from(b.subarray(i, j)).toString('latin1') });
        i = j + 1;
      }
      for (const le of [true, false])
        for (let p = 0; p < 2; p++) {
          let start = -1;
          let codes: number[] = [];
          const flush = (end: number): void => {
            if (codes.length >= min)
              found.push({ at: start, end, text: String.fromCharCode(...codes) });
            codes = [];
            start = -1;
          };
          for (let i = p; i < n; i += 2) {
            const ok = le
              ? isP(b[i]) && (i + 1 === n || b[i + 1] === 0)
              : b[i] === 0 && i + 1 < n && isP(b[i + 1]);
            if (!ok) {
              if (start >= 0) flush(i);
              continue;
            }
            if (start < 0) start = i;
            codes.push(le ? b[i] : b[i + 1]);
            if (codes.length >= 65536) flush(i + 2);
          }
          if (start >= 0) flush(n);
        }
      return pickRuns(found, min, maxChars);
    };
    let seed = 0x9e3779b9;
    const rnd = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % k;
    };
    const pieces = [
      () => Buffer.from([rnd(256)]),
      () => Buffer.alloc(rnd(40)),
      () => Buffer.from('text run ' + 'x'.repeat(rnd(12))),
      () => Buffer.from('wide ' + 'w'.repeat(rnd(12)), 'utf16le'),
      () => Buffer.from('big ' + 'b'.repeat(rnd(12)), 'utf16le').swap16(),
      () => Buffer.from([0, 0x41, 0, 0x42, 0x43, 0]),
      () => Buffer.from('\t\t ~~ ')
    ];
    let compared = 0;
    for (let round = 0; round < 400; round++) {
      const parts: Buffer[] = [];
      for (let i = rnd(30); i > 0; i--) parts.push(pieces[rnd(pieces.length)]());
      if (round % 7 === 0) parts.push(Buffer.from('wide', 'utf16le').subarray(0, 7)); // a printable last byte, no NUL after
      const b = Buffer.concat(parts);
      for (const [min, maxChars] of [
        [8, Infinity],
        [2, Infinity],
        [1, Infinity],
        [4, 30]
      ]) {
        expect(printableRuns(b, min, maxChars)).toEqual(obvious(b, min, maxChars));
        compared++;
      }
    }
    expect(compared).toBe(1600);
    // A run longer than 65,536 characters is cut in pieces at the same places.
    const long = Buffer.from('L'.repeat(70_000), 'utf16le');
    expect(printableRuns(long, 8)).toEqual(obvious(long, 8, Infinity));
    expect(printableRuns(long, 8).runs.map((r) => r.length)).toEqual([65536, 70_000 - 65536]);
  });

  it('stops at maxChars and says it cut', () => {
    const b = Buffer.from('0123456789abcdef\0ABCDEFGHIJKLMNOP');
    expect(printableRuns(b, 8, 20)).toEqual({ runs: ['0123456789abcdef'], cut: true });
    expect(printableRuns(b, 8, 40).cut).toBe(false);
  });
});

describe('UTF-16 detection and decoding', () => {
  const le = (s: string): Buffer => Buffer.from(s, 'utf16le');
  it('takes a BOM on line 1, or NUL-interleaved ASCII, as UTF-16; anything else as binary', () => {
    expect(
      sniffNulContent([{ line: 1, bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), le('x')]) }])
    ).toBe('utf16le');
    expect(sniffNulContent([{ line: 1, bytes: Buffer.from([0xfe, 0xff, 0, 0x41]) }])).toBe(
      'utf16be'
    );
    expect(
      sniffNulContent([{ line: 7, bytes: Buffer.concat([Buffer.from([0]), le('key = value')]) }])
    ).toBe('utf16le');
    // A big-endian line of ASCII reads the same as a little-endian one: either decodes it.
    const be = Buffer.concat([le('key = value').swap16(), Buffer.from([0])]);
    expect(sniffNulContent([{ line: 7, bytes: be }])).toBe('utf16le');
    expect(decodeUtf16Line(be, true)).toBe('key = value');
    // Mostly non-ASCII UTF-16 without a mark is left to the binary path (its ASCII runs are still scanned).
    expect(
      sniffNulContent([
        { line: 7, bytes: Buffer.concat([le('ключ = 1').swap16(), Buffer.from([0])]) }
      ])
    ).toBe('binary');
    expect(
      sniffNulContent([
        { line: 1, bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 1, 2]) }
      ])
    ).toBe('binary');
    // UTF-32's mark is not UTF-16.
    expect(
      sniffNulContent([{ line: 1, bytes: Buffer.from([0xff, 0xfe, 0, 0, 0x41, 0, 0, 0]) }])
    ).toBe('binary');
  });

  it('realigns the lines git splits at 0x0A bytes', () => {
    // "a\nbé\n" little-endian: git's lines are "a\0" and "\0b\0é\0" (newline bytes split).
    expect(decodeUtf16Line(Buffer.from([0xff, 0xfe, 0x61, 0]), true)).toBe('a');
    expect(decodeUtf16Line(Buffer.from([0, 0x62, 0, 0xe9, 0]), true)).toBe('bé');
    expect(decodeUtf16Line(Buffer.from([0, 0x62, 0, 0xe9, 0]), false)).toBe('bé');
  });

  it('the parser decodes a UTF-16 file and reports its lines by git line number', () => {
    const { lines, parser } = parse(
      [
        `${M}${A} d`,
        'diff --git a/u.txt b/u.txt',
        '--- a/u.txt',
        '+++ b/u.txt',
        '@@ -4,0 +5,2 @@',
        '+\0k\0e\0y\0=\0v\0a\0l\0\r\0',
        '+\0z\0z\0'
      ].join('\n')
    );
    expect(lines.map((l) => [l.line, l.text])).toEqual([
      [5, 'key=val\r'],
      [6, 'zz']
    ]);
    expect(parser.stats.utf16Files).toBe(1);
    expect(parser.stats.binaryFiles).toBe(0);
  });
});

describe('AddedLinesParser: messages and paths', () => {
  it('emits message lines (one space of indent removed) and every changed path', () => {
    const paths: ChangedPath[] = [];
    const { lines } = parse(
      [
        `${M}${A} 2024-01-01T00:00:00Z`,
        ' subject',
        ' ',
        ' diff --git a/x b/x',
        ` ${M}${B} not a marker`,
        '',
        '',
        'diff --git a/new.txt b/new.txt',
        'new file mode 100644',
        '--- /dev/null',
        '+++ b/new.txt',
        '@@ -0,0 +1 @@',
        '+hello',
        'diff --git a/empty b/empty',
        'new file mode 100644',
        'index 0000000..e69de29',
        'diff --git a/old.txt b/old.txt',
        '--- a/old.txt',
        '+++ b/old.txt',
        '@@ -1 +1 @@',
        '-a',
        '+b',
        'diff --git a/gone b/gone',
        'deleted file mode 100644',
        '--- a/gone',
        '+++ /dev/null',
        '@@ -1 +0,0 @@',
        '-x'
      ].join('\n'),
      { messages: true, onPath: (p) => paths.push(p) }
    );
    expect(lines.map((l) => [l.source ?? '', l.file, l.line, l.text])).toEqual([
      ['message', '', 1, 'subject'],
      ['message', '', 2, ''],
      ['message', '', 3, 'diff --git a/x b/x'],
      ['message', '', 4, `${M}${B} not a marker`],
      ['', 'new.txt', 1, 'hello'],
      ['', 'old.txt', 1, 'b']
    ]);
    expect(lines[0].block).toBe(lines[3].block);
    expect(lines[4].block).not.toBe(lines[3].block);
    expect(paths.map((p) => [p.file, p.added])).toEqual([
      ['new.txt', true],
      ['empty', true],
      ['old.txt', false]
    ]);
  });

  it('asks git for the messages, indented, only when told to', () => {
    expect(addedLinesArgs(A, B).join(' ')).not.toContain('%B');
    expect(addedLinesArgs(A, B, { messages: true }).join(' ')).toContain('%n%w(0,1,1)%B');
  });
});

describe('masking names', () => {
  it('masks spans, merging overlaps', () => {
    expect(
      maskSpans('abcdefghij', [
        [2, 4],
        [3, 6],
        [8, 9]
      ])
    ).toBe(`ab${SECRET_MASK}gh${SECRET_MASK}j`);
    expect(maskSpans('abc', [])).toBe('abc');
  });

  it('the redactor masks every known secret and is never serialised', () => {
    const redact = makeRedactor(['s3cr3tvalue', 'abc']);
    expect(redact('x s3cr3tvalue y s3cr3tvalue abc')).toBe(`x ${SECRET_MASK} y ${SECRET_MASK} abc`);
    const r: SecretScanResult = withRedactor(
      { engine: 'embedded' as const, commitsScanned: 1, bytesScanned: 1, findings: [], notes: [] },
      redact
    );
    expect(JSON.stringify(r)).not.toContain('s3cr3t');
    expect(r.redact?.('s3cr3tvalue')).toBe(SECRET_MASK);
  });
});

describe('showing findings', () => {
  const base: SecretFinding = {
    engine: 'embedded',
    ruleId: 'github-pat',
    file: 'a.txt',
    line: 3,
    commit: A,
    authorDate: '2024-01-01T00:00:00Z',
    fingerprint: '0123456789abcdef'
  };
  it('names the place of content, file name, commit message and branch name findings', () => {
    const path = { ...base, file: `x-${SECRET_MASK}.txt`, line: 0, source: 'path' as const };
    const msg = { ...base, file: 'commit message', line: 2, source: 'commit-message' as const };
    const ref = { ...base, file: `agent/${SECRET_MASK}`, line: 0, source: 'branch-name' as const };
    expect([base, path, msg, ref].map(describePlace)).toEqual([
      'a.txt:3',
      `file name x-${SECRET_MASK}.txt`,
      'commit message line 2',
      `branch name agent/${SECRET_MASK}`
    ]);
    expect([base, path, msg, ref].map((f) => [findingFile(f), findingLine(f)])).toEqual([
      ['a.txt', 3],
      [`x-${SECRET_MASK}.txt`, 'file name'],
      ['commit message', 2],
      [`agent/${SECRET_MASK}`, 'branch name']
    ]);
  });

  it('cuts the blocking list at 50 lines, the last saying how many more', () => {
    const scan = (n: number) => ({
      engine: 'embedded' as const,
      commitsScanned: 1,
      bytesScanned: 1,
      findings: Array.from({ length: n }, (_, i) => ({ ...base, line: i + 1 })),
      notes: []
    });
    expect(blockingLines(scan(50), undefined)).toMatchObject({ total: 50 });
    expect(blockingLines(scan(50), undefined).lines).toHaveLength(50);
    const cut = blockingLines(scan(62), undefined);
    expect(cut.total).toBe(62);
    expect(cut.lines).toHaveLength(50);
    expect(cut.lines[49]).toBe(moreLine(13));
    expect(cut.lines[49]).toBe('… and 13 more');
  });
});
