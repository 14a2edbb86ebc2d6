// Benchmarks the git-ref state backend against its history; prints figures,
// asserts nothing. A gate cycle is what one task branch does to the state on
// its way through the edge (gate-cycle.ts: 4 writes and 1 read, as in the
// measured 2,000 writes per 500 cycles). For each cycle count (default 10
// and 10,000):
//   1. the state after that many cycles on the ref of a local bare origin;
//   2. the first state operation in a fresh clone (a read, and a write, each
//      in clones of their own; median of --clones);
//   3. the steady state: --steady more cycles through the git-ref backend in
//      one workspace, median per write, per read and per cycle;
//   4. commits on the ref and the size of the state file.
// The counts take turns sample by sample (2 and 3), so a machine whose load
// drifts during the run weighs on each alike.
// Then --real cycles (default 100) run through the git-ref backend itself,
// from an empty ref: the commits on the ref and the median cycle of the
// first ten against the last ten.
//
// The state for a large count is built with the same domain functions and
// the same retention (pruneState after every write) on one open database,
// then committed as the ref's tip with the trailer the backend writes: the
// backend replaces the tip with one root commit per write, so that one commit
// is exactly what that many git-ref cycles leave (running 40,000 git-ref
// writes here would take hours and measure nothing more). --real 10000 runs
// them all the same.
//
//   node scripts/bench-git-ref.ts [--cycles 10,10000] [--steady 20] [--clones 5] [--real 100] [--files 40]

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getBaseline } from '../packages/store/src/baseline.ts';
import {
  DEFAULT_STATE_REF as STATE_REF,
  GitRefBackend,
  type GitRefBackendOptions
} from '../packages/store/src/backends/git-ref.ts';
import { openStateDatabase } from '../packages/store/src/open-database.ts';
import { DEFAULT_RETENTION, pruneState } from '../packages/store/src/retention.ts';
import { chainHeadHash } from '../packages/store/src/state-chain.ts';
import { bytesDigest, stateTrailer } from '../packages/store/src/state-trailer.ts';
import { git, gitEnv, median } from './bench-support.ts';
import { BENCH_REPO, T0, cycleTime, gateCycle } from './gate-cycle.ts';

const self = fileURLToPath(import.meta.url);

interface Origin {
  dir: string;
  bare: string;
}

function makeOrigin(): Origin {
  const dir = mkdtempSync(join(tmpdir(), 'qg-bench-gitref-'));
  const bare = join(dir, 'origin.git');
  const seed = join(dir, 'seed');
  git(dir, 'init', '-q', '--bare', '-b', 'main', bare);
  git(dir, 'init', '-q', '-b', 'main', seed);
  git(seed, 'commit', '-q', '--allow-empty', '-m', 'initial');
  git(seed, 'push', '-q', bare, 'main');
  return { dir, bare };
}

let clones = 0;
/** A runner's fresh checkout of the origin: refs/quality-gates/* is not fetched by a clone. */
function freshClone(o: Origin): string {
  const ws = join(o.dir, `ws-${++clones}`);
  git(o.dir, 'clone', '-q', o.bare, ws);
  return ws;
}

function backendFor(
  ws: string,
  tmp: string,
  afterFetch?: GitRefBackendOptions['afterFetch']
): GitRefBackend {
  return new GitRefBackend({
    repoDir: ws,
    remote: 'origin',
    env: { ...process.env, ...gitEnv },
    tmpDir: tmp,
    now: () => clock,
    afterFetch
  });
}

/** What a fetch brought into the backend's private repository (GIT_DIR). */
function fetchedInto(gitDir: string): { commits: number; objects: number } {
  const inPrivate = (...args: string[]): string =>
    execFileSync('git', args, { env: { ...process.env, GIT_DIR: gitDir }, encoding: 'utf8' });
  return {
    commits: Number(inPrivate('rev-list', '--count', '--all').trim()),
    objects: inPrivate('cat-file', '--batch-all-objects', '--batch-check').trim().split('\n').length
  };
}

/** The simulated clock the git-ref backends' retention reads. */
let clock = new Date(T0);

/** The state after `n` cycles, built on one open database, committed as the ref's only commit. */
function seedState(o: Origin, n: number, files: number): void {
  const path = join(o.dir, 'seed.sqlite');
  const db = openStateDatabase(path, {
    journal: 'delete',
    writable: true,
    durable: false,
    now: () => clock
  });
  let chain: string | undefined;
  try {
    for (let i = 0; i < n; i++) {
      clock = cycleTime(i);
      for (const w of gateCycle(i, files).writes) {
        w(db);
        pruneState(db, DEFAULT_RETENTION, clock);
      }
    }
    chain = chainHeadHash(db);
  } finally {
    db.close();
  }
  const bytes = readFileSync(path);
  const inBare = (args: string[], input?: string): string =>
    execFileSync('git', args, {
      cwd: o.bare,
      input,
      encoding: 'utf8',
      env: { ...process.env, ...gitEnv }
    }).trim();
  const blob = inBare(['hash-object', '-w', '--no-filters', path]);
  const tree = inBare(['mktree'], `100644 blob ${blob}\tstate.sqlite\n`);
  const trailer = stateTrailer({ prev: null, digest: bytesDigest(bytes), chain }, undefined);
  const commit = inBare([
    'commit-tree',
    tree,
    '-m',
    `state after ${n} bench cycles`,
    '-m',
    trailer
  ]);
  inBare(['update-ref', STATE_REF, commit]);
  rmSync(path, { force: true });
}

/** Runs cycles `from`..`to`-1 through `b`; the ms of every write, read and cycle. */
async function runCycles(
  b: GitRefBackend,
  from: number,
  to: number,
  files: number
): Promise<{ writes: number[]; reads: number[]; cycles: number[] }> {
  const out = { writes: [] as number[], reads: [] as number[], cycles: [] as number[] };
  for (let i = from; i < to; i++) {
    clock = cycleTime(i);
    const c = gateCycle(i, files);
    const t0 = performance.now();
    for (const w of c.writes) {
      const t = performance.now();
      await b.withDb('write', w, { message: () => `bench cycle ${i}` });
      out.writes.push(performance.now() - t);
    }
    const t = performance.now();
    await b.withDb('read', c.read);
    out.reads.push(performance.now() - t);
    out.cycles.push(performance.now() - t0);
  }
  return out;
}

export interface CountFigures {
  cycles: number;
  /** First operation in a fresh clone, median over the clones. */
  firstReadMs: number;
  firstWriteMs: number;
  /** Objects the first operation's fetch brought (commit, tree, blob). */
  firstFetchObjects: number;
  firstFetchCommits: number;
  steadyWriteMs: number;
  steadyReadMs: number;
  steadyCycleMs: number;
  commitsOnRef: number;
  stateBytes: number;
  chainRows: number;
  gateRuns: number;
}

function refFacts(o: Origin): { commits: number; bytes: number } {
  return {
    commits: Number(git(o.bare, 'rev-list', '--count', STATE_REF).trim()),
    bytes: Number(git(o.bare, 'cat-file', '-s', `${STATE_REF}:state.sqlite`).trim())
  };
}

/**
 * The state at each count, then the first operations in fresh clones and the
 * steady state, the counts taking turns sample by sample: a machine whose
 * load drifts during the run weighs on every count alike.
 */
export async function measure(
  counts: readonly number[],
  opts: { steady: number; clones: number; files: number }
): Promise<CountFigures[]> {
  const runs = counts.map((cycles) => {
    const o = makeOrigin();
    const tmp = join(o.dir, 'tmp');
    mkdirSync(tmp);
    return {
      cycles,
      o,
      tmp,
      firstRead: [] as number[],
      firstWrite: [] as number[],
      fetched: { objects: 0, commits: 0 },
      steady: { writes: [] as number[], reads: [] as number[], cycles: [] as number[] }
    };
  });
  try {
    for (const r of runs) seedState(r.o, r.cycles, opts.files);
    for (let k = 0; k < opts.clones; k++)
      for (const r of runs) {
        clock = cycleTime(r.cycles + k);
        const b = backendFor(freshClone(r.o), r.tmp, (gitDir, tip) => {
          if (k === 0 && tip !== undefined) r.fetched = fetchedInto(gitDir);
        });
        let t = performance.now();
        await b.withDb('read', (db) => getBaseline(db, BENCH_REPO, 'main'));
        r.firstRead.push(performance.now() - t);
        const b2 = backendFor(freshClone(r.o), r.tmp);
        const c = gateCycle(r.cycles + k, opts.files);
        t = performance.now();
        await b2.withDb('write', c.writes[0]);
        r.firstWrite.push(performance.now() - t);
        await b2.withDb('write', c.writes[2]);
      }
    const steady = runs.map((r) => backendFor(freshClone(r.o), r.tmp));
    for (let j = 0; j < opts.steady; j++)
      for (const [n, r] of runs.entries()) {
        const from = r.cycles + opts.clones + j;
        const s = await runCycles(steady[n], from, from + 1, opts.files);
        r.steady.writes.push(...s.writes);
        r.steady.reads.push(...s.reads);
        r.steady.cycles.push(...s.cycles);
      }
    return runs.map((r) => {
      const facts = refFacts(r.o);
      const rows = tableRows(r.o);
      return {
        cycles: r.cycles,
        firstReadMs: median(r.firstRead),
        firstWriteMs: median(r.firstWrite),
        firstFetchObjects: r.fetched.objects,
        firstFetchCommits: r.fetched.commits,
        steadyWriteMs: median(r.steady.writes),
        steadyReadMs: median(r.steady.reads),
        steadyCycleMs: median(r.steady.cycles),
        commitsOnRef: facts.commits,
        stateBytes: facts.bytes,
        chainRows: rows.chain,
        gateRuns: rows.runs
      };
    });
  } finally {
    for (const r of runs) rmSync(r.o.dir, { recursive: true, force: true });
  }
}

function tableRows(o: Origin): { chain: number; runs: number } {
  const path = join(o.dir, 'inspect.sqlite');
  writeFileSync(
    path,
    execFileSync('git', ['cat-file', 'blob', `${STATE_REF}:state.sqlite`], {
      cwd: o.bare,
      maxBuffer: 1 << 30
    })
  );
  const db = openStateDatabase(path, { journal: 'delete', writable: false });
  try {
    const count = (t: string) => db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get() as number;
    return { chain: count('state_chain'), runs: count('gate_run') };
  } finally {
    db.close();
  }
}

export interface RealFigures {
  cycles: number;
  commitsOnRef: number;
  stateBytes: number;
  firstTenCycleMs: number;
  lastTenCycleMs: number;
}

/** `n` cycles through the git-ref backend itself, from an empty ref. */
export async function realCycles(n: number, files: number): Promise<RealFigures> {
  const o = makeOrigin();
  const tmp = join(o.dir, 'tmp');
  mkdirSync(tmp);
  try {
    const b = backendFor(freshClone(o), tmp);
    const r = await runCycles(b, 0, n, files);
    const facts = refFacts(o);
    return {
      cycles: n,
      commitsOnRef: facts.commits,
      stateBytes: facts.bytes,
      firstTenCycleMs: median(r.cycles.slice(0, 10)),
      lastTenCycleMs: median(r.cycles.slice(-10))
    };
  } finally {
    rmSync(o.dir, { recursive: true, force: true });
  }
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const ms = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`);
const kb = (v: number): string => `${(v / 1024).toFixed(0)} KiB`;

if (process.argv[1] === self) {
  const counts = arg('cycles', '10,10000').split(',').map(Number);
  const opts = {
    steady: Number(arg('steady', '20')),
    clones: Number(arg('clones', '5')),
    files: Number(arg('files', '40'))
  };
  const real = Number(arg('real', '100'));
  process.stdout.write(
    `git-ref state backend, local bare origin; a cycle = 4 writes + 1 read (node ${process.version})\n`
  );
  const figures = await measure(counts, opts);
  const rows: [string, (f: CountFigures) => string][] = [
    ['first operation, fresh clone: read', (f) => ms(f.firstReadMs)],
    ['first operation, fresh clone: write', (f) => ms(f.firstWriteMs)],
    ['  its fetch: commits / objects', (f) => `${f.firstFetchCommits} / ${f.firstFetchObjects}`],
    ['steady state: write (median)', (f) => ms(f.steadyWriteMs)],
    ['steady state: read (median)', (f) => ms(f.steadyReadMs)],
    ['steady state: one cycle (median)', (f) => ms(f.steadyCycleMs)],
    ['commits on the ref', (f) => String(f.commitsOnRef)],
    ['state file', (f) => kb(f.stateBytes)],
    ['chain rows / gate runs kept', (f) => `${f.chainRows} / ${f.gateRuns}`]
  ];
  const w = 40;
  process.stdout.write(
    `${'cycles'.padEnd(w)}${figures.map((f) => String(f.cycles).padStart(12)).join('')}\n`
  );
  for (const [label, get] of rows)
    process.stdout.write(`${label.padEnd(w)}${figures.map((f) => get(f).padStart(12)).join('')}\n`);
  if (real > 0) {
    const r = await realCycles(real, opts.files);
    process.stdout.write(
      `${r.cycles} cycles through the git-ref backend from an empty ref: ${r.commitsOnRef} commit(s) on the ref, ` +
        `state file ${kb(r.stateBytes)}, one cycle: first ten ${ms(r.firstTenCycleMs)}, last ten ${ms(r.lastTenCycleMs)} (medians)\n`
    );
  }
}
