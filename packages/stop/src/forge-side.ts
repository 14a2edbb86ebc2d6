// STOP on the forge: every gate's commit status on the branch's last head
// becomes `error` "cancelled", and the branch's in-flight workflow runs are
// cancelled where the forge's API offers it. GitHub does
// (POST .../actions/runs/{id}/cancel); Gitea's v1 API has no such endpoint,
// so there the runs are only counted and left to finish: their gates find
// the branch cancelled in the state store.

import { describeError } from '../../core/src/errors.ts';
import { GATES } from '../../core/src/verdict.ts';
import { ActionsApi, type RepoRef, type WorkflowRun } from '../../forge/src/actions-api.ts';
import type { ForgeClient } from '../../forge/src/client.ts';
import { ForgeError } from '../../forge/src/forge-error.ts';
import { gateContext, setCommitStatus } from '../../forge/src/statuses.ts';

/** The status context of each gate (what the publishing layer sets). */
export const GATE_CONTEXTS: readonly string[] = GATES.map(gateContext);

/** Run states that are not finished yet (the same words on both forges). */
const IN_FLIGHT = ['in_progress', 'queued', 'waiting'] as const;

export interface ForgeStopResult {
  statusesSet: number;
  runsCancelled: number;
  /** In-flight runs the forge could not cancel (Gitea: all of them). */
  runsLeft: number;
  /** One line for the outcome when runs were left (Gitea). */
  note?: string;
  warnings: string[];
}

function repoPath(repo: RepoRef): string {
  return `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.repo)}`;
}

/** Sets `error` "cancelled" for every gate context on `sha`; failures become warnings. */
export async function setCancelledStatuses(
  client: ForgeClient,
  repo: RepoRef,
  sha: string,
  targetUrl: string | undefined
): Promise<{ set: number; warnings: string[] }> {
  const warnings: string[] = [];
  let set = 0;
  for (const context of GATE_CONTEXTS) {
    try {
      await setCommitStatus(client, repo, sha, {
        state: 'error',
        context,
        description: 'cancelled',
        targetUrl
      });
      set++;
    } catch (err) {
      warnings.push(`status ${context} not set: ${describeError(err)}`);
    }
  }
  return { set, warnings };
}

/** The branch's runs that have not finished, newest first, without `skipRunId`. */
export async function inFlightRuns(
  api: ActionsApi,
  branch: string,
  skipRunId: string | undefined
): Promise<WorkflowRun[]> {
  const seen = new Map<number, WorkflowRun>();
  for (const status of IN_FLIGHT) {
    const page = await api.listWorkflowRuns({ branch, status });
    for (const run of page.items)
      if (run.head_branch === undefined || run.head_branch === branch) seen.set(run.id, run);
  }
  return [...seen.values()].filter((r) => String(r.id) !== skipRunId).sort((a, b) => b.id - a.id);
}

/** Cancels (GitHub) or counts (Gitea) the branch's in-flight runs. */
export async function cancelBranchRuns(
  client: ForgeClient,
  repo: RepoRef,
  branch: string,
  skipRunId: string | undefined
): Promise<Omit<ForgeStopResult, 'statusesSet'>> {
  const warnings: string[] = [];
  let runs: WorkflowRun[];
  try {
    runs = await inFlightRuns(new ActionsApi(client, repo), branch, skipRunId);
  } catch (err) {
    return { runsCancelled: 0, runsLeft: 0, warnings: [`runs not listed: ${describeError(err)}`] };
  }
  if (client.flavor === 'gitea') {
    const note =
      runs.length > 0
        ? `Gitea's API cannot cancel runs: ${runs.length} run(s) left to finish; their gates will see the branch cancelled`
        : undefined;
    return { runsCancelled: 0, runsLeft: runs.length, note, warnings };
  }
  let cancelled = 0;
  for (const run of runs) {
    try {
      await client.request('POST', `${repoPath(repo)}/actions/runs/${run.id}/cancel`);
      cancelled++;
    } catch (err) {
      // 409: the run finished meanwhile; nothing is left to cancel.
      if (err instanceof ForgeError && err.status === 409) continue;
      warnings.push(`run ${run.id} not cancelled: ${describeError(err)}`);
    }
  }
  const left = runs.length - cancelled;
  return {
    runsCancelled: cancelled,
    runsLeft: left,
    note: left > 0 ? `${left} run(s) could not be cancelled` : undefined,
    warnings
  };
}
