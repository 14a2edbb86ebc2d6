// STOP: cancel a task branch at the user's word (a `stop` label, or by
// hand). In order: on a label event, do nothing unless the event added the
// stop label (trigger.ts reads GitHub's and Gitea's payloads); refuse
// protected branches; wait (bounded) while the
// branch is inside the merge window, else leave a deferred request the merge
// gate honours; mark the branch cancelled, release its merge lease, reset
// its retry counts (one transaction); delete the branch on the remote; set
// every gate's status to error "cancelled" and cancel the branch's in-flight
// runs where the forge can. Nothing here touches a protected branch.

import { wakeNext } from '../../merge/src/wake.ts';
import type { RunContext } from '../../core/src/context.ts';
import { describeError } from '../../core/src/errors.ts';
import type { ToolDefinition, ToolResult } from '../../core/src/tool.ts';
import { markdownTable } from '../../core/src/markdown.ts';
import { ForgeClient } from '../../forge/src/client.ts';
import type { FetchLike } from '../../forge/src/fetch-like.ts';
import { runUrl } from '../../forge/src/run-url.ts';
import { gateCredential } from '../../git/src/credentials.ts';
import { Git, isProtected } from '../../git/src/git.ts';
import { stopOrDefer, type StopDecision } from '../../store/src/branch-cancel.ts';
import { mergeWindow } from '../../store/src/merge-window.ts';
import { requireAtomic } from '../../store/src/require-atomic.ts';
import { openStateBackend } from '../../store/src/state-inputs.ts';
import type { StateBackend } from '../../store/src/backend.ts';
import { readStopConfig, STOP_INPUT_NAMES, type StopConfig } from './config.ts';
import { cancelBranchRuns, GATE_CONTEXTS, setCancelledStatuses } from './forge-side.ts';

export type StopOutcome = 'cancelled' | 'deferred' | 'refused' | 'not-requested';

export interface StopDeps {
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  fetch?: FetchLike;
  /** Forge client backoff (tests shorten it). */
  backoffMs?: number;
}

interface Done {
  outcome: StopOutcome;
  summary: string;
  leaseReleased: boolean;
  branchDeleted: boolean;
  runsCancelled: number;
  rows: [string, string][];
  warnings: string[];
  ok: boolean;
}

function result(d: Done): ToolResult {
  return {
    ok: d.ok,
    summary: d.summary,
    outputs: {
      outcome: d.outcome,
      'lease-released': String(d.leaseReleased),
      'branch-deleted': String(d.branchDeleted),
      'runs-cancelled': String(d.runsCancelled)
    },
    body: [
      `## STOP: ${d.outcome}`,
      '',
      d.summary,
      '',
      ...(d.rows.length > 0 ? [markdownTable(['Step', 'Result'], d.rows), ''] : [])
    ].join('\n'),
    warnings: d.warnings
  };
}

/** Polls (reads only) while the branch is inside the merge window, up to c.waitMs. */
async function waitForWindow(
  backend: StateBackend,
  c: StopConfig,
  ctx: RunContext,
  deps: StopDeps
): Promise<void> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = deps.random ?? Math.random;
  const deadline = Date.now() + c.waitMs;
  for (let delay = 1000; ; delay = Math.min(delay * 2, 30_000)) {
    const w = await backend.withDb('read', (db) => mergeWindow(db, c.repository, ctx.now()));
    if (!w || w.lease.branch !== c.branch) return;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return;
    if (delay === 1000)
      ctx.logger.info(
        `${c.branch} is inside the merge window since ${w.since}: waiting up to ${Math.ceil(remaining / 60_000)} min for it to end`
      );
    await sleep(Math.min(remaining, delay / 2 + random() * (delay / 2)));
  }
}

async function forgeSide(
  c: StopConfig,
  ctx: RunContext,
  sha: string | undefined,
  deps: StopDeps
): Promise<{ statuses: string; runs: string; runsCancelled: number; warnings: string[] }> {
  const [owner, name] = c.repository.split('/');
  const missing = !c.token
    ? "input 'token' is empty"
    : !c.apiUrl
      ? 'GITHUB_API_URL is not set'
      : !owner || !name || c.repository.startsWith('local:')
        ? 'GITHUB_REPOSITORY is not set'
        : undefined;
  if (missing) {
    const line = `forge not updated (${missing}): commit statuses not set, runs not cancelled`;
    return { statuses: 'skipped', runs: 'skipped', runsCancelled: 0, warnings: [line] };
  }
  const repo = { owner: owner!, repo: name! };
  const warnings: string[] = [];
  let client: ForgeClient;
  try {
    client = new ForgeClient({
      apiUrl: c.apiUrl,
      token: c.token,
      logger: ctx.logger,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(deps.backoffMs !== undefined ? { backoffMs: deps.backoffMs } : {})
    });
  } catch (err) {
    const line = `forge not updated: ${describeError(err)}`;
    return { statuses: 'skipped', runs: 'skipped', runsCancelled: 0, warnings: [line] };
  }
  let statuses =
    'skipped: no head sha known (the branch was already gone and the event names none)';
  if (sha) {
    const s = await setCancelledStatuses(client, repo, sha, runUrl(ctx.env));
    warnings.push(...s.warnings);
    statuses = `${s.set} of ${GATE_CONTEXTS.length} set to error "cancelled" on ${sha.slice(0, 12)}`;
  } else warnings.push(`commit statuses not set: ${statuses.slice('skipped: '.length)}`);
  const r = await cancelBranchRuns(client, repo, c.branch, c.runId);
  warnings.push(...r.warnings);
  const runs = r.note ?? `${r.runsCancelled} run(s) cancelled`;
  return { statuses, runs, runsCancelled: r.runsCancelled, warnings };
}

export async function runStop(
  c: StopConfig,
  ctx: RunContext,
  deps: StopDeps = {}
): Promise<ToolResult> {
  const none = { leaseReleased: false, branchDeleted: false, runsCancelled: 0, rows: [] };
  // 0. A label event that did not add the stop label (another label changed
  // on a pull request that carries it, or one was removed): nothing to do.
  if (c.request && !c.request.requested) {
    return result({
      ...none,
      ok: true,
      outcome: 'not-requested',
      summary: `not a STOP request: ${c.request.why}; ${c.branch} left as it is`,
      warnings: []
    });
  }
  // 1. Before anything is read or written.
  if (isProtected(c.branch, c.protectedBranches)) {
    return result({
      ...none,
      ok: false,
      outcome: 'refused',
      summary: `refused: '${c.branch}' is a protected branch (${c.protectedBranches.join(', ')}); STOP never cancels or deletes it`,
      warnings: []
    });
  }
  const backend = requireAtomic(
    await openStateBackend(c.state, c.baseRef, ctx),
    'STOP (it releases the merge lease)'
  );
  const input = { repo: c.repository, branch: c.branch, by: c.actor, reason: c.reason };

  // 2. The merge window: wait, then decide and act in one transaction.
  await waitForWindow(backend, c, ctx, deps);
  const decision: StopDecision = await backend.withDb(
    'write',
    (db) => stopOrDefer(db, input, ctx.now()),
    { message: (d) => `STOP ${c.branch} by ${c.actor}: ${d.outcome}` }
  );
  if (decision.outcome === 'deferred') {
    return result({
      ...none,
      ok: true,
      outcome: 'deferred',
      summary: `STOP deferred: ${c.branch} is inside the merge window since ${decision.window.since}; it will be cancelled when that finishes`,
      warnings: [...(backend.warnings ?? [])]
    });
  }

  // 3. Done in the transaction above.
  const leaseReleased = decision.lease === 'released';
  const rows: [string, string][] = [
    ['state', `cancelled by ${c.actor}: ${c.reason}`],
    ['merge lease', leaseReleased ? 'released' : `not held by ${c.branch} (${decision.lease})`],
    ['retry counts', `reset (${decision.countersCleared} gate row(s))`]
  ];
  const warnings: string[] = [...(backend.warnings ?? [])];
  // The queue moves: the longest-waiting live branch is woken.
  if (leaseReleased) {
    const wake = await wakeNext(backend, c.wake, ctx, deps);
    rows.push(['merge queue', wake.line]);
    if (wake.error) warnings.push(wake.error);
  }

  // 4. The task branch on the remote.
  let branch: 'deleted' | 'absent' | 'failed' = 'failed';
  let sha: string | undefined;
  let branchLine: string;
  try {
    const credential = await gateCredential({
      workspace: c.workspace,
      token: c.state.token,
      env: ctx.env
    });
    const git = new Git(c.workspace, {
      protectedBranches: c.protectedBranches,
      env: ctx.env,
      credential
    });
    const del = await git.deleteRemoteBranch(c.remote, c.branch);
    sha = del.sha;
    branch = del.outcome;
    branchLine =
      branch === 'deleted'
        ? `deleted on ${c.remote} (was ${del.sha?.slice(0, 12)})`
        : `already gone from ${c.remote}: nothing to delete`;
  } catch (err) {
    branchLine = `not deleted: ${describeError(err)}`;
    warnings.push(`${c.branch} ${branchLine}`);
  }
  rows.push(['branch', branchLine]);

  // 5. The forge.
  const f = await forgeSide(c, ctx, sha ?? ctx.event.headSha, deps);
  warnings.push(...f.warnings);
  rows.push(['commit statuses', f.statuses], ['workflow runs', f.runs]);

  const summary = [
    `${c.branch} cancelled`,
    leaseReleased ? 'merge lease released' : 'it held no merge lease',
    branch === 'deleted'
      ? `branch deleted on ${c.remote}`
      : branch === 'absent'
        ? `branch already gone from ${c.remote}`
        : 'branch NOT deleted (see warnings)',
    f.runs === 'skipped' ? 'forge not updated (see warnings)' : f.runs
  ].join('; ');
  return result({
    ok: true,
    outcome: 'cancelled',
    summary,
    leaseReleased,
    branchDeleted: branch === 'deleted',
    runsCancelled: f.runsCancelled,
    rows,
    warnings
  });
}

export const stopTool: ToolDefinition<StopConfig> = {
  name: 'stop',
  inputs: STOP_INPUT_NAMES,
  buildConfig: readStopConfig,
  run: (c, ctx) => runStop(c, ctx)
};
