// The tamper-evident state on real SQLite files: every baseline, lease and
// green-test change is one chain row; an edit made outside the store (the
// code under test running UPDATE on the file) is detected when the state is
// opened, nothing is raised, lowered or used on its strength, and a
// maintainer's reseal records who accepted or undid it.
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { join } from 'node:path';
import {
  getBaseline,
  ratchetBaseline,
  repositoryBaselines,
  resetBaseline,
  setBaseline
} from '../../packages/store/src/baseline.ts';
import { cancelBranch, stopOrDefer } from '../../packages/store/src/branch-cancel.ts';
import { canonicalJson } from '../../packages/store/src/chained-rows.ts';
import { StoreError, TAMPERED_ERROR_KIND, isTampered } from '../../packages/store/src/errors.ts';
import {
  checkGreenTest,
  commandDigest,
  findGreenTest,
  recordGreenTest
} from '../../packages/store/src/green-test.ts';
import {
  confirmLease,
  currentLease,
  releaseLease,
  tryAcquireLease,
  type LeaseRequest
} from '../../packages/store/src/lease.ts';
import {
  enterCritical,
  leaveCritical,
  mergeWindow
} from '../../packages/store/src/merge-window.ts';
import { MIGRATIONS, currentVersion, latestVersion } from '../../packages/store/src/migrations.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import {
  chainDigest,
  resealState,
  rowHash,
  verifyState,
  type ChainRow
} from '../../packages/store/src/state-chain.ts';
import { T0, sha } from '../helpers/store-db.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const REPO = 'acme/app';
const KEY = 'k'.repeat(32);
const at = (ms: number) => new Date(T0.getTime() + ms);
const landing = (percent: number, n = 1) => ({
  repo: REPO,
  branch: 'main',
  percent,
  sha: sha(n),
  actor: 'ci',
  reason: 'landing'
});
const lease = (branch: string, runId: string, ttlMs = 60_000): LeaseRequest => ({
  repo: REPO,
  branch,
  headSha: sha(7),
  runId,
  ttlMs
});

function newPath(): string {
  return join(tempDir('qg-chain-'), 'state.sqlite');
}

function open(path: string, stateKey?: string, migrations = MIGRATIONS): Db {
  return openStateDatabase(path, { journal: 'wal', writable: true, stateKey, migrations });
}

/** Runs `fn` on a fresh connection, as each store operation does. */
function op<T>(path: string, fn: (db: Db) => T, stateKey?: string): T {
  const db = open(path, stateKey);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** What the code under test can do: plain SQL on the file, with no quality-gates code involved. */
function tamper(path: string, ...sql: string[]): void {
  const raw = new Database(path);
  try {
    for (const q of sql) raw.exec(q);
  } finally {
    raw.close();
  }
}

function chainRows(path: string): number {
  const raw = new Database(path, { readonly: true });
  try {
    return raw.prepare('SELECT COUNT(*) FROM state_chain').pluck().get() as number;
  } finally {
    raw.close();
  }
}

function refusal(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (err) {
    expect(isTampered(err)).toBe(true);
    return err as StoreError;
  }
  throw new Error('expected a refusal');
}

function percentInTable(path: string): number | undefined {
  const raw = new Database(path, { readonly: true });
  try {
    return raw.prepare('SELECT percent FROM coverage_baseline').pluck().get() as number | undefined;
  } finally {
    raw.close();
  }
}

describe('the state chain', () => {
  it('a new state is sealed by a genesis row and verifies', () => {
    const path = newPath();
    const r = op(path, (db) => verifyState(db, { full: true }));
    expect(r).toMatchObject({ sealed: true, ok: true, keyed: false, length: 1, lines: [] });
    expect(op(path, (db) => currentVersion(db))).toBe(latestVersion());
  });

  it('every baseline, lease and green-test change appends exactly one row; no change appends none', () => {
    const path = newPath();
    const steps: [string, (db: Db) => unknown, number][] = [
      ['bootstrap', (db) => ratchetBaseline(db, landing(70), T0), 1],
      ['raise', (db) => ratchetBaseline(db, landing(75, 2), T0), 1],
      ['unchanged', (db) => ratchetBaseline(db, landing(60, 3), T0), 0],
      ['set', (db) => setBaseline(db, { ...landing(50), actor: 'alice', reason: 'x' }, T0), 1],
      ['acquire', (db) => tryAcquireLease(db, lease('agent/a', 'r1'), T0), 1],
      ['busy', (db) => tryAcquireLease(db, lease('agent/b', 'r2'), T0), 0],
      ['renew', (db) => tryAcquireLease(db, lease('agent/a', 'r1'), at(1000)), 1],
      ['enter', (db) => enterCritical(db, REPO, { branch: 'agent/a' }, at(2000)), 1],
      ['leave', (db) => leaveCritical(db, REPO, { branch: 'agent/a' }, at(3000)), 1],
      [
        'confirm',
        (db) => {
          const l = currentLease(db, REPO)!;
          return confirmLease(
            db,
            REPO,
            { branch: 'agent/a', leaseId: l.leaseId, token: l.token, ttlMs: 60_000 },
            at(4000)
          );
        },
        1
      ],
      ['not-holder', (db) => releaseLease(db, { repo: REPO, branch: 'agent/b' }, at(5000)), 0],
      ['release', (db) => releaseLease(db, { repo: REPO, branch: 'agent/a' }, at(5000)), 1],
      ['reacquire', (db) => tryAcquireLease(db, lease('agent/b', 'r2', 10), at(6000)), 1],
      ['reclaim', (db) => tryAcquireLease(db, lease('agent/c', 'r3'), at(7000)), 1],
      [
        'cancel',
        (db) => cancelBranch(db, { repo: REPO, branch: 'agent/c', by: 'bob', reason: 'x' }, T0),
        1
      ],
      [
        'green',
        (db) =>
          recordGreenTest(
            db,
            {
              repo: REPO,
              treeSha: sha(9),
              command: 'npm test',
              sha: sha(8),
              branch: 'b',
              gate: 'merge'
            },
            T0
          ),
        1
      ],
      [
        'reset',
        (db) => resetBaseline(db, { repo: REPO, branch: 'main', actor: 'a', reason: 'b' }, T0),
        1
      ]
    ];
    op(path, () => undefined);
    for (const [what, fn, rows] of steps) {
      const before = chainRows(path);
      op(path, fn);
      expect([what, chainRows(path) - before]).toEqual([what, rows]);
      expect([what, op(path, (db) => verifyState(db, { full: true }).lines)]).toEqual([what, []]);
    }
  });
});

describe('a coverage baseline changed outside the store', () => {
  it('90 -> 0 with sqlite: found on open, the read stays 90, the ratchet refuses and nothing changes', () => {
    const path = newPath();
    op(path, (db) => ratchetBaseline(db, landing(90), T0));
    tamper(path, 'UPDATE coverage_baseline SET percent = 0');
    const report = op(path, (db) => verifyState(db));
    expect(report.ok).toBe(false);
    expect(report.lines).toEqual([
      'coverage baseline acme/app@main was changed outside the store: the table says 0.00% (by ci: landing), the audited value is 90.00% (by ci: landing)'
    ]);
    const read = op(path, (db) => getBaseline(db, REPO, 'main'));
    expect(read).toMatchObject({ percent: 90, updatedBy: 'ci', tampered: report.lines[0] });
    // An 80 % branch landing would "raise" 0 to 80: refused, in one line, of its own kind.
    const err = refusal(() => op(path, (db) => ratchetBaseline(db, landing(80, 2), T0)));
    expect(err.kind).toBe(TAMPERED_ERROR_KIND);
    expect(err.message).toBe(
      `state store ${path}: tampered: ${report.lines[0]}; refused, the state was left as it is (a maintainer checks it, then runs quality-gates state reseal)`
    );
    expect(err.message).not.toContain('\n');
    // A raise above the audited value is refused too: nothing moves on an edited table.
    refusal(() => op(path, (db) => ratchetBaseline(db, landing(95, 3), T0)));
    expect(percentInTable(path)).toBe(0);
    expect(op(path, (db) => repositoryBaselines(db, REPO))).toEqual([
      expect.objectContaining({ percent: 90, tampered: report.lines[0] })
    ]);
  });

  it('a row inserted with no chain entry is no baseline, and bootstrap refuses', () => {
    const path = newPath();
    op(path, () => undefined);
    tamper(
      path,
      `INSERT INTO coverage_baseline VALUES ('acme/app', 'main', 10, '${sha(1)}', 'x', 'unknown', 'seed')`
    );
    expect(op(path, (db) => verifyState(db).lines)).toEqual([
      'coverage baseline acme/app@main was added outside the store (10.00% (by unknown: seed))'
    ]);
    expect(op(path, (db) => getBaseline(db, REPO, 'main'))).toBeUndefined();
    refusal(() => op(path, (db) => ratchetBaseline(db, landing(20), T0)));
  });

  it('a row deleted outside the store is reported removed; the read is the audited value', () => {
    const path = newPath();
    op(path, (db) => ratchetBaseline(db, landing(90), T0));
    tamper(path, 'DELETE FROM coverage_baseline');
    expect(op(path, (db) => verifyState(db).lines)).toEqual([
      'coverage baseline acme/app@main was removed outside the store (the audited value is 90.00% (by ci: landing))'
    ]);
    expect(op(path, (db) => getBaseline(db, REPO, 'main'))?.percent).toBe(90);
    refusal(() => op(path, (db) => ratchetBaseline(db, landing(50), T0)));
  });

  it("a maintainer's set replaces the edited value, from the audited one, and says so", () => {
    const path = newPath();
    op(path, (db) => ratchetBaseline(db, landing(90), T0));
    tamper(path, 'UPDATE coverage_baseline SET percent = 0');
    const r = op(path, (db) =>
      setBaseline(db, { ...landing(85), actor: 'alice', reason: 'flaky module removed' }, T0)
    );
    expect(r).toMatchObject({ old: 90, new: 85 });
    expect(r.tampered).toMatch(/the table says 0\.00%/);
    expect(op(path, (db) => verifyState(db, { full: true }).ok)).toBe(true);
    expect(op(path, (db) => getBaseline(db, REPO, 'main'))?.tampered).toBeUndefined();
  });

  it('reseal: accept chain puts 90 back; accept tables keeps 0; both record who and why', () => {
    const path = newPath();
    op(path, (db) => ratchetBaseline(db, landing(90), T0));
    tamper(path, 'UPDATE coverage_baseline SET percent = 0');
    const back = op(path, (db) =>
      resealState(db, { actor: 'alice', reason: 'undo the test run edit', accept: 'chain' }, at(1))
    );
    expect(back.changes).toEqual([
      expect.objectContaining({ name: 'coverage baseline acme/app@main', restored: true })
    ]);
    expect(percentInTable(path)).toBe(90);
    expect(op(path, (db) => verifyState(db, { full: true }).ok)).toBe(true);
    expect(op(path, (db) => ratchetBaseline(db, landing(91, 2), T0).outcome)).toBe('raised');

    tamper(path, 'UPDATE coverage_baseline SET percent = 0');
    const kept = op(path, (db) =>
      resealState(db, { actor: 'bob', reason: 'the drop is real', accept: 'tables' }, at(2))
    );
    expect(kept.changes[0]).toMatchObject({ restored: false });
    expect(op(path, (db) => getBaseline(db, REPO, 'main'))).toMatchObject({ percent: 0 });
    expect(op(path, (db) => verifyState(db, { full: true }))).toMatchObject({ ok: true });
    const raw = new Database(path, { readonly: true });
    const marker = raw
      .prepare("SELECT actor, reason FROM state_chain WHERE kind = 'seal' ORDER BY id DESC")
      .get();
    raw.close();
    expect(marker).toEqual({ actor: 'bob', reason: 'the drop is real' });
  });
});

describe('the merge lease changed outside the store', () => {
  it('a deleted lease row: found; another branch cannot take the lease; reads refuse', () => {
    const path = newPath();
    op(path, (db) => tryAcquireLease(db, lease('agent/a', 'r1'), T0));
    tamper(path, 'DELETE FROM merge_lease');
    expect(op(path, (db) => verifyState(db).lines)).toEqual([
      'merge lease acme/app was changed outside the store: the table says free, the audited value is held by agent/a (run r1, token 1, until 2026-01-02T03:05:05.000Z)'
    ]);
    refusal(() => op(path, (db) => tryAcquireLease(db, lease('agent/b', 'r2'), at(1000))));
    refusal(() => op(path, (db) => currentLease(db, REPO)));
  });

  it('an edited lease row (expiry moved into the past): no reclaim, no confirm, no window, no release, no STOP', () => {
    const path = newPath();
    const a = op(path, (db) => tryAcquireLease(db, lease('agent/a', 'r1'), T0));
    tamper(path, "UPDATE merge_lease SET expires_at = '2000-01-01T00:00:00.000Z'");
    expect(op(path, (db) => verifyState(db).lines)).toEqual([
      'merge lease acme/app was changed outside the store: the table says held by agent/a (run r1, token 1, until 2000-01-01T00:00:00.000Z), the audited value is held by agent/a (run r1, token 1, until 2026-01-02T03:05:05.000Z)'
    ]);
    const holder = { branch: 'agent/a', leaseId: a.leaseId!, token: a.holder.token, ttlMs: 1 };
    const now = at(1000);
    refusal(() => op(path, (db) => tryAcquireLease(db, lease('agent/b', 'r2'), now)));
    refusal(() => op(path, (db) => confirmLease(db, REPO, holder, now)));
    refusal(() => op(path, (db) => enterCritical(db, REPO, holder, now)));
    refusal(() => op(path, (db) => leaveCritical(db, REPO, holder, now)));
    refusal(() => op(path, (db) => releaseLease(db, { repo: REPO, branch: 'agent/a' }, now)));
    refusal(() => op(path, (db) => mergeWindow(db, REPO, now)));
    refusal(() =>
      op(path, (db) =>
        stopOrDefer(db, { repo: REPO, branch: 'agent/a', by: 'x', reason: 'y' }, now)
      )
    );
  });
});

describe('proofs of green re-tests', () => {
  const TREE = sha(0xaa);
  const proof = (command = 'npm test') => ({
    repo: REPO,
    treeSha: TREE,
    command,
    sha: sha(0xbb),
    branch: 'agent/a',
    gate: 'merge'
  });

  it("a row a red branch's test inserted for its own tree is not proof", () => {
    const path = newPath();
    op(path, () => undefined);
    tamper(
      path,
      `INSERT INTO green_test VALUES ('acme/app', '${TREE}', '${commandDigest('npm test')}', '${sha(0xbb)}', 'agent/a', 'merge', 'x')`
    );
    expect(op(path, (db) => findGreenTest(db, REPO, TREE, 'npm test'))).toBeUndefined();
    expect(op(path, (db) => checkGreenTest(db, REPO, TREE, 'npm test').ignored)).toMatch(
      new RegExp(`^green test proof acme/app tree ${TREE.slice(0, 12)} was added outside the store`)
    );
    // Found on open by the count, without looking at every proof.
    expect(op(path, (db) => verifyState(db).lines)).toEqual([
      expect.stringContaining('was added outside the store')
    ]);
    // A real green re-test of that tree replaces the forged row and is proof.
    op(path, (db) => recordGreenTest(db, proof(), T0));
    expect(op(path, (db) => findGreenTest(db, REPO, TREE, 'npm test'))).toMatchObject({
      treeSha: TREE
    });
    expect(op(path, (db) => verifyState(db, { full: true }).ok)).toBe(true);
  });

  it('a recorded proof counts; the same row edited (another command) does not', () => {
    const path = newPath();
    op(path, (db) => recordGreenTest(db, proof('npm test'), T0));
    expect(op(path, (db) => findGreenTest(db, REPO, TREE, 'npm test'))).toBeDefined();
    tamper(path, `UPDATE green_test SET command_sha = '${commandDigest('true')}'`);
    expect(op(path, (db) => findGreenTest(db, REPO, TREE, 'true'))).toBeUndefined();
    expect(op(path, (db) => findGreenTest(db, REPO, TREE, 'npm test'))).toBeUndefined();
    expect(op(path, (db) => verifyState(db, { full: true }).lines)).toHaveLength(2);
  });
});

describe('a chain changed outside the store', () => {
  function stateWithHistory(stateKey?: string): string {
    const path = newPath();
    op(
      path,
      (db) => {
        ratchetBaseline(db, landing(70), T0);
        ratchetBaseline(db, landing(80, 2), T0);
        recordGreenTest(
          db,
          { repo: REPO, treeSha: sha(5), command: 'c', sha: sha(6), branch: 'b', gate: 'merge' },
          T0
        );
        tryAcquireLease(db, lease('agent/a', 'r1'), T0);
      },
      stateKey
    );
    return path;
  }

  it.each([
    [
      'the newest row edited',
      'UPDATE state_chain SET value = NULL WHERE id = 5',
      /chain row 5, the newest, was changed/
    ],
    [
      'the newest row deleted',
      'DELETE FROM state_chain WHERE id = 5',
      /chain row 5, the newest, is missing/
    ],
    [
      'a row in the middle deleted',
      'DELETE FROM state_chain WHERE id = 2',
      /1 chain row\(s\) before row 5 were removed/
    ],
    [
      'a row appended by hand',
      'INSERT INTO state_chain SELECT id + 1, kind, key, op, value, actor, reason, at, alg, hash, hash FROM state_chain WHERE id = 5',
      /1 chain row\(s\) after row 5 were written outside the store/
    ],
    [
      'the checkpoint deleted',
      'DELETE FROM state_chain_checkpoint',
      /the chain checkpoint is missing/
    ]
  ])(
    '%s: every baseline and lease operation refuses; no green test is proof',
    (_what, sql, line) => {
      const path = stateWithHistory();
      expect(op(path, (db) => findGreenTest(db, REPO, sha(5), 'c'))).toBeDefined();
      tamper(path, sql);
      const r = op(path, (db) => verifyState(db));
      expect(r.broken).toMatch(line);
      expect(r.lines[0]).toMatch(line);
      refusal(() => op(path, (db) => getBaseline(db, REPO, 'main')));
      refusal(() => op(path, (db) => ratchetBaseline(db, landing(99, 3), T0)));
      refusal(() => op(path, (db) => setBaseline(db, { ...landing(1), reason: 'r' }, T0)));
      refusal(() => op(path, (db) => currentLease(db, REPO)));
      refusal(() => op(path, (db) => tryAcquireLease(db, lease('agent/b', 'r2'), at(999_999))));
      expect(op(path, (db) => findGreenTest(db, REPO, sha(5), 'c'))).toBeUndefined();
      // A status view still lists the baselines, each saying why it cannot be believed.
      expect(op(path, (db) => repositoryBaselines(db, REPO))[0].tampered).toMatch(line);
      // The reseal accepts what is there and the state verifies again, history included.
      op(path, (db) => resealState(db, { actor: 'alice', reason: 'checked' }, T0));
      expect(op(path, (db) => verifyState(db, { full: true }).lines)).toEqual([]);
    }
  );

  it('an edit deep in the history escapes the per-operation check and is found by the full walk', () => {
    const path = stateWithHistory();
    tamper(path, "UPDATE state_chain SET actor = 'mallory' WHERE id = 2");
    expect(op(path, (db) => verifyState(db).ok)).toBe(true);
    expect(op(path, (db) => verifyState(db, { full: true }).lines)).toEqual([
      'chain row 2 was changed'
    ]);
  });

  it("the last row of a key re-keyed to hide it (a rollback): the key's signed head still names it", () => {
    const path = stateWithHistory(KEY);
    tamper(
      path,
      `UPDATE state_chain SET key = '["acme/app","elsewhere"]' WHERE id = 3`,
      'UPDATE coverage_baseline SET percent = 70'
    );
    expect(op(path, (db) => verifyState(db).lines, KEY)).toEqual([
      expect.stringMatching(
        /^coverage baseline acme\/app@main was changed outside the store: the table says 70\.00%/
      )
    ]);
  });
});

describe('state-key', () => {
  /** A forger who knows the scheme: appends a row and moves head and checkpoint, with SHA-256. */
  function forge(path: string): void {
    const raw = new Database(path);
    try {
      const last = raw
        .prepare('SELECT * FROM state_chain ORDER BY id DESC LIMIT 1')
        .get() as ChainRow;
      const key = canonicalJson(['acme/app', 'main']);
      const value = canonicalJson({
        percent: 0,
        sha: sha(1),
        updated_at: 'x',
        updated_by: 'ci',
        reason: 'landing'
      });
      const row = {
        id: last.id + 1,
        kind: 'baseline' as const,
        key,
        op: 'set',
        value,
        actor: 'ci',
        reason: 'landing',
        at: 'x',
        alg: 'sha256' as const,
        prev_hash: last.hash
      };
      const hash = rowHash(row, undefined)!;
      raw
        .prepare(
          'INSERT INTO state_chain VALUES (@id, @kind, @key, @op, @value, @actor, @reason, @at, @alg, @prev_hash, @hash)'
        )
        .run({ ...row, hash });
      const counts = raw
        .prepare('SELECT counts FROM state_chain_checkpoint')
        .pluck()
        .get() as string;
      for (const alg of ['sha256', 'hmac-sha256']) {
        // Whatever the state claims to be signed with, the forger can only make SHA-256.
        const headMac = chainDigest('sha256', undefined, [
          'head',
          'baseline',
          key,
          value,
          row.id,
          hash
        ]);
        const cpMac = chainDigest('sha256', undefined, ['checkpoint', row.id, hash, counts, 0]);
        const current = raw.prepare('SELECT alg FROM state_chain_checkpoint').pluck().get();
        if (current !== alg) continue;
        raw
          .prepare(
            'UPDATE state_chain_head SET value = ?, chain_id = ?, chain_hash = ?, mac = ? WHERE kind = ? AND key = ?'
          )
          .run(value, row.id, hash, headMac, 'baseline', key);
        raw
          .prepare('UPDATE state_chain_checkpoint SET chain_id = ?, chain_hash = ?, mac = ?')
          .run(row.id, hash, cpMac);
      }
      raw
        .prepare(
          "UPDATE coverage_baseline SET percent = 0, sha = ?, updated_at = 'x', updated_by = 'ci', reason = 'landing'"
        )
        .run(sha(1));
    } finally {
      raw.close();
    }
  }

  it('without a key, a forger who recomputes SHA-256 goes unnoticed (the documented limit)', () => {
    const path = newPath();
    op(path, (db) => ratchetBaseline(db, landing(90), T0));
    forge(path);
    expect(op(path, (db) => verifyState(db, { full: true }).ok)).toBe(true);
    expect(op(path, (db) => getBaseline(db, REPO, 'main'))?.percent).toBe(0);
  });

  it('with a key, the same hand-appended row with a recomputed SHA-256 is caught', () => {
    const path = newPath();
    op(path, (db) => ratchetBaseline(db, landing(90), T0), KEY);
    expect(op(path, (db) => verifyState(db), KEY)).toMatchObject({ ok: true, keyed: true });
    forge(path);
    const r = op(path, (db) => verifyState(db), KEY);
    expect(r.broken).toBe(
      'the chain checkpoint does not verify (changed outside the store, or signed with a different state-key)'
    );
    refusal(() => op(path, (db) => getBaseline(db, REPO, 'main'), KEY));
    refusal(() => op(path, (db) => ratchetBaseline(db, landing(80, 2), T0), KEY));
  });

  it('signed with a key and opened without it, the reverse, or another key: one line, refused', () => {
    const keyed = newPath();
    op(keyed, (db) => ratchetBaseline(db, landing(90), T0), KEY);
    expect(op(keyed, (db) => verifyState(db).lines)).toEqual([
      'the state is signed with a state-key and this run has none (pass the same state-key to every quality-gates step)'
    ]);
    refusal(() => op(keyed, (db) => ratchetBaseline(db, landing(95, 2), T0)));
    expect(op(keyed, (db) => verifyState(db).keyProblem, 'x'.repeat(32))).toBe(true);

    const plain = newPath();
    op(plain, (db) => ratchetBaseline(db, landing(90), T0));
    expect(op(plain, (db) => verifyState(db).lines, KEY)).toEqual([
      'the state was sealed without a state-key and this run has one (adopt the key once: quality-gates state reseal --reason "..." with the state-key)'
    ]);
    // Adopting the key is a reseal made with it; from then on the state is signed.
    op(plain, (db) => resealState(db, { actor: 'alice', reason: 'adopt the state-key' }, T0), KEY);
    expect(op(plain, (db) => verifyState(db, { full: true }), KEY)).toMatchObject({
      ok: true,
      keyed: true
    });
    expect(op(plain, (db) => ratchetBaseline(db, landing(95, 2), T0), KEY).outcome).toBe('raised');
  });
});

describe('an old state file', () => {
  it('a v4 file migrates in place, its rows sealed as found, and verifies', () => {
    const path = newPath();
    const v4 = open(path, undefined, MIGRATIONS.slice(0, 4));
    expect(currentVersion(v4)).toBe(4);
    ratchetBaseline(v4, landing(81.5), T0);
    tryAcquireLease(v4, lease('agent/a', 'r1'), T0);
    recordGreenTest(
      v4,
      { repo: REPO, treeSha: sha(3), command: 'npm test', sha: sha(4), branch: 'a', gate: 'merge' },
      T0
    );
    v4.close();

    const db = open(path, KEY);
    try {
      expect(currentVersion(db)).toBe(latestVersion());
      expect(verifyState(db, { full: true })).toMatchObject({ ok: true, keyed: true, length: 4 });
      expect(getBaseline(db, REPO, 'main')?.percent).toBe(81.5);
      expect(currentLease(db, REPO)?.branch).toBe('agent/a');
      expect(findGreenTest(db, REPO, sha(3), 'npm test')).toBeDefined();
      const genesis = db.prepare('SELECT op, value FROM state_chain WHERE id = 1').get();
      expect(genesis).toEqual({
        op: 'genesis',
        value: canonicalJson({
          schema: 5,
          from: 4,
          rows: { baseline: 1, lease: 1, 'green-test': 1 }
        })
      });
    } finally {
      db.close();
    }
    // From here on an edit is found like on any state.
    tamper(path, 'UPDATE coverage_baseline SET percent = 0');
    expect(op(path, (db) => getBaseline(db, REPO, 'main'), KEY)?.percent).toBe(81.5);
  });
});

describe('verification cost', () => {
  it('stays in the low milliseconds per operation on a state with 10,000 chain rows', () => {
    const path = newPath();
    const db = open(path, KEY);
    try {
      db.transaction(() => {
        for (let i = 0; i < 10_000; i++) {
          const n = i % 4;
          if (n === 0)
            recordGreenTest(
              db,
              {
                repo: REPO,
                treeSha: sha(i + 1),
                command: 'npm test',
                sha: sha(i + 1),
                branch: 'a',
                gate: 'merge'
              },
              T0
            );
          else if (n === 1) tryAcquireLease(db, lease(`agent/${i}`, `r${i}`, 1), at(i * 10));
          else if (n === 2)
            releaseLease(db, { repo: REPO, branch: `agent/${i - 1}` }, at(i * 10 + 5));
          else ratchetBaseline(db, { ...landing(50 + i / 1000), branch: `b${i % 40}` }, T0);
        }
      }).immediate();
      expect(db.prepare('SELECT COUNT(*) FROM state_chain').pluck().get()).toBeGreaterThanOrEqual(
        10_000
      );
    } finally {
      db.close();
    }
    const times = (fn: () => void, n = 50): number => {
      const t: number[] = [];
      for (let i = 0; i < n; i++) {
        const s = process.hrtime.bigint();
        fn();
        t.push(Number(process.hrtime.bigint() - s) / 1e6);
      }
      return t.sort((a, b) => a - b)[Math.floor(n / 2)];
    };
    const conn = open(path, KEY);
    try {
      const verify = times(() => expect(verifyState(conn).ok).toBe(true));
      const read = times(() => getBaseline(conn, REPO, 'b3'));
      const ratchet = times(() => ratchetBaseline(conn, { ...landing(99), branch: 'b3' }, T0));
      const full = times(() => verifyState(conn, { full: true }), 3);
      process.stdout.write(
        `state chain of 10,000+ rows (40 baselines, 2,500 proofs): verify ${verify.toFixed(2)} ms, baseline read ${read.toFixed(2)} ms, ratchet ${ratchet.toFixed(2)} ms (medians); full walk ${full.toFixed(1)} ms\n`
      );
      expect(verify).toBeLessThan(10);
      expect(read).toBeLessThan(5);
    } finally {
      conn.close();
    }
  });
});
