// npm run bench (first part): prints figures, asserts nothing. Security gate:
//   1. action cold start: process start to exit of dist/security-gate on a
//      clean 1-commit range (target < 0.5 s on Node 24);
//   2. the whole gate (the bundle, as a runner runs it) on a generated range
//      of 2,000 commits adding 20 MB (target < 10 s), with scan throughput,
//      beside secretlint's own CLI over the same content as a whole tree.
//
//   node scripts/bench-security.ts [--runs 10] [--commits 2000] [--mb 20]

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBenchRepo } from './bench-secrets.ts';
import { git, median, numberArg, output, ROOT, runBundle } from './bench-support.ts';

const root = ROOT;
const arg = numberArg;

const work = mkdtempSync(join(tmpdir(), 'qg-bench-'));
try {
  process.stdout.write(`node ${process.version}, ${process.platform}/${process.arch}\n\n`);

  // 1. Cold start on a clean 1-commit range.
  const repo = join(work, 'small');
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'README.md'), '# small\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'base');
  git(repo, 'checkout', '-q', '-b', 'feature');
  writeFileSync(join(repo, 'app.js'), 'console.log("hi");\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'one');
  const runs = arg('runs', 10);
  const bare: number[] = [];
  const cold: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    spawnSync(process.execPath, ['-e', '']);
    bare.push(performance.now() - t);
    const r = runBundle('security-gate', repo, {
      'base-ref': 'main',
      'report-dir': join(work, 'r1')
    });
    if (r.status !== 0) throw new Error(`cold-start run failed: ${output(r.outputs, 'summary')}`);
    cold.push(r.ms);
    t = 0;
  }
  process.stdout.write(
    `security-gate cold start (1-commit range, ${runs} runs): median ${median(cold).toFixed(0)} ms, min ${Math.min(...cold).toFixed(0)} ms` +
      ` (bare node start: median ${median(bare).toFixed(0)} ms; target < 500 ms)\n`
  );

  // 2. The whole gate on 2,000 commits adding 20 MB.
  const commits = arg('commits', 2000);
  const mb = arg('mb', 20);
  const big = join(work, 'big');
  mkdirSync(big);
  let t = performance.now();
  const { head, plantedSecrets } = await buildBenchRepo(big, commits, mb * 1024 * 1024, 20);
  const buildMs = performance.now() - t;
  git(big, 'checkout', '-q', '-f', head);
  const r = runBundle('security-gate', big, { 'base-ref': 'main', 'report-dir': join(work, 'r2') });
  const scanned = Number(output(r.outputs, 'commits-scanned'));
  const report = readFileSync(join(work, 'r2', '17-security-report.md'), 'utf8');
  const bytes = Number(/^bytes_scanned: (\d+)$/m.exec(report)?.[1] ?? 0);
  process.stdout.write(
    `security-gate on ${scanned} commits adding ${(bytes / 1048576).toFixed(1)} MB: ${(r.ms / 1000).toFixed(2)} s wall` +
      ` (${(bytes / 1048576 / (r.ms / 1000)).toFixed(1)} MB/s; verdict ${output(r.outputs, 'status')}, ${output(r.outputs, 'secrets-found')} of ${plantedSecrets.length} planted secrets found; repo built in ${(buildMs / 1000).toFixed(1)} s; target < 10 s)\n`
  );

  // Same content as a whole tree, through secretlint's own CLI and its recommended preset.
  const tree = join(work, 'tree');
  mkdirSync(tree);
  execFileSync('sh', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'sh', big, head, tree]);
  writeFileSync(
    join(tree, '.secretlintrc.json'),
    JSON.stringify({ rules: [{ id: '@secretlint/secretlint-rule-preset-recommend' }] })
  );
  const cli = join(root, 'node_modules', 'secretlint', 'bin', 'secretlint.js');
  t = performance.now();
  const s = spawnSync(
    process.execPath,
    [
      cli,
      '**/*',
      '--maskSecrets',
      '--format',
      'json',
      '--secretlintrc',
      join(tree, '.secretlintrc.json')
    ],
    {
      cwd: tree,
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      env: { ...process.env, NODE_PATH: join(root, 'node_modules') }
    }
  );
  const cliMs = performance.now() - t;
  process.stdout.write(
    `secretlint CLI, same content as a whole tree: ${(cliMs / 1000).toFixed(2)} s (exit ${s.status}); gate / secretlint = ${(r.ms / cliMs).toFixed(2)}` +
      ' (the gate also reads 2,000 commits of history, runs 57 extra rules and writes the report)\n'
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
