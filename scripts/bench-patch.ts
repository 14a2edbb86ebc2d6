// Benchmark of patch coverage (the coverage gate's changed lines against the
// report): a git repository whose branch changes 2,000 files (edits spread
// through each file, and new lines at the end), and a ~100 MB LCOV
// tracefile whose paths are absolute paths of another machine
// (/home/runner/work/app/app/src/…: found by suffix), covering those files
// among tens of thousands of others. In a child process of its own: the
// report read (what the gate does anyway), the changed lines (git diff -U0
// of merge-base..head, parsed) and the mapping and count. Beside it, the
// yardstick: `git diff -U0` alone, the floor under any tool that asks git.
// Target: patch coverage (changed lines + mapping and count) under 2 s.
//
//   node scripts/bench-patch.ts [--mb 100] [--files 2000] [--keep]

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCoverageReport } from '../packages/coverage/src/formats/index.ts';
import { changedLines } from '../packages/coverage/src/patch/changed-lines.ts';
import { computePatchCoverage } from '../packages/coverage/src/patch/patch.ts';
import { Git } from '../packages/git/src/git.ts';
import { generateLcov } from './bench-coverage.ts';
import { git, gitEnv, stringArg } from './bench-support.ts';

/** The path generateLcov gives file n (module and sub folders from n). */
const pathOf = (n: number): string => `src/module${n % 97}/sub${n % 13}/file${n}.ts`;

const LINES = 200;

function body(n: number, edited: boolean): string {
  const out: string[] = [];
  for (let l = 1; l <= LINES; l++) {
    const changed = edited && l % 17 === 0;
    out.push(`export const v${l} = ${changed ? `${n} + ${l} * 2` : `${l}`};`);
  }
  if (edited) for (let l = 0; l < 20; l++) out.push(`export const added${l} = ${l};`);
  return `${out.join('\n')}\n`;
}

function makeRepo(dir: string, files: number): void {
  git(dir, 'init', '-q', '-b', 'main');
  for (let n = 0; n < files; n++) {
    const p = join(dir, pathOf(n));
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, body(n, false));
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'main');
  git(dir, 'checkout', '-q', '-b', 'branch');
  for (let n = 0; n < files; n++) writeFileSync(join(dir, pathOf(n)), body(n, true));
  git(dir, 'commit', '-q', '-am', 'the branch changes every file');
}

interface ChildFigures {
  readMs: number;
  changedMs: number;
  computeMs: number;
  maxRssMb: number;
  result: string;
}

async function child(repo: string, lcov: string): Promise<void> {
  let t = performance.now();
  const report = await readCoverageReport(lcov, 'lcov');
  const readMs = performance.now() - t;
  t = performance.now();
  const changed = await changedLines(
    new Git(repo, { env: { ...process.env, ...gitEnv } }),
    'main',
    'HEAD'
  );
  const changedMs = performance.now() - t;
  t = performance.now();
  const patch = computePatchCoverage(report, changed, { workspace: repo });
  const computeMs = performance.now() - t;
  const figures: ChildFigures = {
    readMs: Math.round(readMs),
    changedMs: Math.round(changedMs),
    computeMs: Math.round(computeMs),
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    result: `${changed.files.length} changed files, ${patch.files.length} in the report, ${patch.covered}/${patch.lines} changed executable lines covered`
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

export async function benchPatch(opts: { mb?: number; files?: number; keep?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'qg-bench-patch-'));
  try {
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    makeRepo(repo, opts.files ?? 2000);
    const lcov = join(dir, 'lcov.info');
    await generateLcov(lcov, (opts.mb ?? 100) * 1024 * 1024);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', repo, lcov], {
      encoding: 'utf8',
      maxBuffer: 1 << 20
    });
    if (r.status !== 0) throw new Error(`child failed: ${r.stderr.trim().split('\n').pop()}`);
    const f = JSON.parse(r.stdout.trim().split('\n').pop() as string) as ChildFigures;
    const t = performance.now();
    git(repo, 'diff', '--no-color', '--no-ext-diff', '-U0', 'main', 'HEAD');
    const gitDiffMs = Math.round(performance.now() - t);
    return { dir, lcovMb: Math.round(statSync(lcov).size / 1048576), gitDiffMs, ...f };
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = stringArg;
  if (arg('child') !== undefined) {
    await child(arg('child') as string, process.argv[process.argv.indexOf('--child') + 2]);
  } else {
    const f = await benchPatch({
      mb: Number(arg('mb') ?? 100),
      files: Number(arg('files') ?? 2000),
      keep: process.argv.includes('--keep')
    });
    const patchMs = f.changedMs + f.computeMs;
    console.log(`patch coverage: ${f.result}; LCOV ${f.lcovMb} MB`);
    console.log(
      [
        ['', 'ms'],
        ['patch coverage (changed lines + mapping and count)', patchMs],
        ['  changed lines (git diff -U0, parsed)', f.changedMs],
        ['  mapping and count', f.computeMs],
        ['yardstick: git diff -U0 alone', f.gitDiffMs],
        ['reading the report (the gate does it anyway)', f.readMs]
      ]
        .map(([a, b]) => `  ${String(a).padEnd(54)} ${String(b).padStart(7)}`)
        .join('\n')
    );
    console.log(
      `  target: patch coverage under 2000 ms: ${patchMs < 2000 ? 'met' : 'NOT met'} (${patchMs} ms, ${(patchMs / Math.max(1, f.gitDiffMs)).toFixed(2)}x git diff); child peak memory ${f.maxRssMb} MB`
    );
  }
}
