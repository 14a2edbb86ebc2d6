// What the root action reports after the edge ran: one overall verdict, one
// line, per-gate statuses (empty for a gate that did not run because an
// earlier one stopped the edge), the commit later steps must use, and the
// job summary. Pure: the entry (edge-action.ts) only writes it out.

import { dirname } from 'node:path';
import { markdownTable } from '../../core/src/markdown.ts';
import { oneLine, type GateName, type GateResult, type Verdict } from '../../core/src/verdict.ts';

export interface EdgeOutcome {
  status: Verdict;
  summary: string;
  outputs: Record<string, string>;
  /** Markdown for the job summary. */
  body: string;
}

function overall(results: readonly GateResult[]): Verdict {
  if (results.some((r) => r.verdict === 'FAIL')) return 'FAIL';
  if (results.some((r) => r.verdict === 'DEFER')) return 'DEFER';
  return results.some((r) => r.verdict === 'PASS') ? 'PASS' : 'SKIPPED';
}

export function edgeOutcome(
  gates: readonly GateName[],
  run: { results: readonly GateResult[]; leaseRelease?: string; needsHuman: boolean },
  workspaceHead: string
): EdgeOutcome {
  const { results } = run;
  const status = overall(results);
  const ran = new Map(results.map((r) => [r.gate, r]));
  const notRun = gates.filter((g) => !ran.has(g));
  const stopper = results.find((r) => r.verdict === 'FAIL' || r.verdict === 'DEFER');
  const parts = [results.map((r) => `${r.gate} ${r.verdict}`).join(', ') || 'no gate ran'];
  if (stopper) parts.push(`${stopper.gate}: ${stopper.summary}`);
  if (notRun.length > 0) parts.push(`not run: ${notRun.join(', ')}`);
  if (run.leaseRelease) parts.push(`lease: ${run.leaseRelease}`);
  const summary = oneLine(parts.join('; '), 500);

  const merge = ran.get('merge');
  const mergeHead = merge?.frontmatter.new_head;
  const outputs: Record<string, string> = {
    status,
    summary,
    'new-head': typeof mergeHead === 'string' && mergeHead !== '' ? mergeHead : workspaceHead,
    'report-dir': results.length > 0 ? dirname(results[0].reportPath) : '',
    'needs-human': String(run.needsHuman),
    'lease-release': run.leaseRelease ?? ''
  };
  for (const g of gates) outputs[`${g}-status`] = ran.get(g)?.verdict ?? '';

  const table = markdownTable(
    ['Gate', 'Verdict', 'Summary'],
    gates.map((g) => {
      const r = ran.get(g);
      return r ? [g, r.verdict, r.summary] : [g, 'not run', `stopped by ${stopper?.gate ?? '-'}`];
    })
  );
  const body = [
    `## quality-gates edge: ${status}`,
    '',
    table,
    '',
    ...(run.leaseRelease ? [`Merge lease: ${run.leaseRelease}`, ''] : []),
    ...results.flatMap((r) => ['---', '', r.body.trim(), ''])
  ].join('\n');
  return { status, summary, outputs, body };
}
