import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Git } from '../../packages/git/src/git.ts';
import {
  changedLines,
  diffArgs,
  type ChangedFile
} from '../../packages/coverage/src/patch/changed-lines.ts';
import { GIT_ENV, git, makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { rejection } from '../helpers/errors.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

/** A clone of `feature` `depth` commits deep, with origin/main fetched `mainDepth` deep. */
function shallowClone(repo: TestRepo, depth: number, mainDepth: number): string {
  const dir = join(tempDir('qg-shallow-'), 'w');
  git(
    repo.root,
    'clone',
    '-q',
    '--depth',
    String(depth),
    '--branch',
    'feature',
    `file://${repo.origin}`,
    dir
  );
  git(dir, 'fetch', '-q', '--depth', String(mainDepth), 'origin', 'main:refs/remotes/origin/main');
  return dir;
}

const ENV = { ...process.env, ...GIT_ENV };
const PY = '/usr/bin/python3';
const HAS_DIFF_COVER =
  existsSync(PY) && spawnSync(PY, ['-c', 'import diff_cover.diff_reporter']).status === 0;

const numbered = (n: number, label = 'line'): string =>
  Array.from({ length: n }, (_, i) => `${label} ${i + 1}`).join('\n') + '\n';

/**
 * diff-cover's own changed lines for `base...HEAD` (its default), straight
 * from its GitDiffReporter: path -> lines, files without lines included.
 */
function diffCoverLines(work: string, base: string): Record<string, number[]> {
  const script = [
    'import json, sys',
    'from diff_cover.git_diff import GitDiffTool',
    'from diff_cover.diff_reporter import GitDiffReporter',
    'r = GitDiffReporter(sys.argv[1], git_diff=GitDiffTool("...", False), ignore_staged=True, ignore_unstaged=True)',
    'print(json.dumps({p: r.lines_changed(p) for p in r.src_paths_changed()}))'
  ].join('\n');
  return JSON.parse(
    execFileSync(PY, ['-c', script, base], { cwd: work, env: ENV, encoding: 'utf8' })
  ) as Record<string, number[]>;
}

/** Ours, as diff-cover would show it: text files with lines only. */
const asDict = (files: ChangedFile[]): Record<string, number[]> =>
  Object.fromEntries(files.filter((f) => !f.binary).map((f) => [f.path, f.lines]));

const withLines = (d: Record<string, number[]>): Record<string, number[]> =>
  Object.fromEntries(Object.entries(d).filter(([, ls]) => ls.length > 0));

/**
 * main with a few files; `feature` off it changes, inserts, deletes lines,
 * renames a file with one edit, deletes one, adds one and a binary, edits a
 * name with spaces and flips a mode; then main moves on (edits some of the
 * same files elsewhere, adds its own). HEAD on feature.
 */
function branchAfterMainMoved(): { repo: TestRepo; forkPoint: string } {
  const repo = makeRepo();
  repo.commitAll('base', {
    'src/app.py': numbered(20),
    'src/util.py': numbered(10, 'util'),
    'src/old_name.py': numbered(30, 'mod'),
    'src/gone.py': numbered(3, 'gone'),
    'dir with space/mod.py': numbered(4, 'sp'),
    'docs/guide.md': '# guide\n'
  });
  const forkPoint = repo.sha('HEAD');
  repo.git('checkout', '-q', '-b', 'feature');
  const app = numbered(20).split('\n');
  app[4] = 'five';
  app[5] = 'six';
  app.splice(10, 0, 'new a', 'new b', 'new c');
  app.splice(17, 1); // the old line 15
  const renamed = numbered(30, 'mod').split('\n');
  renamed[11] = 'edited twelve';
  repo.commitAll('feature 1', {
    'src/app.py': app.join('\n'),
    'src/old_name.py': undefined,
    'src/new_name.py': renamed.join('\n'),
    'src/gone.py': undefined
  });
  repo.commitAll('feature 2', {
    'src/new.py': numbered(5, 'new'),
    'assets/logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0a, 0x1a, 0, 0x0a]),
    'dir with space/mod.py': 'sp 1\nsp two\nsp 3\nsp 4\n'
  });
  chmodSync(join(repo.work, 'src/util.py'), 0o755);
  repo.commitAll('mode');
  // main moves on: its own lines must not show up as the branch's.
  repo.git('checkout', '-q', 'main');
  repo.commitAll('main 1', {
    'src/util.py': numbered(10, 'util').replace('util 3', 'util three'),
    'src/main_only.py': numbered(7, 'main'),
    'src/app.py': numbered(20).replace('line 1\n', 'line one\n')
  });
  repo.git('checkout', '-q', 'feature');
  return { repo, forkPoint };
}

const EXPECTED: ChangedFile[] = [
  { path: 'assets/logo.png', lines: [1, 2], binary: true },
  { path: 'dir with space/mod.py', lines: [2] },
  { path: 'src/app.py', lines: [5, 6, 11, 12, 13] },
  { path: 'src/new.py', lines: [1, 2, 3, 4, 5] },
  { path: 'src/new_name.py', lines: [12] }
];

describe('changedLines on real repositories', () => {
  it("gives exactly the branch's own lines against the merge-base, not main's newer commits", async () => {
    const { repo, forkPoint } = branchAfterMainMoved();
    const r = await changedLines(new Git(repo.work, { env: ENV }), 'main', 'feature');
    expect(r.base).toBe(forkPoint);
    expect(r.head).toBe(repo.sha('feature'));
    expect(r.files).toEqual(EXPECTED);
    expect(r.notes).toBeUndefined();
    // Every file of head's tree, for the path mapping; deleted and main-only files are not in it.
    expect([...(r.repoFiles ?? [])].sort()).toEqual(
      [
        'README.md',
        'assets/logo.png',
        'dir with space/mod.py',
        'docs/guide.md',
        'src/app.py',
        'src/new.py',
        'src/new_name.py',
        'src/util.py'
      ].sort()
    );
  });

  (HAS_DIFF_COVER ? it : it.skip)('agrees with diff-cover 7.4 on the same repository', async () => {
    const { repo } = branchAfterMainMoved();
    const ours = await changedLines(new Git(repo.work, { env: ENV }), 'main', 'HEAD');
    const theirs = diffCoverLines(repo.work, 'main');
    expect(asDict(ours.files)).toEqual(withLines(theirs));
    // diff-cover also lists, without lines, what changed no line: deleted, mode-only, binary.
    expect(Object.keys(theirs).sort()).toEqual(
      [
        'assets/logo.png',
        'dir with space/mod.py',
        'src/app.py',
        'src/gone.py',
        'src/new.py',
        'src/new_name.py',
        'src/util.py'
      ].sort()
    );
    expect(theirs['src/gone.py']).toEqual([]);
    expect(theirs['src/util.py']).toEqual([]);
  });

  (HAS_DIFF_COVER ? it : it.skip)(
    'agrees with diff-cover after the branch merged main in, and differs only where diff-cover miscounts',
    async () => {
      const { repo } = branchAfterMainMoved();
      repo.git('merge', '-q', '--no-edit', 'main');
      repo.commitAll('after merge', {
        'src/main_only.py': numbered(7, 'main').replace('main 4\n', 'main 4\nbranch line\n'),
        'src/util.py': numbered(10, 'util').replace('util 3', 'util three') + 'util 11\n'
      });
      const ours = await changedLines(new Git(repo.work, { env: ENV }), 'main', 'HEAD');
      expect(ours.base).toBe(repo.sha('main'));
      expect(asDict(ours.files)).toEqual({
        'dir with space/mod.py': [2],
        'src/app.py': [5, 6, 11, 12, 13],
        'src/main_only.py': [5],
        'src/new.py': [1, 2, 3, 4, 5],
        'src/new_name.py': [12],
        'src/util.py': [11]
      });
      expect(asDict(ours.files)).toEqual(withLines(diffCoverLines(repo.work, 'main')));

      // A file that lost its final newline: diff-cover numbers the marker as a line.
      repo.write('tail.py', 'a\nb');
      repo.git('add', 'tail.py');
      repo.git('commit', '-q', '-m', 'tail');
      repo.git('branch', '-f', 'tail-base');
      repo.commitAll('tail grows', { 'tail.py': 'a\nb\nc\n' });
      const tail = await changedLines(new Git(repo.work, { env: ENV }), 'tail-base', 'HEAD');
      expect(tail.files).toEqual([{ path: 'tail.py', lines: [2, 3] }]);
      expect(diffCoverLines(repo.work, 'tail-base')['tail.py']).toEqual([3, 4]);
    }
  );

  it('decodes names with quotes, backslashes, tabs and non-ASCII', async () => {
    const repo = makeRepo();
    repo.git('checkout', '-q', '-b', 'feature');
    const names = ['q"uo\\te.py', 't\tab.py', 'ünïcödé/файл.py', 'trailing space .py', '-dash.py'];
    repo.commitAll('odd names', Object.fromEntries(names.map((n) => [n, 'x = 1\ny = 2\n'])));
    const r = await changedLines(new Git(repo.work, { env: ENV }), 'main', 'feature');
    expect(r.files).toEqual([...names].sort().map((path) => ({ path, lines: [1, 2] })));
    expect([...(r.repoFiles ?? [])].sort()).toEqual(['README.md', ...names].sort());
  });

  it('fails in one line when a shallow clone lacks the merge-base', async () => {
    const { repo } = branchAfterMainMoved();
    repo.git('push', '-q', 'origin', 'main', 'feature');
    const dir = shallowClone(repo, 1, 1);
    const e = await rejection(changedLines(new Git(dir, { env: ENV }), 'origin/main', 'HEAD'));
    expect(e.message).toMatch(/no merge-base of "origin\/main" and "HEAD" in this shallow clone/);
    expect(e.message).toMatch(/fetch-depth: 0/);
    expect(e.message).not.toContain('\n');
  });

  it('works in a shallow clone deep enough to hold the merge-base', async () => {
    const { repo, forkPoint } = branchAfterMainMoved();
    repo.git('push', '-q', 'origin', 'main', 'feature');
    const dir = shallowClone(repo, 5, 3);
    expect(existsSync(join(dir, '.git/shallow'))).toBe(true);
    const r = await changedLines(new Git(dir, { env: ENV }), 'origin/main', 'HEAD');
    expect(r.base).toBe(forkPoint);
    expect(r.files).toEqual(EXPECTED);
  });

  it('fails in one line for unrelated histories and for a base that does not exist', async () => {
    const repo = makeRepo();
    repo.git('checkout', '-q', '--orphan', 'island');
    repo.commitAll('island', { 'x.py': 'x\n' });
    const g = new Git(repo.work, { env: ENV });
    const e = await rejection(changedLines(g, 'main', 'island'));
    expect(e.message).toBe(
      '"main" and "island" have no common history (no merge-base): patch coverage needs a base the branch grew from'
    );
    const e2 = await rejection(changedLines(g, 'origin/nope', 'island'));
    expect(e2.message).toMatch(
      /^base revision "origin\/nope" is not a commit in .* \(is it fetched\?\)$/
    );
    const e3 = await rejection(changedLines(g, '--output=/tmp/x', 'island'));
    expect(e3.message).toMatch(/^base revision "--output=\/tmp\/x" is not a commit/);
  });

  it('is not changed by hostile repository config, attributes or environment, and runs nothing', async () => {
    const { repo } = branchAfterMainMoved();
    const g = new Git(repo.work, { env: ENV });
    const clean = await changedLines(g, 'main', 'feature');

    const traps = tempDir('qg-traps-');
    const trap = (name: string): string => {
      const p = join(traps, `${name}.sh`);
      writeFileSync(p, `#!/bin/sh\ntouch "${traps}/ran-${name}"\ncat "$1" 2>/dev/null\n`);
      chmodSync(p, 0o755);
      return p;
    };
    // Attributes the branch itself commits, and the config a test run could write.
    repo.commitAll('attributes', {
      '.gitattributes': '*.py diff=evil\n*.md -diff\n* whitespace=-trailing\n'
    });
    repo.write('.git/info/attributes', 'src/* binary\n');
    const set = (k: string, v: string): void => {
      repo.git('config', k, v);
    };
    set('diff.evil.textconv', trap('textconv'));
    set('diff.evil.command', trap('command'));
    set('diff.evil.binary', 'true');
    set('diff.external', trap('external'));
    set('diff.noprefix', 'true');
    set('diff.mnemonicPrefix', 'true');
    set('diff.algorithm', 'patience');
    set('diff.renames', 'false');
    set('diff.renameLimit', '1');
    set('diff.context', '7');
    set('diff.interHunkContext', '30');
    set('diff.indentHeuristic', 'false');
    set('diff.suppressBlankEmpty', 'true');
    set('diff.submodule', 'log');
    set('diff.relative', 'true');
    set('diff.ignoreSubmodules', 'none');
    set('color.ui', 'always');
    set('color.diff', 'always');
    set('core.quotePath', 'false');
    set('core.pager', trap('pager'));
    // A replacement that would swap the feature tip for main's.
    repo.git('replace', repo.sha('feature'), repo.sha('main'));
    const hostile = new Git(repo.work, {
      env: {
        ...ENV,
        GIT_EXTERNAL_DIFF: trap('env-external'),
        GIT_DIFF_OPTS: '--unified=5',
        GIT_PAGER: trap('env-pager')
      }
    });
    // The branch gained .gitattributes (one line): everything else is as before.
    const r = await changedLines(hostile, 'main', repo.sha('feature'));
    expect(r.files).toEqual([{ path: '.gitattributes', lines: [1, 2, 3] }, ...clean.files]);
    expect(readdirSync(traps).filter((f) => f.startsWith('ran-'))).toEqual([]);
  });

  it('passes every option as an argument, shas last, with no shell in between', () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    const args = diffArgs(a, b);
    expect(args.slice(-4)).toEqual(['--end-of-options', a, b, '--']);
    for (const flag of ['--no-ext-diff', '--no-textconv', '--text', '--no-color', '--unified=0'])
      expect(args).toContain(flag);
  });

  it('handles a 2,000-file change and a large binary quickly', async () => {
    const repo = makeRepo();
    repo.git('checkout', '-q', '-b', 'big');
    const files: Record<string, string | Buffer> = {};
    for (let i = 0; i < 2000; i++) files[`pkg${i % 40}/file ${i}.py`] = numbered(25, `f${i}`);
    const blob = Buffer.alloc(4 << 20);
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7919) % 251;
    files['data/blob.bin'] = blob;
    repo.commitAll('big', files);
    const t0 = performance.now();
    const r = await changedLines(new Git(repo.work, { env: ENV }), 'main', 'big');
    const ms = performance.now() - t0;
    expect(r.files).toHaveLength(2001);
    expect(r.files.filter((f) => !f.binary).every((f) => f.lines.length === 25)).toBe(true);
    expect(r.files.find((f) => f.path === 'data/blob.bin')?.binary).toBe(true);
    expect(ms).toBeLessThan(10_000);
  });
});
