import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError } from '../../packages/core/src/errors.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import type { FetchLike } from '../../packages/forge/src/fetch-like.ts';
import { ArtifactBackend } from '../../packages/store/src/backends/artifact.ts';
import { FileBackend } from '../../packages/store/src/backends/file.ts';
import { counters } from '../../packages/store/src/counters.ts';
import {
  acquireLeaseWithWait,
  currentLease,
  leaseEvents,
  releaseLease,
  tryAcquireLease,
  waitingBranches
} from '../../packages/store/src/lease.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import { GIT_ENV, git, makeRepo } from '../helpers/git-repo.ts';
import { NODE } from '../helpers/store-spawn.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const REPO = 'acme/app';
const REF = 'refs/quality-gates/state';
const root = fileURLToPath(new URL('../..', import.meta.url));
const src = (p: string) => `file://${join(root, 'packages', 'store', 'src', p)}`;

type Backend =
  { kind: 'file'; path: string } | { kind: 'git-ref'; repoDir: string; remote: string };

interface Job {
  /** race: one tryAcquireLease per round on repo `${repo}-${i}`; hold: acquire, report, then sleep until killed. */
  op: 'race' | 'hold';
  backend: Backend;
  repo: string;
  branch: string;
  runId: string;
  ttlMs: number;
  rounds?: number;
  /** Epoch ms of round 0; round i starts at startAt + i * intervalMs (or at once when late). */
  startAt?: number;
  intervalMs?: number;
}

interface Line {
  round: number;
  repo: string;
  outcome: string;
  holderRun: string;
  holderBranch: string;
  expiresAt: string;
}

// The child runs the code under test in its own Node process (Node 24 loads
// the erasable TypeScript sources directly), one JSON line per result.
const CHILD = `
import { writeSync } from 'node:fs';
const { FileBackend } = await import(${JSON.stringify(src('backends/file.ts'))});
const { GitRefBackend } = await import(${JSON.stringify(src('backends/git-ref.ts'))});
const { tryAcquireLease } = await import(${JSON.stringify(src('lease.ts'))});
const job = JSON.parse(process.argv[1]);
const backend = job.backend.kind === 'file'
  ? new FileBackend({ path: job.backend.path })
  : new GitRefBackend({ repoDir: job.backend.repoDir, remote: job.backend.remote, env: process.env });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rounds = job.op === 'hold' ? 1 : job.rounds;
for (let i = 0; i < rounds; i++) {
  const startAt = (job.startAt ?? 0) + i * (job.intervalMs ?? 0);
  if (startAt > Date.now()) await sleep(startAt - Date.now());
  const repo = job.op === 'hold' ? job.repo : job.repo + '-' + i;
  const req = { repo, branch: job.branch, headSha: 'a'.repeat(40), runId: job.runId, ttlMs: job.ttlMs };
  const r = await backend.withDb('write', (db) => tryAcquireLease(db, req, new Date()),
    { message: (x) => 'merge lease ' + repo + ': ' + x.outcome + ' by ' + job.runId });
  writeSync(1, JSON.stringify({ round: i, repo, outcome: r.outcome, holderRun: r.holder.runId,
    holderBranch: r.holder.branch, expiresAt: r.holder.expiresAt }) + '\\n');
}
if (job.op === 'hold') setInterval(() => {}, 1 << 30);
`;

interface Child {
  /** Resolves with the first line (the hold child's lease). */
  firstLine: Promise<Line>;
  done: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    lines: Line[];
    stderr: string;
  }>;
  kill(): void;
}

function runChild(job: Job): Child {
  const child = spawn(NODE, ['--input-type=module', '-e', CHILD, JSON.stringify(job)], {
    env: { ...process.env, ...GIT_ENV, NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let out = '';
  let err = '';
  let onFirst: (l: Line) => void = () => undefined;
  let onFail: (e: Error) => void = () => undefined;
  const firstLine = new Promise<Line>((res, rej) => {
    onFirst = res;
    onFail = rej;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString('utf8');
    const nl = out.indexOf('\n');
    if (nl >= 0) onFirst(JSON.parse(out.slice(0, nl)) as Line);
  });
  child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    lines: Line[];
    stderr: string;
  }>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      onFail(new Error(`child ended without output: ${code ?? signal} ${err}`));
      const lines = out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Line);
      res({ code, signal, lines, stderr: err });
    });
  });
  return { firstLine, done, kill: () => child.kill('SIGKILL') };
}

function openFile(path: string) {
  return openStateDatabase(path, { journal: 'wal', writable: true });
}

/** The state as the remote holds it: the blob of the ref's tip. */
function remoteDb(origin: string) {
  const path = join(tempDir(), 'remote.sqlite');
  writeFileSync(
    path,
    execFileSync('git', ['cat-file', 'blob', `${REF}:state.sqlite`], { cwd: origin })
  );
  return openStateDatabase(path, { journal: 'delete', writable: true });
}

async function race(backends: [Backend, Backend], rounds: number, intervalMs: number) {
  const startAt = Date.now() + 1500;
  const runs = backends.map((backend, k) =>
    runChild({
      op: 'race',
      backend,
      repo: REPO,
      branch: `feat/${k}`,
      runId: `run-${k}`,
      ttlMs: 600_000,
      rounds,
      startAt,
      intervalMs
    })
  );
  const results = await Promise.all(runs.map((r) => r.done));
  for (const r of results) {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.lines).toHaveLength(rounds);
  }
  const winners: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const [a, b] = results.map((r) => r.lines[i]);
    const outcomes = [a.outcome, b.outcome].sort();
    expect(outcomes).toEqual(['acquired', 'busy']);
    const winner = a.outcome === 'acquired' ? a : b;
    const loser = a.outcome === 'acquired' ? b : a;
    // The loser was told who holds it: the winner.
    expect(loser.holderRun).toBe(winner.holderRun);
    winners.push(winner.holderRun);
  }
  return winners;
}

function checkState(db: ReturnType<typeof openFile>, winners: string[]) {
  winners.forEach((w, i) => {
    const repo = `${REPO}-${i}`;
    expect(currentLease(db, repo)?.runId).toBe(w);
    const events = leaseEvents(db, repo, 10);
    expect(events.filter((e) => e.event === 'acquired')).toHaveLength(1);
    expect(events.filter((e) => e.event === 'refused')).toHaveLength(1);
  });
}

describe('merge lease across processes', () => {
  it('two processes racing on one file state: exactly one acquires, 20 races', async () => {
    const path = join(tempDir(), 'state.sqlite');
    const backend: Backend = { kind: 'file', path };
    const winners = await race([backend, backend], 20, 150);
    const db = openFile(path);
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      checkState(db, winners);
    } finally {
      db.close();
    }
  });

  it('two clones racing through git-ref against one bare origin: exactly one proceeds, 8 races', async () => {
    const repo = makeRepo();
    const second = join(repo.root, 'work2');
    git(repo.root, 'clone', '-q', repo.origin, second);
    const winners = await race(
      [
        { kind: 'git-ref', repoDir: repo.work, remote: 'origin' },
        { kind: 'git-ref', repoDir: second, remote: 'origin' }
      ],
      8,
      700
    );
    const db = remoteDb(repo.origin);
    try {
      checkState(db, winners);
    } finally {
      db.close();
    }
    // The events are in the state's tables (checkState); the ref holds one root commit.
    expect(git(repo.origin, 'rev-list', '--count', REF).trim()).toBe('1');
  });

  it('a holder SIGKILLed keeps the lease until its TTL; then another process reclaims it, logged', async () => {
    const path = join(tempDir(), 'state.sqlite');
    const ttlMs = 1500;
    const holder = runChild({
      op: 'hold',
      backend: { kind: 'file', path },
      repo: REPO,
      branch: 'feat/dead',
      runId: 'run-dead',
      ttlMs
    });
    const held = await holder.firstLine;
    expect(held.outcome).toBe('acquired');
    holder.kill();
    expect((await holder.done).signal).toBe('SIGKILL');

    const backend = new FileBackend({ path });
    const req = { repo: REPO, branch: 'feat/next', headSha: 'b'.repeat(40), runId: 'run-2', ttlMs };
    const early = await backend.withDb('write', (db) => tryAcquireLease(db, req, new Date()));
    expect(early).toMatchObject({
      outcome: 'busy',
      holder: { branch: 'feat/dead', runId: 'run-dead' }
    });
    const wait = Date.parse(held.expiresAt) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait + 20));
    const late = await backend.withDb('write', (db) => tryAcquireLease(db, req, new Date()));
    expect(late).toMatchObject({
      outcome: 'reclaimed',
      holder: { branch: 'feat/next', runId: 'run-2' },
      previous: { branch: 'feat/dead', runId: 'run-dead' }
    });
    const db = openFile(path);
    try {
      expect(leaseEvents(db, REPO, 1)[0]).toMatchObject({
        event: 'reclaimed',
        branch: 'feat/next',
        other: { branch: 'feat/dead', runId: 'run-dead', expiresAt: held.expiresAt }
      });
      expect(counters(db, REPO)).toEqual({ 'stale-reclaim': 1 });
      // the dead run's late release is refused: it no longer holds the lease
      expect(
        releaseLease(db, { repo: REPO, branch: 'feat/dead', runId: 'run-dead' }, new Date())
      ).toBe('not-holder');
    } finally {
      db.close();
    }
  });

  it('acquireLeaseWithWait gives up after waitMs with busy, naming the holder, shown waiting meanwhile', async () => {
    const path = join(tempDir(), 'state.sqlite');
    const holder = runChild({
      op: 'hold',
      backend: { kind: 'file', path },
      repo: REPO,
      branch: 'feat/holder',
      runId: 'run-1',
      ttlMs: 600_000
    });
    try {
      expect((await holder.firstLine).outcome).toBe('acquired');
      const backend = new FileBackend({ path });
      const seen: string[][] = [];
      const started = Date.now();
      const r = await acquireLeaseWithWait(
        backend,
        {
          repo: REPO,
          branch: 'feat/waiter',
          headSha: 'c'.repeat(40),
          runId: 'run-2',
          ttlMs: 60_000
        },
        {
          waitMs: 1000,
          baseDelayMs: 100,
          sleep: async (ms) => {
            seen.push(
              await new FileBackend({ path }).withDb('read', (db) =>
                waitingBranches(db, REPO).map((w) => w.branch)
              )
            );
            await new Promise((res) => setTimeout(res, ms));
          }
        }
      );
      expect(r).toMatchObject({
        acquired: false,
        outcome: 'busy',
        leaseId: undefined,
        holder: { branch: 'feat/holder', runId: 'run-1' }
      });
      expect(r.attempts).toBeGreaterThan(2);
      expect(r.waitedMs).toBeGreaterThanOrEqual(1000);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(seen.length).toBe(r.attempts - 1);
      expect(seen.every((w) => w.length === 1 && w[0] === 'feat/waiter')).toBe(true);
      expect(await backend.withDb('read', (db) => waitingBranches(db, REPO))).toEqual([]);
      expect(
        await backend.withDb('read', (db) => leaseEvents(db, REPO).map((e) => e.event))
      ).toEqual(['refused', 'acquired']);
    } finally {
      holder.kill();
      await holder.done;
    }
  });

  it('the artifact backend is refused with a ConfigurationError naming state-backend, file and git-ref', async () => {
    let requests = 0;
    const fetch: FetchLike = async () => {
      requests++;
      throw new Error('no network in this test');
    };
    const backend = new ArtifactBackend({
      api: { apiUrl: 'http://127.0.0.1:9/api/v1', token: 't', fetch },
      owner: 'acme',
      repo: 'app',
      branch: 'main',
      localPath: join(tempDir(), 'state.sqlite'),
      logger: new RecordingLogger()
    });
    const err = await acquireLeaseWithWait(
      backend,
      { repo: REPO, branch: 'feat/a', headSha: 'd'.repeat(40), runId: 'run-1', ttlMs: 60_000 },
      { waitMs: 0 }
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).input).toBe('state-backend');
    expect((err as Error).message).toMatch(
      /^input 'state-backend': expected 'file' or 'git-ref' \(the merge lease needs a backend with atomic updates, which 'artifact' is not\)/
    );
    expect(requests).toBe(0);
  });
});
