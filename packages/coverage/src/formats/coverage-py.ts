// coverage.py's JSON report (`coverage json`, format 2 and 3): totals from
// `totals.covered_lines` / `totals.num_statements`, files from each
// `files[*].summary`. Only those objects are built; the per-line arrays that
// make up most of the file are scanned, never held.

import type { CoverageReport, FileCoverage } from '../coverage-report.ts';
import { buildReport, checkPercent, readCount, readPercent } from './build-report.ts';
import { FileKeys } from './file-key.ts';
import { readJsonReport } from './read-json.ts';
import { CoverageReportError } from './report-error.ts';
import { inputName, type ReportInput } from './report-input.ts';
import type { JsonPath, JsonSelection } from './json-stream.ts';

function select(p: JsonPath): JsonSelection {
  if (p.length === 0) return 'walk';
  if (p.length === 1) {
    if (p[0] === 'totals') return 'build';
    return p[0] === 'files' ? 'walk' : 'skip';
  }
  if (p[0] !== 'files') return 'skip';
  if (p.length === 2) return 'walk';
  return p.length === 3 && p[2] === 'summary' ? 'build' : 'skip';
}

export async function parseCoveragePy(input: ReportInput): Promise<CoverageReport> {
  const source = inputName(input);
  let totals: unknown;
  const summaries = new Map<string, unknown>();
  await readJsonReport(input, {
    select,
    value(p, v) {
      if (p.length === 1) totals = v;
      else summaries.set(String(p[1]), v);
    }
  });
  if (totals === null || typeof totals !== 'object' || Array.isArray(totals)) {
    throw new CoverageReportError(source, 'no "totals" object: not coverage.py JSON');
  }
  const covered = readCount(source, totals, 'covered_lines', 'totals');
  const total = readCount(source, totals, 'num_statements', 'totals');
  const stated = readPercent(source, totals, 'percent_covered', 'totals');
  const branches = (totals as Record<string, unknown>).num_branches;
  const notes: string[] = [];
  if (stated !== undefined && total > 0) {
    if (typeof branches === 'number' && branches > 0) {
      // With --branch, coverage.py's own figure mixes lines and branches.
      notes.push(
        `coverage.py's percent_covered ${stated.toFixed(2)} includes branches; the line figure is used`
      );
    } else {
      // percent_covered is unrounded; the tolerance only absorbs float noise.
      checkPercent(source, stated, covered, total, 'totals.percent_covered', 0.01);
    }
  }
  const files = new Map<string, FileCoverage>();
  const keys = new FileKeys();
  let sumCovered = 0;
  let sumTotal = 0;
  for (const [path, summary] of summaries) {
    const label = `files[${JSON.stringify(path)}].summary`;
    const fc = readCount(source, summary, 'covered_lines', label);
    const ft = readCount(source, summary, 'num_statements', label);
    if (fc > ft) throw new CoverageReportError(source, `${label} covers ${fc} of ${ft} lines`);
    sumCovered += fc;
    sumTotal += ft;
    // Summaries cannot be united line by line: one file under two names keeps its fuller entry.
    const key = keys.key(path);
    const prev = files.get(key);
    if (prev === undefined || ft > prev.total || (ft === prev.total && fc > prev.covered)) {
      files.set(key, { path: key, covered: fc, total: ft });
    }
  }
  if (files.size > 0 && (sumCovered !== covered || sumTotal !== total)) {
    notes.push(
      `the files add up to ${sumCovered}/${sumTotal} lines but totals say ${covered}/${total}; totals are used`
    );
  }
  const spelled = keys.note();
  if (spelled !== null) notes.push(spelled);
  return buildReport(source, 'coverage-py', covered, total, [...files.values()], notes);
}
