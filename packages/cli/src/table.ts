// The verdict table the CLI prints: fixed-width text for terminals, JSON
// for machines.

import type { GateResult } from '../../core/src/verdict.ts';

export function verdictTable(results: readonly GateResult[]): string {
  const rows = [
    ['GATE', 'VERDICT', 'SUMMARY'],
    ...results.map((r) => [r.gate, r.verdict, r.summary])
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map((r) => `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`).join('\n') + '\n';
}

export function verdictJson(
  results: readonly GateResult[],
  run: { forgeApiCalls: number; leaseRelease: string | null }
): string {
  const gates = results.map((r) => ({
    gate: r.gate,
    verdict: r.verdict,
    summary: r.summary,
    report: r.reportPath,
    warnings: r.warnings
  }));
  return `${JSON.stringify({ gates, forge_api_calls: run.forgeApiCalls, lease_release: run.leaseRelease }, null, 2)}\n`;
}
