// The whole edge in one process (the CLI's `edge` command and the root
// action): every gate in order, each published, stopping at the first FAIL
// or DEFER. A gate after the merge gate that fails releases the lease the
// merge gate took, as the reusable workflow's release job does.

import { execFileSync } from 'node:child_process';
import type { RunContext } from '../../core/src/context.ts';
import type { GateDefinition } from '../../core/src/gate.ts';
import type { InputSource } from '../../core/src/inputs.ts';
import { runTool } from '../../core/src/tool.ts';
import type { GateResult } from '../../core/src/verdict.ts';
import { leaseRelease } from '../../merge/src/lease-release.ts';
import type { PublishDeps } from '../../publish/src/publisher.ts';
import { runPublishedGate } from '../../publish/src/run.ts';
import { gatedBranch } from '../../publish/src/where.ts';

/** The commit the earlier gates tested: after the merge gate, its rebased head is checked out. */
export function checkedOutHead(workspace: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--verify', 'HEAD'], {
      cwd: workspace,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    }).trim();
  } catch {
    return ''; // no repository: the gate's own default applies and says what is wrong
  }
}

export interface EdgeRun {
  results: GateResult[];
  /** The lease release after a later gate failed: its one-line outcome. */
  leaseRelease?: string;
  needsHuman: boolean;
  apiCalls: number;
}

export async function runEdge(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  gates: readonly GateDefinition<any>[],
  inputsFor: (gate: GateDefinition<unknown>) => InputSource,
  ctx: RunContext,
  deps: PublishDeps = {}
): Promise<EdgeRun> {
  const run: EdgeRun = { results: [], needsHuman: false, apiCalls: 0 };
  let leaseSource: InputSource | undefined;
  for (const gate of gates) {
    const src = inputsFor(gate);
    const one = await runPublishedGate(gate, src, ctx, deps);
    run.results.push(one.result);
    run.apiCalls += one.apiCalls;
    run.needsHuman ||= one.publish.needsHuman;
    const verdict = one.result.verdict;
    if (gate.gate === 'merge' && verdict === 'PASS') leaseSource = src;
    if (verdict === 'FAIL' && leaseSource) {
      run.leaseRelease = await releaseAfterFailure(leaseSource, ctx);
    }
    if (verdict === 'FAIL' || verdict === 'DEFER') break;
  }
  return run;
}

async function releaseAfterFailure(mergeInputs: InputSource, ctx: RunContext): Promise<string> {
  const branch = (await gatedBranch(ctx)) ?? '';
  const src: InputSource = {
    get: (name) =>
      name === 'branch' && mergeInputs.get('branch') === '' ? branch : mergeInputs.get(name)
  };
  const r = await runTool(leaseRelease, src, ctx);
  if (r.ok) ctx.logger.info(`lease release: ${r.summary}`);
  else ctx.logger.warning(`lease release: ${r.summary}`);
  return r.summary;
}
