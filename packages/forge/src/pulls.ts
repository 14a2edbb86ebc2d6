// Pull requests and workflow dispatch, the merge queue's forge side.
//
// Merging, pinned to the tested head:
// - Gitea: POST /repos/{o}/{r}/pulls/{n}/merge with MergePullRequestForm
//   {Do, head_commit_id, ...}; 200 empty when merged; 405 when it cannot be
//   merged (already merged, closed, style not allowed, checks or approvals
//   missing), 409 when head_commit_id is no longer the PR's head ("head out
//   of date") or the merge conflicts. Styles: merge, rebase, rebase-merge,
//   squash, fast-forward-only (Gitea 1.22+).
// - GitHub: PUT /repos/{o}/{r}/pulls/{n}/merge with {sha, merge_method};
//   200 {merged, sha}; 405 not mergeable, 409 "Head branch was modified".
//   Styles: merge, squash, rebase (no fast-forward-only, no rebase-merge).
//
// Dispatch: POST /repos/{o}/{r}/actions/workflows/{file}/dispatches with
// {ref, inputs} (both forges; 204). The Actions job token may dispatch on
// both (GitHub exempts workflow_dispatch from its no-recursion rule; Gitea
// creates the run directly), with `actions: write`.

import { shapeError, type RepoRef } from './actions-api.ts';
import type { ForgeClient } from './client.ts';
import { ForgeError } from './forge-error.ts';

export const MERGE_STYLES = [
  'merge',
  'rebase',
  'rebase-merge',
  'squash',
  'fast-forward-only'
] as const;
export type MergeStyle = (typeof MERGE_STYLES)[number];

/** The styles each forge's merge API takes. */
export function stylesOf(flavor: ForgeClient['flavor']): readonly MergeStyle[] {
  return flavor === 'github' ? ['merge', 'rebase', 'squash'] : MERGE_STYLES;
}

export interface PullState {
  number: number;
  state: 'open' | 'closed';
  merged: boolean;
  headRef: string;
  headSha: string;
  baseRef: string;
  mergeCommitSha: string | null;
}

function base(repo: RepoRef): string {
  return `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.repo)}`;
}

function checkNumber(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`pull request: ${String(n).slice(0, 20)} is not a pull-request number`);
}

export async function getPullRequest(
  client: ForgeClient,
  repo: RepoRef,
  n: number
): Promise<PullState> {
  checkNumber(n);
  const path = `${base(repo)}/pulls/${n}`;
  const p = (await client.request('GET', path)) as Record<string, unknown> | undefined;
  const head = p?.head as Record<string, unknown> | undefined;
  const baseRef = p?.base as Record<string, unknown> | undefined;
  if (
    !p ||
    typeof p.number !== 'number' ||
    (p.state !== 'open' && p.state !== 'closed') ||
    typeof head?.sha !== 'string'
  )
    throw shapeError(path, 'a pull request with number, state and head.sha');
  const mergeSha = p.merge_commit_sha ?? p.merged_commit_id;
  return {
    number: p.number,
    state: p.state,
    merged: p.merged === true,
    headRef: typeof head.ref === 'string' ? head.ref : '',
    headSha: head.sha,
    baseRef: typeof baseRef?.ref === 'string' ? baseRef.ref : '',
    mergeCommitSha: p.merged === true && typeof mergeSha === 'string' ? mergeSha : null
  };
}

export type MergeResult =
  | { merged: true }
  /** The forge refused: `status` is its HTTP status, `reason` one line, `said` the forge's own message ('' when none). */
  | { merged: false; status: number | undefined; reason: string; said: string };

/**
 * Merges PR `n` only if its head is still `headSha`. A refusal (4xx) is an
 * answer, not an error: it comes back with the forge's one-line reason.
 * Network failures and 5xx after the client's retries reject.
 */
export async function mergePullRequest(
  client: ForgeClient,
  repo: RepoRef,
  n: number,
  opts: { style: MergeStyle; headSha: string; title?: string; message?: string }
): Promise<MergeResult> {
  checkNumber(n);
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(opts.headSha))
    throw new Error(`merge: head sha '${opts.headSha.slice(0, 80)}' is not a full commit id`);
  if (!stylesOf(client.flavor).includes(opts.style))
    throw new Error(
      `merge: style '${opts.style}' is not offered by ${client.flavor} (one of ${stylesOf(client.flavor).join(', ')})`
    );
  const path = `${base(repo)}/pulls/${n}/merge`;
  try {
    if (client.flavor === 'github') {
      // A merge that went through is not repeated by the client: PUT with the
      // same sha answers 405 "already merged" the second time, seen below.
      await client.request('PUT', path, {
        body: {
          sha: opts.headSha,
          merge_method: opts.style,
          ...(opts.title ? { commit_title: opts.title } : {}),
          ...(opts.message ? { commit_message: opts.message } : {})
        },
        idempotent: false
      });
    } else {
      await client.request('POST', path, {
        body: {
          Do: opts.style,
          head_commit_id: opts.headSha,
          ...(opts.title ? { MergeTitleField: opts.title } : {}),
          ...(opts.message ? { MergeMessageField: opts.message } : {})
        },
        idempotent: false
      });
    }
    return { merged: true };
  } catch (err) {
    if (
      err instanceof ForgeError &&
      err.status !== undefined &&
      err.status >= 400 &&
      err.status < 500
    )
      return { merged: false, status: err.status, reason: err.message, said: err.said };
    throw err;
  }
}

/** Starts `workflow` (a file name under the forge's workflows folder) on `ref` with `inputs`. */
export async function dispatchWorkflow(
  client: ForgeClient,
  repo: RepoRef,
  workflow: string,
  ref: string,
  inputs: Record<string, string>
): Promise<void> {
  if (!/^[A-Za-z0-9._-]+\.ya?ml$/.test(workflow))
    throw new Error(`dispatch: '${workflow.slice(0, 80)}' is not a workflow file name`);
  const path = `${base(repo)}/actions/workflows/${encodeURIComponent(workflow)}/dispatches`;
  // A dispatch applied twice starts two runs: never retried on a 5xx.
  await client.request('POST', path, { body: { ref, inputs }, idempotent: false });
}
