// istanbul's coverage-final.json (the json reporter): per file a statementMap
// and hit counts `s`. Line coverage follows istanbul-lib-coverage's
// getLineCoverage exactly: each statement listed in `s` and present in the
// statementMap counts on its start line only; a line's count is the largest of
// its statements'; the line is covered when that count is non-zero. Files are
// built one at a time; only each file's line states are kept (a byte per
// line), so that one file under two keys (`./src/a.js` and `src/a.js`,
// normalised, see file-key.ts) is united line by line. Those united states are
// each file's `lines` (a start line with a run statement: 2, with only
// statements that never ran: 1).

import type { CoverageReport } from '../coverage-report.ts';
import { buildReport, fileTotals, isCount } from './build-report.ts';
import { FileKeys } from './file-key.ts';
import type { JsonPath, JsonSelection } from './json-stream.ts';
import { LineStates } from './line-states.ts';
import { readJsonReport } from './read-json.ts';
import { CoverageReportError } from './report-error.ts';
import { inputName, type ReportInput } from './report-input.ts';

interface PendingFile {
  path?: string;
  startLines: Map<string, number>;
  counts: Map<string, number>;
}

/** Paths inside a file entry, with the old `{ data: {...} }` wrapper removed. */
function inner(p: JsonPath): JsonPath {
  return p.length >= 2 && p[1] === 'data' ? [p[0], ...p.slice(2)] : p;
}

function select(raw: JsonPath): JsonSelection {
  if (raw.length <= 1) return 'walk';
  if (raw.length === 2 && raw[1] === 'data') return 'walk';
  const p = inner(raw);
  const k = p[1];
  if (p.length === 2) {
    if (k === 'path') return 'build';
    return k === 'statementMap' || k === 's' ? 'walk' : 'skip';
  }
  if (k === 's') return p.length === 3 ? 'build' : 'skip';
  if (k !== 'statementMap') return 'skip';
  if (p.length === 3) return 'walk';
  if (p.length === 4) return p[3] === 'start' ? 'walk' : 'skip';
  return p.length === 5 && p[4] === 'line' ? 'build' : 'skip';
}

export async function parseIstanbulFinal(input: ReportInput): Promise<CoverageReport> {
  const source = inputName(input);
  const files = new Map<string, LineStates>();
  const keys = new FileKeys();
  let current: PendingFile | null = null;
  let currentKey = '';
  const fileFor = (key: string): PendingFile => {
    if (current === null || currentKey !== key) {
      current = { startLines: new Map(), counts: new Map() };
      currentKey = key;
    }
    return current;
  };
  await readJsonReport(input, {
    select,
    value(raw, v) {
      const p = inner(raw);
      const key = String(p[0]);
      const f = fileFor(key);
      if (p[1] === 'path') {
        if (typeof v === 'string') f.path = v;
      } else if (p[1] === 's') {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
          throw new CoverageReportError(
            source,
            `${JSON.stringify(key)}.s[${JSON.stringify(p[2])}] is ${JSON.stringify(v)}, not a hit count`
          );
        }
        f.counts.set(String(p[2]), v);
      } else {
        if (!isCount(v)) {
          throw new CoverageReportError(
            source,
            `${JSON.stringify(key)}.statementMap[${JSON.stringify(p[2])}].start.line is ${JSON.stringify(v)}, not a line number`
          );
        }
        f.startLines.set(String(p[2]), v);
      }
    },
    end(raw) {
      if (raw.length === 0) return;
      if (raw.length !== 1) return;
      const key = String(raw[0]);
      const f = fileFor(key);
      const fk = keys.key(f.path ?? key);
      let lines = files.get(fk);
      if (lines === undefined) {
        lines = new LineStates();
        files.set(fk, lines);
      }
      for (const [id, count] of f.counts) {
        const line = f.startLines.get(id);
        if (line !== undefined) lines.mark(line, count > 0);
      }
      current = null;
    }
  });
  const { files: out, covered, total } = fileTotals(files);
  const spelled = keys.note();
  return buildReport(
    source,
    'istanbul-final',
    covered,
    total,
    out,
    spelled === null ? [] : [spelled]
  );
}
