// coverage.py's JSON report (`coverage json`, format 2 and 3): totals from
// `totals.covered_lines` / `totals.num_statements`, files from each
// `files[*].summary`. Only those objects are built; the per-line arrays that
// make up most of the file are read number by number into each file's line
// states, never held as arrays.
//
// A file's `lines` come from its arrays: `executed_lines` 2, `missing_lines`
// 1, and a line `excluded_lines` lists is 0 even when it ran (coverage.py
// lists excluded lines that ran as executed). The figures stay the
// summaries': coverage.py also lists as executed the lines that ran but are
// not statements (a docstring, line 0 of an empty module), which its
// covered_lines leaves out, so `lines` may hold more covered lines than the
// file's `covered`; the JSON does not say which. A file whose arrays hold
// anything but line numbers, or that has neither array, has no `lines`.

import type { CoverageReport, FileCoverage, LineLookup, LineState } from '../coverage-report.ts';
import {
  buildReport,
  checkPercent,
  fileWithLines,
  isCount,
  readCount,
  readPercent
} from './build-report.ts';
import { FileKeys } from './file-key.ts';
import { LineStates } from './line-states.ts';
import { readJsonReport } from './read-json.ts';
import { CoverageReportError } from './report-error.ts';
import { inputName, type ReportInput } from './report-input.ts';
import type { JsonPath, JsonSelection } from './json-stream.ts';

const EXECUTED = 'executed_lines';
const MISSING = 'missing_lines';
const EXCLUDED = 'excluded_lines';

function isLineArray(key: string | number): boolean {
  return key === EXECUTED || key === MISSING || key === EXCLUDED;
}

function select(p: JsonPath): JsonSelection {
  if (p.length === 0) return 'walk';
  if (p.length === 1) {
    if (p[0] === 'totals') return 'build';
    return p[0] === 'files' ? 'walk' : 'skip';
  }
  if (p[0] !== 'files') return 'skip';
  if (p.length === 2) return 'walk';
  // Each entry of a line array is handed over alone: a number (anything else spoils the file's lines).
  if (p.length === 3) return p[2] === 'summary' ? 'build' : isLineArray(p[2]) ? 'each' : 'skip';
  return 'skip';
}

/** One file's arrays as read so far. */
interface FileLines {
  /** executed_lines 2, missing_lines 1 (null until either has an entry). */
  states: LineStates | null;
  /** excluded_lines, when any. */
  excluded: Set<number> | null;
  /** An entry that is not a line number, or an array that is an object. */
  bad: boolean;
}

/** Line states with the excluded lines taken out (excluded lines that ran are listed as executed). */
class WithoutExcluded implements LineLookup {
  private readonly states: LineStates;
  private readonly excluded: Set<number>;

  constructor(states: LineStates, excluded: Set<number>) {
    this.states = states;
    this.excluded = excluded;
  }

  state(line: number): LineState {
    return this.excluded.has(line) ? 0 : this.states.state(line);
  }
}

function lookup(f: FileLines | undefined): LineLookup | null {
  if (f === undefined || f.bad || f.states === null) return null;
  return f.excluded === null ? f.states : new WithoutExcluded(f.states, f.excluded);
}

export async function parseCoveragePy(input: ReportInput): Promise<CoverageReport> {
  const source = inputName(input);
  let totals: unknown;
  const summaries = new Map<string, unknown>();
  const perFile = new Map<string, FileLines>();
  const linesOf = (path: string | number): FileLines => {
    let f = perFile.get(String(path));
    if (f === undefined) {
      f = { states: null, excluded: null, bad: false };
      perFile.set(String(path), f);
    }
    return f;
  };
  let lastPath: string | number | undefined;
  let lastArray: string | number | undefined;
  let last: FileLines | null = null;
  let lastExecuted = false;
  let lastExcluded = false;
  await readJsonReport(input, {
    select,
    value(p, v) {
      if (p.length === 1) totals = v;
      else if (p.length === 3) summaries.set(String(p[1]), v);
      else {
        // Called once per line number: the file and its array are those of the last call, mostly.
        if (p[1] !== lastPath || p[2] !== lastArray) {
          lastPath = p[1];
          lastArray = p[2];
          last = linesOf(lastPath);
          lastExecuted = lastArray === EXECUTED;
          lastExcluded = lastArray === EXCLUDED;
        }
        const f = last as FileLines;
        if (typeof v !== 'number' || !isCount(v) || typeof p[3] !== 'number') f.bad = true;
        else if (lastExcluded) (f.excluded ??= new Set()).add(v);
        else (f.states ??= new LineStates()).mark(v, lastExecuted);
      }
    },
    end(p) {
      // An empty executed_lines or missing_lines still says which lines are instrumented: none.
      if (p.length === 3 && p[0] === 'files' && (p[2] === EXECUTED || p[2] === MISSING)) {
        linesOf(p[1]).states ??= new LineStates();
      }
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
  let notStatements = 0;
  let sumCovered = 0;
  let sumTotal = 0;
  for (const [path, summary] of summaries) {
    const label = `files[${JSON.stringify(path)}].summary`;
    const fc = readCount(source, summary, 'covered_lines', label);
    const ft = readCount(source, summary, 'num_statements', label);
    if (fc > ft) throw new CoverageReportError(source, `${label} covers ${fc} of ${ft} lines`);
    sumCovered += fc;
    sumTotal += ft;
    const states = perFile.get(path)?.states;
    if (states && states.covered > fc) notStatements += states.covered - fc;
    // Summaries cannot be united line by line: one file under two names keeps its fuller entry.
    const key = keys.key(path);
    const prev = files.get(key);
    if (prev === undefined || ft > prev.total || (ft === prev.total && fc > prev.covered)) {
      files.set(key, fileWithLines(key, fc, ft, lookup(perFile.get(path))));
    }
  }
  if (files.size > 0 && (sumCovered !== covered || sumTotal !== total)) {
    notes.push(
      `the files add up to ${sumCovered}/${sumTotal} lines but totals say ${covered}/${total}; totals are used`
    );
  }
  const spelled = keys.note();
  if (spelled !== null) notes.push(spelled);
  if (notStatements > 0)
    notes.push(
      `coverage.py lists ${notStatements} line(s) that ran but are not statements (docstrings) as executed; the figures leave them out, patch coverage counts a changed one as covered (coverage.py's XML report of the same run lists statements only)`
    );
  return buildReport(source, 'coverage-py', covered, total, [...files.values()], notes);
}
