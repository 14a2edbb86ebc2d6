// The human half of the coverage artefact: the numbers, why the verdict is
// what it is, and the files whose coverage fell most against the last
// measurement of the target branch.

import { markdownTable } from '../../core/src/markdown.ts';
import type { Verdict } from '../../core/src/verdict.ts';
import type { Measurement as StoredMeasurement } from '../../store/src/measurement.ts';
import type { CoverageGateConfig } from './config.ts';
import type { CoverageReport, FileCoverage } from './coverage-report.ts';
import type { CoverageVerdict } from './verdict.ts';

const pct = (covered: number, total: number): number =>
  total === 0 ? 100 : (covered / total) * 100;
const fmt = (x: number | null): string => (x === null ? '-' : `${x.toFixed(2)}%`);

export interface FileDrop {
  path: string;
  before: number;
  after: number;
}

/** Files present in both measurements whose line coverage fell, most first; new files count from 100 when fully uncovered. */
export function fallingFiles(
  now: readonly FileCoverage[],
  before: readonly FileCoverage[],
  limit = 10
): FileDrop[] {
  const prev = new Map(before.map((f) => [f.path, f]));
  const drops: FileDrop[] = [];
  for (const f of now) {
    const p = prev.get(f.path);
    if (!p) continue;
    const a = pct(p.covered, p.total);
    const b = pct(f.covered, f.total);
    if (Math.round(b * 100) < Math.round(a * 100))
      drops.push({ path: f.path, before: a, after: b });
  }
  return drops
    .sort((x, y) => y.before - y.after - (x.before - x.after) || x.path.localeCompare(y.path))
    .slice(0, limit);
}

export function renderCoverageBody(x: {
  verdict: Verdict;
  summary: string;
  config: CoverageGateConfig;
  report: CoverageReport;
  result: CoverageVerdict;
  baseline: number | null;
  previous?: StoredMeasurement;
  warnings: string[];
  /** The patch coverage section (patch-gate.ts), rendered. */
  patch?: string;
}): string {
  const out: string[] = [`## Coverage gate: ${x.verdict}`, '', x.summary, ''];
  out.push(
    markdownTable(
      ['Measured (lines)', 'Baseline', 'Delta', 'Floor', 'Policy', 'Epsilon', 'Lines', 'Format'],
      [
        [
          fmt(x.report.percent),
          fmt(x.baseline),
          x.result.delta === null
            ? '-'
            : `${x.result.delta >= 0 ? '+' : ''}${x.result.delta.toFixed(2)}`,
          fmt(x.config.floor),
          x.config.policy,
          x.config.epsilon,
          `${x.report.covered}/${x.report.total}`,
          x.report.format
        ]
      ]
    ),
    ''
  );
  out.push(...x.result.reasons.map((r) => `- ${r}`), '');
  if (x.previous) {
    const drops = fallingFiles(x.report.files, x.previous.files);
    out.push(
      `### Files whose coverage fell most (against ${x.config.baseRef} at ${x.previous.sha.slice(0, 12)})`,
      ''
    );
    out.push(
      drops.length === 0
        ? 'None.'
        : markdownTable(
            ['File', 'Before', 'After'],
            drops.map((d) => [d.path, fmt(d.before), fmt(d.after)])
          ),
      ''
    );
  }
  if (x.patch) out.push(x.patch);
  const notes = [...x.warnings, ...x.report.notes];
  if (notes.length > 0) out.push('### Notes', '', ...notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}
