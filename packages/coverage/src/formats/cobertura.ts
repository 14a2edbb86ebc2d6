// Cobertura XML (Cobertura itself, coverage.py `coverage xml`, gcovr, .NET
// coverlet, Pester, ...). Lines are counted from each class's own <lines><line
// number hits> (the copies under <methods> are ignored), merged per filename
// (normalised, see file-key.ts) across classes and packages: a line is covered
// when any class covers it, and a line listed once per function instance
// (gcovr 8 writes templates and inline functions so) counts once. The root's
// lines-covered/lines-valid are used only when no <line> exists; where the
// root's counts or line-rate disagree with the lines, a note says so.
//
// Each file's merged line states are its `lines` (a line in any class
// covered: 2, listed only with hits 0: 1). The <sources><source> texts,
// trimmed, empty ones left out, in the report's order, are the report's
// `sources`: the roots its filenames are relative to (coverage.py, gcovr,
// istanbul and c8 write one).

import type { CoverageReport } from '../coverage-report.ts';
import { buildReport, fileTotals } from './build-report.ts';
import { FileKeys } from './file-key.ts';
import { LineStates } from './line-states.ts';
import { readXmlReport } from './read-xml.ts';
import { CoverageReportError } from './report-error.ts';
import { inputName, type ReportInput } from './report-input.ts';

const COUNT = /^\d{1,15}$/;
/** How far a stated line-rate may sit from the lines' own: istanbul truncates its percentage to two decimals. */
const RATE_TOLERANCE = 0.0001 + 1e-9;

export async function parseCobertura(input: ReportInput): Promise<CoverageReport> {
  const source = inputName(input);
  const fail = (problem: string): never => {
    throw new CoverageReportError(source, problem);
  };
  const stack: string[] = [];
  let root: Record<string, string> | null = null;
  const perFile = new Map<string, LineStates>();
  const keys = new FileKeys();
  let current: LineStates | null = null;
  let currentName = '';
  let lineElements = 0;
  const sources: string[] = [];

  await readXmlReport(input, {
    open(name, attrs) {
      const parent = stack[stack.length - 1];
      if (stack.length === 0) {
        if (name !== 'coverage') fail(`root element is <${name}>, not Cobertura's <coverage>`);
        root = attrs;
      } else if (name === 'class' && parent === 'classes') {
        const file = attrs.filename;
        if (file === undefined || file === '')
          fail(`<class name="${attrs.name ?? ''}"> has no filename`);
        currentName = file;
        const key = keys.key(file);
        current = perFile.get(key) ?? null;
        if (current === null) {
          current = new LineStates();
          perFile.set(key, current);
        }
      } else if (name === 'line' && parent === 'lines' && stack[stack.length - 2] === 'class') {
        const number = attrs.number;
        const hitsText = attrs.hits;
        if (number === undefined || !COUNT.test(number)) {
          fail(`a <line> in ${currentName} has number ${JSON.stringify(number ?? null)}`);
        }
        const hits = hitsText === undefined || hitsText.trim() === '' ? NaN : Number(hitsText);
        if (!Number.isFinite(hits) || hits < 0) {
          fail(
            `<line number="${number}"> in ${currentName} has hits ${JSON.stringify(hitsText ?? null)}, not a count`
          );
        }
        (current as LineStates).mark(Number(number), hits > 0);
        lineElements++;
      }
      stack.push(name);
    },
    wantsText(name) {
      return name === 'source' && stack.length === 3 && stack[1] === 'sources';
    },
    close(name, text) {
      stack.pop();
      if (name === 'class') current = null;
      else if (name === 'source' && text !== undefined) {
        const root = text.trim();
        if (root !== '') sources.push(root);
      }
    }
  });

  const r = root as Record<string, string> | null;
  if (r === null) return fail('no <coverage> element');
  const rate = r['line-rate'];
  let rateValue: number | undefined;
  if (rate !== undefined) {
    const v = rate.trim() === '' ? NaN : Number(rate);
    if (!Number.isFinite(v) || v < 0 || v > 1)
      fail(`line-rate ${JSON.stringify(rate)} is not a rate within 0..1`);
    rateValue = v;
  }
  const rootCount = (key: string): number | undefined => {
    const v = r[key];
    if (v === undefined) return undefined;
    if (!COUNT.test(v)) fail(`${key} ${JSON.stringify(v)} is not a whole non-negative number`);
    return Number(v);
  };
  const rootCovered = rootCount('lines-covered');
  const rootValid = rootCount('lines-valid');
  if (rootCovered !== undefined && rootValid !== undefined && rootCovered > rootValid) {
    fail(`lines-covered ${rootCovered} > lines-valid ${rootValid}`);
  }
  const notes: string[] = [];
  if (lineElements === 0) {
    if (rootValid === undefined || rootCovered === undefined) {
      return fail(
        rate !== undefined
          ? 'no <line> elements and no lines-covered/lines-valid: a line-rate alone cannot be weighed'
          : 'no <line> elements and no lines-covered/lines-valid'
      );
    }
    notes.push('no <line> elements: the root lines-covered/lines-valid are used');
    return buildReport(source, 'cobertura', rootCovered, rootValid, [], notes, sources);
  }
  const { files, covered, total } = fileTotals(perFile);
  if (
    rootValid !== undefined &&
    rootCovered !== undefined &&
    (rootValid !== total || rootCovered !== covered)
  ) {
    notes.push(
      `the root says ${rootCovered}/${rootValid} lines but its <line> elements give ${covered}/${total}; the lines are used`
    );
  }
  if (
    rateValue !== undefined &&
    total > 0 &&
    Math.abs(rateValue - covered / total) > RATE_TOLERANCE
  ) {
    notes.push(
      `the root line-rate ${rate} (${(rateValue * 100).toFixed(2)} %) disagrees with its <line> elements, ${covered}/${total} (${((covered / total) * 100).toFixed(2)} %); the lines are used`
    );
  }
  const spelled = keys.note();
  if (spelled !== null) notes.push(spelled);
  return buildReport(source, 'cobertura', covered, total, files, notes, sources);
}
