// Detection in worker threads (detect-pool.ts, run here from source: the
// workers load detect-worker.ts): segments of git's output parsed and
// scanned there give the same findings as on one thread, the
// repository's own rules in the workers too, and a worker that fails or is
// stopped never leaves a job looking clean.

import { existsSync } from 'node:fs';
import type { SecretFinding } from '../../packages/security/src/findings.ts';
import { execFileSync } from 'node:child_process';
import {
  addedLinesArgs,
  LogSegmenter,
  type LogSegment
} from '../../packages/git/src/added-lines.ts';
import { EMPTY_ALLOWLIST } from '../../packages/security/src/secrets/allowlist.ts';
import { DetectPool, workerScript } from '../../packages/security/src/secrets/detect-pool.ts';
import { scanSegment } from '../../packages/security/src/secrets/segment-scan.ts';
import { defaultRules } from '../../packages/security/src/secrets/ruleset/config.ts';
import { scanRangeEmbedded } from '../../packages/security/src/secrets/scan.ts';
import { tokenSamples } from '../../packages/security/src/secrets/token-samples.ts';
import { makeLocalRepo, tickingDate, type LocalRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const where = (f: SecretFinding): string =>
  `${f.ruleId} ${f.file}:${f.line} ${f.commit.slice(0, 8)}${f.example ? ' example' : ''}`;

const SMALL = { targetChars: 2048, overlapChars: 512 };

/** A repository whose one commit adds `n` token samples, each in a file of its own. */
function samplesRepo(n: number): { repo: LocalRepo; base: string; head: string } {
  const repo = makeLocalRepo({ date: tickingDate });
  const base = repo.commitAll('base');
  const files: Record<string, string> = {};
  for (const [i, s] of tokenSamples().slice(0, n).entries())
    files[`f${i}.env`] = ['# header', ...s.lines, 'tail'].join('\n') + '\n';
  return { repo, base, head: repo.commitAll('samples', files) };
}

/** The range's `git log -p` output (as the scan asks for it) cut into segments of about `size` bytes. */
function logSegments(
  r: { repo: LocalRepo; base: string; head: string },
  size: number
): LogSegment[] {
  const out = execFileSync('git', addedLinesArgs(r.base, r.head, { messages: true }), {
    cwd: r.repo.work,
    maxBuffer: 1 << 30
  });
  const cutter = new LogSegmenter(size);
  const segments = cutter.push(out);
  const last = cutter.end();
  if (last) segments.push(last);
  return segments;
}

describe('secrets detection in worker threads', () => {
  it('has a worker script beside the pool when run from source', () => {
    const script = workerScript();
    expect(script).toMatch(/detect-worker\.ts$/);
    expect(existsSync(script!)).toBe(true);
  });

  it('finds in a range of many chunks what one thread finds, the repository rules and paths included', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    // The target branch's rules: the defaults, one rule of its own that only holds under src/, and
    // a path allowlist; the workers must compile these, not the defaults alone.
    repo.write(
      '.gitleaks.toml',
      [
        '[extend]',
        'useDefault = true',
        '[[rules]]',
        'id = "house-token"',
        "regex = '''house_[a-z0-9]{20}'''",
        'keywords = ["house_"]',
        "path = '''^src/'''",
        '[[allowlists]]',
        "paths = ['''^fixtures/''']"
      ].join('\n') + '\n'
    );
    const base = repo.commitAll('base');
    const samples = tokenSamples().slice(0, 40);
    const filler = Array.from({ length: 60 }, (_, i) => `const value${i} = compute(${i});`);
    samples.forEach((s, i) => {
      const lines = [...filler.slice(0, i % 50), ...s.lines, ...filler];
      repo.write(`src/module-${i}.js`, lines.join('\n') + '\n');
      repo.write(`fixtures/copy-${i}.js`, lines.join('\n') + '\n');
      if (i % 8 === 0) repo.commitAll(`batch ${i}`);
    });
    repo.write('src/house.js', `const t = "house_${'a1b2c3d4e5'.repeat(2)}";\n`);
    repo.write('docs/house.md', `house_${'a1b2c3d4e5'.repeat(2)}\n`);
    const head = repo.commitAll('last');
    const run = (workers: number) =>
      scanRangeEmbedded({
        repoDir: repo.work,
        base,
        head,
        timeoutMs: 120_000,
        workers,
        // Small chunks: the range is dozens of them, cut inside files too; small segments, so the workers start.
        limits: { targetChars: 4096, overlapChars: 1024 },
        segmentBytes: 4096
      });
    const alone = await run(0);
    const pooled = await run(2);
    expect(alone.findings.length).toBeGreaterThan(40);
    expect(pooled.findings.map(where)).toEqual(alone.findings.map(where));
    expect(alone.findings.filter((f) => f.ruleId === 'house-token').map((f) => f.file)).toEqual([
      'src/house.js'
    ]);
    expect(alone.findings.some((f) => f.file.startsWith('fixtures/'))).toBe(false);
  }, 180_000);

  it('answers each segment with what this thread finds in it', async () => {
    const rules = defaultRules();
    const setup = { allowlist: EMPTY_ALLOWLIST, options: { limits: SMALL } };
    const segments = logSegments(samplesRepo(30), 256);
    expect(segments.length).toBeGreaterThan(10);
    // The pool takes each segment's memory: this thread reads a copy first.
    const here = segments.map((seg) =>
      scanSegment({ ...seg, bytes: Buffer.from(seg.bytes) }, rules.ruleset, EMPTY_ALLOWLIST, {
        limits: SMALL
      })
    );
    const pool = DetectPool.start(rules, setup, 2)!;
    try {
      const got = await Promise.all(segments.map((seg) => pool.scanSegment(seg)));
      expect(got).toEqual(here);
      expect(got.flatMap((r) => r.findings).length).toBeGreaterThan(20);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('rejects every job when a worker cannot compile its rules, so a scan fails instead of passing', async () => {
    // A ruleset whose regex only this thread's check would have refused: the worker fails on it.
    const broken = {
      ...defaultRules(),
      source: {
        defaults: false as const,
        rules: [{ id: 'broken', description: 'x', regex: '(unclosed' }],
        globals: []
      }
    };
    const pool = DetectPool.start(broken, { allowlist: EMPTY_ALLOWLIST, options: {} }, 1)!;
    try {
      await expect(pool.scanSegment(logSegments(samplesRepo(1), 1 << 20)[0])).rejects.toThrow(
        /broken|regex|Invalid/i
      );
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('stops: a job still running is rejected, not dropped', async () => {
    const pool = DetectPool.start(defaultRules(), { allowlist: EMPTY_ALLOWLIST, options: {} }, 1)!;
    const repo = makeLocalRepo({ date: tickingDate });
    const base = repo.commitAll('base');
    repo.commitAll('slow', { 'k.env': `api_key = "${'A1b2C3d4'.repeat(200_000)}"\n` });
    const job = pool.scanSegment(logSegments({ repo, base, head: repo.sha('HEAD') }, 1 << 20)[0]);
    await pool.close();
    await expect(job).rejects.toThrow(/stopped/);
  }, 60_000);

  it('ends a worker still at a slow chunk when the scan timeout passes: FAIL, not a wait', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    const base = repo.commitAll('base');
    // 11 MB of lines a backtracking regex works hard on (kubernetes-secret-yaml's bounded gaps),
    // in chunks of 64 KiB: seconds of work, against a timeout of 300 ms.
    const slow = ('kind: secret data: '.repeat(3000) + '\n').repeat(200);
    repo.commitAll('slow', { 'manifests/all.yaml': slow });
    const head = repo.sha('HEAD');
    const started = Date.now();
    await expect(
      scanRangeEmbedded({
        repoDir: repo.work,
        base,
        head,
        timeoutMs: 300,
        workers: 1,
        limits: { targetChars: 64 * 1024, overlapChars: 1024 }
      })
    ).rejects.toThrow(/timed out/);
    expect(Date.now() - started).toBeLessThan(8000);
  }, 60_000);
});
