// Patch coverage: of the lines a branch adds or changes (changed-lines.ts),
// the share the tests ran, among those the coverage report instruments.
// An executable changed line is a changed line whose state is > 0; it is
// covered when its state is 2 (run).
//
// A changed file the report does not mention is assumed not to be measured
// code (documentation, configuration, a language the tool does not cover,
// or code outside the run): it is listed in `notInReport` and does not
// count. diff-cover 7.4 does the same: for a file the report lacks, its
// XML and LCOV reporters return no measured lines, so the file adds nothing
// to the total and is left out of the report (report_generator.src_paths
// keeps only files with measured changed lines). Differences, on purpose:
// a file the report knows with no executable changed line is listed here in
// `files` with lines 0 (diff-cover leaves it out); with no executable
// changed line at all the percentage is null ("no executable changes"),
// where diff-cover prints 100 %; and the percentage is not truncated to an
// integer (diff-cover's total is int(covered / total * 100)). A changed
// binary file (see ChangedFile.binary) that the report does not mention is
// not code and is not listed in `notInReport` either.
//
// A changed file that several report entries map to (two spellings, or
// several reports merged) counts each line once, at its best state: a line
// run by any of them is run. A file the report has without line data (a
// format with per-file totals only, istanbul-summary) cannot be measured
// line by line: a note says so and it does not count.

import type { CoverageReport, FileCoverage, LineLookup, LineState } from '../coverage-report.ts';
import type { ChangedLines } from './changed-lines.ts';
import { mapReportPaths, type PathMapOptions } from './path-map.ts';

export { formatRanges } from './ranges.ts';

export interface PatchFile {
  /** Repository path. */
  path: string;
  /** The report's name for it (the first, when several entries map to it). */
  reportPath: string | null;
  /** Changed lines. */
  changed: number;
  /** Executable changed lines. */
  lines: number;
  covered: number;
  /** Sorted executable changed lines not run. */
  missing: number[];
}

export interface PatchCoverage {
  lines: number;
  covered: number;
  /** covered / lines * 100, unrounded; null when lines === 0 ("no executable changes"). */
  percent: number | null;
  /** Measured files with >= 1 changed line the report knows (lines may be 0), sorted by path. */
  files: PatchFile[];
  /** Changed files the report does not mention (repository paths), sorted. */
  notInReport: string[];
  /** One line each: mapping notes, formats without line data, ... */
  notes: string[];
}

export function computePatchCoverage(
  report: CoverageReport,
  changed: ChangedLines,
  opts: PathMapOptions
): PatchCoverage {
  const repoPaths = changed.files.map((f) => f.path);
  const mapping = mapReportPaths(
    report.files.map((f) => f.path),
    repoPaths,
    {
      ...opts,
      sources: opts.sources ?? report.sources,
      repoFiles: opts.repoFiles ?? changed.repoFiles
    }
  );
  const byRepo = new Map<string, FileCoverage[]>();
  for (const f of report.files) {
    const target = mapping.map.get(f.path);
    if (target === undefined) continue;
    const list = byRepo.get(target);
    if (list) list.push(f);
    else byRepo.set(target, [f]);
  }

  const files: PatchFile[] = [];
  const notInReport: string[] = [];
  const noLineData: string[] = [];
  let lines = 0;
  let covered = 0;
  const sorted = [...changed.files].sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0
  );
  for (const cf of sorted) {
    const entries = byRepo.get(cf.path);
    if (entries === undefined) {
      if (!cf.binary) notInReport.push(cf.path);
      continue;
    }
    const lookups = entries.map((e) => e.lines).filter((l): l is LineLookup => l !== undefined);
    if (lookups.length === 0) {
      noLineData.push(cf.path);
      continue;
    }
    const state: (line: number) => LineState =
      lookups.length === 1
        ? (line) => lookups[0].state(line)
        : (line) => {
            let best: LineState = 0;
            for (const l of lookups) {
              const s = l.state(line);
              if (s > best) best = s;
              if (best === 2) break;
            }
            return best;
          };
    let fileLines = 0;
    let fileCovered = 0;
    const missing: number[] = [];
    for (const line of cf.lines) {
      const s = state(line);
      if (s === 0) continue;
      fileLines++;
      if (s === 2) fileCovered++;
      else missing.push(line);
    }
    lines += fileLines;
    covered += fileCovered;
    files.push({
      path: cf.path,
      reportPath: entries[0].path,
      changed: cf.lines.length,
      lines: fileLines,
      covered: fileCovered,
      missing
    });
  }

  const notes = [...mapping.notes];
  if (noLineData.length > 0) {
    const shown = noLineData.slice(0, 3).join(', ');
    notes.push(
      `the ${report.format} report has no line-by-line data for ${noLineData.length} changed file${noLineData.length === 1 ? '' : 's'} (${shown}${noLineData.length > 3 ? ', ...' : ''}); ${noLineData.length === 1 ? 'it is' : 'they are'} not counted (a report with line data, such as lcov or coverage-final.json, is needed for patch coverage)`
    );
  }
  return {
    lines,
    covered,
    percent: lines === 0 ? null : (covered / lines) * 100,
    files,
    notInReport,
    notes
  };
}
