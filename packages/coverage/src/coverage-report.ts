// The normalised coverage result every report format is read into: instrumented
// source lines, covered and total, overall and per file. The gate, the ratchet
// and the baseline store speak only this shape, never a tool's own format.

export const REPORT_FORMATS = [
  'coverage-py',
  'istanbul-summary',
  'istanbul-final',
  'lcov',
  'cobertura',
  'jacoco',
  'go'
] as const;
export type CoverageFormat = (typeof REPORT_FORMATS)[number];

export function isReportFormat(v: unknown): v is CoverageFormat {
  return typeof v === 'string' && (REPORT_FORMATS as readonly string[]).includes(v);
}

/** A line's state in one file's coverage: 0 not instrumented, 1 instrumented and not run, 2 run. */
export type LineState = 0 | 1 | 2;

/** The instrumented lines of one file, line by line (what patch coverage reads). */
export interface LineLookup {
  state(line: number): LineState;
}

export interface FileCoverage {
  /** As the report names it (absolute, relative or an import path: formats differ). */
  path: string;
  covered: number;
  total: number;
  /** Line by line, when the format has lines (every format but istanbul-summary). */
  lines?: LineLookup;
}

export interface CoverageReport {
  format: CoverageFormat;
  /** Every format is reduced to instrumented lines, so figures compare across tools. */
  measure: 'lines';
  covered: number;
  /** Always > 0: a report with nothing instrumented is an error, not 0 % or 100 %. */
  total: number;
  /** covered / total * 100, unrounded, within 0..100. */
  percent: number;
  /** Sorted by path; files with nothing instrumented are kept (total 0). */
  files: FileCoverage[];
  /**
   * Caveats a reader of the figure should know, one line each: the tool's own
   * percentage counted branches too, counts that disagree inside the report,
   * how a format was reduced to lines.
   */
  notes: string[];
  /**
   * Roots the report's file paths are relative to, when the report says
   * (Cobertura <sources>), in the report's order.
   */
  sources?: string[];
}
