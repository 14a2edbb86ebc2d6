import type { Database } from 'better-sqlite3';
import {
  auditLog,
  getBaseline,
  ratchetBaseline,
  resetBaseline,
  setBaseline
} from '../../packages/store/src/baseline.ts';
import { hundredths, storedPercent } from '../../packages/store/src/keys.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';
import { T0, freshDb, sha } from '../helpers/store-db.ts';

const base = { repo: 'acme/app', branch: 'main', actor: 'ci', reason: 'landing' };
let db: Database;

beforeEach(() => {
  db = freshDb().db;
});
afterEach(() => db.close());
afterAll(cleanupTempDirs);

describe('ratchetBaseline', () => {
  it('bootstraps, raises, and never lowers', () => {
    expect(getBaseline(db, 'acme/app', 'main')).toBeUndefined();
    expect(ratchetBaseline(db, { ...base, percent: 70, sha: sha(1) }, T0)).toEqual({
      outcome: 'bootstrapped',
      old: null,
      new: 70
    });
    expect(ratchetBaseline(db, { ...base, percent: 72.5, sha: sha(2) }, T0)).toEqual({
      outcome: 'raised',
      old: 70,
      new: 72.5
    });
    expect(ratchetBaseline(db, { ...base, percent: 60, sha: sha(3) }, T0)).toEqual({
      outcome: 'unchanged',
      old: 72.5,
      new: 72.5
    });
    const b = getBaseline(db, 'acme/app', 'main');
    expect(b).toMatchObject({ percent: 72.5, sha: sha(2), updatedBy: 'ci', reason: 'landing' });
    expect(b?.updatedAt).toBe(T0.toISOString());
  });

  it('compares in hundredths: float noise is not a raise', () => {
    ratchetBaseline(db, { ...base, percent: 80.1, sha: sha(1) }, T0);
    // 80.1 + 0.004 rounds to the same hundredth
    expect(ratchetBaseline(db, { ...base, percent: 80.104, sha: sha(2) }, T0).outcome).toBe(
      'unchanged'
    );
    expect(
      ratchetBaseline(db, { ...base, percent: 0.1 + 0.2 + 79.8, sha: sha(3) }, T0).outcome
    ).toBe('unchanged');
    expect(ratchetBaseline(db, { ...base, percent: 80.105, sha: sha(4) }, T0)).toMatchObject({
      outcome: 'raised',
      new: 80.11
    });
    expect(hundredths(80.105)).toBe(8011);
    expect(storedPercent(33.333333)).toBe(33.33);
  });

  it('writes an audit row only when the baseline changes', () => {
    ratchetBaseline(db, { ...base, percent: 50, sha: sha(1) }, T0);
    ratchetBaseline(db, { ...base, percent: 49, sha: sha(2) }, T0);
    ratchetBaseline(db, { ...base, percent: 50, sha: sha(3) }, T0);
    ratchetBaseline(db, { ...base, percent: 51, sha: sha(4) }, T0);
    const log = auditLog(db, 'acme/app', 'main');
    expect(log.map((e) => [e.how, e.old, e.new, e.sha])).toEqual([
      ['ratchet', 50, 51, sha(4)],
      ['bootstrap', null, 50, sha(1)]
    ]);
  });

  it.each([-0.01, 100.01, Number.NaN, Number.POSITIVE_INFINITY])('refuses percent %p', (p) => {
    expect(() => ratchetBaseline(db, { ...base, percent: p, sha: sha(1) }, T0)).toThrow(
      /percent must be a number from 0 to 100/
    );
    expect(getBaseline(db, 'acme/app', 'main')).toBeUndefined();
  });

  it('accepts 0 and 100', () => {
    expect(ratchetBaseline(db, { ...base, percent: 0, sha: sha(1) }, T0).outcome).toBe(
      'bootstrapped'
    );
    expect(ratchetBaseline(db, { ...base, percent: 100, sha: sha(2) }, T0).new).toBe(100);
  });
});

describe('setBaseline and resetBaseline', () => {
  it('set may lower and is audited as set', () => {
    ratchetBaseline(db, { ...base, percent: 90, sha: sha(1) }, T0);
    expect(
      setBaseline(
        db,
        { ...base, percent: 85, sha: sha(2), actor: 'alice', reason: 'flaky suite removed' },
        T0
      )
    ).toEqual({ old: 90, new: 85 });
    expect(getBaseline(db, 'acme/app', 'main')).toMatchObject({ percent: 85, updatedBy: 'alice' });
    expect(auditLog(db, 'acme/app', 'main', 1)[0]).toMatchObject({
      how: 'set',
      old: 90,
      new: 85,
      actor: 'alice',
      reason: 'flaky suite removed'
    });
  });

  it('set on a branch without a baseline creates it', () => {
    expect(setBaseline(db, { ...base, percent: 40, sha: sha(1) }, T0)).toEqual({
      old: null,
      new: 40
    });
  });

  it('a manual change needs an actor and a reason', () => {
    expect(() => setBaseline(db, { ...base, percent: 40, sha: sha(1), reason: ' ' }, T0)).toThrow(
      /actor and a reason/
    );
    expect(() => resetBaseline(db, { ...base, actor: '' }, T0)).toThrow(/actor and a reason/);
  });

  it('reset removes the baseline, is audited, and the next ratchet bootstraps', () => {
    ratchetBaseline(db, { ...base, percent: 90, sha: sha(1) }, T0);
    expect(resetBaseline(db, { ...base, actor: 'bob', reason: 'new test runner' }, T0)).toEqual({
      outcome: 'removed',
      old: 90
    });
    expect(getBaseline(db, 'acme/app', 'main')).toBeUndefined();
    expect(auditLog(db, 'acme/app', 'main', 1)[0]).toMatchObject({
      how: 'reset',
      old: 90,
      new: null,
      actor: 'bob'
    });
    expect(ratchetBaseline(db, { ...base, percent: 20, sha: sha(2) }, T0).outcome).toBe(
      'bootstrapped'
    );
  });

  it('reset without a baseline changes nothing and writes no audit row', () => {
    expect(resetBaseline(db, { ...base, actor: 'bob', reason: 'x' }, T0)).toEqual({
      outcome: 'absent',
      old: null
    });
    expect(auditLog(db, 'acme/app', 'main')).toEqual([]);
  });
});

describe('isolation', () => {
  it('two repositories sharing one state never see each other', () => {
    ratchetBaseline(db, { ...base, repo: 'acme/one', percent: 90, sha: sha(1) }, T0);
    ratchetBaseline(db, { ...base, repo: 'acme/two', percent: 10, sha: sha(2) }, T0);
    expect(getBaseline(db, 'acme/one', 'main')?.percent).toBe(90);
    expect(getBaseline(db, 'acme/two', 'main')?.percent).toBe(10);
    expect(
      ratchetBaseline(db, { ...base, repo: 'acme/two', percent: 20, sha: sha(3) }, T0)
    ).toEqual({
      outcome: 'raised',
      old: 10,
      new: 20
    });
    expect(auditLog(db, 'acme/one', 'main')).toHaveLength(1);
    expect(auditLog(db, 'acme/two', 'main')).toHaveLength(2);
    resetBaseline(db, { ...base, repo: 'acme/two', actor: 'x', reason: 'y' }, T0);
    expect(getBaseline(db, 'acme/one', 'main')?.percent).toBe(90);
  });

  it('branches are separate and case-sensitive; owner/name is not', () => {
    ratchetBaseline(db, { ...base, percent: 90, sha: sha(1) }, T0);
    ratchetBaseline(db, { ...base, branch: 'develop', percent: 10, sha: sha(2) }, T0);
    expect(getBaseline(db, 'ACME/App', 'main')?.percent).toBe(90);
    expect(getBaseline(db, 'acme/app', 'Main')).toBeUndefined();
    expect(getBaseline(db, 'acme/app', 'develop')?.percent).toBe(10);
    // 'Acme/App' is the same repository: a lower value there is not a fresh bootstrap
    expect(
      ratchetBaseline(db, { ...base, repo: ' Acme/App ', percent: 50, sha: sha(3) }, T0).outcome
    ).toBe('unchanged');
  });

  it('refuses an empty repository or branch', () => {
    expect(() => getBaseline(db, ' ', 'main')).toThrow(/repository must not be empty/);
    expect(() => getBaseline(db, 'a/b', '')).toThrow(/branch must not be empty/);
  });
});
