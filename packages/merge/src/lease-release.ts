// Releasing the merge lease outside the merge gate: when the branch lands or
// is closed, or a later gate fails (actions/lease-release, and
// `quality-gates lease release`). Holder-aware: a branch releases only a
// lease it holds; anything else is reported, never forced.

import type { RunContext } from '../../core/src/context.ts';
import { ConfigurationError } from '../../core/src/errors.ts';
import { readString, type InputSource } from '../../core/src/inputs.ts';
import type { ToolDefinition, ToolResult } from '../../core/src/tool.ts';
import { validBranchName } from '../../git/src/git.ts';
import { repositoryKey } from '../../coverage/src/config.ts';
import { currentLease, releaseLease } from '../../store/src/lease.ts';
import {
  readStateConfig,
  STATE_INPUTS,
  stateBackendFor,
  type StateConfig
} from '../../store/src/state-inputs.ts';

export const LEASE_RELEASE_INPUTS = { branch: 'branch', baseRef: 'base-ref' } as const;

export interface LeaseReleaseConfig {
  branch: string;
  baseRef: string;
  repository: string;
  state: StateConfig;
}

export function readLeaseReleaseConfig(src: InputSource, ctx: RunContext): LeaseReleaseConfig {
  const branch = readString(src, LEASE_RELEASE_INPUTS.branch, ctx.event.headRef ?? '').replace(
    /^refs\/heads\//,
    ''
  );
  if (!validBranchName(branch))
    throw new ConfigurationError(
      LEASE_RELEASE_INPUTS.branch,
      'the task branch whose lease to release (default: the pull request head branch)',
      branch
    );
  return {
    branch,
    baseRef: readString(src, LEASE_RELEASE_INPUTS.baseRef, ctx.event.baseRef || 'main'),
    repository: repositoryKey(ctx),
    state: readStateConfig(src, ctx)
  };
}

export async function runLeaseRelease(c: LeaseReleaseConfig, ctx: RunContext): Promise<ToolResult> {
  const backend = stateBackendFor(c.state, c.baseRef, ctx);
  const now = ctx.now();
  const r = await backend.withDb(
    'write',
    (db) => ({
      outcome: releaseLease(db, { repo: c.repository, branch: c.branch }, now),
      holder: currentLease(db, c.repository)
    }),
    { message: (x) => `merge lease release by ${c.branch}: ${x.outcome}` }
  );
  const summary =
    r.outcome === 'released'
      ? `merge lease released by ${c.branch}`
      : r.outcome === 'absent'
        ? `no merge lease held in ${c.repository}: nothing to release`
        : `${c.branch} does not hold the merge lease (held by ${r.holder?.branch ?? 'nobody'}); left as it is`;
  return {
    summary,
    outputs: { outcome: r.outcome },
    body: `## Merge lease\n\n${summary}\n`,
    warnings: []
  };
}

export const leaseRelease: ToolDefinition<LeaseReleaseConfig> = {
  name: 'lease-release',
  inputs: [...Object.values(LEASE_RELEASE_INPUTS), ...Object.values(STATE_INPUTS)],
  buildConfig: readLeaseReleaseConfig,
  run: runLeaseRelease
};
