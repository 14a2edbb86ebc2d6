// Entry of the root action.yml: the whole edge in one step, for repositories
// that want one job. Every gate of EDGE in order, each published like its own
// action, stopping at the first FAIL or DEFER; a failure after the merge gate
// passed releases the lease it took. Exit 1 exactly on FAIL; DEFER (merge lock
// busy) is not a code fault and exits 0 with status DEFER and a warning.
import '../../core/src/node-guard.ts';
import * as core from '@actions/core';
import { coreLogger, writeJobSummary } from '../../core/src/action.ts';
import { contextFromEnv } from '../../core/src/context.ts';
import { envInputSource } from '../../core/src/inputs.ts';
import { workspaceHead } from '../../publish/src/where.ts';
import { checkedOutHead, runEdge } from './edge.ts';
import { edgeInputSource, withRootInputNames } from './edge-inputs.ts';
import { activatedOnly } from './edge-optional.ts';
import { edgeOutcome } from './edge-outcome.ts';
import { EDGE } from './gates.ts';

async function main(): Promise<void> {
  const ctx = contextFromEnv(process.env, coreLogger);
  const root = envInputSource(process.env);
  const gates = EDGE.map((g) =>
    activatedOnly(withRootInputNames(g), edgeInputSource(root, g.gate))
  );
  const run = await runEdge(
    gates,
    (g) => edgeInputSource(root, g.gate, () => checkedOutHead(ctx.workspace)),
    ctx
  );
  for (const r of run.results) for (const w of r.warnings) core.warning(`${r.gate}: ${w}`);
  const out = edgeOutcome(
    EDGE.map((g) => g.gate),
    run,
    (await workspaceHead(ctx)) ?? ''
  );
  for (const [k, v] of Object.entries(out.outputs)) core.setOutput(k, v);
  await writeJobSummary(out.body);
  const line = `edge: ${out.status} - ${out.summary}`;
  if (out.status === 'FAIL') core.setFailed(line);
  else if (out.status === 'DEFER')
    core.warning(
      `${line} (not a code fault: the later gates did not run; run again when the lock is free)`
    );
  else core.info(line);
}

try {
  await main();
} catch (err) {
  // runGate never throws; this is the last line of defence for the adapter itself.
  core.setFailed(`edge: internal error: ${(err as Error).message}`);
}
