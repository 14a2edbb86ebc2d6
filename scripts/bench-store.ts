// Benchmarks the state store; prints figures, asserts nothing.
//   1. ratchet compare-and-set latency on the `file` backend: one full
//      operation each (open, header and quick_check, BEGIN IMMEDIATE, read,
//      write, audit, commit, close), median and p95 (target: median < 5 ms);
//   2. N concurrent processes ratcheting random values on `file`, and on
//      `git-ref` against a local bare repository: does the final baseline
//      equal the true maximum, is the audit trail unbroken, wall time, and
//      for git-ref the retries (pushes lost to another writer).
//
//   node scripts/bench-store.ts [--ops 500] [--procs 50] [--values 4]
//
// Import runBench() for the figures. The script is also its own worker:
// `--worker <json>` runs one ratcheting process (that is what it spawns).

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditLog, getBaseline, ratchetBaseline } from '../packages/store/src/baseline.ts';
import type { BackendStats } from '../packages/store/src/backend.ts';
import { FileBackend } from '../packages/store/src/backends/file.ts';
import { GitRefBackend } from '../packages/store/src/backends/git-ref.ts';
import type { BackendConfig } from '../packages/store/src/open-backend.ts';
import { openStateDatabase } from '../packages/store/src/open-database.ts';
import { StateStore } from '../packages/store/src/state-store.ts';
import { gitEnv } from './bench-support.ts';

const self = fileURLToPath(import.meta.url);
const REPO = 'bench/repo';
const BRANCH = 'main';

export interface LatencyFigures {
  ops: number;
  medianMs: number;
  p95Ms: number;
  /** The same compare-and-set inside an already open database (no open/check/close). */
  inOpenDbMedianMs: number;
}

export interface ConcurrencyFigures {
  backend: 'file' | 'git-ref';
  processes: number;
  valuesPerProcess: number;
  trueMax: number;
  finalPercent: number | undefined;
  /** final == true max */
  correct: boolean;
  /** Audit rows form one chain of raises ending at the final value. */
  auditConsistent: boolean;
  wallMs: number;
  /** Processes that ended with an error (e.g. gave up after the retry limit). */
  failures: number;
  retries: number;
  pushes: number;
}

export interface StoreBenchFigures {
  latency: LatencyFigures;
  file: ConcurrencyFigures;
  gitRef: ConcurrencyFigures;
}

export interface BenchOptions {
  ops?: number;
  procs?: number;
  values?: number;
}

interface WorkerJob {
  backend: BackendConfig;
  values: number[];
  startAt: number;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

const landing = (percent: number, i: number) => ({
  repo: REPO,
  branch: BRANCH,
  percent,
  sha: i.toString(16).padStart(40, '0'),
  actor: `bench-${process.pid}`,
  reason: 'bench'
});

export async function measureLatency(dir: string, ops: number): Promise<LatencyFigures> {
  const path = join(dir, 'latency.sqlite');
  const store = new StateStore(new FileBackend({ path }));
  const times: number[] = [];
  // Rising values: every operation really writes (a raise and an audit row).
  for (let i = 0; i < ops; i++) {
    const t = performance.now();
    await store.ratchetBaseline(landing((i + 1) * (100 / (ops + 1)), i));
    times.push(performance.now() - t);
  }
  const db = openStateDatabase(join(dir, 'open.sqlite'), { journal: 'wal', writable: true });
  const inner: number[] = [];
  for (let i = 0; i < ops; i++) {
    const t = performance.now();
    ratchetBaseline(db, landing((i + 1) * (100 / (ops + 1)), i), new Date());
    inner.push(performance.now() - t);
  }
  db.close();
  return {
    ops,
    medianMs: percentile(times, 50),
    p95Ms: percentile(times, 95),
    inOpenDbMedianMs: percentile(inner, 50)
  };
}

function randomPercent(): number {
  return Math.round(Math.random() * 10000) / 100;
}

function runWorker(job: WorkerJob): Promise<{ ok: boolean; stats?: BackendStats; error?: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [self, '--worker', JSON.stringify(job)], {
      env: { ...process.env, ...gitEnv, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.on('close', (code) => {
      try {
        const r = JSON.parse(out.trim().split('\n').pop() ?? '') as {
          stats?: BackendStats;
          error?: string;
        };
        done({ ok: code === 0 && !r.error, ...r });
      } catch {
        done({ ok: false, error: err.trim() || `exit ${code}` });
      }
    });
  });
}

async function concurrent(
  kind: 'file' | 'git-ref',
  dir: string,
  procs: number,
  valuesPerProcess: number
): Promise<ConcurrencyFigures> {
  let config: (repoDir: string) => BackendConfig;
  let readState: () => { percent?: number; chain: boolean };
  if (kind === 'file') {
    const path = join(dir, 'concurrent.sqlite');
    config = () => ({ kind: 'file', path });
    readState = () => inspect(path);
  } else {
    const origin = join(dir, 'state.git');
    execFileSync('git', ['init', '-q', '--bare', origin], { env: { ...process.env, ...gitEnv } });
    config = (repoDir) => ({ kind: 'git-ref', repoDir, remote: origin });
    readState = () => {
      const path = join(dir, 'from-ref.sqlite');
      writeFileSync(
        path,
        execFileSync('git', ['cat-file', 'blob', 'refs/quality-gates/state:state.sqlite'], {
          cwd: origin,
          maxBuffer: 1 << 30
        })
      );
      return inspect(path, 'delete');
    };
  }
  const values = Array.from({ length: procs }, () =>
    Array.from({ length: valuesPerProcess }, randomPercent)
  );
  const jobs = values.map((v, i): WorkerJob => {
    // Each git-ref process has its own workspace, as separate runner jobs do.
    const ws = join(dir, `ws-${i}`);
    if (kind === 'git-ref') execFileSync('git', ['init', '-q', ws]);
    return { backend: config(ws), values: v, startAt: 0 };
  });
  // Start together: spawning 50 Node processes takes a while, so all wait for one moment.
  const startAt = Date.now() + 1000 + procs * 40;
  for (const j of jobs) j.startAt = startAt;
  const runs = jobs.map(runWorker);
  const results = await Promise.all(runs);
  const wallMs = Date.now() - startAt;
  const trueMax = Math.max(...values.flat());
  const state = readState();
  const sum = (k: keyof BackendStats) => results.reduce((n, r) => n + (r.stats?.[k] ?? 0), 0);
  const failed = results.filter((r) => !r.ok);
  for (const f of failed.slice(0, 3)) process.stderr.write(`  ${kind} worker failed: ${f.error}\n`);
  return {
    backend: kind,
    processes: procs,
    valuesPerProcess,
    trueMax,
    finalPercent: state.percent,
    correct: failed.length === 0 && state.percent === trueMax,
    auditConsistent: state.chain,
    wallMs,
    failures: failed.length,
    retries: sum('retries'),
    pushes: sum('pushes')
  };
}

function inspect(
  path: string,
  journal: 'wal' | 'delete' = 'wal'
): { percent?: number; chain: boolean } {
  const db = openStateDatabase(path, { journal, writable: true });
  try {
    const percent = getBaseline(db, REPO, BRANCH)?.percent;
    const log = auditLog(db, REPO, BRANCH, 1_000_000).reverse();
    let chain = log.length > 0 && log[0].how === 'bootstrap';
    for (let i = 1; i < log.length && chain; i++)
      chain = log[i].old === log[i - 1].new && (log[i].new ?? -1) > (log[i].old ?? -1);
    return { percent, chain: chain && log.at(-1)?.new === percent };
  } finally {
    db.close();
  }
}

export async function runBench(opts: BenchOptions = {}): Promise<StoreBenchFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'qg-bench-store-'));
  try {
    const procs = opts.procs ?? 50;
    const values = opts.values ?? 4;
    const latency = await measureLatency(dir, opts.ops ?? 500);
    const file = await concurrent('file', dir, procs, values);
    const gitRef = await concurrent('git-ref', dir, procs, values);
    return { latency, file, gitRef };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function worker(job: WorkerJob): Promise<void> {
  // Built directly, not through openBackend(): a worker needs only its own backend's code.
  const backend =
    job.backend.kind === 'file'
      ? new FileBackend(job.backend)
      : job.backend.kind === 'git-ref'
        ? new GitRefBackend(job.backend)
        : undefined;
  if (!backend) throw new Error(`bench worker: unsupported backend ${job.backend.kind}`);
  const store = new StateStore(backend);
  const wait = job.startAt - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  try {
    for (const [i, v] of job.values.entries()) await store.ratchetBaseline(landing(v, i));
    process.stdout.write(`${JSON.stringify({ stats: backend.stats })}\n`);
  } catch (err) {
    process.stdout.write(
      `${JSON.stringify({ stats: backend.stats, error: (err as Error).message })}\n`
    );
    process.exitCode = 1;
  }
}

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : undefined;
}

function fmt(c: ConcurrencyFigures): string {
  const yes = (b: boolean) => (b ? 'yes' : 'NO');
  return (
    `${c.backend.padEnd(7)} ${c.processes} processes x ${c.valuesPerProcess} ratchets: ` +
    `final ${c.finalPercent} == true max ${c.trueMax}: ${yes(c.correct)}; audit unbroken: ${yes(c.auditConsistent)}; ` +
    `wall ${(c.wallMs / 1000).toFixed(2)} s; pushes ${c.pushes}; retries ${c.retries}; failed processes ${c.failures}`
  );
}

if (process.argv[1] === self) {
  const w = process.argv.indexOf('--worker');
  if (w > 0) {
    await worker(JSON.parse(process.argv[w + 1]) as WorkerJob);
  } else {
    const f = await runBench({ ops: arg('ops'), procs: arg('procs'), values: arg('values') });
    process.stdout.write(
      `file ratchet compare-and-set, ${f.latency.ops} ops: median ${f.latency.medianMs.toFixed(2)} ms, ` +
        `p95 ${f.latency.p95Ms.toFixed(2)} ms (target median < 5 ms); inside an open database: median ${f.latency.inOpenDbMedianMs.toFixed(3)} ms\n`
    );
    process.stdout.write(`${fmt(f.file)}\n${fmt(f.gitRef)}\n`);
  }
}
