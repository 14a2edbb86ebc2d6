// Reading a coverage report of any supported format: detect the format from
// the first bytes unless one is given, then hand the input to that format's
// reader. The entry point for the coverage gate and the ratchet.

import type { CoverageFormat, CoverageReport } from '../coverage-report.ts';
import { parseCobertura } from './cobertura.ts';
import { parseCoveragePy } from './coverage-py.ts';
import { detectFormat, HEAD_BYTES } from './detect.ts';
import { parseGoProfile } from './go-profile.ts';
import { parseIstanbulFinal } from './istanbul-final.ts';
import { parseIstanbulSummary } from './istanbul-summary.ts';
import { parseJacoco } from './jacoco.ts';
import { parseLcov } from './lcov.ts';
import { CoverageReportError } from './report-error.ts';
import { inputName, readHead, type ReportInput } from './report-input.ts';

export { detectFormat } from './detect.ts';
export { CoverageReportError, COVERAGE_TOOL_KIND } from './report-error.ts';
export type { ReportInput } from './report-input.ts';

export const READERS: Record<CoverageFormat, (input: ReportInput) => Promise<CoverageReport>> = {
  'coverage-py': parseCoveragePy,
  'istanbul-summary': parseIstanbulSummary,
  'istanbul-final': parseIstanbulFinal,
  lcov: parseLcov,
  cobertura: parseCobertura,
  jacoco: parseJacoco,
  go: parseGoProfile
};

/** Reads a report given as a file or as text; `format` 'auto' detects it from the content. */
export async function parseCoverageReport(
  input: ReportInput,
  format: CoverageFormat | 'auto' = 'auto'
): Promise<CoverageReport> {
  let chosen: CoverageFormat;
  if (format === 'auto') chosen = detectFormat(inputName(input), await readHead(input, HEAD_BYTES));
  else if (Object.hasOwn(READERS, format)) chosen = format;
  else throw new CoverageReportError(inputName(input), `unknown format '${String(format)}'`);
  return READERS[chosen](input);
}

/** Reads the report file at `path` (streamed). `name` labels it in errors (default: the path). */
export function readCoverageReport(
  path: string,
  format: CoverageFormat | 'auto' = 'auto',
  name?: string
): Promise<CoverageReport> {
  return parseCoverageReport({ path, name }, format);
}

/** Reads a report held in memory. */
export function parseCoverageText(
  text: string,
  format: CoverageFormat | 'auto' = 'auto',
  name = '<text>'
): Promise<CoverageReport> {
  return parseCoverageReport({ text, name }, format);
}
