// Benchmarks the merge gate; prints figures, asserts nothing.
//   1. merge-gate overhead without the test command (INPUT_TEST-COMMAND=true):
//      dist/merge-gate run as a runner runs it, on a repository with 10,000
//      commits on main and a 20-commit task branch a few commits behind main
//      (rebase + push), and the no-op case (the branch already contains main)
//      (target < 2 s);
//   2. lease acquire + release on the `file` backend, each its own withDb as
//      the gate does, median over 500 cycles (target < 10 ms);
//   3. draining a queue of N ready branches, each behind main because the
//      previous one landed: merge gate (rebase, re-test `sleep S`), landing
//      (fast-forward main on the origin from a separate admin clone), then
//      dist/lease-release; total wall time against the bound N x S. Then a
//      second pass over N branches that already contain main (re-test
//      skipped) beside the same pass with the test command run per branch.
//
//   node scripts/bench-merge.ts [--commits 10000] [--behind 3] [--branch-commits 20]
//                               [--runs 5] [--cycles 500] [--branches 20] [--test-seconds 5]

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBackend } from '../packages/store/src/backends/file.ts';
import { releaseLease, tryAcquireLease } from '../packages/store/src/lease.ts';
import {
  commitsStream,
  fastImport,
  git as gitRun,
  median,
  numberArg,
  output,
  percentile,
  runBundle,
  secs,
  benchRepoShape
} from './bench-support.ts';

const arg = numberArg;
const REPO = 'bench/repo';
const git = (cwd: string, ...args: string[]): string => gitRun(cwd, ...args).trim();
const pct = percentile;

let cloneSeq = 0;
/** A runner's checkout: a full clone of the origin with HEAD on `branch`. */
function checkout(work: string, origin: string, branch: string): string {
  const ws = join(work, `ws-${++cloneSeq}-${branch}`);
  git(work, 'clone', '-q', '--no-checkout', origin, ws);
  git(ws, 'checkout', '-q', '-b', branch, `origin/${branch}`);
  return ws;
}

async function releaseDirect(statePath: string, branch: string): Promise<void> {
  const b = new FileBackend({ path: statePath });
  await b.withDb('write', (db) => releaseLease(db, { repo: REPO, branch }, new Date()));
}

const work = mkdtempSync(join(tmpdir(), 'qg-bench-merge-'));
try {
  process.stdout.write(`node ${process.version}, ${process.platform}/${process.arch}\n\n`);
  const { commits, behind, branchCommits, runs } = benchRepoShape();
  const nBranches = arg('branches', 20);
  const testSeconds = arg('test-seconds', 5);

  // The origin: `commits` commits on main, built with fast-import; the task
  // branches fork `behind` commits before the tip (or at the tip for no-op).
  const origin = join(work, 'origin.git');
  mkdirSync(origin);
  git(origin, 'init', '-q', '--bare', '-b', 'main');
  let t = performance.now();
  const fork = commits - behind;
  const t0 = 1_700_000_000;
  // Main carries marks so the branches can fork from any of its commits.
  const streams = [''];
  for (let k = 1; k <= commits; k++) {
    const msg = `main ${k}\n`;
    const body = `main line ${k}\n`;
    streams[0] +=
      `commit refs/heads/main\nmark :${k}\ncommitter bench <bench@example.invalid> ${t0 + k} +0000\n` +
      `data ${Buffer.byteLength(msg)}\n${msg}M 100644 inline src/m${k % 200}.txt\ndata ${Buffer.byteLength(body)}\n${body}\n`;
  }
  const tb = t0 + commits + 10;
  streams.push(commitsStream('refs/heads/task', `:${fork}`, branchCommits, 'task', tb));
  streams.push(commitsStream('refs/heads/noop', `:${commits}`, branchCommits, 'noop', tb));
  const queue = Array.from({ length: nBranches }, (_, i) => `q${String(i + 1).padStart(2, '0')}`);
  for (const q of queue)
    streams.push(commitsStream(`refs/heads/${q}`, `:${fork}`, branchCommits, q, tb));
  fastImport(origin, streams.join(''));
  const buildMs = performance.now() - t;
  const mainTip = git(origin, 'rev-parse', 'main');
  process.stdout.write(
    `origin: ${git(origin, 'rev-list', '--count', 'main')} commits on main, task branches of ${branchCommits} commits ${behind} behind; built with fast-import in ${secs(buildMs)} s\n\n`
  );

  // 1. Gate overhead, test command `true`.
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    spawnSync(process.execPath, ['-e', '']);
    bare.push(performance.now() - s);
  }
  const state1 = join(work, 'state1', 'state.sqlite');
  const gateInputs = (branch: string, state: string, test: string): Record<string, string> => ({
    'test-command': test,
    'state-path': state,
    'lease-wait-minutes': '0',
    branch,
    'report-dir': join(work, 'reports')
  });
  t = performance.now();
  const taskWs = checkout(work, origin, 'task');
  const cloneMs = performance.now() - t;
  const taskHead = git(taskWs, 'rev-parse', 'HEAD');
  const rebaseMs: number[] = [];
  let last = '';
  for (let i = 0; i < runs; i++) {
    // Put the branch back where it was: behind main, on the origin and in the workspace.
    git(origin, 'update-ref', 'refs/heads/task', taskHead);
    git(taskWs, 'reset', '-q', '--hard', taskHead);
    const r = runBundle('merge-gate', taskWs, gateInputs('task', state1, 'true'));
    last = `${output(r.outputs, 'status')}: ${output(r.outputs, 'summary')}`;
    if (output(r.outputs, 'status') !== 'PASS')
      throw new Error(`merge gate (rebase case) did not PASS: ${last}\n${r.stdout}`);
    rebaseMs.push(r.ms);
    await releaseDirect(state1, 'task');
  }
  process.stdout.write(
    `merge-gate, ${branchCommits}-commit branch ${behind} behind main (${commits} commits), test command \`true\`, ${runs} runs:` +
      ` median ${secs(median(rebaseMs))} s, min ${secs(Math.min(...rebaseMs))} s, max ${secs(Math.max(...rebaseMs))} s` +
      ` (bare node start ${median(bare).toFixed(0)} ms; target < 2 s)\n  last: ${last}\n`
  );
  const noopWs = checkout(work, origin, 'noop');
  const noopMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = runBundle('merge-gate', noopWs, gateInputs('noop', state1, 'true'));
    last = `${output(r.outputs, 'status')}: ${output(r.outputs, 'summary')}`;
    if (output(r.outputs, 'status') !== 'PASS')
      throw new Error(`merge gate (no-op case) did not PASS: ${last}\n${r.stdout}`);
    noopMs.push(r.ms);
    await releaseDirect(state1, 'noop');
  }
  process.stdout.write(
    `merge-gate, no-op (branch already contains main), ${runs} runs:` +
      ` median ${secs(median(noopMs))} s, min ${secs(Math.min(...noopMs))} s, max ${secs(Math.max(...noopMs))} s (target < 2 s)\n  last: ${last}\n` +
      `  (not in the figures: the runner's checkout, a local clone of the origin, took ${secs(cloneMs)} s)\n\n`
  );

  // 2. Lease acquire + release on the file backend, one withDb each.
  const cycles = arg('cycles', 500);
  const backend = new FileBackend({ path: join(work, 'state2', 'state.sqlite') });
  const cycle = async (i: number): Promise<number> => {
    const s = performance.now();
    const a = await backend.withDb('write', (db) =>
      tryAcquireLease(
        db,
        { repo: REPO, branch: 'task', headSha: mainTip, runId: `run-${i}`, ttlMs: 3_600_000 },
        new Date()
      )
    );
    const r = await backend.withDb('write', (db) =>
      releaseLease(db, { repo: REPO, branch: 'task', runId: `run-${i}` }, new Date())
    );
    const ms = performance.now() - s;
    if (a.outcome !== 'acquired' || r !== 'released')
      throw new Error(`lease cycle ${i}: ${a.outcome} / ${r}`);
    return ms;
  };
  await cycle(-1); // creates the database and its schema
  const leaseMs: number[] = [];
  for (let i = 0; i < cycles; i++) leaseMs.push(await cycle(i));
  process.stdout.write(
    `lease acquire + release (file backend, 2 withDb per cycle), ${cycles} cycles:` +
      ` median ${median(leaseMs).toFixed(2)} ms, p95 ${pct(leaseMs, 95).toFixed(2)} ms, max ${Math.max(...leaseMs).toFixed(2)} ms (target < 10 ms)\n\n`
  );

  // 3. Draining the queue: gate (rebase + re-test), landing, lease release.
  const state3 = join(work, 'state3', 'state.sqlite');
  const admin = join(work, 'admin');
  git(work, 'clone', '-q', '--no-checkout', origin, admin);
  const queueWs = queue.map((q) => checkout(work, origin, q));
  const testCommand = `sleep ${testSeconds}`;
  const parts = { gate: 0, land: 0, release: 0 };
  const perGate: number[] = [];
  t = performance.now();
  for (const [i, q] of queue.entries()) {
    const r = runBundle('merge-gate', queueWs[i], gateInputs(q, state3, testCommand));
    const status = output(r.outputs, 'status');
    if (status !== 'PASS')
      throw new Error(`drain: ${q}: ${status}: ${output(r.outputs, 'summary')}\n${r.stdout}`);
    parts.gate += r.ms;
    perGate.push(r.ms);
    const newHead = output(r.outputs, 'new-head');
    let s = performance.now();
    git(admin, 'fetch', '-q', 'origin', q);
    git(admin, 'push', '-q', 'origin', `${newHead}:refs/heads/main`); // fast-forward only
    parts.land += performance.now() - s;
    s = performance.now();
    const rel = runBundle('lease-release', admin, { branch: q, 'state-path': state3 });
    parts.release += performance.now() - s;
    if (output(rel.outputs, 'outcome') !== 'released')
      throw new Error(`drain: ${q}: lease release: ${output(rel.outputs, 'summary')}`);
  }
  const drainMs = performance.now() - t;
  const bound = nBranches * testSeconds * 1000;
  process.stdout.write(
    `drain of ${nBranches} branches (${branchCommits} commits each, each behind main by the previous landing), test \`${testCommand}\`:` +
      ` ${secs(drainMs)} s wall against the bound ${nBranches} x ${testSeconds} s = ${secs(bound)} s` +
      ` (+${secs(drainMs - bound)} s, ${(((drainMs - bound) / bound) * 100).toFixed(1)} %)\n` +
      `  gate ${secs(parts.gate)} s (median ${secs(median(perGate))} s per branch, of which ${testSeconds} s test), landing ${secs(parts.land)} s, lease-release ${secs(parts.release)} s\n`
  );

  // Second pass: branches that already contain main (forked from its tip now).
  const tip = git(origin, 'rev-parse', 'main');
  const second = queue.map((q) => `${q}-again`);
  fastImport(
    origin,
    second.map((b) => commitsStream(`refs/heads/${b}`, tip, branchCommits, b, tb + 10_000)).join('')
  );
  const secondWs = second.map((b) => checkout(work, origin, b));
  // Each branch is gated twice: the first run re-tests its new tree (and
  // records it green), the second is the re-run a workflow makes on the same
  // head (a re-dispatch, a second event): the no-op skip.
  let firstPass = 0;
  let noopPass = 0;
  const gateAndRelease = (b: string, ws: string, skip: boolean): number => {
    const r = runBundle('merge-gate', ws, gateInputs(b, state3, testCommand));
    const status = output(r.outputs, 'status');
    const summary = output(r.outputs, 'summary');
    if (status !== 'PASS' || /re-test skipped/.test(summary) !== skip)
      throw new Error(`second pass: ${b}: ${status}: ${summary}\n${r.stdout}`);
    const s = performance.now();
    const rel = runBundle('lease-release', admin, { branch: b, 'state-path': state3 });
    if (output(rel.outputs, 'outcome') !== 'released')
      throw new Error(`second pass: ${b}: lease release: ${output(rel.outputs, 'summary')}`);
    return r.ms + (performance.now() - s);
  };
  for (const [i, b] of second.entries()) {
    firstPass += gateAndRelease(b, secondWs[i], false);
    noopPass += gateAndRelease(b, secondWs[i], true);
  }
  process.stdout.write(
    `branches already containing main, ${nBranches} of them (gate + lease-release, no landing):` +
      ` first run with re-test ${secs(firstPass)} s; the re-run on the same head ${secs(noopPass)} s with the no-op skip` +
      ` (saves ${secs(firstPass - noopPass)} s, ${(((firstPass - noopPass) / firstPass) * 100).toFixed(0)} %)\n`
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
