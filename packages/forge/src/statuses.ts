// Commit statuses: one per gate (context quality-gates/<gate>) on the head
// commit, POST /repos/{owner}/{repo}/statuses/{sha} on Gitea and GitHub
// alike. Only the four states both forges accept are sent (Gitea also knows
// 'warning' and 'skipped', GitHub refuses them). GitHub limits the
// description to 140 characters, so it is cut there, on one line.

import type { Verdict } from '../../core/src/verdict.ts';
import type { RepoRef } from './actions-api.ts';
import type { ForgeClient } from './client.ts';

export { runUrl } from './run-url.ts';

export const COMMIT_STATES = ['pending', 'success', 'failure', 'error'] as const;
export type CommitState = (typeof COMMIT_STATES)[number];

/** GitHub's limit on a status description. */
export const STATUS_DESCRIPTION_MAX = 140;

export interface CommitStatusInput {
  state: CommitState;
  /** Such as quality-gates/security (see gateContext). */
  context: string;
  description: string;
  /** An http(s) link, usually runUrl(env). */
  targetUrl?: string;
}

/** A full commit id: 40 hex digits (SHA-1), or 64 in a SHA-256 repository. */
export const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export function gateContext(gate: string): string {
  return `quality-gates/${gate}`;
}

/**
 * PASS and SKIPPED let the PR merge (success); FAIL blocks it (failure, or
 * error when a tool rather than the code failed); DEFER is error: nothing is
 * wrong with the code, but the PR must not merge until the gate ran.
 */
export function verdictToStatus(verdict: Verdict, toolError = false): CommitState {
  switch (verdict) {
    case 'PASS':
    case 'SKIPPED':
      return 'success';
    case 'FAIL':
      return toolError ? 'error' : 'failure';
    case 'DEFER':
      return 'error';
  }
}

/** One line of at most 140 characters (code points), '…' marking a cut. */
export function statusDescription(text: string): string {
  const chars = Array.from(text.replace(/\s+/g, ' ').trim());
  if (chars.length <= STATUS_DESCRIPTION_MAX) return chars.join('');
  return `${chars.slice(0, STATUS_DESCRIPTION_MAX - 1).join('')}…`;
}

export async function setCommitStatus(
  client: ForgeClient,
  repo: RepoRef,
  sha: string,
  s: CommitStatusInput
): Promise<void> {
  if (!FULL_SHA.test(sha)) {
    throw new Error(
      `commit status: ${JSON.stringify(sha.slice(0, 80))} is not a full commit id (40 lower-case hex digits)`
    );
  }
  if (!(COMMIT_STATES as readonly string[]).includes(s.state)) {
    throw new Error(`commit status: state must be one of ${COMMIT_STATES.join(', ')}`);
  }
  const context = s.context.replace(/\s+/g, ' ').trim();
  if (context === '') throw new Error('commit status: the context is empty');
  const body: Record<string, string> = {
    state: s.state,
    context,
    description: statusDescription(s.description)
  };
  if (s.targetUrl !== undefined && s.targetUrl !== '') {
    if (!/^https?:\/\/\S+$/.test(s.targetUrl)) {
      throw new Error('commit status: the target URL must be an http(s) URL');
    }
    body.target_url = s.targetUrl;
  }
  const path = `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.repo)}/statuses/${sha}`;
  // A status posted twice is harmless (the newest per context counts), so 5xx may be retried.
  await client.request('POST', path, { body, idempotent: true });
}
