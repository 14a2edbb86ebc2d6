import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  forEachAddedLines,
  MAX_RUN_CHARS,
  streamAddedLines,
  type AddedLine,
  type AddedLinesStats
} from '../../packages/git/src/added-lines.ts';
import { GitError } from '../../packages/git/src/git.ts';
import { makeLocalRepo, tickingDate, type LocalRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';

async function collect(
  repo: LocalRepo,
  base: string,
  head: string
): Promise<{ lines: AddedLine[]; stats: AddedLinesStats }> {
  const lines: AddedLine[] = [];
  const stats = await forEachAddedLines({ repoDir: repo.work, base, head }, (batch) => {
    lines.push(...batch);
  });
  return { lines, stats };
}

/** An empty base commit, then one adding big.txt: `line` `times` over. */
function bigAddition(line: string, times: number): { repo: LocalRepo; base: string; head: string } {
  const repo = makeLocalRepo({ date: tickingDate });
  const base = repo.commitAll('base');
  const head = repo.commitAll('big', { 'big.txt': line.repeat(times) });
  return { repo, base, head };
}

function gitProcessesFor(range: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return ps.split('\n').filter((l) => l.includes(range) && !l.includes('ps -eo'));
}

afterAll(cleanupTempDirs);

describe('streamAddedLines on real repositories', () => {
  it('reads unusual file names exactly, without any shell involved', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    repo.write('README', 'base\n');
    const base = repo.commitAll('base');
    const names = [
      'with space.txt',
      'q"uote.txt',
      "single'quote.txt",
      '$(touch pwned).txt',
      '`touch pwned2`.txt',
      '-leading-dash.txt',
      '--end-of-options',
      'ünïcödé 文件 😀.txt',
      'tab\there.txt',
      'new\nline.txt',
      'back\\slash.txt',
      'dir with space/a b.txt'
    ];
    for (const n of names) repo.write(n, `content of ${JSON.stringify(n)}\n`);
    const head = repo.commitAll('odd names');
    const { lines } = await collect(repo, base, head);
    expect(lines.map((l) => l.file).sort()).toEqual([...names].sort());
    for (const l of lines) {
      expect(l.text).toBe(`content of ${JSON.stringify(l.file)}`);
      expect(l.line).toBe(1);
      expect(l.commit).toBe(head);
    }
    expect(existsSync(join(repo.work, 'pwned'))).toBe(false);
    expect(readdirSync(process.cwd())).not.toContain('pwned');
  });

  it('reports new-file line numbers, skips removed lines and counts bytes', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    repo.write('f.txt', ['one', 'two', 'three', 'four'].join('\n') + '\n');
    const base = repo.commitAll('base');
    repo.write('f.txt', ['one', 'TWO', 'three', 'inserted', 'four', 'tail'].join('\n'));
    const head = repo.commitAll('edit');
    const { lines, stats } = await collect(repo, base, head);
    expect(lines.map((l) => [l.line, l.text])).toEqual([
      [2, 'TWO'],
      [4, 'inserted'],
      [6, 'tail']
    ]);
    expect(stats.bytesAdded).toBe('TWO\ninserted\ntail\n'.length);
    expect(stats.linesAdded).toBe(3);
  });

  it('adds nothing for deleted files and counts every commit, empty ones included', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    repo.write('gone.txt', 'delete me\n');
    const base = repo.commitAll('base');
    repo.git('rm', '-q', 'gone.txt');
    repo.commitAll('delete');
    repo.commitAll('empty 1');
    const head = repo.commitAll('empty 2');
    const { lines, stats } = await collect(repo, base, head);
    expect(lines).toEqual([]);
    expect(stats.commits).toBe(3);
    expect(stats.commits).toBe(Number(repo.git('rev-list', '--count', `${base}..${head}`)));
  });

  it('notes binary files, and a .gitattributes "-diff" cannot hide text', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    repo.write('README', 'base\n');
    const base = repo.commitAll('base');
    repo.write('.gitattributes', '* -diff\n*.txt binary\n');
    repo.write('hidden.txt', 'plain text behind an attribute\n');
    repo.write(
      'img.png',
      Buffer.from([
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52
      ])
    );
    const head = repo.commitAll('attrs');
    const { lines, stats } = await collect(repo, base, head);
    expect(lines.map((l) => [l.file, l.text])).toEqual([
      ['.gitattributes', '* -diff'],
      ['.gitattributes', '*.txt binary'],
      ['hidden.txt', 'plain text behind an attribute']
    ]);
    expect(stats.binaryFiles).toBe(1);
    expect(stats.binaries).toEqual([{ commit: head, file: 'img.png', scanned: 'text-runs' }]);
  });

  it('with `runs`, gives the same lines as one record per line, in runs of at most MAX_RUN_CHARS', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    const big = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 90)} é 文 😀`);
    repo.write('edit.txt', 'a\nb\nc\nd\ne\n');
    repo.write('conflict.txt', 'a\nb\nc\n');
    const base = repo.commitAll('base');
    repo.commitAll('several kinds', {
      'big.txt': big.join('\n') + '\n',
      'crlf.txt': 'one\r\ntwo\r\nthree\r\n',
      'no-newline.txt': 'first\nlast without newline',
      'edit.txt': 'a\nB1\nB2\nc\nd\nE\n',
      'plus.txt': '+starts with plus\n++ two\n+\n',
      'bin.dat': Buffer.from([
        1, 2, 0, 3, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 10, 0
      ]),
      'utf16.txt': Buffer.from('\ufeffutf-16 text line\nsecond line\nthird\n', 'utf16le'),
      'utf16-nobom.txt': Buffer.from('plain ascii in utf-16\nanother line\n', 'utf16le'),
      'late-nul.bin': Buffer.concat([
        Buffer.from('text line 1\ntext line 2 \xff\xfe\ntext line 3\n', 'latin1'),
        Buffer.from([0, 0x62, 0x69, 0x6e, 0x61, 0x72, 0x79, 0x2d, 0x72, 0x75, 0x6e, 10])
      ]),
      'latin1.txt': Buffer.from('caf\xe9 au lait\nna\xefve\n', 'latin1')
    });
    repo.git('checkout', '-q', '-b', 'side', base);
    repo.commitAll('side', { 'conflict.txt': 'a\nside\nc\n' });
    repo.git('checkout', '-q', 'main');
    repo.commitAll('main', { 'conflict.txt': 'a\nmain\nc\n' });
    try {
      repo.git('merge', '-q', 'side');
    } catch {
      // resolved by hand below
    }
    repo.write('conflict.txt', 'a\nmain\nside\nevil\nc\n');
    const head = repo.commitAll('merge');
    const read = async (runs: boolean): Promise<{ lines: AddedLine[]; stats: AddedLinesStats }> => {
      const lines: AddedLine[] = [];
      const stats = await forEachAddedLines({ repoDir: repo.work, base, head, runs }, (b) => {
        lines.push(...b);
      });
      return { lines, stats };
    };
    const one = await read(false);
    const runs = await read(true);
    expect(one.lines.some((l) => l.lines !== undefined)).toBe(false);
    const multi = runs.lines.filter((l) => (l.lines ?? 1) > 1);
    expect(multi.length).toBeGreaterThan(10);
    for (const r of multi) expect(r.text.length).toBeLessThan(MAX_RUN_CHARS + 200);
    // Each run, cut back into lines, is exactly the lines read one by one.
    const expanded = runs.lines.flatMap((r) =>
      r.text.split('\n', r.lines ?? 1).length === (r.lines ?? 1)
        ? r.text.split('\n').map((text, i) => ({ ...r, line: r.line + i, text, lines: undefined }))
        : [r]
    );
    const key = (l: AddedLine): unknown[] => [l.commit, l.file, l.line, l.text, l.source ?? ''];
    expect(expanded.map(key)).toEqual(one.lines.map(key));
    // Blocks: lines of one run share the block lines read one by one share.
    const blocksOne = new Map(one.lines.map((l) => [`${l.commit}:${l.file}:${l.line}`, l.block]));
    for (const r of runs.lines) {
      const first = blocksOne.get(`${r.commit}:${r.file}:${r.line}`);
      const last = blocksOne.get(`${r.commit}:${r.file}:${r.line + (r.lines ?? 1) - 1}`);
      expect(last).toBe(first);
    }
    expect(runs.stats).toEqual(one.stats);
    expect(one.stats.utf16Files).toBe(2);
    expect(one.lines.some((l) => l.file === 'late-nul.bin' && l.source === 'binary-text')).toBe(
      true
    );
    expect(one.lines.find((l) => l.text === 'evil')?.line).toBe(4);
  });

  it('blames a merge only for lines new relative to every parent', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    repo.write('f.txt', 'a\nb\nc\n');
    const base = repo.commitAll('base');
    repo.git('checkout', '-q', '-b', 'branch');
    repo.write('f.txt', 'a\nbranch line\nc\n');
    repo.commitAll('branch edit');
    repo.git('checkout', '-q', 'main');
    repo.write('f.txt', 'a\nmain line\nc\n');
    repo.write('main-only.txt', 'added on main\n');
    const mainTip = repo.commitAll('main edit');
    repo.git('checkout', '-q', 'branch');
    try {
      repo.git('merge', '-q', 'main');
    } catch {
      // The conflict is the point: resolve it by hand, with one evil line.
    }
    repo.write('f.txt', 'a\nbranch line\nmain line\nevil line\nc\n');
    repo.git('add', 'f.txt');
    const merge = repo.commitAll('merge main');
    // As the gate sees it: the range starts at the merge-base with main.
    const mergeBase = repo.git('merge-base', mainTip, merge).trim();
    expect(mergeBase).toBe(mainTip);
    const { lines, stats } = await collect(repo, mergeBase, merge);
    // git log lists the newest commit first.
    expect(lines.map((l) => [l.commit, l.file, l.line, l.text])).toEqual([
      [merge, 'f.txt', 4, 'evil line'],
      [repo.sha('branch~1'), 'f.txt', 2, 'branch line']
    ]);
    expect(stats.commits).toBe(2);
    // From the old fork point, main's own commit is in range and is reported as itself.
    const wide = await collect(repo, base, merge);
    expect(wide.lines.filter((l) => l.text === 'main line').map((l) => l.commit)).toEqual([
      mainTip
    ]);
    expect(wide.lines.filter((l) => l.text === 'evil line').map((l) => l.commit)).toEqual([merge]);
  });

  it('is not swayed by repository config that changes diff output', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    repo.write('a b.txt', 'x\n');
    const base = repo.commitAll('base');
    repo.write('a b.txt', 'x\ny\n\n\n\nz\n');
    repo.write('ü.txt', 'u\n');
    const head = repo.commitAll('edit');
    const plain = await collect(repo, base, head);
    for (const [k, v] of [
      ['diff.noprefix', 'true'],
      ['diff.mnemonicPrefix', 'true'],
      ['core.quotePath', 'true'],
      ['diff.interHunkContext', '10'],
      ['diff.context', '5'],
      ['color.ui', 'always'],
      ['color.diff', 'always'],
      ['diff.external', '/bin/false'],
      ['diff.renames', 'copies'],
      ['log.showRoot', 'false'],
      ['diff.relative', 'true']
    ]) {
      repo.git('config', k, v);
    }
    const hostile = await collect(repo, base, head);
    expect(hostile.lines).toEqual(plain.lines);
    expect(plain.lines.map((l) => [l.file, l.line])).toEqual([
      ['a b.txt', 2],
      ['a b.txt', 3],
      ['a b.txt', 4],
      ['a b.txt', 5],
      ['a b.txt', 6],
      ['ü.txt', 1]
    ]);
  });

  it('is not swayed by environment variables that change diff output', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    repo.write('f.txt', 'a\nb\nc\nd\ne\n');
    const base = repo.commitAll('base');
    repo.write('f.txt', 'a\nb\nC\nd\ne\n');
    const head = repo.commitAll('edit');
    const lines: AddedLine[] = [];
    await forEachAddedLines(
      {
        repoDir: repo.work,
        base,
        head,
        env: { ...process.env, GIT_DIFF_OPTS: '--unified=5', GIT_EXTERNAL_DIFF: '/bin/false' }
      },
      (batch) => {
        lines.push(...batch);
      }
    );
    expect(lines.map((l) => [l.line, l.text])).toEqual([[3, 'C']]);
  });

  it('rejects anything but full shas and reports git failures', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    const base = repo.commitAll('base');
    await expect(collect(repo, 'main', base)).rejects.toThrow(GitError);
    await expect(collect(repo, base, '--output=/tmp/x')).rejects.toThrow(/full commit shas/);
    await expect(collect(repo, base, 'f'.repeat(40))).rejects.toThrow(/git log failed/);
  });

  it('kills git when the timeout passes', async () => {
    const { repo, base, head } = bigAddition('line of filler text for the timeout test\n', 400_000);
    const started = Date.now();
    await expect(
      forEachAddedLines(
        { repoDir: repo.work, base, head, timeoutMs: 50 },
        () => new Promise((r) => setTimeout(r, 20))
      )
    ).rejects.toThrow(/timed out after 50 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(gitProcessesFor(`${base}..${head}`)).toEqual([]);
  });

  it('ends git when the consumer stops early', async () => {
    const { repo, base, head } = bigAddition('more filler text for the early stop test\n', 400_000);
    let batches = 0;
    for await (const batch of streamAddedLines({
      repoDir: repo.work,
      base,
      head,
      batchLines: 100
    })) {
      expect(batch.length).toBeGreaterThan(0);
      if (++batches === 2) break;
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(gitProcessesFor(`${base}..${head}`)).toEqual([]);
  });

  it('can be aborted', async () => {
    const { repo, base, head } = bigAddition('abort filler\n', 300_000);
    const ac = new AbortController();
    await expect(
      forEachAddedLines(
        { repoDir: repo.work, base, head, signal: ac.signal, batchLines: 100 },
        () => ac.abort()
      )
    ).rejects.toThrow(/aborted/);
  });
});
