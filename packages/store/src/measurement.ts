// Coverage measurements: what a run measured on a commit, with per-file
// counts for the report's "files whose coverage fell most". Keyed by tree as
// well as commit: the ratchet after a landing reuses the measurement of an
// identical tree instead of running the tests again.

import type { Database } from 'better-sqlite3';
import { branchKey, repoKey, storedPercent } from './keys.ts';

export interface FileCoverage {
  path: string;
  covered: number;
  total: number;
}

export interface MeasurementInput {
  repo: string;
  branch: string;
  sha: string;
  treeSha: string;
  percent: number;
  /** The report format it was read from (lcov, cobertura, ...). */
  format: string;
  files: readonly FileCoverage[];
}

export interface Measurement extends MeasurementInput {
  id: number;
  measuredAt: string;
  files: FileCoverage[];
}

interface MeasurementRow {
  id: number;
  repo: string;
  branch: string;
  sha: string;
  tree_sha: string;
  percent: number;
  format: string;
  measured_at: string;
  files: string;
}

/** Stores one measurement; returns its id. */
export function recordMeasurement(db: Database, m: MeasurementInput, at: Date): number {
  const files = m.files.map((f) => {
    if (
      typeof f.path !== 'string' ||
      !Number.isInteger(f.covered) ||
      !Number.isInteger(f.total) ||
      f.covered < 0 ||
      f.total < f.covered
    )
      throw new RangeError(`state store: bad per-file coverage ${JSON.stringify(f)}`);
    return { path: f.path, covered: f.covered, total: f.total };
  });
  const insert = db.prepare(
    `INSERT INTO coverage_measurement (repo, branch, sha, tree_sha, percent, format, measured_at, files)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
  );
  const r = db
    .transaction(() =>
      insert.run(
        repoKey(m.repo),
        branchKey(m.branch),
        m.sha,
        m.treeSha,
        storedPercent(m.percent),
        m.format,
        at.toISOString(),
        JSON.stringify(files)
      )
    )
    .immediate();
  return Number(r.lastInsertRowid);
}

/** The newest measurement of this exact tree in this repository, on any branch. */
export function findMeasurementByTree(
  db: Database,
  repo: string,
  treeSha: string
): Measurement | undefined {
  const row = db
    .prepare(
      'SELECT * FROM coverage_measurement WHERE repo = ? AND tree_sha = ? ORDER BY id DESC LIMIT 1'
    )
    .get(repoKey(repo), treeSha) as MeasurementRow | undefined;
  return row && fromRow(row);
}

export function latestMeasurement(
  db: Database,
  repo: string,
  branch: string
): Measurement | undefined {
  const row = db
    .prepare(
      'SELECT * FROM coverage_measurement WHERE repo = ? AND branch = ? ORDER BY id DESC LIMIT 1'
    )
    .get(repoKey(repo), branchKey(branch)) as MeasurementRow | undefined;
  return row && fromRow(row);
}

function fromRow(r: MeasurementRow): Measurement {
  return {
    id: r.id,
    repo: r.repo,
    branch: r.branch,
    sha: r.sha,
    treeSha: r.tree_sha,
    percent: r.percent,
    format: r.format,
    measuredAt: r.measured_at,
    files: parseFiles(r.files)
  };
}

/** The column is CHECKed as JSON; anything else in it is dropped rather than trusted. */
function parseFiles(text: string): FileCoverage[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(v)) return [];
  return v.filter(
    (f): f is FileCoverage =>
      typeof f === 'object' &&
      f !== null &&
      typeof f.path === 'string' &&
      typeof f.covered === 'number' &&
      typeof f.total === 'number'
  );
}
