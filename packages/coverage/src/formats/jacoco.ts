// JaCoCo XML (jacoco:report, report-aggregate, the JaCoCo CLI, Pester, gcovr).
// The figure is counted the way every other format is: each (file, line)
// once. A <sourcefile> (file package/name, normalised, see file-key.ts) gives
// its lines as <line nr mi ci>: a line with instructions is instrumented and
// covered when any of them ran (ci > 0), as JaCoCo's own LINE counter counts
// it; the same file in two groups (modules) is united line by line. Where the
// lines carry no mi/ci (gcovr), the file's own LINE counter is used, and gcovr
// 7's reports, which have no <sourcefile> at all, are read from each class's
// counter under its sourcefilename. The report-level counter is used only
// when no file is listed; where it disagrees with the files, a note says so
// (gcovr 7.2 writes the last class's counter there).
//
// gcovr 8 lists a line once per function instance (templates, inline
// functions) without mi/ci and counts instances in its counters: such a file
// cannot be counted line by line unless all its instances ran or none did,
// and is refused with the way out (gcovr --merge-lines, or its Cobertura or
// LCOV report of the same run).
//
// Paths: a <sourcefile>'s path is its package's name, a slash and its own
// name (`com/example/Calc.java`; a file of the default package, or of a
// <package> without a name, is its name alone), normalised as file-key.ts
// does. It is relative to a source root, not to the repository: the
// repository path is found by suffix (under src/main/java, a module's
// directory, ...), which is left to whoever maps report paths to the
// repository. gcovr 7's files, read from class counters, are named by the
// class's sourcefilename (relative to gcovr's root: `./src/clamp.hpp` reads
// as `src/clamp.hpp`), prefixed by the package only when it has no slash.
//
// Lines: a file read from <line mi ci> has those as its `lines` (ci > 0: 2,
// mi > 0 only: 1). Lines without mi/ci (gcovr) say nothing line by line: such
// a file has `lines` only when its counter decides every line, all covered
// or none, over exactly its listed lines; a file read from counters alone
// (gcovr 7) has none.

import type { CoverageReport, FileCoverage } from '../coverage-report.ts';
import { buildReport, fileWithLines } from './build-report.ts';
import { FileKeys } from './file-key.ts';
import { LineStates } from './line-states.ts';
import { readXmlReport } from './read-xml.ts';
import { CoverageReportError } from './report-error.ts';
import { inputName, type ReportInput } from './report-input.ts';

const COUNT = /^\d{1,15}$/;

interface Counter {
  missed: number;
  covered: number;
}

interface SourceFile {
  /** As the report names it first (package/name). */
  name: string;
  /** Lines with mi/ci. */
  lines: LineStates | null;
  /** Lines without mi/ci (gcovr): how often each line number is listed. */
  bare: Map<number, number> | null;
  /** The LINE counters of its <sourcefile> elements, added up. */
  counter: Counter | null;
  /** How many <sourcefile> elements name it (more than one: several groups). */
  seen: number;
}

/** The listed lines of a file without mi/ci, every one covered or every one not. */
function bareLines(f: SourceFile, covered: boolean): LineStates {
  const lines = new LineStates();
  for (const nr of (f.bare as Map<number, number>).keys()) lines.mark(nr, covered);
  return lines;
}

export async function parseJacoco(input: ReportInput): Promise<CoverageReport> {
  const source = inputName(input);
  const fail = (problem: string): never => {
    throw new CoverageReportError(source, problem);
  };
  const stack: string[] = [];
  let pkg = '';
  let current: SourceFile | null = null;
  let report: Counter | null = null;
  const files = new Map<string, SourceFile>();
  const keys = new FileKeys();
  /** gcovr 7: class LINE counters by the class's source file, when there is no <sourcefile>. */
  const classFiles = new Map<string, Counter>();
  let classFile: string | null = null;

  const count = (v: string | undefined): number | null =>
    v !== undefined && COUNT.test(v) ? Number(v) : null;

  const counter = (attrs: Record<string, string>, where: string): Counter => {
    const missed = count(attrs.missed);
    const covered = count(attrs.covered);
    if (missed === null || covered === null) {
      return fail(
        `the LINE counter of ${where} has missed=${JSON.stringify(attrs.missed ?? null)} covered=${JSON.stringify(attrs.covered ?? null)}, not whole non-negative numbers`
      );
    }
    return { missed, covered };
  };

  const line = (f: SourceFile, attrs: Record<string, string>): void => {
    const nr = count(attrs.nr);
    if (nr === null) fail(`a <line> in ${f.name} has nr ${JSON.stringify(attrs.nr ?? null)}`);
    const { mi, ci } = attrs;
    if (mi === undefined && ci === undefined) {
      f.bare ??= new Map();
      f.bare.set(nr as number, (f.bare.get(nr as number) ?? 0) + 1);
      return;
    }
    const missed = count(mi);
    const covered = count(ci);
    if (missed === null || covered === null) {
      fail(
        `<line nr="${nr}"> in ${f.name} has mi=${JSON.stringify(mi ?? null)} ci=${JSON.stringify(ci ?? null)}, not whole non-negative numbers`
      );
    }
    // A line without instructions is not one JaCoCo counts.
    if ((missed as number) + (covered as number) === 0) return;
    (f.lines ??= new LineStates()).mark(nr as number, (covered as number) > 0);
  };

  await readXmlReport(input, {
    open(name, attrs) {
      const parent = stack[stack.length - 1];
      if (stack.length === 0) {
        if (name !== 'report') fail(`root element is <${name}>, not JaCoCo's <report>`);
      } else if (name === 'package') {
        pkg = attrs.name ?? '';
      } else if (name === 'sourcefile' && parent === 'package') {
        const file = attrs.name;
        if (file === undefined || file === '') fail(`a <sourcefile> in package ${pkg} has no name`);
        const named = pkg === '' ? (file as string) : `${pkg}/${file as string}`;
        const key = keys.key(named);
        current = files.get(key) ?? null;
        if (current === null) {
          current = { name: named, lines: null, bare: null, counter: null, seen: 0 };
          files.set(key, current);
        }
        current.seen++;
      } else if (name === 'line' && parent === 'sourcefile' && current !== null) {
        line(current, attrs);
      } else if (name === 'class' && parent === 'package') {
        const file = attrs.sourcefilename;
        // gcovr 7 names the file from the report root, JaCoCo from its package.
        classFile =
          file === undefined || file === ''
            ? null
            : keys.key(file.includes('/') || pkg === '' ? file : `${pkg}/${file}`);
      } else if (name === 'counter' && attrs.type === 'LINE') {
        if (parent === 'report') {
          if (report !== null) fail('two report-level LINE counters');
          report = counter(attrs, 'the report');
        } else if (parent === 'sourcefile' && current !== null) {
          const c = counter(attrs, `sourcefile ${current.name}`);
          if (current.counter === null) current.counter = c;
          else {
            current.counter.missed += c.missed;
            current.counter.covered += c.covered;
          }
        } else if (parent === 'class' && classFile !== null) {
          const c = counter(attrs, `the class of ${classFile}`);
          const prev = classFiles.get(classFile);
          if (prev === undefined) classFiles.set(classFile, c);
          else {
            prev.missed += c.missed;
            prev.covered += c.covered;
          }
        }
      }
      stack.push(name);
    },
    close(name) {
      stack.pop();
      if (name === 'sourcefile') current = null;
      else if (name === 'class') classFile = null;
      else if (name === 'package') pkg = '';
    }
  });

  const list: FileCoverage[] = [];
  let covered = 0;
  let total = 0;
  let inGroups = 0;
  let countersAdded = 0;
  const add = (path: string, fc: number, ft: number, lines: LineStates | null = null): void => {
    list.push(fileWithLines(path, fc, ft, lines));
    covered += fc;
    total += ft;
  };
  for (const [path, f] of files) {
    if (f.seen > 1) inGroups++;
    if (f.lines !== null) {
      add(path, f.lines.covered, f.lines.total, f.lines);
      continue;
    }
    if (f.counter === null) continue;
    const c = f.counter;
    if (f.seen > 1) countersAdded++;
    const repeated = f.bare === null ? undefined : [...f.bare].find(([, n]) => n > 1);
    if (repeated === undefined) {
      // The counter's lines are the listed ones when the numbers match; all-or-none says their state.
      const decided =
        f.bare !== null &&
        f.bare.size === c.covered + c.missed &&
        (c.missed === 0 || c.covered === 0);
      add(path, c.covered, c.covered + c.missed, decided ? bareLines(f, c.missed === 0) : null);
      continue;
    }
    // Instances counted, not lines: only "all ran" and "none ran" say which lines ran.
    const distinct = (f.bare as Map<number, number>).size;
    if (c.missed === 0) add(path, distinct, distinct, bareLines(f, true));
    else if (c.covered === 0) add(path, 0, distinct, bareLines(f, false));
    else {
      fail(
        `${f.name}: line ${repeated[0]} is listed ${repeated[1]} times (once per function instance, as gcovr writes templates and inline functions) without per-line coverage (mi/ci), and its LINE counter (${c.covered} of ${c.covered + c.missed}) counts instances, so its lines cannot be counted once: run gcovr with --merge-lines, or read its Cobertura or LCOV report of the same run`
      );
    }
  }
  if (files.size === 0) {
    for (const [path, c] of classFiles) add(path, c.covered, c.covered + c.missed);
  }

  const notes: string[] = [];
  const r = report as Counter | null;
  if (list.length === 0) {
    // JaCoCo omits counters of a report with nothing in it.
    if (r === null) return buildReport(source, 'jacoco', 0, 0, list);
    return buildReport(source, 'jacoco', r.covered, r.covered + r.missed, list);
  }
  if (inGroups > 0) {
    notes.push(
      countersAdded > 0
        ? `${inGroups} source files appear in more than one group; their counters are added`
        : `${inGroups} source files appear in more than one group; each of their lines is counted once`
    );
  }
  if (r !== null && (r.covered !== covered || r.covered + r.missed !== total)) {
    notes.push(
      `the report counter says ${r.covered}/${r.covered + r.missed} lines but its source files give ${covered}/${total}; the source files are used`
    );
  }
  const spelled = keys.note();
  if (spelled !== null) notes.push(spelled);
  return buildReport(source, 'jacoco', covered, total, list, notes);
}
