// Issue 10, throughput: the range's `git log -p` output is cut into segments
// that start at a commit or a file (LogSegmenter), and each is parsed and
// scanned by itself, by a worker from its bytes (segment-scan.ts). The
// findings must be those of one pass over the range as the stream parser
// reads it, whatever the segment size, the chunk size and the workers, on a
// history made of what makes a parser slip: merges, renames, deletions,
// CRLF, a last line without a newline, Latin-1 bytes, emoji, UTF-16, a
// binary file, a key spanning lines of a file larger than a segment, secrets
// in commit messages, an allowlisted path.

import { execFileSync } from 'node:child_process';
import type { SecretFinding } from '../../packages/security/src/findings.ts';
import {
  addedLinesArgs,
  AddedLinesParser,
  LineFeeder,
  LogSegmenter,
  splitNulFiles,
  streamAddedLines,
  type AddedLine,
  type AddedLinesStats
} from '../../packages/git/src/added-lines.ts';
import { allowlistFrom, EMPTY_ALLOWLIST } from '../../packages/security/src/secrets/allowlist.ts';
import { defaultRules } from '../../packages/security/src/secrets/ruleset/config.ts';
import { detectDecoded } from '../../packages/security/src/secrets/ruleset/decoded-detect.ts';
import { scanRangeEmbedded } from '../../packages/security/src/secrets/scan.ts';
import {
  collect,
  findingKey,
  scanSegment,
  sourceContext
} from '../../packages/security/src/secrets/segment-scan.ts';
import { tokenSamples } from '../../packages/security/src/secrets/token-samples.ts';
import {
  VirtualSourceBuilder,
  type ChunkLimits
} from '../../packages/security/src/secrets/virtual-source.ts';
import { makeLocalRepo, tickingDate, type LocalRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const where = (f: SecretFinding): string =>
  `${f.source ?? 'content'} ${f.ruleId} ${f.file}:${f.line} ${f.commit.slice(0, 8)}${f.example ? ' example' : ''}`;

/** A GitHub token (fake) that names a file of the history. */
const NAMED_TOKEN = `ghp_${'q7Zk3VbN8xLm2PwR5tYh9GjD4sFc6aEu1oIy'}`;

/** A history that holds every shape the parser must survive, with secrets throughout. */
function tortureRepo(): { repo: LocalRepo; base: string; head: string } {
  const repo = makeLocalRepo({ date: tickingDate });
  repo.write('README.md', '# app\n');
  repo.write('old/name.txt', 'kept\n');
  repo.write('.quality-gates/secrets-allowlist', 'path:fixtures/**\n');
  const base = repo.commitAll('base');
  const samples = tokenSamples();
  const pick = (i: number): string[] => samples[i % samples.length].lines;
  const filler = (n: number, tag: string): string[] =>
    Array.from({ length: n }, (_, i) => `const ${tag}${i} = compute(${i}); // padding line ${i}`);
  repo.commitAll(`add sources\n\nthe token is ${pick(3).join(' ')}\n`, {
    'src/a.js': [...filler(40, 'a'), ...pick(0), ...filler(40, 'b')].join('\n') + '\n',
    'src/crlf.env': [...pick(1), 'NAME=value', ...pick(2)].join('\r\n') + '\r\n',
    'src/no-eol.txt': [...filler(3, 'c'), ...pick(4)].join('\n'),
    'src/latin1.txt': Buffer.concat([
      Buffer.from('caf\xe9 = "na\xefve"\n', 'latin1'),
      Buffer.from(`${pick(5).join('\n')}\n`, 'utf8'),
      Buffer.from('\xff\xfe\xfd end\n', 'latin1')
    ]),
    'src/emoji.md': `# 🎉 release ✓\n${pick(6).join('\n')} 🔑\nçà 😀 ${pick(7).join(' ')}\n`,
    'src/utf16.txt': Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`line one\n${pick(8).join('\n')}\n`, 'utf16le')
    ]),
    'assets/blob.bin': Buffer.concat([
      Buffer.from([0, 1, 2, 3, 0, 0, 7]),
      Buffer.from(`\n${pick(9).join('\n')}\n`, 'latin1'),
      Buffer.alloc(64, 0)
    ]),
    'fixtures/copy.js': [...pick(10), ...pick(11)].join('\n') + '\n',
    // A secret in a file's name (and one in its content, reported under the masked name).
    [`keys/${NAMED_TOKEN}.txt`]: `${pick(15).join('\n')}\n`
  });
  // A file larger than a segment, a private key across its middle.
  const key = samples.find((s) => s.lines.length > 3 && s.lines[0].includes('BEGIN'));
  repo.commitAll('big file', {
    'big/data.js': [...filler(800, 'd'), ...(key?.lines ?? pick(12)), ...filler(800, 'e')].join(
      '\n'
    )
  });
  // A rename, a deletion, an edit.
  repo.commitAll('rename and delete', {
    'old/name.txt': undefined,
    'new/name.txt': 'kept\n',
    'src/no-eol.txt': undefined,
    'src/a.js': [...filler(40, 'a'), ...pick(13), ...filler(41, 'b')].join('\n') + '\n'
  });
  // A merge whose side adds secrets of its own, and a resolution that adds one more.
  const main = repo.git('rev-parse', '--abbrev-ref', 'HEAD').trim();
  repo.git('checkout', '-q', '-b', 'side');
  repo.commitAll('side work', { 'side/s.py': `${pick(14).join('\n')}\nx = 1\n` });
  repo.git('checkout', '-q', main);
  repo.commitAll('main work', { 'src/main.go': `package main\n// ${pick(15).join(' ')}\n` });
  repo.git('merge', '-q', '--no-ff', '--no-commit', 'side');
  repo.write('side/s.py', `${pick(14).join('\n')}\nx = 2\n${pick(16).join('\n')}\n`);
  repo.git('add', '-A');
  repo.git('commit', '-q', '-m', `merge side\n\n${pick(17).join('\n')}\n`);
  const head = repo.sha('HEAD');
  return { repo, base, head };
}

/** The findings of one pass over the range as the stream parser reads it (the engine before segments). */
async function reference(
  repoDir: string,
  base: string,
  head: string,
  limits: ChunkLimits
): Promise<{ findings: SecretFinding[]; stats: AddedLinesStats }> {
  const rules = defaultRules();
  const allowlist = allowlistFrom(
    base,
    '.quality-gates/secrets-allowlist',
    { type: 'commit' },
    {
      type: 'blob',
      content: Buffer.from('path:fixtures/**\n')
    }
  ).allowlist;
  const out = new Map<string, SecretFinding>();
  const builder = new VirtualSourceBuilder(limits);
  const scan = (src: ReturnType<VirtualSourceBuilder['finish']>): void => {
    if (src)
      collect(src, detectDecoded(rules.ruleset, src.text, sourceContext(src)), allowlist, out);
  };
  const it = streamAddedLines({ repoDir, base, head, messages: true, runs: true });
  for (;;) {
    const r = await it.next();
    if (r.done) {
      scan(builder.finish());
      return { findings: [...out.values()], stats: r.value };
    }
    for (const rec of r.value) {
      if (rec.source !== 'message' && rec.file.startsWith('fixtures/')) continue;
      scan(builder.add(rec));
    }
  }
}

describe('segments of the log, scanned one by one', () => {
  it('find what one pass over the range finds, whatever the segment, the chunk and the workers', async () => {
    const { repo, base, head } = tortureRepo();
    const limits = { targetChars: 4096, overlapChars: 1024 };
    const ref = await reference(repo.work, base, head, limits);
    const key = (f: SecretFinding): string => where(f);
    // The gate masks the secret in the file's name wherever the name is shown.
    const expected = ref.findings.map((f) => key(f).replace(NAMED_TOKEN, '[REDACTED]')).sort();
    expect(expected.length).toBeGreaterThan(15);
    expect(expected.some((f) => f.startsWith('commit-message'))).toBe(true);
    expect(expected.some((f) => f.includes('big/data.js'))).toBe(true);
    expect(expected.some((f) => f.includes('src/utf16.txt'))).toBe(true);
    expect(expected.some((f) => f.includes('assets/blob.bin'))).toBe(true);
    expect(expected.some((f) => f.includes('src/crlf.env'))).toBe(true);
    expect(expected.some((f) => f.includes('fixtures/'))).toBe(false);
    let firstAll: string[] | undefined;
    for (const [segmentBytes, workers, helpAfterBytes] of [
      [1 << 20, 0, undefined],
      [512, 0, undefined],
      [2048, 2, undefined],
      [1, 1, undefined],
      // This thread scanning segments too, as it does in a long range while the worker is busy.
      [256, 1, 0]
    ] as const) {
      const got = await scanRangeEmbedded({
        repoDir: repo.work,
        base,
        head,
        timeoutMs: 120_000,
        limits,
        segmentBytes,
        workers,
        helpAfterBytes
      });
      const content = got.findings
        .filter((f) => f.source === undefined || f.source === 'commit-message')
        .map(key)
        .sort();
      expect({ segmentBytes, workers, content }).toEqual({
        segmentBytes,
        workers,
        content: expected
      });
      // Names are scanned segment by segment as results come in: the same findings, the same masking.
      const all = got.findings.map(key);
      firstAll ??= all;
      expect({ segmentBytes, workers, all }).toEqual({ segmentBytes, workers, all: firstAll });
      expect(all.some((f) => f.startsWith('path github-pat keys/'))).toBe(true);
      expect(all.join('\n')).not.toContain(NAMED_TOKEN);
      expect(got.commitsScanned).toBe(ref.stats.commits);
    }
  }, 180_000);
});

/** The torture history's `git log -p` output, as the scan asks for it. */
function tortureLog(): Buffer {
  const { repo, base, head } = tortureRepo();
  return execFileSync('git', addedLinesArgs(base, head, { messages: true }), {
    cwd: repo.work,
    maxBuffer: 1 << 30
  });
}

describe('LineFeeder', () => {
  it('gives the parser the same lines whatever the chunks git writes: UTF-8 split across chunks, binary and UTF-16 lines as bytes', () => {
    const out = tortureLog();
    const parse = (size: number): { recs: AddedLine[]; stats: AddedLinesStats } => {
      const recs: AddedLine[] = [];
      const parser = new AddedLinesParser((r) => recs.push({ ...r }), {
        messages: true,
        onPath: () => undefined
      });
      const feeder = new LineFeeder(parser, true);
      for (let i = 0; i < out.length; i += size) feeder.write(out.subarray(i, i + size));
      feeder.end();
      return { recs, stats: parser.stats };
    };
    const whole = parse(out.length);
    expect(whole.stats.binaryFiles).toBeGreaterThan(0);
    expect(whole.stats.utf16Files).toBeGreaterThan(0);
    expect(whole.recs.some((r) => r.source === 'binary-text')).toBe(true);
    expect(whole.recs.some((r) => r.text.includes('🎉'))).toBe(true);
    expect(whole.recs.some((r) => r.text.includes('\ufffd'))).toBe(true);
    // Lines of one record per run or per line: compare the lines themselves.
    const lines = (recs: AddedLine[]): string[] =>
      recs.flatMap((r) =>
        r.text.split('\n').map((t, i) => `${r.commit.slice(0, 7)} ${r.file}:${r.line + i} ${t}`)
      );
    for (const size of [1, 3, 7, 64, 4096])
      expect({ size, lines: lines(parse(size).recs) }).toEqual({ size, lines: lines(whole.recs) });
  }, 60_000);
});

describe('splitNulFiles', () => {
  it('reads only the files holding a NUL the slow way: the same findings, the text files in pieces of their own', () => {
    const out = tortureLog();
    const cutter = new LogSegmenter(1 << 30);
    const [whole] = [...cutter.push(out), cutter.end()!].filter(Boolean);
    expect(whole.nul).toBe(true);
    const pieces = splitNulFiles(whole);
    // Nothing lost or moved, pieces alternate, each holds a NUL exactly when it says so.
    expect(Buffer.concat(pieces.map((p) => p.bytes)).equals(whole.bytes)).toBe(true);
    expect(pieces.map((p) => p.nul)).toEqual(pieces.map((p) => p.bytes.includes(0)));
    for (let i = 1; i < pieces.length; i++) expect(pieces[i].nul).not.toBe(pieces[i - 1].nul);
    expect(pieces.filter((p) => p.nul).length).toBeGreaterThan(0);
    expect(pieces.filter((p) => !p.nul).length).toBeGreaterThan(1);
    // The binary and UTF-16 files alone take the slow path, not the text around them.
    const slow = pieces.filter((p) => p.nul).reduce((n, p) => n + p.bytes.length, 0);
    expect(slow).toBeLessThan(whole.bytes.length / 4);
    // A piece to hand to another thread has memory of its own.
    for (const p of pieces.filter((q) => !q.nul))
      expect([p.bytes.byteOffset, p.bytes.buffer.byteLength]).toEqual([0, p.bytes.length]);
    // Each piece parsed alone (from its commit) finds what the whole segment finds.
    const rules = defaultRules();
    const keys = (r: { findings: SecretFinding[] }[]): string[] => [
      ...new Set(r.flatMap((x) => x.findings.map(findingKey)))
    ];
    const budget = { used: 0 };
    const parts = pieces.map((p) =>
      scanSegment(p, rules.ruleset, EMPTY_ALLOWLIST, {}, p.nul ? budget : undefined)
    );
    const one = scanSegment(whole, rules.ruleset, EMPTY_ALLOWLIST, {}, { used: 0 });
    expect(keys(parts).sort()).toEqual(keys([one]).sort());
    expect(parts.reduce((n, r) => n + r.stats.linesAdded, 0)).toBe(one.stats.linesAdded);
    expect(parts.flatMap((r) => r.paths)).toEqual(one.paths);
    // A segment without a NUL is left as it is.
    const text = pieces.find((p) => !p.nul)!;
    expect(splitNulFiles(text)).toEqual([text]);
  }, 60_000);
});

describe('LogSegmenter', () => {
  const log = [
    '\x01QG-COMMIT aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 2026-01-01T00:00:00Z',
    ' subject',
    'diff --git a/x b/x',
    '+++ b/x',
    '@@ -0,0 +1,2 @@',
    '+diff --git looks like a header but is added text',
    '+\x01QG-COMMIT bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb also added text',
    'diff --cc y',
    '@@@ -1,1 -1,1 +1,1 @@@',
    '++merged',
    '\x01QG-COMMIT cccccccccccccccccccccccccccccccccccccccc 2026-01-02T00:00:00Z',
    ' second',
    'diff --git a/z b/z',
    '+++ b/z',
    '@@ -0,0 +1 @@',
    '+z\0z',
    ''
  ].join('\n');
  const bytes = Buffer.from(log, 'latin1');

  it.each([1, 3, 16, 17, 64, 4096])(
    'cuts only before a commit marker or a diff header, whatever the chunks (%i bytes)',
    (size) => {
      const seg = new LogSegmenter(1);
      const out = [];
      for (let i = 0; i < bytes.length; i += size)
        out.push(...seg.push(bytes.subarray(i, Math.min(bytes.length, i + size))));
      const last = seg.end();
      if (last) out.push(last);
      expect(Buffer.concat(out.map((s) => s.bytes)).equals(bytes)).toBe(true);
      expect(out.map((s) => s.bytes.toString('latin1').split('\n')[0])).toEqual([
        '\x01QG-COMMIT aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 2026-01-01T00:00:00Z',
        'diff --git a/x b/x',
        'diff --cc y',
        '\x01QG-COMMIT cccccccccccccccccccccccccccccccccccccccc 2026-01-02T00:00:00Z',
        'diff --git a/z b/z'
      ]);
      expect(out.map((s) => s.commit.slice(0, 1))).toEqual(['', 'a', 'a', 'a', 'c']);
      expect(out.map((s) => s.nul)).toEqual([false, false, false, false, true]);
    }
  );

  it('keeps a segment whole until it is at least its size, and a file larger than that in one', () => {
    const seg = new LogSegmenter(bytes.length - 10);
    expect(seg.push(bytes)).toHaveLength(0);
    const last = seg.end()!;
    expect(last.bytes.equals(bytes)).toBe(true);
    const small = new LogSegmenter(100);
    const parts = [...small.push(bytes), small.end()!];
    expect(parts.every((p, i) => i === parts.length - 1 || p.bytes.length >= 100)).toBe(true);
  });
});
