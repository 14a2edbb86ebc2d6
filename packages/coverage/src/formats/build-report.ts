// The last step of every reader: counts checked for sense, the percentage
// computed once, files sorted. Nothing instrumented is an error here, so no
// reader can divide by zero or call an empty report 100 %.
//
// A file's line-by-line states (`lines`) are attached as a non-enumerable
// property: the reader's own LineStates, by reference (never copied), kept
// out of JSON.stringify (a report or a file logged or stored stays its
// counts) and out of deep-equality checks of the counts; an object spread
// drops it, so pass the FileCoverage itself along.

import type {
  CoverageFormat,
  CoverageReport,
  FileCoverage,
  LineLookup
} from '../coverage-report.ts';
import type { LineStates } from './line-states.ts';
import { CoverageReportError } from './report-error.ts';

/** A file's counts with its line-by-line states attached (non-enumerable, by reference). */
export function fileWithLines(
  path: string,
  covered: number,
  total: number,
  lines: LineLookup | null
): FileCoverage {
  const file: FileCoverage = { path, covered, total };
  if (lines !== null) {
    Object.defineProperty(file, 'lines', {
      value: lines,
      enumerable: false,
      writable: true,
      configurable: true
    });
  }
  return file;
}

/** Per-file line counts and their totals, from each file's lines (kept as the file's `lines`). */
export function fileTotals(perFile: Iterable<[string, LineStates]>): {
  files: FileCoverage[];
  covered: number;
  total: number;
} {
  const files: FileCoverage[] = [];
  let covered = 0;
  let total = 0;
  for (const [path, lines] of perFile) {
    files.push(fileWithLines(path, lines.covered, lines.total, lines));
    covered += lines.covered;
    total += lines.total;
  }
  return { files, covered, total };
}

export function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function buildReport(
  source: string,
  format: CoverageFormat,
  covered: number,
  total: number,
  files: FileCoverage[],
  notes: string[] = [],
  sources: string[] = []
): CoverageReport {
  if (!isCount(covered) || !isCount(total)) {
    throw new CoverageReportError(
      source,
      `line counts are not whole non-negative numbers (covered ${covered}, total ${total})`
    );
  }
  if (covered > total) {
    throw new CoverageReportError(
      source,
      `more lines covered than instrumented (${covered} of ${total})`
    );
  }
  if (total === 0) {
    throw new CoverageReportError(
      source,
      '0 lines instrumented (nothing was measured: check the coverage source settings)'
    );
  }
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const report: CoverageReport = {
    format,
    measure: 'lines',
    covered,
    total,
    percent: (covered / total) * 100,
    files: sorted,
    notes
  };
  // Only a report that names its roots (Cobertura <sources>) carries them.
  if (sources.length > 0) report.sources = sources;
  return report;
}

function describe(v: unknown): string {
  const s = typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function field(holder: unknown, key: string): unknown {
  return holder !== null && typeof holder === 'object'
    ? (holder as Record<string, unknown>)[key]
    : undefined;
}

/** A whole non-negative count at holder[key]; `label` names holder in the message. */
export function readCount(source: string, holder: unknown, key: string, label: string): number {
  const v = field(holder, key);
  if (isCount(v)) return v;
  throw new CoverageReportError(
    source,
    v === undefined
      ? `${label}.${key} is missing`
      : `${label}.${key} is ${describe(v)}, not a whole non-negative number`
  );
}

/** A percentage within 0..100 at holder[key], undefined when absent. */
export function readPercent(
  source: string,
  holder: unknown,
  key: string,
  label: string
): number | undefined {
  const v = field(holder, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) {
    throw new CoverageReportError(
      source,
      `${label}.${key} is ${describe(v)}, not a percentage 0..100`
    );
  }
  return v;
}

/** Checks a tool's own percentage against its counts; `tolerance` covers the tool's rounding. */
export function checkPercent(
  source: string,
  stated: number,
  covered: number,
  total: number,
  what: string,
  tolerance: number
): void {
  if (total === 0) return;
  const computed = (covered / total) * 100;
  if (Math.abs(stated - computed) > tolerance) {
    throw new CoverageReportError(
      source,
      `${what} ${stated} disagrees with its own counts ${covered}/${total} (${computed.toFixed(2)} %)`
    );
  }
}
