// LCOV tracefiles (geninfo, istanbul's lcov reporter, c8, Node's own test
// runner, grcov, gcovr, coverage.py, ...). A record runs from SF: to
// end_of_record; its DA:line,hits entries give the lines, and LF:/LH: are
// used only when a record has no DA. Records for the same file (its SF
// normalised, see file-key.ts) are merged the way lcov merges tracefiles:
// union of lines, a line covered if any record covered it (lcov adds the hit
// counts, this keeps the largest; covered or not comes out the same).
//
// One writer's quirk is undone so its LCOV gives the figure of its other
// formats: coverage.py (6.x) lists every line that ran as DA, docstrings and
// excluded lines too, while LF counts statements and LH every line that ran.
// A record whose DA lines outnumber LF, whose LH is exactly its hit DA lines
// and whose missed DA lines fit in LF is read that way: LF lines, the missed
// DA lines uncovered, the rest covered.
//
// Each file's `lines` are its united DA lines (hits > 0: 2, hits 0: 1), the
// LineStates the figure is counted from, kept by reference; a file known only
// from LF/LH has none. For a coverage.py record read as above they are still
// every DA line: the non-statements that ran (docstrings, excluded lines,
// line 0 of an empty module) are 2 there, so `lines` holds that many more
// covered lines than the file's covered/total (LCOV does not say which).

import type { CoverageReport, FileCoverage } from '../coverage-report.ts';
import { buildReport, fileWithLines } from './build-report.ts';
import { FileKeys } from './file-key.ts';
import { LineStates } from './line-states.ts';
import { CoverageReportError } from './report-error.ts';
import { forEachLineBytes, inputName, type ReportInput } from './report-input.ts';

interface FileEntry {
  /** Union of the DA lines of every record for this file. */
  lines: LineStates | null;
  /** LF/LH of records without DA (the largest seen, when there are several). */
  lf: number;
  lh: number;
  /** Hit DA lines that are not instrumented (coverage.py's docstrings), the most any record had. */
  excess: number;
}

interface OpenRecord {
  path: string;
  startLine: number;
  lines: LineStates | null;
  lf: number | null;
  lh: number | null;
}

const MAX_NOTED = 3;

/** A whole non-negative decimal in b[from..to), or -1 when the bytes are anything else. */
function parseCount(b: Buffer, from: number, to: number): number {
  if (from >= to || to - from > 15) return -1;
  let v = 0;
  for (let k = from; k < to; k++) {
    const c = b[k] - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d;
}

/** b[from..to) starts with KEY: where KEY is [A-Z][A-Z0-9]* */
function hasKey(b: Buffer, from: number, to: number): boolean {
  let k = from;
  if (k >= to || b[k] < 0x41 || b[k] > 0x5a) return false;
  while (k < to && ((b[k] >= 0x41 && b[k] <= 0x5a) || (b[k] >= 0x30 && b[k] <= 0x39))) k++;
  return k < to && b[k] === 0x3a;
}

const END_OF_RECORD = Buffer.from('end_of_record');

export async function parseLcov(input: ReportInput): Promise<CoverageReport> {
  const source = inputName(input);
  let lastLine = false;
  const fail = (lineNo: number, problem: string): never => {
    // A bad last line without its newline is a file cut short, most likely.
    const cut = lastLine ? 'truncated LCOV (the last line has no newline): ' : '';
    throw new CoverageReportError(source, `${cut}line ${lineNo}: ${problem}`);
  };
  const files = new Map<string, FileEntry>();
  const keys = new FileKeys();
  const notes: string[] = [];
  let mismatches = 0;
  let listedExecuted = 0;
  let listedExample = '';
  let rec: OpenRecord | null = null;
  let sawContent = false;
  let records = 0;

  const closeRecord = (r: OpenRecord, lineNo: number): void => {
    records++;
    const key = keys.key(r.path);
    let entry = files.get(key);
    if (entry === undefined) {
      entry = { lines: null, lf: 0, lh: 0, excess: 0 };
      files.set(key, entry);
    }
    if (r.lines !== null) {
      // DA decides; LF/LH only say something when they disagree with it.
      const daTotal = r.lines.total;
      const daCovered = r.lines.covered;
      if (r.lf !== null && r.lh !== null && (r.lf !== daTotal || r.lh !== daCovered)) {
        const missed = daTotal - daCovered;
        if (daTotal > r.lf && r.lh === daCovered && missed <= r.lf) {
          // coverage.py: the extra DA lines ran but are not statements.
          entry.excess = Math.max(entry.excess, daTotal - r.lf);
          if (listedExecuted++ === 0) {
            listedExample = `${r.path} (${daTotal} DA lines, LF ${r.lf}, LH ${r.lh}: ${r.lf - missed}/${r.lf})`;
          }
        } else if (mismatches++ < MAX_NOTED) {
          notes.push(
            `${r.path}: LF/LH say ${r.lh}/${r.lf} but its DA lines give ${daCovered}/${daTotal}; DA is used`
          );
        }
      }
      if (entry.lines === null) entry.lines = r.lines;
      else entry.lines.merge(r.lines);
    } else if (r.lf !== null || r.lh !== null) {
      const lf = r.lf ?? 0;
      const lh = r.lh ?? 0;
      if (lh > lf) {
        fail(
          lineNo,
          r.lf === null
            ? `record for ${r.path} has LH ${lh} but no LF`
            : `record for ${r.path} has LH ${lh} > LF ${lf}`
        );
      }
      // Several DA-less records for one file cannot be united: keep the fullest.
      if (lf > entry.lf) {
        entry.lf = lf;
        entry.lh = lh;
      } else if (lf === entry.lf && lh > entry.lh) entry.lh = lh;
    }
  };

  await forEachLineBytes(input, (b, start, end, lineNo, unterminated) => {
    lastLine = unterminated;
    // A UTF-8 byte order mark (editors and PowerShell on Windows write one).
    if (lineNo === 1 && b[start] === 0xef && b[start + 1] === 0xbb && b[start + 2] === 0xbf) {
      start += 3;
    }
    while (end > start && isSpace(b[end - 1])) end--;
    // DA:<line>,<hits>[,<checksum>] is nearly every line of a tracefile: parse it first.
    if (b[start] === 0x44 && b[start + 1] === 0x41 && b[start + 2] === 0x3a && end - start > 3) {
      if (rec === null) fail(lineNo, 'DA outside a record (no SF before it)');
      let comma = start + 3;
      while (comma < end && b[comma] !== 0x2c) comma++;
      if (comma === end)
        fail(
          lineNo,
          `malformed DA entry '${b.toString('utf8', start, Math.min(end, start + 60))}'`
        );
      let hitsEnd = comma + 1;
      while (hitsEnd < end && b[hitsEnd] !== 0x2c) hitsEnd++;
      const ln = parseCount(b, start + 3, comma);
      if (ln < 0) {
        fail(
          lineNo,
          `DA line number '${b.toString('utf8', start + 3, comma)}' is not a whole non-negative number`
        );
      }
      let hits = parseCount(b, comma + 1, hitsEnd);
      if (hits < 0) {
        // Large or float counts are legal in some writers; negative and NaN are not.
        const text = b.toString('utf8', comma + 1, hitsEnd).trim();
        hits = text === '' ? NaN : Number(text);
        if (!Number.isFinite(hits) || hits < 0) {
          fail(lineNo, `DA hit count '${text.slice(0, 40)}' is not a non-negative number`);
        }
      }
      const r = rec as OpenRecord;
      (r.lines ??= new LineStates()).mark(ln, hits > 0);
      return;
    }
    while (start < end && isSpace(b[start])) start++;
    if (start === end) return;
    sawContent = true;
    const c0 = b[start];
    const c1 = b[start + 1];
    if (c0 === 0x53 && c1 === 0x46 && b[start + 2] === 0x3a) {
      // SF:
      if (rec !== null) closeRecord(rec, lineNo);
      const path = b.toString('utf8', start + 3, end).trim();
      if (path === '') fail(lineNo, 'SF with an empty file name');
      rec = { path, startLine: lineNo, lines: null, lf: null, lh: null };
      return;
    }
    if (
      end - start === END_OF_RECORD.length &&
      b.compare(END_OF_RECORD, 0, END_OF_RECORD.length, start, end) === 0
    ) {
      if (rec === null) fail(lineNo, 'end_of_record without a record');
      closeRecord(rec as OpenRecord, lineNo);
      rec = null;
      return;
    }
    if (c0 === 0x4c && (c1 === 0x46 || c1 === 0x48) && b[start + 2] === 0x3a) {
      // LF: or LH:
      const key = c1 === 0x46 ? 'LF' : 'LH';
      if (rec === null) fail(lineNo, `${key} outside a record (no SF before it)`);
      const v = parseCount(b, start + 3, end);
      if (v < 0) {
        fail(
          lineNo,
          `${key} '${b.toString('utf8', start + 3, Math.min(end, start + 40))}' is not a whole non-negative number`
        );
      }
      if (c1 === 0x46) (rec as OpenRecord).lf = v;
      else (rec as OpenRecord).lh = v;
      return;
    }
    // TN, FN, FNDA, FNF, FNH, BRDA, BRF, BRH, VER, FNL, FNA and future keys carry no line data.
    if (!hasKey(b, start, end)) {
      fail(lineNo, `not an LCOV line: '${b.toString('utf8', start, Math.min(end, start + 60))}'`);
    }
  });

  if (rec !== null) {
    const r = rec as OpenRecord;
    throw new CoverageReportError(
      source,
      `truncated LCOV: the record for ${r.path} (from line ${r.startLine}) has no end_of_record`
    );
  }
  if (!sawContent) throw new CoverageReportError(source, 'empty file');
  if (records === 0) throw new CoverageReportError(source, 'no SF records: not an LCOV tracefile');
  if (mismatches > MAX_NOTED) {
    notes.push(`${mismatches - MAX_NOTED} more records whose LF/LH disagree with their DA lines`);
  }
  if (listedExecuted > 0) {
    notes.push(
      `${listedExecuted} record${listedExecuted === 1 ? ' lists' : 's list'} DA lines that LF does not count while LH counts every hit one (coverage.py lists docstrings and excluded lines that ran): read as LF lines with the missed DA lines uncovered, e.g. ${listedExample}`
    );
  }
  const spelled = keys.note();
  if (spelled !== null) notes.push(spelled);
  const out: FileCoverage[] = [];
  let covered = 0;
  let total = 0;
  for (const [path, e] of files) {
    const fc = e.lines !== null ? e.lines.covered - e.excess : e.lh;
    const ft = e.lines !== null ? e.lines.total - e.excess : e.lf;
    out.push(fileWithLines(path, fc, ft, e.lines));
    covered += fc;
    total += ft;
  }
  return buildReport(source, 'lcov', covered, total, out, notes);
}
