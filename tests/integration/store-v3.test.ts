// Schema v3 on real files: a state written by the v2 schema migrates in
// place keeping every row; a file from a newer release is still refused; and
// 16 processes recording FAILs for the same branch and gate through the file
// backend lose no count.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getBaseline, ratchetBaseline } from '../../packages/store/src/baseline.ts';
import { counters, bumpCounter, COUNTER } from '../../packages/store/src/counters.ts';
import { StoreError } from '../../packages/store/src/errors.ts';
import { recentGateRuns, recordGateRun } from '../../packages/store/src/gate-run.ts';
import { currentLease, tryAcquireLease, waitingBranches } from '../../packages/store/src/lease.ts';
import { enterCritical, mergeWindow } from '../../packages/store/src/merge-window.ts';
import {
  MIGRATIONS,
  currentVersion,
  latestVersion,
  type Migration
} from '../../packages/store/src/migrations.ts';
import { repoKey } from '../../packages/store/src/keys.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import { gateFailures, repositoryFailures } from '../../packages/store/src/retries.ts';
import { NODE } from '../helpers/store-spawn.ts';
import { T0, sha } from '../helpers/store-db.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const REPO = 'acme/app';
const open = (path: string, migrations?: readonly Migration[]) =>
  openStateDatabase(path, { journal: 'wal', writable: true, migrations });

/** A state file as the v2 release wrote it: its two migrations, its rows. */
function v2State(): string {
  const path = join(tempDir('qg-v3-'), 'state.sqlite');
  const db = open(path, MIGRATIONS.slice(0, 2));
  expect(currentVersion(db)).toBe(2);
  ratchetBaseline(
    db,
    { repo: REPO, branch: 'main', percent: 81.5, sha: sha(1), actor: 'ci', reason: 'landed' },
    T0
  );
  bumpCounter(db, REPO, COUNTER.pass, 4);
  // As the v2 release wrote it (the queue's columns come with v6).
  db.prepare('INSERT INTO waiting (repo, branch, since) VALUES (?, ?, ?)').run(
    repoKey(REPO),
    'agent/w',
    T0.toISOString()
  );
  recordGateRun(
    db,
    { repo: REPO, branch: 'agent/a', gate: 'merge', sha: sha(2), verdict: 'PASS', summary: 'ok' },
    T0
  );
  // The v2 lease row (the v2 lease code wrote exactly these columns).
  db.prepare(
    `INSERT INTO merge_lease (repo, branch, head_sha, run_id, acquired_at, expires_at, lease_id)
     VALUES (?, 'agent/a', ?, 'run-1', ?, ?, 'L1')`
  ).run(REPO, sha(2), T0.toISOString(), new Date(T0.getTime() + 3_600_000).toISOString());
  db.close();
  return path;
}

describe('schema v2 -> v3', () => {
  it('migrates in place, keeping the lease, baseline, counters, waiting list and runs', () => {
    const path = v2State();
    const db = open(path);
    try {
      expect(currentVersion(db)).toBe(latestVersion());
      expect(
        db.prepare('SELECT version FROM schema_version ORDER BY version').pluck().all()
      ).toEqual(MIGRATIONS.map((m) => m.version));
      expect(getBaseline(db, REPO, 'main')?.percent).toBe(81.5);
      expect(counters(db, REPO)).toEqual({ pass: 4 });
      expect(waitingBranches(db, REPO).map((w) => w.branch)).toEqual(['agent/w']);
      expect(recentGateRuns(db, REPO).map((r) => r.summary)).toEqual(['ok']);
      expect(currentLease(db, REPO)).toMatchObject({ branch: 'agent/a', leaseId: 'L1' });
      // The old lease has no window, and the new code works on it.
      const now = new Date(T0.getTime() + 60_000);
      expect(mergeWindow(db, REPO, now)).toBeUndefined();
      expect(enterCritical(db, REPO, { branch: 'agent/a', leaseId: 'L1' }, now)).toBe(true);
      expect(mergeWindow(db, REPO, now)?.since).toBe(now.toISOString());
      const renewed = tryAcquireLease(
        db,
        { repo: REPO, branch: 'agent/a', headSha: sha(3), runId: 'run-1', ttlMs: 60_000 },
        now
      );
      expect(renewed).toMatchObject({ outcome: 'renewed', leaseId: 'L1' });
      expect(repositoryFailures(db, REPO)).toEqual([]);
    } finally {
      db.close();
    }
    // Opening again migrates nothing more.
    const again = open(path);
    expect(again.prepare('SELECT COUNT(*) FROM schema_version').pluck().get()).toBe(
      latestVersion()
    );
    again.close();
  });

  it('a file from a newer release is still refused, untouched', () => {
    const path = join(tempDir('qg-v3-'), 'state.sqlite');
    const known = latestVersion();
    const next: Migration = {
      version: known + 1,
      description: 'future',
      tables: ['future'],
      sql: 'CREATE TABLE IF NOT EXISTS future (x INTEGER) STRICT;'
    };
    open(path, [...MIGRATIONS, next]).close();
    const before = readFileSync(path);
    expect(() => open(path)).toThrow(StoreError);
    expect(() => open(path)).toThrow(
      `schema version ${known + 1}, but this quality-gates release knows versions up to ${known}`
    );
    expect(readFileSync(path).equals(before)).toBe(true);
  });
});

const root = fileURLToPath(new URL('../..', import.meta.url));
const src = (p: string) => `file://${join(root, 'packages', 'store', 'src', p)}`;

// Each child records `fails` FAILs (and a PASS between them, which must not
// reset anything) through its own FileBackend, starting at the same moment.
const CHILD = `
const { FileBackend } = await import(${JSON.stringify(src('backends/file.ts'))});
const { recordGateVerdict } = await import(${JSON.stringify(src('retries.ts'))});
const job = JSON.parse(process.argv[1]);
const backend = new FileBackend({ path: job.path });
if (job.startAt > Date.now()) await new Promise((r) => setTimeout(r, job.startAt - Date.now()));
const seen = [];
for (let i = 0; i < job.fails; i++) {
  for (const verdict of ['FAIL', 'PASS']) {
    const r = await backend.withDb('write', (db) => recordGateVerdict(db,
      { repo: job.repo, branch: 'agent/a', gate: 'security', verdict, sha: 'a'.repeat(40) }, new Date()));
    if (verdict === 'FAIL') seen.push(r.failures);
  }
}
process.stdout.write(JSON.stringify(seen));
`;

function child(job: object): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile(
      NODE,
      ['--input-type=module', '-e', CHILD, JSON.stringify(job)],
      { env: { ...process.env, NODE_NO_WARNINGS: '1' }, timeout: 120_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout))
    );
  });
}

describe('retry counts under concurrency', () => {
  it('16 processes recording FAILs for the same branch and gate count exactly', async () => {
    const path = join(tempDir('qg-v3-'), 'state.sqlite');
    const N = 16;
    const FAILS = 5;
    const startAt = Date.now() + 1500;
    const seen = await Promise.all(
      Array.from({ length: N }, () => child({ path, repo: REPO, fails: FAILS, startAt }))
    );
    const db = open(path);
    try {
      expect(gateFailures(db, REPO, 'agent/a', 'security')).toBe(N * FAILS);
      expect(db.pragma('quick_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
    // Every FAIL saw its own count: 1 .. N*FAILS, each exactly once.
    expect(seen.flat().sort((a, b) => a - b)).toEqual(
      Array.from({ length: N * FAILS }, (_, i) => i + 1)
    );
  });
});
