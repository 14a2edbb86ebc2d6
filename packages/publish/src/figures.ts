// What the PR comment shows for one gate: its key figure and the findings
// that block, read from the gate's read-back frontmatter only (the artefact
// is the single source of truth; nothing here re-decides a verdict).

import type { Frontmatter, GateName, GateResult } from '../../core/src/verdict.ts';

const num = (fm: Frontmatter, key: string): number | undefined =>
  typeof fm[key] === 'number' ? (fm[key] as number) : undefined;

const pct = (v: number | undefined): string => (v === undefined ? 'none' : `${v.toFixed(2)}%`);

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** One short phrase per gate: the number a reviewer looks for first. */
export function keyFigure(gate: GateName, fm: Frontmatter): string {
  switch (gate) {
    case 'security': {
      const secrets = num(fm, 'secrets_found');
      const vulns = num(fm, 'vulnerabilities_new');
      if (secrets === undefined) return '-';
      return `${plural(secrets, 'secret', 'secrets')}, ${plural(vulns ?? 0, 'new vulnerability', 'new vulnerabilities')}`;
    }
    case 'merge': {
      if (typeof fm.failure_class === 'string' && fm.failure_class !== '')
        return `class ${fm.failure_class}`;
      if (fm.rebased === true) return fm.retest_skipped === true ? 'rebased' : 'rebased, re-tested';
      if (fm.retest_skipped === true) return 'up to date, re-test skipped';
      return typeof fm.new_head === 'string' ? 'up to date, re-tested' : '-';
    }
    case 'coverage': {
      const measured = num(fm, 'measured');
      if (measured === undefined) return '-';
      const baseline = num(fm, 'baseline');
      const total =
        baseline === undefined
          ? `${pct(measured)} (no baseline yet)`
          : `${pct(measured)} (baseline ${pct(baseline)})`;
      const patch = num(fm, 'patch_coverage');
      if (patch !== undefined) return `${total}, patch ${pct(patch)}`;
      return num(fm, 'patch_lines') === 0 ? `${total}, patch: no executable changes` : total;
    }
    case 'image-freshness':
      if (fm.fresh === true) return 'image built from this commit';
      if (fm.rebuild_needed === true) return 'rebuild needed';
      return '-';
  }
}

/** A gate's closing "… and 12 more" line of a cut `blocking:` list. */
const MORE_LINE = /^… and (\d+) more$/;

/**
 * What the PR shows whatever the verdict: the coverage gate's changed lines
 * that no test ran (`patch_missing`, one `path: ranges` per file).
 */
export function detailLines(
  result: GateResult
): { title: string; items: string[]; more?: number } | undefined {
  if (result.gate !== 'coverage') return undefined;
  const listed = result.frontmatter.patch_missing;
  if (!Array.isArray(listed) || listed.length === 0) return undefined;
  const last = listed[listed.length - 1];
  const m = typeof last === 'string' ? MORE_LINE.exec(last) : null;
  const items = listed.filter((l) => !(typeof l === 'string' && MORE_LINE.test(l)));
  return {
    title: 'Changed lines no test ran',
    items,
    ...(m ? { more: Number(m[1]) } : {})
  };
}

/** The lines that block a FAIL, already redacted by the gate; the summary when the gate lists none. */
export function blockingLines(result: GateResult): string[] {
  if (result.verdict !== 'FAIL') return [];
  const listed = result.frontmatter.blocking;
  if (Array.isArray(listed) && listed.length > 0)
    return listed.filter((l) => !(typeof l === 'string' && MORE_LINE.test(l))).slice(0, 20);
  return [result.summary];
}

/**
 * How many findings block in all: the gate's `blocking_total`, else what its
 * list says (its items plus the count of a closing "… and N more" line).
 */
export function blockingTotal(result: GateResult): number {
  if (result.verdict !== 'FAIL') return 0;
  const fm = result.frontmatter;
  const listed = Array.isArray(fm.blocking) ? fm.blocking : [];
  let total = listed.length;
  const last = listed[listed.length - 1];
  const m = typeof last === 'string' ? MORE_LINE.exec(last) : null;
  if (m) total += Number(m[1]) - 1;
  if (typeof fm.blocking_total === 'number' && Number.isSafeInteger(fm.blocking_total))
    total = Math.max(total, fm.blocking_total);
  return Math.max(total, blockingLines(result).length);
}

/** The sha a gate's verdict is about: the merge gate's new head, else the tested head. */
export function gatedSha(result: GateResult): string | undefined {
  for (const key of ['new_head', 'head_sha']) {
    const v = result.frontmatter[key];
    if (typeof v === 'string' && /^[0-9a-f]{40}$/i.test(v)) return v.toLowerCase();
  }
  return undefined;
}
