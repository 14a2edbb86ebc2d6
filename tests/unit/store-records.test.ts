import type { Database } from 'better-sqlite3';
import {
  findMeasurementByTree,
  latestMeasurement,
  recordMeasurement
} from '../../packages/store/src/measurement.ts';
import { recentGateRuns, recordGateRun } from '../../packages/store/src/gate-run.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';
import { T0, freshDb, sha } from '../helpers/store-db.ts';

let db: Database;
beforeEach(() => {
  db = freshDb().db;
});
afterEach(() => db.close());
afterAll(cleanupTempDirs);

const files = [
  { path: 'src/a.ts', covered: 8, total: 10 },
  { path: 'src/b|c.ts', covered: 0, total: 4 }
];

describe('coverage measurements', () => {
  it('stores per-file counts and finds them by tree across branches', () => {
    const id1 = recordMeasurement(
      db,
      {
        repo: 'acme/app',
        branch: 'feature/x',
        sha: sha(1),
        treeSha: sha(100),
        percent: 66.666,
        format: 'lcov',
        files
      },
      T0
    );
    const id2 = recordMeasurement(
      db,
      {
        repo: 'acme/app',
        branch: 'main',
        sha: sha(2),
        treeSha: sha(200),
        percent: 70,
        format: 'cobertura',
        files: []
      },
      T0
    );
    expect(id2).toBeGreaterThan(id1);
    const m = findMeasurementByTree(db, 'acme/app', sha(100));
    expect(m).toEqual({
      id: id1,
      repo: 'acme/app',
      branch: 'feature/x',
      sha: sha(1),
      treeSha: sha(100),
      percent: 66.67,
      format: 'lcov',
      measuredAt: T0.toISOString(),
      files
    });
    expect(findMeasurementByTree(db, 'acme/other', sha(100))).toBeUndefined();
    expect(latestMeasurement(db, 'acme/app', 'main')?.id).toBe(id2);
    expect(latestMeasurement(db, 'acme/app', 'feature/x')?.id).toBe(id1);
    expect(latestMeasurement(db, 'acme/app', 'nope')).toBeUndefined();
  });

  it('the newest measurement of a tree wins', () => {
    const m = {
      repo: 'acme/app',
      branch: 'main',
      sha: sha(1),
      treeSha: sha(100),
      format: 'lcov',
      files: []
    };
    recordMeasurement(db, { ...m, percent: 10 }, T0);
    const id = recordMeasurement(db, { ...m, percent: 20 }, T0);
    expect(findMeasurementByTree(db, 'acme/app', sha(100))).toMatchObject({ id, percent: 20 });
  });

  it('refuses malformed per-file counts', () => {
    const m = {
      repo: 'acme/app',
      branch: 'main',
      sha: sha(1),
      treeSha: sha(100),
      percent: 1,
      format: 'lcov'
    };
    expect(() =>
      recordMeasurement(db, { ...m, files: [{ path: 'x', covered: 5, total: 4 }] }, T0)
    ).toThrow(/bad per-file coverage/);
    expect(() =>
      recordMeasurement(db, { ...m, files: [{ path: 'x', covered: 1.5, total: 4 }] }, T0)
    ).toThrow(/bad per-file coverage/);
    expect(latestMeasurement(db, 'acme/app', 'main')).toBeUndefined();
  });
});

describe('gate runs', () => {
  it('lists the newest runs of one repository first', () => {
    for (let i = 0; i < 5; i++)
      recordGateRun(
        db,
        {
          repo: 'acme/app',
          branch: 'main',
          gate: 'coverage',
          sha: sha(i),
          verdict: i % 2 ? 'FAIL' : 'PASS',
          summary: `run ${i}`
        },
        T0
      );
    recordGateRun(
      db,
      {
        repo: 'acme/other',
        branch: 'main',
        gate: 'security',
        sha: sha(9),
        verdict: 'PASS',
        summary: 'other'
      },
      T0
    );
    const runs = recentGateRuns(db, 'Acme/App', 3);
    expect(runs.map((r) => r.summary)).toEqual(['run 4', 'run 3', 'run 2']);
    expect(runs[0]).toMatchObject({
      repo: 'acme/app',
      gate: 'coverage',
      verdict: 'PASS',
      at: T0.toISOString()
    });
    expect(recentGateRuns(db, 'acme/other')).toHaveLength(1);
  });
});
