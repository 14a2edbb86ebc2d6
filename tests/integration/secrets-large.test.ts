import { execFileSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { scanRangeEmbedded } from '../../packages/security/src/secrets/scan.ts';
import { randomString } from '../../packages/security/src/secrets/token-samples.ts';
import { buildBenchRepo } from '../../scripts/bench-secrets.ts';
import { git, makeLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

/** A repository with one commit, README.md, on main. */
function repoWithBase(): { repo: LocalRepo; dir: string; base: string } {
  const repo = makeLocalRepo();
  return { repo, dir: repo.work, base: repo.commitAll('base', { 'README.md': 'base\n' }) };
}

afterAll(cleanupTempDirs);

describe('embedded secrets scan at scale', () => {
  it('scans a 50 MB single-file addition in bounded time, within a 64 MB heap', () => {
    const { repo, dir, base } = repoWithBase();
    const file = join(dir, 'data/dump.sql');
    execFileSync('mkdir', ['-p', join(dir, 'data')]);
    writeFileSync(file, '');
    const plantAt = 500_000;
    const token = `ghp_${randomString(36)}`;
    let line = 0;
    let size = 0;
    while (size < 50 * 1024 * 1024) {
      const rows: string[] = [];
      for (let i = 0; i < 10_000; i++) {
        line++;
        const row =
          line === plantAt
            ? `INSERT INTO tokens VALUES ('${token}');`
            : `INSERT INTO events VALUES (${line}, 'the quick brown fox jumps over the lazy dog', ${(line * 2654435761) % 4294967296});`;
        rows.push(row);
        size += row.length + 1;
      }
      appendFileSync(file, `${rows.join('\n')}\n`);
    }
    const head = repo.commitAll('dump');

    // In a separate process with a small heap: holding the diff, or one
    // object per line, would not fit.
    const script = join(tempDir('qg-secrets-script-'), 'scan.ts');
    writeFileSync(
      script,
      [
        `import { scanRangeEmbedded } from ${JSON.stringify(resolve('packages/security/src/secrets/scan.ts'))};`,
        'const [dir, base, head] = process.argv.slice(2);',
        'const started = Date.now();',
        'const r = await scanRangeEmbedded({ repoDir: dir, base, head, timeoutMs: 110_000 });',
        'process.stdout.write(JSON.stringify({ ms: Date.now() - started, result: r }));'
      ].join('\n')
    );
    const out = execFileSync(
      process.execPath,
      ['--max-old-space-size=64', script, dir, base, head],
      {
        encoding: 'utf8',
        timeout: 115_000
      }
    );
    const { ms, result } = JSON.parse(out) as {
      ms: number;
      result: Awaited<ReturnType<typeof scanRangeEmbedded>>;
    };
    expect(result.bytesScanned).toBeGreaterThanOrEqual(50 * 1024 * 1024);
    expect(result.findings.map((f) => [f.ruleId, f.file, f.line, f.commit])).toEqual([
      ['github-pat', 'data/dump.sql', plantAt, head]
    ]);
    expect(ms).toBeLessThan(60_000);
    expect(out).not.toContain(token.slice(0, 8));
  }, 180_000);

  it('scans a minified file whose single line is 8 MB', async () => {
    const { repo, dir, base } = repoWithBase();
    const key = `AIza${randomString(35)}`;
    writeFileSync(
      join(dir, 'bundle.min.js'),
      `var a="${'x'.repeat(8 * 1024 * 1024)}";var k="${key}";\n`
    );
    const head = repo.commitAll('bundle');
    const result = await scanRangeEmbedded({ repoDir: dir, base, head });
    expect(result.findings.map((f) => [f.ruleId, f.file, f.line])).toEqual([
      ['gcp-api-key', 'bundle.min.js', 1]
    ]);
  }, 60_000);

  it('scans 2,000 commits, every one of them, and finds every planted token', async () => {
    const dir = tempDir('qg-secrets-many-');
    const { base, head } = await buildBenchRepo(dir, 2000, 4 * 1024 * 1024, 25);
    const result = await scanRangeEmbedded({ repoDir: dir, base, head });
    expect(result.commitsScanned).toBe(2000);
    expect(Number(git(dir, 'rev-list', '--count', `${base}..${head}`))).toBe(2000);
    // The filler's `handler(token, 'timeout-4f0d2')` lines are what gitleaks' generic-api-key
    // flags too (a value of entropy above 3.5 after "token,"): the planted tokens are the rest.
    const specific = result.findings.filter((f) => f.ruleId !== 'generic-api-key');
    expect(new Set(specific.map((f) => f.commit)).size).toBe(25);
  }, 120_000);
});
