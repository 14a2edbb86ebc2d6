import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileBackend } from '../../packages/store/src/backends/file.ts';
import { StoreError } from '../../packages/store/src/errors.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import { StateStore } from '../../packages/store/src/state-store.ts';
import { auditLog, getBaseline } from '../../packages/store/src/baseline.ts';
import { auditChainProblem } from '../helpers/store-audit.ts';
import { randomValues, runChild } from '../helpers/store-spawn.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const REPO = 'acme/app';
const BRANCH = 'main';
const landing = (percent: number, actor = 'ci') => ({
  repo: REPO,
  branch: BRANCH,
  percent,
  sha: 'a'.repeat(40),
  actor,
  reason: 'landing'
});

/** Opens the file the way the store does (header, quick_check, schema) and reads the baseline and its audit. */
function inspect(path: string) {
  const db = openStateDatabase(path, { journal: 'wal', writable: true });
  try {
    return {
      percent: getBaseline(db, REPO, BRANCH)?.percent,
      audit: auditLog(db, REPO, BRANCH, 100_000),
      integrity: db.pragma('integrity_check', { simple: true })
    };
  } finally {
    db.close();
  }
}

describe('file backend', () => {
  it('creates missing directories and the database on the first write', async () => {
    const path = join(tempDir(), 'deep', 'er', 'state.sqlite');
    const store = new StateStore(new FileBackend({ path }));
    expect(await store.ratchetBaseline(landing(40))).toMatchObject({ outcome: 'bootstrapped' });
    expect(existsSync(path)).toBe(true);
    expect((await store.getBaseline(REPO, BRANCH))?.percent).toBe(40);
  });

  it('a read of a state that does not exist answers empty and creates nothing', async () => {
    const dir = join(tempDir(), 'nothing-here');
    const store = new StateStore(new FileBackend({ path: join(dir, 'state.sqlite') }));
    expect(await store.getBaseline(REPO, BRANCH)).toBeUndefined();
    expect(await store.recentGateRuns(REPO)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it('reports itself atomic and counts its operations', async () => {
    const backend = new FileBackend({ path: join(tempDir(), 'state.sqlite') });
    const store = new StateStore(backend);
    await store.ratchetBaseline(landing(1));
    await store.getBaseline(REPO, BRANCH);
    expect(backend.atomic).toBe(true);
    expect(backend.stats).toEqual({ operations: 2, attempts: 2, retries: 0, pushes: 1 });
  });

  it('a path under a regular file fails with a StoreError naming the path', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'x');
    const path = join(dir, 'file', 'sub', 'state.sqlite');
    const store = new StateStore(new FileBackend({ path }));
    const err = await store.ratchetBaseline(landing(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).toContain(path);
    expect((err as StoreError).message).toMatch(/not a directory|is a file/);
  });

  it('SQLite errors inside an operation become StoreErrors naming the path', async () => {
    const path = join(tempDir(), 'state.sqlite');
    const backend = new FileBackend({ path });
    const err = await backend
      .withDb('write', (db) => db.prepare('INSERT INTO no_such_table VALUES (1)').run())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).toMatch(new RegExp(`${path}: .*no such table`));
  });

  // Root ignores file modes, so an unprivileged child process (uid nobody)
  // is what makes a read-only file or directory really read-only here.
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

  it('a read-only state file fails with a StoreError naming the path, and is not changed', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const path = join(dir, 'state.sqlite');
    await new StateStore(new FileBackend({ path })).ratchetBaseline(landing(30));
    chmodSync(path, 0o444);
    const r = await runChild(
      { op: 'ratchet', backend: { kind: 'file', path }, repo: REPO, branch: BRANCH, values: [90] },
      asNobody
    );
    expect(r.lines).toEqual([
      expect.objectContaining({
        type: 'error',
        name: 'StoreError',
        kind: 'state',
        message: expect.stringMatching(new RegExp(`${path}: the file is not writable \\(EACCES\\)`))
      })
    ]);
    expect(inspect(path).percent).toBe(30);
  });

  it('a read-only directory fails with a StoreError naming the path', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const ro = join(dir, 'ro');
    mkdirSync(ro, { mode: 0o555 });
    const path = join(ro, 'state.sqlite');
    const r = await runChild(
      { op: 'ratchet', backend: { kind: 'file', path }, repo: REPO, branch: BRANCH, values: [90] },
      asNobody
    );
    expect(r.lines[0]).toMatchObject({
      type: 'error',
      name: 'StoreError',
      message: expect.stringMatching(/its directory is not writable \(EACCES\)/)
    });
    expect(existsSync(path)).toBe(false);
  });
});

describe('file backend under concurrency', () => {
  it('16 processes ratcheting random values on a new file end at the true maximum, audit unbroken', async () => {
    const path = join(tempDir(), 'state.sqlite');
    const N = 16;
    const startAt = Date.now() + 1500;
    const values = Array.from({ length: N }, (_, i) => randomValues(6, 1000 + i));
    const results = await Promise.all(
      values.map((v) =>
        runChild({
          op: 'ratchet',
          backend: { kind: 'file', path },
          repo: REPO,
          branch: BRANCH,
          values: v,
          startAt
        })
      )
    );
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.lines.at(-1)).toMatchObject({ type: 'done' });
    }
    const max = Math.max(...values.flat());
    const state = inspect(path);
    expect(state.integrity).toBe('ok');
    expect(state.percent).toBe(max);
    expect(auditChainProblem(state.audit, state.percent)).toBeUndefined();
    // Every change a process reported is in the audit, exactly once.
    const reported = results
      .flatMap((r) => r.lines)
      .filter((l) => l.type === 'result' && l.outcome !== 'unchanged');
    expect(reported).toHaveLength(state.audit.length);
    expect(
      reported.filter((l) => l.type === 'result' && l.outcome === 'bootstrapped')
    ).toHaveLength(1);
  });
});

describe('file backend crash safety', () => {
  it('a process killed inside the ratchet transaction leaves the old value and no audit row', async () => {
    const path = join(tempDir(), 'state.sqlite');
    await new StateStore(new FileBackend({ path })).ratchetBaseline(landing(50));
    const r = await runChild({
      op: 'kill-mid-ratchet',
      backend: { kind: 'file', path },
      repo: REPO,
      branch: BRANCH,
      values: [90]
    });
    expect(r.signal).toBe('SIGKILL');
    expect(r.lines).toEqual([{ type: 'marker', at: 'in-transaction' }]);
    // The killed writer left its WAL behind; the next opener recovers from it.
    const state = inspect(path);
    expect(state.integrity).toBe('ok');
    expect(state.percent).toBe(50);
    expect(state.audit).toHaveLength(1);
    // and the store keeps working
    const store = new StateStore(new FileBackend({ path }));
    expect(await store.ratchetBaseline(landing(60))).toMatchObject({ outcome: 'raised', old: 50 });
  });

  it('processes killed at random moments of a ratchet loop leave a whole, never lower baseline', async () => {
    const path = join(tempDir(), 'state.sqlite');
    let floor = -1;
    let start = 10;
    for (let round = 0; round < 6; round++) {
      const r = await runChild(
        {
          op: 'ratchet-loop',
          backend: { kind: 'file', path },
          repo: REPO,
          branch: BRANCH,
          start,
          step: 0.01
        },
        { killAfterFirstLineMs: 50 + Math.floor(Math.random() * 250) }
      );
      expect(r.signal).toBe('SIGKILL');
      const done = r.lines.filter((l) => l.type === 'result');
      const lastDone = done.length > 0 ? done[done.length - 1] : undefined;
      const state = inspect(path);
      expect(state.integrity).toBe('ok');
      expect(state.percent).toBeDefined();
      // Old or new, never lower: at least what the last finished ratchet reported,
      // at most one step beyond it (the ratchet in flight when killed).
      const reported = lastDone && lastDone.type === 'result' ? lastDone.new : floor;
      expect(state.percent!).toBeGreaterThanOrEqual(Math.max(reported, floor));
      expect(
        Math.round(state.percent! * 100) - Math.round(Math.max(reported, start - 0.01) * 100)
      ).toBeLessThanOrEqual(1);
      expect(auditChainProblem(state.audit, state.percent)).toBeUndefined();
      floor = state.percent!;
      start = floor + 0.01;
    }
  });
});
