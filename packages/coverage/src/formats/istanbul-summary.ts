// istanbul's coverage-summary.json (the json-summary reporter of nyc, jest,
// c8, vitest): `total.lines` for the figure, every other key a file with its
// own `lines`. Statements, functions and branches are not read.

import type { CoverageReport, FileCoverage } from '../coverage-report.ts';
import { buildReport, checkPercent, readCount } from './build-report.ts';
import { FileKeys } from './file-key.ts';
import { readJsonReport } from './read-json.ts';
import { CoverageReportError } from './report-error.ts';
import { inputName, type ReportInput } from './report-input.ts';

/** Reads {total, covered, pct}; istanbul writes pct 'Unknown' when total is 0. */
function readLines(
  source: string,
  lines: unknown,
  label: string
): { covered: number; total: number } {
  if (lines === null || typeof lines !== 'object' || Array.isArray(lines)) {
    throw new CoverageReportError(source, `${label} is not an object`);
  }
  const total = readCount(source, lines, 'total', label);
  const covered = readCount(source, lines, 'covered', label);
  if (covered > total)
    throw new CoverageReportError(source, `${label} covers ${covered} of ${total} lines`);
  const pct = (lines as Record<string, unknown>).pct;
  if (pct !== undefined && pct !== 'Unknown') {
    if (typeof pct !== 'number' || !Number.isFinite(pct) || pct < 0 || pct > 100) {
      throw new CoverageReportError(
        source,
        `${label}.pct is ${String(pct)}, not a percentage 0..100`
      );
    }
    // istanbul truncates pct to two decimals.
    checkPercent(source, pct, covered, total, `${label}.pct`, 0.011);
  }
  return { covered, total };
}

export async function parseIstanbulSummary(input: ReportInput): Promise<CoverageReport> {
  const source = inputName(input);
  const entries = new Map<string, unknown>();
  await readJsonReport(input, {
    select: (p) =>
      p.length === 0
        ? 'walk'
        : p.length === 1
          ? 'walk'
          : p.length === 2 && p[1] === 'lines'
            ? 'build'
            : 'skip',
    value(p, v) {
      if (typeof p[0] === 'string') entries.set(p[0], v);
    }
  });
  if (!entries.has('total')) {
    throw new CoverageReportError(
      source,
      'no "total.lines" object: not an istanbul coverage-summary.json'
    );
  }
  const { covered, total } = readLines(source, entries.get('total'), 'total.lines');
  const files = new Map<string, FileCoverage>();
  const keys = new FileKeys();
  for (const [path, lines] of entries) {
    if (path === 'total') continue;
    const f = readLines(source, lines, `${JSON.stringify(path)}.lines`);
    // Summaries cannot be united line by line: one file under two names keeps its fuller entry.
    const key = keys.key(path);
    const prev = files.get(key);
    if (
      prev === undefined ||
      f.total > prev.total ||
      (f.total === prev.total && f.covered > prev.covered)
    ) {
      files.set(key, { path: key, ...f });
    }
  }
  const spelled = keys.note();
  return buildReport(
    source,
    'istanbul-summary',
    covered,
    total,
    [...files.values()],
    spelled === null ? [] : [spelled]
  );
}
