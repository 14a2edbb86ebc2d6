// JaCoCo XML (jacoco:report, report-aggregate, the JaCoCo CLI). The figure is
// the report-level <counter type="LINE"> (a direct child of <report>): group,
// package, class and method counters repeat the same lines, so nothing is
// summed. Files come from each <sourcefile>'s own LINE counter, named
// package/file as JaCoCo names them.

import type { CoverageReport, FileCoverage } from '../coverage-report.ts';
import { buildReport } from './build-report.ts';
import { readXmlReport } from './read-xml.ts';
import { CoverageReportError } from './report-error.ts';
import { inputName, type ReportInput } from './report-input.ts';

const COUNT = /^\d{1,15}$/;

interface Counter {
  missed: number;
  covered: number;
}

export async function parseJacoco(input: ReportInput): Promise<CoverageReport> {
  const source = inputName(input);
  const fail = (problem: string): never => {
    throw new CoverageReportError(source, problem);
  };
  const stack: string[] = [];
  let pkg = '';
  let sourcefile: string | null = null;
  let report: Counter | null = null;
  const files = new Map<string, Counter>();
  let duplicates = 0;

  const counter = (attrs: Record<string, string>, where: string): Counter => {
    const { missed, covered } = attrs;
    if (
      missed === undefined ||
      covered === undefined ||
      !COUNT.test(missed) ||
      !COUNT.test(covered)
    ) {
      fail(
        `the LINE counter of ${where} has missed=${JSON.stringify(missed ?? null)} covered=${JSON.stringify(covered ?? null)}, not whole non-negative numbers`
      );
    }
    return { missed: Number(missed), covered: Number(covered) };
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
        sourcefile = pkg === '' ? file : `${pkg}/${file}`;
      } else if (name === 'counter' && attrs.type === 'LINE') {
        if (parent === 'report') {
          if (report !== null) fail('two report-level LINE counters');
          report = counter(attrs, 'the report');
        } else if (parent === 'sourcefile' && sourcefile !== null) {
          const c = counter(attrs, `sourcefile ${sourcefile}`);
          const prev = files.get(sourcefile);
          if (prev === undefined) files.set(sourcefile, c);
          else {
            // The same file in two groups (modules): keep both its lines.
            duplicates++;
            prev.missed += c.missed;
            prev.covered += c.covered;
          }
        }
      }
      stack.push(name);
    },
    close(name) {
      stack.pop();
      if (name === 'sourcefile') sourcefile = null;
      else if (name === 'package') pkg = '';
    }
  });

  const list: FileCoverage[] = [];
  let sumCovered = 0;
  let sumTotal = 0;
  for (const [path, c] of files) {
    list.push({ path, covered: c.covered, total: c.covered + c.missed });
    sumCovered += c.covered;
    sumTotal += c.covered + c.missed;
  }
  const r = report as Counter | null;
  if (r === null) {
    // JaCoCo omits counters of a report with nothing in it.
    if (sumTotal === 0) return buildReport(source, 'jacoco', 0, 0, list);
    return fail('no report-level <counter type="LINE"> (a direct child of <report>)');
  }
  const notes: string[] = [];
  if (duplicates > 0)
    notes.push(
      `${duplicates} source files appear in more than one group; their counters are added`
    );
  if (list.length > 0 && (sumCovered !== r.covered || sumTotal !== r.covered + r.missed)) {
    notes.push(
      `the source files add up to ${sumCovered}/${sumTotal} lines but the report counter says ${r.covered}/${r.covered + r.missed}; the report counter is used`
    );
  }
  return buildReport(source, 'jacoco', r.covered, r.covered + r.missed, list, notes);
}
