// The coverage gate's patch part: which lines the branch adds or changes
// (merge-base(base, head)..head), taken before the coverage command runs so
// the branch's code cannot move the base ref or rewrite objects to shrink
// its own patch; then, from the report the gate already read, how many of
// those lines are executable and how many a test ran. patch-floor decides
// whether the figure is enforced; it is reported either way.

import { describeError } from '../../core/src/errors.ts';
import type { Frontmatter } from '../../core/src/verdict.ts';
import type { Git } from '../../git/src/git.ts';
import type { CoverageGateConfig } from './config.ts';
import type { CoverageReport } from './coverage-report.ts';
import { changedLines, type ChangedLines } from './patch/changed-lines.ts';
import { findGoModules } from './patch/path-map.ts';
import { computePatchCoverage, type PatchCoverage } from './patch/patch.ts';
import { formatRanges } from './patch/ranges.ts';
import { toHundredths } from './verdict.ts';
import { markdownTable } from '../../core/src/markdown.ts';
import { redactText } from '../../security/src/secrets/redact.ts';

/** Files listed in `patch_missing` (the rest counted in a closing "… and N more"). */
export const MAX_PATCH_FILES = 20;
/** Characters of one file's ranges in `patch_missing`. */
const MAX_RANGES = 200;

export interface PatchInput {
  changed?: ChangedLines;
  /** Why the changed lines could not be taken (one line). */
  error?: string;
}

/**
 * The branch's changed lines, before anything of the branch runs. The base
 * is the remote's branch, fetched now (a checkout may not have it); without
 * a remote (a local run) the local branch of that name.
 */
export async function takeChangedLines(
  git: Git,
  baseRef: string,
  head: string,
  remote = 'origin'
): Promise<PatchInput> {
  try {
    const remotes = await git.remotes();
    let base = baseRef;
    if (remotes.includes(remote)) {
      if (!(await git.fetchBranch(remote, baseRef)))
        return { error: `cannot fetch ${baseRef} from ${remote}` };
      base = `refs/remotes/${remote}/${baseRef}`;
      if ((await git.isShallow()) && (await git.mergeBase(base, head)) === undefined)
        await git.unshallow(remote);
    } else if ((await git.resolveCommit(`refs/heads/${baseRef}`)) !== undefined) {
      base = `refs/heads/${baseRef}`;
    } else {
      return { error: `no remote '${remote}' and no local branch ${baseRef} to compare with` };
    }
    return { changed: await changedLines(git, base, head) };
  } catch (err) {
    return { error: describeError(err) };
  }
}

export interface PatchOutcome {
  coverage?: PatchCoverage;
  error?: string;
  /** The patch part of the verdict: false only when patch-floor is set and not met (or not measurable with the tool failing closed). */
  pass: boolean;
  /** One line for the verdict's reasons. */
  reason: string;
}

export async function patchOutcome(
  input: PatchInput,
  report: CoverageReport,
  config: CoverageGateConfig
): Promise<PatchOutcome> {
  const floor = config.patchFloor;
  const unmeasured = (why: string): PatchOutcome => {
    const enforced = floor !== null;
    return {
      error: why,
      pass: !(enforced && config.toolFailClosed),
      reason: enforced
        ? `patch coverage not measured (${why}); patch-floor ${floor.toFixed(2)}% not applied${config.toolFailClosed ? ': FAIL (coverage-tool-fail-closed)' : ''}`
        : `patch coverage not measured (${why})`
    };
  };
  if (!input.changed) return unmeasured(input.error ?? 'no changed lines');
  let coverage: PatchCoverage;
  try {
    coverage = computePatchCoverage(report, input.changed, {
      workspace: config.workspace,
      ...(report.sources ? { sources: report.sources } : {}),
      // Only a Go profile names files by import path; the walk is not free on a big tree.
      ...(report.format === 'go' ? { goModules: await findGoModules(config.workspace) } : {}),
      prefixMap: config.patchPathMap
    });
  } catch (err) {
    return unmeasured(describeError(err));
  }
  const of = `${coverage.covered} of ${coverage.lines} changed executable line${coverage.lines === 1 ? '' : 's'}`;
  if (coverage.percent === null) {
    if (report.files.length > 0 && report.files.every((f) => f.lines === undefined))
      return { ...unmeasured(`the ${report.format} report has no line data`), coverage };
    return {
      coverage,
      pass: true,
      reason: 'patch coverage: no executable changes (the patch part passes)'
    };
  }
  const p = toHundredths(coverage.percent);
  const shown = `${(p / 100).toFixed(2)}%`;
  if (floor === null)
    return { coverage, pass: true, reason: `patch coverage ${shown} (${of}; patch-floor off)` };
  const f = toHundredths(floor);
  return p >= f
    ? {
        coverage,
        pass: true,
        reason: `patch coverage ${shown} (${of}) meets the patch floor ${(f / 100).toFixed(2)}%`
      }
    : {
        coverage,
        pass: false,
        reason: `patch coverage ${shown} (${of}) is below the patch floor ${(f / 100).toFixed(2)}% by ${((f - p) / 100).toFixed(2)} points`
      };
}

/** `path: 80-85, 90` per file with missing lines, bounded; "… and N more" closes a cut list. */
export function missingList(coverage: PatchCoverage): string[] {
  const files = coverage.files.filter((f) => f.missing.length > 0);
  const out = files.slice(0, MAX_PATCH_FILES).map((f) => {
    const r = formatRanges(f.missing);
    return `${f.path}: ${r.length > MAX_RANGES ? `${r.slice(0, MAX_RANGES - 1)}…` : r}`;
  });
  if (files.length > MAX_PATCH_FILES) out.push(`… and ${files.length - MAX_PATCH_FILES} more`);
  return out;
}

/** The patch keys of the coverage frontmatter. */
export function patchFields(o: PatchOutcome, config: CoverageGateConfig): Frontmatter {
  const c = o.coverage;
  return {
    patch_floor: config.patchFloor,
    patch_coverage: c && c.percent !== null ? toHundredths(c.percent) / 100 : null,
    patch_lines: c ? c.lines : null,
    patch_covered: c ? c.covered : null,
    patch_missing: c ? missingList(c) : [],
    patch_files_not_in_report: c ? c.notInReport.length : null
  };
}

/** The body's patch section, diff-cover style: per file its changed, executable and covered lines and the missing ranges. */
export async function renderPatchSection(
  o: PatchOutcome,
  config: CoverageGateConfig,
  env: NodeJS.ProcessEnv
): Promise<string> {
  const mask = (t: string): Promise<string> => redactText(t, env);
  const out = ['### Patch coverage (the lines this branch adds or changes)', ''];
  const c = o.coverage;
  if (!c) {
    out.push(`Not measured: ${await mask(o.error ?? 'unknown')}.`, '');
    return out.join('\n');
  }
  const floor = config.patchFloor === null ? 'off' : `${config.patchFloor.toFixed(2)}%`;
  out.push(
    c.percent === null
      ? `No executable changed lines (patch floor ${floor}).`
      : `${formatPercent(c.percent)}: ${c.covered} of ${c.lines} changed executable lines run by a test (patch floor ${floor}).`,
    ''
  );
  const shown = c.files.slice(0, MAX_BODY_FILES);
  if (shown.length > 0) {
    const rows: string[][] = [];
    for (const f of shown)
      rows.push([
        await mask(f.path),
        String(f.changed),
        String(f.lines),
        String(f.covered),
        f.lines === 0 ? '-' : formatPercent((f.covered / f.lines) * 100),
        f.missing.length === 0 ? '-' : formatRanges(f.missing)
      ]);
    out.push(
      markdownTable(
        ['File', 'Changed', 'Executable', 'Covered', 'Coverage', 'Missing lines'],
        rows
      ),
      ''
    );
    if (c.files.length > shown.length)
      out.push(
        `… and ${c.files.length - shown.length} more files (frontmatter patch_missing lists the first ${MAX_PATCH_FILES} with missing lines).`,
        ''
      );
  }
  if (c.notInReport.length > 0) {
    const names = await Promise.all(c.notInReport.slice(0, MAX_BODY_FILES).map(mask));
    const more = c.notInReport.length - names.length;
    out.push(
      `Changed files the report does not mention (${c.notInReport.length}; not counted: taken as not code or not measured by the coverage command): ${names.map((n) => `\`${n}\``).join(', ')}${more > 0 ? `, … and ${more} more` : ''}.`,
      ''
    );
  }
  for (const n of c.notes) out.push(`- ${await mask(n)}`);
  if (c.notes.length > 0) out.push('');
  return out.join('\n');
}

/** Files the body's table lists. */
const MAX_BODY_FILES = 50;

const formatPercent = (x: number): string => `${(toHundredths(x) / 100).toFixed(2)}%`;
