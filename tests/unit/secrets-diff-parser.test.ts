import {
  AddedLinesParser,
  addedLinesArgs,
  parseGitHeaderPath,
  unquoteCPath,
  type AddedLine
} from '../../packages/git/src/added-lines.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const M = '\x01QG-COMMIT ';

function parse(text: string): { lines: AddedLine[]; parser: AddedLinesParser } {
  const lines: AddedLine[] = [];
  const parser = new AddedLinesParser((l) => lines.push(l));
  for (const l of text.split('\n')) parser.feed(l);
  parser.end();
  return { lines, parser };
}

describe('unquoteCPath', () => {
  it('decodes escapes, octal UTF-8 bytes and literal unicode', () => {
    expect(unquoteCPath('"a\\tb\\nc\\"d\\\\e"').value).toBe('a\tb\nc"d\\e');
    expect(unquoteCPath('"\\303\\274ber"').value).toBe('über');
    expect(unquoteCPath('"emoji 😀 \\t"').value).toBe('emoji 😀 \t');
    expect(unquoteCPath('"x" rest').end).toBe(2);
  });
});

describe('parseGitHeaderPath', () => {
  it('splits unquoted headers with spaces because both sides are equal', () => {
    expect(parseGitHeaderPath('a/my file b/x.txt b/my file b/x.txt')).toBe('my file b/x.txt');
    expect(parseGitHeaderPath('a/-dash b/-dash')).toBe('-dash');
  });
  it('reads quoted headers', () => {
    expect(parseGitHeaderPath('"a/t\\tab" "b/t\\tab"')).toBe('t\tab');
  });
  it('gives up on headers it cannot split', () => {
    expect(parseGitHeaderPath('a/x b/y')).toBeUndefined();
  });
});

describe('AddedLinesParser', () => {
  it('numbers added lines from the hunk header and ignores removed lines', () => {
    const { lines, parser } = parse(
      [
        `${M}${A} 2024-01-02T03:04:05+00:00`,
        '',
        'diff --git a/f.txt b/f.txt',
        'index 1..2 100644',
        '--- a/f.txt',
        '+++ b/f.txt',
        '@@ -3,2 +3,0 @@ ctx',
        '-gone',
        '-gone too',
        '@@ -10 +8,2 @@',
        '-old',
        '+new 8',
        '+new 9',
        '\\ No newline at end of file'
      ].join('\n')
    );
    expect(lines.map((l) => [l.file, l.line, l.text])).toEqual([
      ['f.txt', 8, 'new 8'],
      ['f.txt', 9, 'new 9']
    ]);
    expect(lines[0].commit).toBe(A);
    expect(lines[0].authorDate).toBe('2024-01-02T03:04:05+00:00');
    expect(lines[0].block).toBe(lines[1].block);
    expect(parser.stats).toMatchObject({ commits: 1, linesAdded: 2, bytesAdded: 12 });
  });

  it('counts commits without a diff', () => {
    const { parser } = parse(`${M}${A} d\n${M}${B} d\n`);
    expect(parser.stats.commits).toBe(2);
  });

  it('treats added lines that look like headers or markers as content', () => {
    const { lines } = parse(
      [
        `${M}${A} d`,
        'diff --git a/x b/x',
        '--- /dev/null',
        '+++ b/x',
        '@@ -0,0 +1,3 @@',
        '+++ b/evil',
        '+diff --git a/y b/y',
        '+@@ -1 +1 @@'
      ].join('\n')
    );
    expect(lines.map((l) => [l.file, l.line, l.text])).toEqual([
      ['x', 1, '++ b/evil'],
      ['x', 2, 'diff --git a/y b/y'],
      ['x', 3, '@@ -1 +1 @@']
    ]);
  });

  it('takes the path from +++, quoted or with the tab git appends to names with spaces', () => {
    const { lines } = parse(
      [
        `${M}${A} d`,
        'diff --git "a/q\\"x" "b/q\\"x"',
        '--- /dev/null',
        '+++ "b/q\\"x"',
        '@@ -0,0 +1 @@',
        '+one',
        'diff --git a/s p b/s p',
        '--- a/s p\t',
        '+++ b/s p\t',
        '@@ -0,0 +1 @@',
        '+two'
      ].join('\n')
    );
    expect(lines.map((l) => l.file)).toEqual(['q"x', 's p']);
  });

  it('reports nothing for deleted files', () => {
    const { lines } = parse(
      [
        `${M}${A} d`,
        'diff --git a/x b/x',
        'deleted file mode 100644',
        '--- a/x',
        '+++ /dev/null',
        '@@ -1,2 +0,0 @@',
        '-a',
        '-+++ b/y'
      ].join('\n')
    );
    expect(lines).toEqual([]);
  });

  it('keeps only lines added relative to every parent in combined diffs', () => {
    const { lines } = parse(
      [
        `${M}${A} d`,
        'diff --cc f.txt',
        'index 1,2..3',
        '--- a/f.txt',
        '+++ b/f.txt',
        '@@@ -5,0 -4,1 +5,3 @@@',
        '+ from second parent',
        ' +from first parent',
        '- removed vs first',
        '++evil',
        'diff --cc "t\\tx"',
        '--- a/t',
        '+++ "b/t\\tx"',
        '@@@@ -1,0 -1,0 -1,0 +1,2 @@@@',
        '+++octopus',
        '++ partial'
      ].join('\n')
    );
    expect(lines.map((l) => [l.file, l.line, l.text])).toEqual([
      ['f.txt', 7, 'evil'],
      ['t\tx', 1, 'octopus']
    ]);
  });

  it('notes binary files, from git or from a NUL in the first added bytes', () => {
    const { lines, parser } = parse(
      [
        `${M}${A} d`,
        'diff --git a/img.png b/img.png',
        'new file mode 100644',
        'Binary files /dev/null and b/img.png differ',
        'diff --git a/raw.bin b/raw.bin',
        '--- /dev/null',
        '+++ b/raw.bin',
        '@@ -0,0 +1,2 @@',
        '+\x89PNG\r',
        '+\0\0\0IHDR',
        'diff --git a/gone.bin b/gone.bin',
        'deleted file mode 100644',
        'Binary files a/gone.bin and /dev/null differ',
        'diff --git a/ok.txt b/ok.txt',
        '--- /dev/null',
        '+++ b/ok.txt',
        '@@ -0,0 +1 @@',
        '+text'
      ].join('\n')
    );
    expect(lines.map((l) => l.file)).toEqual(['ok.txt']);
    expect(parser.stats.binaryFiles).toBe(2);
    expect(parser.stats.binaries).toEqual([
      { commit: A, file: 'img.png', scanned: 'none' },
      { commit: A, file: 'raw.bin', scanned: 'text-runs' }
    ]);
  });

  it('starts a new block when lines stop being consecutive', () => {
    const { lines } = parse(
      [
        `${M}${A} d`,
        'diff --git a/x b/x',
        '--- a/x',
        '+++ b/x',
        '@@ -1,0 +2,2 @@',
        '+a',
        '+b',
        '@@ -5,0 +9 @@',
        '+c'
      ].join('\n')
    );
    expect(lines[0].block).toBe(lines[1].block);
    expect(lines[2].block).not.toBe(lines[1].block);
  });

  it('rejects malformed hunk headers rather than guessing', () => {
    expect(() => parse([`${M}${A} d`, 'diff --git a/x b/x', '@@ nonsense'].join('\n'))).toThrow(
      /hunk header/
    );
  });
});

describe('addedLinesArgs', () => {
  it('pins the options that decide what is parsed and ends options before the range', () => {
    const args = addedLinesArgs(A, B);
    expect(args.slice(-2)).toEqual(['--end-of-options', `${A}..${B}`]);
    for (const flag of [
      '-U0',
      '--cc',
      '--text',
      '--no-ext-diff',
      '--no-textconv',
      '--no-renames',
      '--src-prefix=a/',
      '--dst-prefix=b/'
    ]) {
      expect(args).toContain(flag);
    }
    expect(args).toContain('core.quotePath=false');
  });
});
