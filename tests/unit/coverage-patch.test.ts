import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseUnifiedDiff,
  UnifiedDiffParser,
  type ChangedLines
} from '../../packages/coverage/src/patch/changed-lines.ts';
import {
  findGoModules,
  goModulePath,
  mapReportPaths,
  type PathMapOptions
} from '../../packages/coverage/src/patch/path-map.ts';
import { computePatchCoverage, formatRanges } from '../../packages/coverage/src/patch/patch.ts';
import type {
  CoverageReport,
  FileCoverage,
  LineLookup,
  LineState
} from '../../packages/coverage/src/coverage-report.ts';
import { thrown } from '../helpers/errors.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const lines = (...ls: string[]): string => `${ls.join('\n')}\n`;

/**
 * Real output of the gate's own `git diff` (changed-lines.ts diffArgs) for a
 * commit that edits a binary, deletes a file, retargets a symlink, changes a
 * mode, renames with one edit, ends a file that had no final newline, and
 * touches names with a quote and backslashes, a space, a tab and non-ASCII.
 */
const REAL_DIFF = lines(
  'diff --git a/b.bin b/b.bin',
  'index 87ae6b6..22f6b3b 100644',
  '--- a/b.bin',
  '+++ b/b.bin',
  '@@ -1 +1 @@',
  '-bin\u0000ary',
  '\\ No newline at end of file',
  '+bin\u0000ary2',
  '\\ No newline at end of file',
  'diff --git a/del.py b/del.py',
  'deleted file mode 100644',
  'index 286c5f5..0000000',
  '--- a/del.py',
  '+++ /dev/null',
  '@@ -1 +0,0 @@',
  '-gone',
  'diff --git a/link.py b/link.py',
  'index 62449b9..f32f870 120000',
  '--- a/link.py',
  '+++ b/link.py',
  '@@ -1 +1 @@',
  '-old.py',
  '\\ No newline at end of file',
  '+new.py',
  '\\ No newline at end of file',
  'diff --git a/mode.sh b/mode.sh',
  'old mode 100644',
  'new mode 100755',
  'diff --git a/old.py b/new.py',
  'similarity index 87%',
  'rename from old.py',
  'rename to new.py',
  'index 4083766..803725e 100644',
  '--- a/old.py',
  '+++ b/new.py',
  '@@ -3 +3 @@ line2',
  '-line3',
  '+CHANGED',
  'diff --git a/nonl.txt b/nonl.txt',
  'index 0a207c0..de98044 100644',
  '--- a/nonl.txt',
  '+++ b/nonl.txt',
  '@@ -2 +2,2 @@ a',
  '-b',
  '\\ No newline at end of file',
  '+b',
  '+c',
  'diff --git "a/q\\"uo\\\\\\\\te.py" "b/q\\"uo\\\\\\\\te.py"',
  'index bca70f3..8a08eba 100644',
  '--- "a/q\\"uo\\\\\\\\te.py"',
  '+++ "b/q\\"uo\\\\\\\\te.py"',
  '@@ -1,0 +2 @@ q',
  '+r',
  'diff --git a/sp ace.py b/sp ace.py',
  'index 587be6b..b77b4eb 100644',
  '--- a/sp ace.py\t',
  '+++ b/sp ace.py\t',
  '@@ -1,0 +2 @@ x',
  '+y',
  'diff --git "a/t\\tab.py" "b/t\\tab.py"',
  'new file mode 100644',
  'index 0000000..8cc35a3',
  '--- /dev/null',
  '+++ "b/t\\tab.py"',
  '@@ -0,0 +1 @@',
  '+tab',
  'diff --git "a/\\303\\274n\\303\\257.py" "b/\\303\\274n\\303\\257.py"',
  'index 4ae8ef0..24188bd 100644',
  '--- "a/\\303\\274n\\303\\257.py"',
  '+++ "b/\\303\\274n\\303\\257.py"',
  '@@ -1,0 +2 @@ u',
  '+v'
);

const REAL_EXPECTED = [
  { path: 'b.bin', lines: [1], binary: true },
  { path: 'new.py', lines: [3] },
  { path: 'nonl.txt', lines: [2, 3] },
  { path: 'q"uo\\\\te.py', lines: [2] },
  { path: 'sp ace.py', lines: [2] },
  { path: 't\tab.py', lines: [1] },
  { path: 'ünï.py', lines: [2] }
];

describe('parseUnifiedDiff', () => {
  it('reads real git diff -U0 output: renames, deletions, binaries, links, modes, odd names', () => {
    expect(parseUnifiedDiff(REAL_DIFF)).toEqual(REAL_EXPECTED);
  });

  it('gives the same result whatever the chunks the text arrives in', () => {
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      const p = new UnifiedDiffParser();
      for (let i = 0; i < REAL_DIFF.length; i += size) p.feed(REAL_DIFF.slice(i, i + size));
      expect(p.end()).toEqual(REAL_EXPECTED);
    }
  });

  it('counts only the edited lines of a renamed file, and nothing of a pure rename', () => {
    const text = lines(
      'diff --git a/src/old name.ts b/lib/new name.ts',
      'similarity index 90%',
      'rename from src/old name.ts',
      'rename to lib/new name.ts',
      'index 1111111..2222222 100644',
      '--- a/src/old name.ts\t',
      '+++ b/lib/new name.ts\t',
      '@@ -10,2 +10,3 @@ function f() {',
      '-  a();',
      '-  b();',
      '+  a(1);',
      '+  b(2);',
      '+  c(3);',
      '@@ -40 +41,0 @@',
      '-  gone();',
      '@@ -50,0 +50,2 @@',
      '+  x();',
      '+  y();',
      'diff --git a/same.ts b/moved/same.ts',
      'similarity index 100%',
      'rename from same.ts',
      'rename to moved/same.ts'
    );
    expect(parseUnifiedDiff(text)).toEqual([
      { path: 'lib/new name.ts', lines: [10, 11, 12, 50, 51] }
    ]);
  });

  it('takes a new file whole, and nothing of a deleted file or a deletion-only hunk', () => {
    const text = lines(
      'diff --git a/new.py b/new.py',
      'new file mode 100644',
      'index 0000000..1234567',
      '--- /dev/null',
      '+++ b/new.py',
      '@@ -0,0 +1,3 @@',
      '+a',
      '+b',
      '+c',
      'diff --git a/old.py b/old.py',
      'deleted file mode 100644',
      'index 1234567..0000000',
      '--- a/old.py',
      '+++ /dev/null',
      '@@ -1,2 +0,0 @@',
      '-a',
      '-b',
      'diff --git a/trim.py b/trim.py',
      'index 1234567..7654321 100644',
      '--- a/trim.py',
      '+++ b/trim.py',
      '@@ -5,2 +4,0 @@',
      '-x',
      '-y'
    );
    expect(parseUnifiedDiff(text)).toEqual([{ path: 'new.py', lines: [1, 2, 3] }]);
  });

  it('leaves out "Binary files differ" entries, mode-only changes, submodules and symbolic links', () => {
    const text = lines(
      'diff --git a/img.png b/img.png',
      'new file mode 100644',
      'index 0000000..1234567',
      'Binary files /dev/null and b/img.png differ',
      'diff --git a/run.sh b/run.sh',
      'old mode 100644',
      'new mode 100755',
      'diff --git a/vendor/lib b/vendor/lib',
      'index 20d77ec..e55c04d 160000',
      '--- a/vendor/lib',
      '+++ b/vendor/lib',
      '@@ -1 +1 @@',
      '-Subproject commit 20d77ec997913d32ec139d4808a73879aa779a71',
      '+Subproject commit e55c04d377a36eddc3bbabc5dddc628c3dc02dd2',
      'diff --git a/sub b/sub',
      'new file mode 160000',
      'index 0000000..e55c04d',
      '--- /dev/null',
      '+++ b/sub',
      '@@ -0,0 +1 @@',
      '+Subproject commit e55c04d377a36eddc3bbabc5dddc628c3dc02dd2',
      'diff --git a/link b/link',
      'new file mode 120000',
      'index 0000000..1234567',
      '--- /dev/null',
      '+++ b/link',
      '@@ -0,0 +1 @@',
      '+target.py',
      '\\ No newline at end of file'
    );
    expect(parseUnifiedDiff(text)).toEqual([]);
  });

  it('counts a file that became a regular file in a type change (two entries, one path)', () => {
    const text = lines(
      'diff --git a/x.py b/x.py',
      'deleted file mode 120000',
      'index 1234567..0000000',
      '--- a/x.py',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-y.py',
      '\\ No newline at end of file',
      'diff --git a/x.py b/x.py',
      'new file mode 100644',
      'index 0000000..7654321',
      '--- /dev/null',
      '+++ b/x.py',
      '@@ -0,0 +1,2 @@',
      '+print(1)',
      '+print(2)'
    );
    expect(parseUnifiedDiff(text)).toEqual([{ path: 'x.py', lines: [1, 2] }]);
  });

  it('gives a "No newline at end of file" marker no line number, wherever it is', () => {
    const text = lines(
      'diff --git a/a.txt b/a.txt',
      'index 1..2 100644',
      '--- a/a.txt',
      '+++ b/a.txt',
      '@@ -3 +3,3 @@',
      '-last',
      '\\ No newline at end of file',
      '+last',
      '+more',
      '+end',
      '\\ No newline at end of file'
    );
    expect(parseUnifiedDiff(text)).toEqual([{ path: 'a.txt', lines: [3, 4, 5] }]);
  });

  it('follows context lines (GIT_DIFF_OPTS can force some), blank context included', () => {
    const text = lines(
      'diff --git a/c.py b/c.py',
      'index 1..2 100644',
      '--- a/c.py',
      '+++ b/c.py',
      '@@ -1,4 +1,5 @@',
      ' keep',
      '',
      '-old',
      '+new',
      '+newer',
      ' tail'
    );
    expect(parseUnifiedDiff(text)).toEqual([{ path: 'c.py', lines: [3, 4] }]);
  });

  it('reads content lines that look like headers as content', () => {
    const text = lines(
      'diff --git a/d.txt b/d.txt',
      'index 1..2 100644',
      '--- a/d.txt',
      '+++ b/d.txt',
      '@@ -0,0 +1,4 @@',
      '+diff --git a/x b/x',
      '++++ b/y',
      '+@@ -1 +1 @@',
      '+\\ No newline at end of file'
    );
    expect(parseUnifiedDiff(text)).toEqual([{ path: 'd.txt', lines: [1, 2, 3, 4] }]);
  });

  it('ignores text before the first file (git show) and keeps CR in content', () => {
    const text =
      'commit abc\nAuthor: x\n\n    message\n\n' +
      lines('diff --git a/w.txt b/w.txt', 'index 1..2 100644', '--- a/w.txt', '+++ b/w.txt') +
      '@@ -1 +1,2 @@\r\n-a\r\n+b\r\n+c\r\n';
    // The hunk header line ends in CR: still a header.
    expect(parseUnifiedDiff(text)).toEqual([{ path: 'w.txt', lines: [1, 2] }]);
  });

  it('marks a file whose added text holds a NUL as binary (the --text output of a binary)', () => {
    const text = lines(
      'diff --git a/blob b/blob',
      'new file mode 100644',
      'index 0000000..1234567',
      '--- /dev/null',
      '+++ b/blob',
      '@@ -0,0 +1,2 @@',
      '+\u0089PNG\r',
      '+\u0000\u0000\u0000IHDR'
    );
    expect(parseUnifiedDiff(text)).toEqual([{ path: 'blob', lines: [1, 2], binary: true }]);
  });

  it('copes with a line longer than it keeps (minified code)', () => {
    const huge = 'x'.repeat(200_000);
    const text = lines(
      'diff --git a/m.js b/m.js',
      'index 1..2 100644',
      '--- a/m.js',
      '+++ b/m.js',
      '@@ -1 +1,2 @@',
      `-${huge}`,
      `+${huge}`,
      '+y'
    );
    const p = new UnifiedDiffParser();
    for (let i = 0; i < text.length; i += 65536) p.feed(text.slice(i, i + 65536));
    expect(p.end()).toEqual([{ path: 'm.js', lines: [1, 2] }]);
  });

  it('refuses malformed output in one line naming what is wrong', () => {
    const cases = [
      lines('@@ -1 +1 @@', '+x'),
      lines('diff --git a/x b/x', '--- a/x', '+++ b/x', '@@ -1 +1,2 @@', '+a'),
      lines('diff --git a/x b/x', '--- a/x', '+++ b/x', '@@ -1 +1 @@', '+a', '+b', '+c'),
      lines('diff --git a/x b/x', '--- a/x', '+++ b/x', '@@ -1 +1 @@', '-a', '+b', '+c'),
      lines('diff --git a/x b/x', '--- a/x', '+++ b/x', '@@ nonsense @@'),
      lines('diff --cc x', '@@@ -1 -1 +1 @@@')
    ];
    for (const c of cases) {
      const e = thrown(() => parseUnifiedDiff(c));
      expect(e.message).toMatch(/^unexpected git diff output: /);
      expect(e.message).not.toContain('\n');
    }
  });

  it('parses a 2,000-file diff fast, in one pass', () => {
    const parts: string[] = [];
    for (let f = 0; f < 2000; f++) {
      parts.push(
        `diff --git a/src/m${f}/file ${f}.ts b/src/m${f}/file ${f}.ts\nindex 1..2 100644\n--- a/src/m${f}/file ${f}.ts\t\n+++ b/src/m${f}/file ${f}.ts\t\n`
      );
      for (let h = 0; h < 10; h++) {
        parts.push(`@@ -${h * 20 + 1},2 +${h * 20 + 1},5 @@ fn${h}\n-a\n-b\n`);
        for (let l = 0; l < 5; l++)
          parts.push(`+    const value${l} = compute(${l}, ${h}); // text\n`);
      }
    }
    const text = parts.join('');
    const t0 = performance.now();
    const files = parseUnifiedDiff(text);
    const ms = performance.now() - t0;
    expect(files).toHaveLength(2000);
    expect(files.every((f) => f.lines.length === 50)).toBe(true);
    expect(files[0].lines.slice(0, 6)).toEqual([1, 2, 3, 4, 5, 21]);
    expect(ms).toBeLessThan(1000);
  });
});

describe('formatRanges (diff-cover "Missing lines" style)', () => {
  it('joins adjacent lines into ranges, pieces by a bare comma', () => {
    expect(formatRanges([1, 2, 3, 5, 8, 9])).toBe('1-3,5,8-9');
    expect(formatRanges([1, 2, 5, 6, 100])).toBe('1-2,5-6,100');
    expect(formatRanges([4])).toBe('4');
    expect(formatRanges([])).toBe('');
    expect(formatRanges([9, 3, 2, 3, 1])).toBe('1-3,9');
  });
});

const WS = '/ws/repo';
const opts = (extra: Partial<PathMapOptions> = {}): PathMapOptions => ({ workspace: WS, ...extra });

describe('mapReportPaths', () => {
  it('matches repository paths as they stand, after fileKey and ./', () => {
    const m = mapReportPaths(
      ['src/a.py', './src/b.py', 'src\\c.py', 'src/./d.py', 'src/x/../e.py', 'other.py'],
      ['src/a.py', 'src/b.py', 'src/c.py', 'src/d.py', 'src/e.py'],
      opts()
    );
    expect(Object.fromEntries(m.map)).toEqual({
      'src/a.py': 'src/a.py',
      './src/b.py': 'src/b.py',
      'src\\c.py': 'src/c.py',
      'src/./d.py': 'src/d.py',
      'src/x/../e.py': 'src/e.py'
    });
    expect(m.unmatched).toEqual(['other.py']);
    expect(m.notes).toEqual([]);
  });

  it('is case-sensitive', () => {
    const m = mapReportPaths(['Src/A.py'], ['src/a.py'], opts());
    expect(m.map.size).toBe(0);
  });

  it('takes absolute paths under the workspace, and never suffix-matches one that did not change', () => {
    const m = mapReportPaths(
      ['/ws/repo/src/a.py', '/ws/repo/lib/src/a.py', '/ws/repo/b.py'],
      ['src/a.py', 'x/b.py'],
      opts()
    );
    expect(Object.fromEntries(m.map)).toEqual({ '/ws/repo/src/a.py': 'src/a.py' });
    expect(m.unmatched).toEqual(['/ws/repo/lib/src/a.py', '/ws/repo/b.py']);
  });

  it("takes absolute paths under the workspace's realpath (a symlinked workspace)", () => {
    const real = tempDir('qg-patch-real-');
    const link = join(tempDir('qg-patch-link-'), 'ws');
    symlinkSync(real, link);
    const m = mapReportPaths(
      [join(real, 'src/a.py'), join(link, 'src/b.py')],
      ['src/a.py', 'src/b.py'],
      { workspace: link }
    );
    expect(Object.fromEntries(m.map)).toEqual({
      [join(real, 'src/a.py')]: 'src/a.py',
      [join(link, 'src/b.py')]: 'src/b.py'
    });
  });

  it('matches Windows paths, with a drive letter and backslashes, by their end', () => {
    const m = mapReportPaths(
      ['C:\\a\\proj\\proj\\src\\app\\main.py', 'd:/build/src/app/util.py'],
      ['src/app/main.py', 'src/app/util.py'],
      opts()
    );
    expect(Object.fromEntries(m.map)).toEqual({
      'C:\\a\\proj\\proj\\src\\app\\main.py': 'src/app/main.py',
      'd:/build/src/app/util.py': 'src/app/util.py'
    });
  });

  it('matches a Windows workspace by its own paths', () => {
    const m = mapReportPaths(
      ['D:\\a\\r\\r\\src\\x.py', 'D:\\a\\r\\r\\lib\\src\\x.py'],
      ['src/x.py'],
      { workspace: 'D:\\a\\r\\r' }
    );
    expect(Object.fromEntries(m.map)).toEqual({ 'D:\\a\\r\\r\\src\\x.py': 'src/x.py' });
  });

  it('joins Cobertura source roots: absolute under the workspace, relative, and from another machine', () => {
    const m = mapReportPaths(
      ['pkg/a.py', 'b.py', 'mod/c.py'],
      ['src/pkg/a.py', 'lib/b.py', 'svc/mod/c.py', 'other/mod/c.py'],
      opts({ sources: ['/ws/repo/src', 'lib', '/home/runner/work/x/x/svc'] })
    );
    expect(Object.fromEntries(m.map)).toEqual({
      'pkg/a.py': 'src/pkg/a.py',
      'b.py': 'lib/b.py',
      'mod/c.py': 'svc/mod/c.py'
    });
    expect(m.notes).toEqual([]);
  });

  it('replaces Go module paths by their directory, the longest module first', () => {
    const m = mapReportPaths(
      [
        'github.com/acme/svc/pkg/x.go',
        'github.com/acme/svc/tools/gen/main.go',
        'github.com/acme/svc/cmd/y.go',
        'github.com/acme/svc/v2/z.go'
      ],
      ['pkg/x.go', 'tools/gen/main.go', 'cmd/y.go', 'v2/z.go', 'gen/main.go'],
      opts({
        goModules: [
          { dir: '', module: 'github.com/acme/svc' },
          { dir: 'tools', module: 'github.com/acme/svc/tools' }
        ]
      })
    );
    expect(Object.fromEntries(m.map)).toEqual({
      'github.com/acme/svc/pkg/x.go': 'pkg/x.go',
      // The nested module: tools/ + gen/main.go, not the root module's tools/gen/main.go either way.
      'github.com/acme/svc/tools/gen/main.go': 'tools/gen/main.go',
      'github.com/acme/svc/cmd/y.go': 'cmd/y.go',
      'github.com/acme/svc/v2/z.go': 'v2/z.go'
    });
  });

  it('does not suffix-match a file of a known Go module that did not change', () => {
    const m = mapReportPaths(
      ['github.com/acme/svc/pkg/x.go'],
      ['other/pkg/x.go'],
      opts({ goModules: [{ dir: '', module: 'github.com/acme/svc' }] })
    );
    expect(m.map.size).toBe(0);
  });

  it('matches Go import paths by their end without go.mod data', () => {
    const m = mapReportPaths(['github.com/acme/svc/pkg/x.go'], ['pkg/x.go'], opts());
    expect(Object.fromEntries(m.map)).toEqual({ 'github.com/acme/svc/pkg/x.go': 'pkg/x.go' });
  });

  it('matches JaCoCo package paths and absolute paths from another machine by their end', () => {
    const m = mapReportPaths(
      ['com/acme/Foo.java', '/home/runner/work/x/x/src/a.py', '/tmp/build/src/b.py'],
      ['app/src/main/java/com/acme/Foo.java', 'src/a.py', 'b.py'],
      opts()
    );
    expect(Object.fromEntries(m.map)).toEqual({
      'com/acme/Foo.java': 'app/src/main/java/com/acme/Foo.java',
      '/home/runner/work/x/x/src/a.py': 'src/a.py',
      '/tmp/build/src/b.py': 'b.py'
    });
  });

  it('prefers the longest changed path a report path ends with', () => {
    const m = mapReportPaths(['/ci/w/pkg/util.py'], ['util.py', 'pkg/util.py'], opts());
    expect(Object.fromEntries(m.map)).toEqual({ '/ci/w/pkg/util.py': 'pkg/util.py' });
  });

  it('never guesses: two changed files ending the same way map to nothing, with a note naming them', () => {
    const m = mapReportPaths(
      ['com/acme/Foo.java'],
      ['a/src/main/java/com/acme/Foo.java', 'b/src/main/java/com/acme/Foo.java'],
      opts()
    );
    expect(m.map.size).toBe(0);
    expect(m.unmatched).toEqual(['com/acme/Foo.java']);
    expect(m.notes).toHaveLength(1);
    expect(m.notes[0]).toContain('"com/acme/Foo.java"');
    expect(m.notes[0]).toContain('a/src/main/java/com/acme/Foo.java');
    expect(m.notes[0]).toContain('b/src/main/java/com/acme/Foo.java');
    expect(m.notes[0]).not.toContain('\n');
  });

  it('never guesses: two report paths claiming one changed file equally map to nothing', () => {
    const m = mapReportPaths(['/ci/a/src/x.py', '/ci/b/src/x.py'], ['src/x.py'], opts());
    expect(m.map.size).toBe(0);
    expect(m.notes).toHaveLength(1);
    expect(m.notes[0]).toContain('"src/x.py"');
    expect(m.notes[0]).toContain('/ci/a/src/x.py');
  });

  it('lets the longer of two suffix claims win, and an exact match beat any suffix claim', () => {
    const m = mapReportPaths(
      ['/ci/src/pkg/x.py', '/ci/vendor/x.py', 'lib/y.py', '/elsewhere/lib/y.py'],
      ['src/pkg/x.py', 'pkg/x.py', 'lib/y.py'],
      opts()
    );
    expect(Object.fromEntries(m.map)).toEqual({
      '/ci/src/pkg/x.py': 'src/pkg/x.py',
      'lib/y.py': 'lib/y.py'
    });
  });

  it('refuses a suffix match when the report path names another file of the workspace', () => {
    const ws = tempDir('qg-patch-ws-');
    mkdirSync(join(ws, 'pkg1'));
    writeFileSync(join(ws, 'pkg1/util.py'), '');
    writeFileSync(join(ws, 'helper.py'), '');
    const m = mapReportPaths(
      ['pkg1/util.py', 'helper.py', '/ci/w/pkg1/util.py', 'com/x/Foo.java'],
      ['util.py', 'pkg/helper.py', 'src/com/x/Foo.java'],
      { workspace: ws }
    );
    expect(Object.fromEntries(m.map)).toEqual({ 'com/x/Foo.java': 'src/com/x/Foo.java' });
  });

  it('with every file of the repository known, refuses suffix matches an unchanged file fits', () => {
    const repoFiles = [
      'services/a/app/x.py',
      'services/b/app/x.py',
      'backend/app/y.py',
      'app/y.py',
      'src/main/java/com/acme/Foo.java',
      'README.md'
    ];
    const m = mapReportPaths(
      // A run inside services/a; another machine's path to backend/app/y.py; a JaCoCo path.
      ['app/x.py', '/ci/w/backend/app/y.py', 'com/acme/Foo.java'],
      ['services/b/app/x.py', 'app/y.py', 'src/main/java/com/acme/Foo.java'],
      opts({ repoFiles })
    );
    expect(Object.fromEntries(m.map)).toEqual({
      'com/acme/Foo.java': 'src/main/java/com/acme/Foo.java'
    });
    expect(m.notes).toHaveLength(1);
    expect(m.notes[0]).toContain('"app/x.py" (services/b/app/x.py, services/a/app/x.py)');
    // Without the repository's files the first two look unique (the workspace does not exist here).
    const blind = mapReportPaths(
      ['app/x.py', '/ci/w/backend/app/y.py'],
      ['services/b/app/x.py', 'app/y.py'],
      opts()
    );
    expect(blind.map.size).toBe(2);
  });

  it('applies the prefix map first, and trusts it', () => {
    const m = mapReportPaths(
      ['/build/out/src/a.py', '/build/out/src/b.py', 'src/c.py', 'C:\\agent\\w\\d.py'],
      ['app/src/a.py', 'src/b.py', 'app/src/c.py', 'win/d.py'],
      opts({
        prefixMap: [
          { from: '/build/out', to: 'app' },
          { from: 'src', to: 'app/src' },
          { from: 'C:\\agent\\w\\', to: 'win/' }
        ]
      })
    );
    // /build/out/src/b.py -> app/src/b.py, which did not change: nothing, although src/b.py ends like it.
    expect(Object.fromEntries(m.map)).toEqual({
      '/build/out/src/a.py': 'app/src/a.py',
      'src/c.py': 'app/src/c.py',
      'C:\\agent\\w\\d.py': 'win/d.py'
    });
  });

  it('maps tens of thousands of report paths against thousands of changed files in well under a second', () => {
    const repoPaths: string[] = [];
    for (let i = 0; i < 2000; i++) repoPaths.push(`packages/p${i % 50}/src/dir${i}/file${i}.ts`);
    const report: string[] = [];
    for (let i = 0; i < 40000; i++)
      report.push(
        i % 3 === 0
          ? `${WS}/packages/p${i % 50}/src/dir${i}/file${i}.ts`
          : i % 3 === 1
            ? `packages/p${i % 50}/src/dir${i}/file${i}.ts`
            : `/home/runner/work/r/r/packages/p${i % 50}/src/dir${i}/file${i}.ts`
      );
    const t0 = performance.now();
    const m = mapReportPaths(report, repoPaths, opts());
    const ms = performance.now() - t0;
    expect(m.map.size).toBe(2000);
    expect(ms).toBeLessThan(800);
  });
});

describe('findGoModules', () => {
  it('finds go.mod files, skipping vendor, testdata and hidden directories', async () => {
    const ws = tempDir('qg-patch-go-');
    const put = (p: string, text: string): void => {
      mkdirSync(join(ws, p, '..'), { recursive: true });
      writeFileSync(join(ws, p), text);
    };
    put('go.mod', 'module github.com/acme/svc // the service\n\ngo 1.22\n');
    put('tools/go.mod', '// tools\nmodule "github.com/acme/svc/tools"\n');
    put('vendor/github.com/x/y/go.mod', 'module github.com/x/y\n');
    put('pkg/testdata/go.mod', 'module example.com/t\n');
    put('.hidden/go.mod', 'module example.com/h\n');
    put('broken/go.mod', 'go 1.22\n');
    expect(await findGoModules(ws)).toEqual([
      { dir: '', module: 'github.com/acme/svc' },
      { dir: 'tools', module: 'github.com/acme/svc/tools' }
    ]);
    expect(goModulePath('module `example.com/raw`\n')).toBe('example.com/raw');
  });
});

/** A small LineLookup: lines run, lines not run, everything else not instrumented. */
function lookup(run: number[], notRun: number[]): LineLookup {
  const m = new Map<number, LineState>();
  for (const l of notRun) m.set(l, 1);
  for (const l of run) m.set(l, 2);
  return { state: (line) => m.get(line) ?? 0 };
}

function report(files: FileCoverage[], extra: Partial<CoverageReport> = {}): CoverageReport {
  const covered = files.reduce((s, f) => s + f.covered, 0);
  const total = Math.max(
    1,
    files.reduce((s, f) => s + f.total, 0)
  );
  return {
    format: 'lcov',
    measure: 'lines',
    covered,
    total,
    percent: (covered / total) * 100,
    files,
    notes: [],
    ...extra
  };
}

const changed = (files: ChangedLines['files']): ChangedLines => ({
  base: 'a'.repeat(40),
  head: 'b'.repeat(40),
  files
});

describe('computePatchCoverage', () => {
  it('counts executable changed lines and the ones run', () => {
    const r = report([
      { path: 'src/a.py', covered: 3, total: 5, lines: lookup([1, 2, 3], [4, 5]) },
      { path: `${WS}/src/b.py`, covered: 1, total: 2, lines: lookup([10], [11]) },
      { path: 'src/c.py', covered: 1, total: 1, lines: lookup([1], []) },
      { path: 'src/unchanged.py', covered: 0, total: 3, lines: lookup([], [1, 2, 3]) }
    ]);
    const pc = computePatchCoverage(
      r,
      changed([
        { path: 'README.md', lines: [1, 2] },
        { path: 'logo.png', lines: [1], binary: true },
        { path: 'src/a.py', lines: [2, 4, 5, 6, 7] },
        { path: 'src/b.py', lines: [10, 11, 12] },
        { path: 'src/c.py', lines: [5, 6] }
      ]),
      opts()
    );
    expect(pc).toEqual({
      lines: 5,
      covered: 2,
      percent: 40,
      files: [
        {
          path: 'src/a.py',
          reportPath: 'src/a.py',
          changed: 5,
          lines: 3,
          covered: 1,
          missing: [4, 5]
        },
        {
          path: 'src/b.py',
          reportPath: `${WS}/src/b.py`,
          changed: 3,
          lines: 2,
          covered: 1,
          missing: [11]
        },
        { path: 'src/c.py', reportPath: 'src/c.py', changed: 2, lines: 0, covered: 0, missing: [] }
      ],
      notInReport: ['README.md'],
      notes: []
    });
  });

  it('says null, not 0 or 100, when no changed line is executable', () => {
    const pc = computePatchCoverage(
      report([{ path: 'a.py', covered: 1, total: 1, lines: lookup([1], []) }]),
      changed([
        { path: 'a.py', lines: [3] },
        { path: 'docs/x.md', lines: [1] }
      ]),
      opts()
    );
    expect(pc.percent).toBeNull();
    expect(pc.lines).toBe(0);
    expect(pc.files).toHaveLength(1);
    expect(pc.notInReport).toEqual(['docs/x.md']);
  });

  it('notes files the report has without line data and does not count them', () => {
    const pc = computePatchCoverage(
      report([{ path: 'src/a.ts', covered: 3, total: 4 }], { format: 'istanbul-summary' }),
      changed([{ path: 'src/a.ts', lines: [1, 2] }]),
      opts()
    );
    expect(pc).toMatchObject({ lines: 0, covered: 0, percent: null, files: [], notInReport: [] });
    expect(pc.notes).toHaveLength(1);
    expect(pc.notes[0]).toMatch(
      /istanbul-summary report has no line-by-line data for 1 changed file \(src\/a\.ts\)/
    );
  });

  it('counts a line once, at its best state, when several entries name one file', () => {
    const pc = computePatchCoverage(
      report([
        { path: 'src/a.py', covered: 1, total: 3, lines: lookup([1], [2, 3]) },
        { path: `${WS}/src/a.py`, covered: 1, total: 2, lines: lookup([2], [3]) }
      ]),
      changed([{ path: 'src/a.py', lines: [1, 2, 3, 4] }]),
      opts()
    );
    expect(pc.files).toEqual([
      { path: 'src/a.py', reportPath: 'src/a.py', changed: 4, lines: 3, covered: 2, missing: [3] }
    ]);
  });

  it("uses the report's Cobertura sources and passes mapping notes on", () => {
    const pc = computePatchCoverage(
      report(
        [
          { path: 'pkg/a.py', covered: 1, total: 1, lines: lookup([1], []) },
          { path: 'com/x/Foo.java', covered: 0, total: 1, lines: lookup([], [1]) }
        ],
        { format: 'cobertura', sources: ['/home/runner/work/r/r/src'] }
      ),
      changed([
        { path: 'src/pkg/a.py', lines: [1] },
        { path: 'a/com/x/Foo.java', lines: [1] },
        { path: 'b/com/x/Foo.java', lines: [1] }
      ]),
      opts()
    );
    expect(pc.files.map((f) => f.path)).toEqual(['src/pkg/a.py']);
    expect(pc.notInReport).toEqual(['a/com/x/Foo.java', 'b/com/x/Foo.java']);
    expect(pc.notes).toHaveLength(1);
    expect(pc.notes[0]).toContain('com/x/Foo.java');
  });

  it("uses the changed lines' repository files for the mapping", () => {
    const r = report([{ path: 'app/x.py', covered: 1, total: 1, lines: lookup([1], []) }]);
    const c = changed([{ path: 'services/b/app/x.py', lines: [1] }]);
    expect(computePatchCoverage(r, c, opts()).files).toHaveLength(1);
    c.repoFiles = ['services/a/app/x.py', 'services/b/app/x.py'];
    const pc = computePatchCoverage(r, c, opts());
    expect(pc.files).toEqual([]);
    expect(pc.notInReport).toEqual(['services/b/app/x.py']);
    expect(pc.notes[0]).toContain('"app/x.py"');
  });

  it('handles 2,000 changed files against a report of 40,000 files quickly', () => {
    const files: FileCoverage[] = [];
    const all = lookup(
      Array.from({ length: 100 }, (_, i) => i * 2 + 1),
      Array.from({ length: 100 }, (_, i) => i * 2 + 2)
    );
    for (let i = 0; i < 40000; i++)
      files.push({ path: `${WS}/src/d${i % 97}/f${i}.ts`, covered: 100, total: 200, lines: all });
    const changedFiles = Array.from({ length: 2000 }, (_, i) => ({
      path: `src/d${(i * 20) % 97}/f${i * 20}.ts`,
      lines: Array.from({ length: 50 }, (_, l) => l + 1)
    })).sort((a, b) => (a.path < b.path ? -1 : 1));
    const t0 = performance.now();
    const pc = computePatchCoverage(report(files), changed(changedFiles), opts());
    const ms = performance.now() - t0;
    expect(pc.files).toHaveLength(2000);
    expect(pc.lines).toBe(100_000);
    expect(pc.covered).toBe(50_000);
    expect(ms).toBeLessThan(1500);
  });
});
