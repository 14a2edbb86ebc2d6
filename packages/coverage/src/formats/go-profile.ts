// Go cover profiles (`go test -coverprofile`): `mode: set|count|atomic`, then
// `file:startLine.startCol,endLine.endCol numStmt count` per block. Go counts
// statements; this reads lines, so figures compare with the other formats: a
// block spans every line from its start to its end line; a line is covered
// when any block spanning it ran, and uncovered when only blocks that never ran
// span it. Blocks without statements do not make a line instrumented. The
// same block listed again (profiles of several test binaries concatenated) is
// merged as `go tool cover` merges it, and must agree on its statement count.
// Each file's `lines` are those line states: the figure counted line by line.

import type { CoverageReport, FileCoverage } from '../coverage-report.ts';
import { buildReport, fileWithLines } from './build-report.ts';
import { FileKeys } from './file-key.ts';
import { LineStates } from './line-states.ts';
import { CoverageReportError } from './report-error.ts';
import { forEachLine, inputName, type ReportInput } from './report-input.ts';

export const GO_BLOCK = /^(.+):(\d+)\.(\d+),(\d+)\.(\d+) (\d+) (\d+)$/;
const MODE = /^mode: (\S+)\s*$/;
const MODES = ['set', 'count', 'atomic'];
const MAX_BLOCK_LINES = 1_000_000;

interface Block {
  startLine: number;
  endLine: number;
  numStmt: number;
  count: number;
}

export const GO_LINES_NOTE =
  'Go: lines are derived from statement blocks (a line is covered when any block spanning it ran); `go tool cover -func` counts statements, so its figure differs';

export async function parseGoProfile(input: ReportInput): Promise<CoverageReport> {
  const source = inputName(input);
  let lastLine = false;
  const fail = (lineNo: number, problem: string): never => {
    // A bad last line without its newline is a file cut short, most likely.
    const cut = lastLine ? 'truncated profile (the last line has no newline): ' : '';
    throw new CoverageReportError(source, `${cut}line ${lineNo}: ${problem}`);
  };
  let mode: string | null = null;
  let sawContent = false;
  const blocks = new Map<string, Map<string, Block>>();
  const keys = new FileKeys();

  await forEachLine(input, (text, lineNo, unterminated) => {
    lastLine = unterminated;
    // A UTF-8 byte order mark (editors and PowerShell on Windows write one).
    const line = lineNo === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    if (line.trim() === '') return;
    sawContent = true;
    const m = GO_BLOCK.exec(line);
    if (m === null) {
      const mm = MODE.exec(line);
      if (mm === null) {
        fail(
          lineNo,
          mode === null
            ? `expected 'mode: set|count|atomic', found '${line.slice(0, 60)}'`
            : `not a cover profile block: '${line.slice(0, 60)}'`
        );
      }
      const mo = (mm as RegExpExecArray)[1];
      if (!MODES.includes(mo)) fail(lineNo, `unknown cover mode '${mo}'`);
      // Concatenated profiles repeat the mode line; a different mode cannot be merged.
      if (mode !== null && mo !== mode) fail(lineNo, `inconsistent mode '${mo}' after '${mode}'`);
      mode = mo;
      return;
    }
    if (mode === null) fail(lineNo, "a block before the 'mode:' line");
    const [, file, sl, sc, el, ec, ns, ct] = m;
    const startLine = Number(sl);
    const endLine = Number(el);
    const numStmt = Number(ns);
    const count = Number(ct);
    if (startLine < 1 || endLine < startLine)
      fail(lineNo, `block ends before it starts (${sl}.${sc},${el}.${ec})`);
    if (!Number.isSafeInteger(count) || !Number.isSafeInteger(numStmt) || endLine > 1e9) {
      fail(lineNo, 'number out of range');
    }
    // No function body spans millions of lines; expanding such a block would only burn time.
    if (endLine - startLine > MAX_BLOCK_LINES)
      fail(lineNo, `block spans ${endLine - startLine + 1} lines`);
    const fk = keys.key(file);
    let perFile = blocks.get(fk);
    if (perFile === undefined) {
      perFile = new Map();
      blocks.set(fk, perFile);
    }
    const key = `${sl}.${sc},${el}.${ec}`;
    const prev = perFile.get(key);
    if (prev === undefined) {
      perFile.set(key, { startLine, endLine, numStmt, count });
      return;
    }
    if (prev.numStmt !== numStmt) {
      fail(
        lineNo,
        `inconsistent statement count for ${file}:${key} (${prev.numStmt}, then ${numStmt})`
      );
    }
    prev.count = mode === 'set' ? (prev.count > 0 || count > 0 ? 1 : 0) : prev.count + count;
  });

  if (!sawContent) throw new CoverageReportError(source, 'empty file');
  const files: FileCoverage[] = [];
  let covered = 0;
  let total = 0;
  for (const [path, perFile] of blocks) {
    const lines = new LineStates();
    for (const b of perFile.values()) {
      if (b.numStmt === 0) continue;
      for (let l = b.startLine; l <= b.endLine; l++) lines.mark(l, b.count > 0);
    }
    files.push(fileWithLines(path, lines.covered, lines.total, lines));
    covered += lines.covered;
    total += lines.total;
  }
  const notes = [GO_LINES_NOTE];
  const spelled = keys.note();
  if (spelled !== null) notes.push(spelled);
  return buildReport(source, 'go', covered, total, files, notes);
}
