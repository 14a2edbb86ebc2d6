// Patch coverage side by side with diff-cover 7.4 (Debian's diff-cover): five
// small projects built and measured at test time with their real tools
// (pytest-cov, jest, go test, gcc + gcovr + lcov, JaCoCo), each a git
// repository with a bare origin, a main that moved on after the branch left
// it, and a branch that adds a partly tested module, changes covered and
// uncovered lines, deletes a file and renames one with an edit (plus
// branches that change only comments). For every report a tool writes,
// diff-cover and our changedLines + computePatchCoverage run on the same work
// tree and report, and must agree: the changed lines of every file, the
// executable changed lines of every file, the uncovered ones, the totals and
// the percentage (diff-cover's: int() of the total, unrounded per file).
// Where we differ on purpose, the difference is asserted, not skipped:
//
//  D1 No executable changed line: diff-cover prints 100 %, our percent is
//     null ("no executable changes"); both count 0 lines.
//  D2 A changed file the report does not mention: diff-cover leaves it out
//     without a word (its reporters return no measured lines); ours counts
//     it nowhere either and names it in notInReport.
//  D3 A file the report knows whose changed lines are none of them
//     executable: diff-cover leaves it out of src_stats, ours lists it in
//     files with lines 0.
//  D4 coverage.py 6.5 lists the docstring lines that ran as run lines in
//     its LCOV (DA) and JSON (executed_lines), not in its XML (not
//     statements). diff-cover on that LCOV and ours on that LCOV or JSON
//     therefore count a changed docstring line as an executable, covered
//     line; on the XML neither does. The LCOV agrees exactly; the JSON,
//     which diff-cover cannot read, is compared with diff-cover on the XML
//     of the same run (the statements coverage.py's own summary counts), so
//     ours measures exactly the changed docstring lines more, all covered.
//     (Neither format says which run lines are docstrings: formats/lcov.ts
//     and formats/coverage-py.ts keep coverage.py's per-file figures but
//     their line states list them as run.)
//  D5 Formats diff-cover cannot read (coverage.py JSON, jest's
//     coverage-final.json, Go's cover profile) are compared with diff-cover
//     on a format of the same run that it reads. For Go that is the
//     Cobertura XML gocover-cobertura writes, ported in the test
//     (goCoberturaPort: Debian has no converter): the diff and the path
//     matching are diff-cover's, the profile's reduction to lines is the
//     port's (gocover-cobertura's rule: each block marks its start to end
//     line; a line is run when any block on it ran), which is our reader's
//     rule too.
import { execFileSync } from 'node:child_process';
import { jest } from '@jest/globals';
import { readCoverageReport } from '../../packages/coverage/src/formats/index.ts';
import type { CoverageReport } from '../../packages/coverage/src/coverage-report.ts';
import {
  changedLines,
  type ChangedLines
} from '../../packages/coverage/src/patch/changed-lines.ts';
import {
  computePatchCoverage,
  type PatchCoverage
} from '../../packages/coverage/src/patch/patch.ts';
import { findGoModules } from '../../packages/coverage/src/patch/path-map.ts';
import { formatRanges } from '../../packages/coverage/src/patch/ranges.ts';
import { Git } from '../../packages/git/src/git.ts';
import { GIT_ENV } from '../helpers/git-repo.ts';
import {
  assertToolsInstalled,
  BRANCHES,
  buildProject,
  diffCover,
  mainLaterSources,
  PROJECT_KINDS,
  type BranchRun,
  type DiffCoverResult,
  type ProjectKind,
  type ReportFile
} from '../helpers/patch-projects.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';

jest.setTimeout(120_000);
afterAll(cleanupTempDirs);

interface Case {
  kind: ProjectKind;
  branch: string;
  report: string;
  /** D2: the changed files the report does not mention (diff-cover skips them silently). */
  notInReport: string[];
  /** D3: files the report knows with changed lines none of which is executable. */
  noExecutableChanges?: string[];
  /** D4: per file, the changed lines ours measures on this report and diff-cover (on the XML of the run) does not. */
  oursAlsoMeasures?: Record<string, number[]>;
  /** D4: per file, changed docstring lines that this LCOV lists as run and the XML of the run does not list. */
  docstringsRun?: Record<string, number[]>;
}

const PY_FEATURE_OUTSIDE = [
  'README.md',
  'tests/test_fmt.py',
  'tests/test_geometry.py',
  'tools/release.py'
];
const JS_FEATURE_OUTSIDE = ['scripts/release.js', 'test/cart.test.js', 'test/strings.test.js'];
const GO_FEATURE_OUTSIDE = ['service/format_test.go', 'service/geometry/geometry_test.go'];
const C_FEATURE_OUTSIDE = ['include/calc.h'];
const JAVA_FEATURE_OUTSIDE = ['src/test/java/com/acme/calc/AllTests.java'];

const CASES: Case[] = [
  { kind: 'python', branch: 'feat/shapes', report: 'cobertura', notInReport: PY_FEATURE_OUTSIDE },
  {
    kind: 'python',
    branch: 'feat/shapes',
    report: 'lcov',
    notInReport: PY_FEATURE_OUTSIDE,
    // geometry.py is new: its module docstring (line 1) is a changed line.
    docstringsRun: { 'src/calc/geometry.py': [1] }
  },
  {
    kind: 'python',
    branch: 'feat/shapes',
    report: 'json',
    notInReport: PY_FEATURE_OUTSIDE,
    oursAlsoMeasures: { 'src/calc/geometry.py': [1] }
  },
  {
    kind: 'python',
    branch: 'docs/wording',
    report: 'cobertura',
    notInReport: [],
    noExecutableChanges: ['src/calc/ops.py']
  },
  {
    kind: 'python',
    branch: 'docs/wording',
    report: 'lcov',
    notInReport: [],
    // The module docstring (line 1) changed; the comment (line 19) is in no report.
    docstringsRun: { 'src/calc/ops.py': [1] }
  },
  {
    kind: 'python',
    branch: 'docs/wording',
    report: 'json',
    notInReport: [],
    oursAlsoMeasures: { 'src/calc/ops.py': [1] }
  },
  { kind: 'js', branch: 'feat/cart', report: 'cobertura', notInReport: JS_FEATURE_OUTSIDE },
  { kind: 'js', branch: 'feat/cart', report: 'lcov', notInReport: JS_FEATURE_OUTSIDE },
  { kind: 'js', branch: 'feat/cart', report: 'json', notInReport: JS_FEATURE_OUTSIDE },
  { kind: 'go', branch: 'feat/geometry', report: 'profile', notInReport: GO_FEATURE_OUTSIDE },
  {
    kind: 'go',
    branch: 'feat/geometry',
    report: 'cobertura-port',
    notInReport: GO_FEATURE_OUTSIDE
  },
  { kind: 'c', branch: 'feat/extra', report: 'cobertura', notInReport: C_FEATURE_OUTSIDE },
  { kind: 'c', branch: 'feat/extra', report: 'lcov', notInReport: C_FEATURE_OUTSIDE },
  {
    kind: 'c',
    branch: 'docs/comment',
    report: 'cobertura',
    notInReport: ['README.md'],
    noExecutableChanges: ['src/ops.c']
  },
  {
    kind: 'c',
    branch: 'docs/comment',
    report: 'lcov',
    notInReport: ['README.md'],
    noExecutableChanges: ['src/ops.c']
  },
  { kind: 'java', branch: 'feat/shapes', report: 'jacoco', notInReport: JAVA_FEATURE_OUTSIDE }
];

const runs = new Map<string, BranchRun>();
const key = (kind: ProjectKind, branch: string): string => `${kind} ${branch}`;

/** Everything one case compares, for the summary. */
interface Row {
  case: string;
  tool: string;
  ours: string;
  diffCover: string;
}
const rows: Row[] = [];
/** The projects with a case whose changed lines are partly covered, partly not. */
const partlyCovered = new Set<ProjectKind>();

beforeAll(async () => {
  // No silent skip: a missing tool fails every test with its Debian package named.
  assertToolsInstalled();
  // All five at once (each runs its tools one after another); every failure reported.
  const built = await Promise.allSettled(PROJECT_KINDS.map((k) => buildProject(k)));
  const failed = built.flatMap((b, i) =>
    b.status === 'rejected' ? [`${PROJECT_KINDS[i]}: ${String(b.reason)}`] : []
  );
  if (failed.length > 0) throw new Error(failed.join('\n\n'));
  for (const b of built)
    if (b.status === 'fulfilled') for (const r of b.value) runs.set(key(r.kind, r.branch), r);
}, 300_000);

afterAll(() => {
  if (process.env.QG_PATCH_SUMMARY !== '1') return;
  const lines = rows.map(
    (r) => `${r.case} | ${r.tool} | ours ${r.ours} | diff-cover ${r.diffCover}`
  );
  const times = [...runs.values()].map((r) => `${r.kind} ${r.branch}: ${r.seconds.toFixed(1)} s`);
  process.stdout.write(`\n${lines.join('\n')}\n\ntool time: ${times.join(', ')}\n`);
});

function runOf(kind: ProjectKind, branch: string): BranchRun {
  const r = runs.get(key(kind, branch));
  if (r === undefined) throw new Error(`${kind} ${branch} was not built`);
  return r;
}

function reportOf(run: BranchRun, id: string): ReportFile {
  const r = run.reports.find((x) => x.id === id);
  if (r === undefined) throw new Error(`${run.kind} ${run.branch}: no report '${id}'`);
  return r;
}

async function ours(
  run: BranchRun,
  report: ReportFile
): Promise<{ patch: PatchCoverage; changed: ChangedLines; parsed: CoverageReport }> {
  const git = new Git(run.work, { env: { ...process.env, ...GIT_ENV } });
  const changed = await changedLines(git, 'origin/main', 'HEAD');
  const parsed = await readCoverageReport(report.path);
  const patch = computePatchCoverage(parsed, changed, {
    workspace: run.work,
    sources: parsed.sources,
    goModules: await findGoModules(run.work)
  });
  return { patch, changed, parsed };
}

/** Our executable changed lines of one file: its changed lines the report instruments. */
function ourMeasured(
  parsed: CoverageReport,
  changed: ChangedLines,
  path: string,
  reportPath: string | null
): number[] {
  const lookup = parsed.files.find((f) => f.path === reportPath)?.lines;
  const lines = changed.files.find((f) => f.path === path)?.lines ?? [];
  return lookup === undefined ? [] : lines.filter((l) => lookup.state(l) > 0);
}

/** diff-cover's total: int(covered / total * 100), 100 with nothing measured (report_generator.total_percent_covered). */
function diffCoverTotal(covered: number, lines: number): number {
  return lines > 0 ? Math.trunc((covered / lines) * 100) : 100;
}

const figure = (lines: number, covered: number, pct: string): string =>
  `${covered}/${lines} (${pct})`;

/** diff-cover's results per work tree and report, each computed once. */
const diffCoverCache = new Map<string, Promise<DiffCoverResult>>();
function diffCoverOf(run: BranchRun, report: ReportFile): Promise<DiffCoverResult> {
  const k = `${run.work}\0${report.path}`;
  let p = diffCoverCache.get(k);
  if (p === undefined) {
    p = diffCover(run.work, report.path);
    diffCoverCache.set(k, p);
  }
  return p;
}

describe('patch coverage agrees with diff-cover 7.4 on real projects', () => {
  it.each(PROJECT_KINDS.flatMap((k) => Object.keys(BRANCHES[k]).map((b) => [k, b] as const)))(
    '%s %s: the branch is behind main, its work tree clean (diff-cover adds staged and unstaged changes)',
    (kind, branch) => {
      const run = runOf(kind, branch);
      const g = (...args: string[]): string =>
        execFileSync('git', args, {
          cwd: run.work,
          env: { ...process.env, ...GIT_ENV },
          encoding: 'utf8'
        }).trim();
      expect(g('status', '--porcelain', '--untracked-files=no')).toBe('');
      // main moved on after the branch left it: the merge base is not origin/main.
      expect(g('merge-base', 'origin/main', 'HEAD')).not.toBe(g('rev-parse', 'origin/main'));
      expect(g('rev-parse', 'HEAD')).toBe(g('rev-parse', `origin/${branch}`));
      // ... and edited a line the branch keeps: a diff from origin/main itself
      // (two dots) would count it as the branch's, the merge-base diff does not.
      const added = (range: string): number =>
        g('diff', '-U0', range, '--', ...mainLaterSources(kind))
          .split('\n')
          .filter((l) => l.startsWith('+') && !l.startsWith('+++')).length;
      expect(added('origin/main..HEAD')).toBeGreaterThan(added('origin/main...HEAD'));
    }
  );

  it.each(CASES.map((c) => [c.kind, c.branch, c.report, c] as const))(
    '%s %s, %s report',
    async (kind, branch, reportId, c) => {
      const run = runOf(kind, branch);
      const report = reportOf(run, reportId);
      // The report diff-cover reads for this one: itself, or another of the same run (D5).
      const dcReport = report.diffCoverReads ? report : reportOf(run, report.sameRunAs ?? '');
      const dc = await diffCoverOf(run, dcReport);
      const { patch, changed, parsed } = await ours(run, report);

      // The probe is the diff-cover command's computation: the same report dict.
      expect(dc.probeReport).toEqual(dc.json);
      // From the merge base, not from where main is now.
      expect(changed.base).toBe(
        execFileSync('git', ['merge-base', 'origin/main', 'HEAD'], {
          cwd: run.work,
          env: { ...process.env, ...GIT_ENV },
          encoding: 'utf8'
        }).trim()
      );

      // The diff side: the same changed lines in every file. diff-cover also
      // lists deleted files and renames without edits, with no lines; ours
      // leaves them out (neither changes a figure).
      const dcChanged = Object.fromEntries(
        Object.entries(dc.changed).filter(([, l]) => l.length > 0)
      );
      expect(Object.fromEntries(changed.files.map((f) => [f.path, f.lines]))).toEqual(dcChanged);
      expect(changed.files.reduce((n, f) => n + f.lines.length, 0)).toBe(dc.json.num_changed_lines);

      // D2: the changed files the report does not mention, named by ours,
      // skipped by diff-cover (no measured lines, not in src_stats).
      expect(patch.notInReport).toEqual([...c.notInReport].sort());
      for (const p of patch.notInReport) {
        expect(dc.files[p]?.measured ?? []).toEqual([]);
        expect(dc.json.src_stats[p]).toBeUndefined();
      }

      const extra = c.oursAlsoMeasures ?? {};
      for (const f of patch.files) {
        const measured = ourMeasured(parsed, changed, f.path, f.reportPath);
        expect(measured.length).toBe(f.lines);
        expect(f.covered).toBe(f.lines - f.missing.length);
        expect(f.changed).toBe(changed.files.find((x) => x.path === f.path)?.lines.length);
        const d = dc.files[f.path] ?? { measured: [], violations: [] };
        // D4: lines ours measures besides diff-cover on the XML: covered docstrings.
        const also = extra[f.path] ?? [];
        for (const l of also) {
          expect(measured).toContain(l);
          expect(f.missing).not.toContain(l);
        }
        expect(d.measured).toEqual(measured.filter((l) => !also.includes(l)));
        expect(f.missing).toEqual(d.violations);
        const stats = dc.json.src_stats[f.path];
        const dcLines = f.lines - also.length;
        if (dcLines === 0) {
          // D3: nothing executable changed (for diff-cover): it leaves the file out.
          expect(stats).toBeUndefined();
        } else {
          expect(stats.violation_lines).toEqual(f.missing);
          expect(stats.percent_covered).toBeCloseTo(
            ((dcLines - f.missing.length) / dcLines) * 100,
            9
          );
        }
        // diff-cover prints missing lines as ranges: ours the same way.
        expect(formatRanges(f.missing)).toBe(formatRanges(d.violations));
      }
      // No file diff-cover measures that ours does not know.
      for (const p of Object.keys(dc.json.src_stats))
        expect(patch.files.map((f) => f.path)).toContain(p);
      // D3: the files the report knows with changed lines, none executable (ours lists them).
      expect(patch.files.filter((f) => f.lines === 0).map((f) => f.path)).toEqual(
        [...(c.noExecutableChanges ?? [])].sort()
      );

      // Totals.
      const alsoCount = Object.values(extra).reduce((n, l) => n + l.length, 0);
      expect(dc.json.total_num_lines).toBe(patch.lines - alsoCount);
      expect(dc.json.total_num_violations).toBe(patch.lines - patch.covered);
      if (patch.lines === 0) {
        // D1: nothing executable changed: ours has no percentage, diff-cover says 100.
        expect(patch.percent).toBeNull();
        expect(dc.json.total_percent_covered).toBe(100);
      } else {
        expect(patch.percent).toBeCloseTo((patch.covered / patch.lines) * 100, 9);
        // diffCoverTotal gives 100 when diff-cover measures nothing (D1 on its side).
        expect(dc.json.total_percent_covered).toBe(
          diffCoverTotal(patch.covered - alsoCount, patch.lines - alsoCount)
        );
      }

      // D4 on LCOV: both count the changed docstring lines (covered); on the
      // XML of the same run diff-cover does not.
      if (c.docstringsRun !== undefined) {
        const dcXml = await diffCoverOf(run, reportOf(run, 'cobertura'));
        for (const [path, docLines] of Object.entries(c.docstringsRun)) {
          const f = patch.files.find((x) => x.path === path);
          const measured = ourMeasured(parsed, changed, path, f?.reportPath ?? null);
          for (const l of docLines) {
            expect(measured).toContain(l);
            expect(f?.missing).not.toContain(l);
            expect(dc.files[path].measured).toContain(l);
            expect(dcXml.files[path]?.measured ?? []).not.toContain(l);
          }
        }
      }

      if (patch.covered > 0 && patch.covered < patch.lines) partlyCovered.add(kind);
      rows.push({
        case: `${kind} ${branch} ${report.label}${report.diffCoverReads ? '' : ` (diff-cover on ${dcReport.label})`}`,
        tool: run.tool,
        ours: figure(
          patch.lines,
          patch.covered,
          patch.percent === null ? 'null' : `${patch.percent.toFixed(2)} %`
        ),
        diffCover: figure(
          dc.json.total_num_lines,
          dc.json.total_num_lines - dc.json.total_num_violations,
          `${dc.json.total_percent_covered} %`
        )
      });
    }
  );

  it('covered five projects, each with a branch whose changed lines are partly covered', () => {
    expect([...partlyCovered].sort()).toEqual([...PROJECT_KINDS].sort());
  });
});
