// Releasing the merge lease outside the merge gate: when the branch lands or
// is closed, or a later gate fails (actions/lease-release, and
// `quality-gates lease release`). Holder-aware by identity, not only by
// branch name: the pull request number and the head repository from the
// event must match the holder's (a closed fork PR with the same branch name
// releases nothing), and a release on behalf of a pull request that is not
// closed is refused while the holder is inside its merge window (rebase,
// re-test, push). Anything else is reported, never forced; and should a
// lease still be pulled from under a running gate, its fencing check turns
// that gate's PASS into FAIL lease-lost.

import type { RunContext } from '../../core/src/context.ts';
import { ConfigurationError } from '../../core/src/errors.ts';
import { readString, type InputSource } from '../../core/src/inputs.ts';
import type { ToolDefinition, ToolResult } from '../../core/src/tool.ts';
import { Git, validBranchName } from '../../git/src/git.ts';
import { gateCredential } from '../../git/src/credentials.ts';
import type { StateBackend } from '../../store/src/backend.ts';
import { branchLanded } from './landed.ts';
import { readWakeConfig, wakeNext, WAKE_INPUTS, type WakeConfig } from './wake.ts';
import { repositoryKey } from '../../coverage/src/config.ts';
import { currentLease, releaseLease } from '../../store/src/lease.ts';
import {
  readStateConfig,
  STATE_INPUTS,
  openStateBackend,
  type StateConfig
} from '../../store/src/state-inputs.ts';

export const LEASE_RELEASE_INPUTS = {
  branch: 'branch',
  baseRef: 'base-ref',
  remote: 'remote'
} as const;

export interface LeaseReleaseConfig {
  /** '' on a push to the target branch: release the holder if its branch landed. */
  branch: string;
  /** The pull request the release is for (from the event), when known. */
  prNumber?: number;
  /** owner/name of the PR's head repository (a fork's differs), when known. */
  headRepo?: string;
  /** True unless the event says the pull request is closed: then a holder inside its window is left alone. */
  refuseInWindow: boolean;
  baseRef: string;
  remote: string;
  repository: string;
  state: StateConfig;
  wake: WakeConfig;
}

export function readLeaseReleaseConfig(src: InputSource, ctx: RunContext): LeaseReleaseConfig {
  const branch = readString(src, LEASE_RELEASE_INPUTS.branch, ctx.event.headRef ?? '').replace(
    /^refs\/heads\//,
    ''
  );
  const onPush = ctx.event.name === 'push' && branch === '';
  if (!onPush && !validBranchName(branch))
    throw new ConfigurationError(
      LEASE_RELEASE_INPUTS.branch,
      'the task branch whose lease to release (default: the pull request head branch; empty on a push to the target branch: the holder, if it landed)',
      branch
    );
  const remote = readString(src, LEASE_RELEASE_INPUTS.remote, 'origin');
  if (remote.startsWith('-') || /\s/.test(remote))
    throw new ConfigurationError(LEASE_RELEASE_INPUTS.remote, 'a git remote name or URL', remote);
  // The branch a push landed on; a run on another event (a wake-up is
  // dispatched on the task branch's own ref) says nothing about the target.
  const pushed =
    ctx.event.name === 'push' ? (ctx.env.GITHUB_REF ?? '').replace(/^refs\/heads\//, '') : '';
  const baseRef = readString(
    src,
    LEASE_RELEASE_INPUTS.baseRef,
    ctx.event.baseRef || pushed || 'main'
  );
  const state = readStateConfig(src, ctx);
  return {
    branch,
    ...(ctx.event.prNumber !== undefined ? { prNumber: ctx.event.prNumber } : {}),
    ...(ctx.event.headRepo ? { headRepo: ctx.event.headRepo } : {}),
    refuseInWindow: ctx.event.prState !== 'closed',
    remote,
    baseRef,
    repository: repositoryKey(ctx),
    state,
    wake: readWakeConfig(src, ctx, {
      repository: repositoryKey(ctx),
      token: state.token
    })
  };
}

export async function runLeaseRelease(c: LeaseReleaseConfig, ctx: RunContext): Promise<ToolResult> {
  const backend = await openStateBackend(c.state, c.baseRef, ctx);
  if (c.branch === '') return releaseLanded(c, backend, ctx);
  const now = ctx.now();
  const r = await backend.withDb(
    'write',
    (db) => ({
      outcome: releaseLease(
        db,
        {
          repo: c.repository,
          branch: c.branch,
          ...(c.prNumber !== undefined ? { prNumber: c.prNumber } : {}),
          ...(c.headRepo !== undefined ? { headRepo: c.headRepo } : {}),
          refuseInWindow: c.refuseInWindow
        },
        now
      ),
      holder: currentLease(db, c.repository)
    }),
    { message: (x) => `merge lease release by ${c.branch}: ${x.outcome}` }
  );
  const wake =
    r.outcome === 'released' || r.outcome === 'absent'
      ? await wakeNext(backend, c.wake, ctx)
      : undefined;
  const who = `${c.branch}${c.prNumber !== undefined ? ` (PR #${c.prNumber}${c.headRepo ? ` from ${c.headRepo}` : ''})` : ''}`;
  const held = r.holder
    ? `${r.holder.branch}${r.holder.prNumber !== null ? ` (PR #${r.holder.prNumber}${r.holder.headRepo ? ` from ${r.holder.headRepo}` : ''})` : ''}`
    : 'nobody';
  const summary =
    r.outcome === 'released'
      ? `merge lease released by ${who}`
      : r.outcome === 'absent'
        ? `no merge lease held in ${c.repository}: nothing to release`
        : r.outcome === 'in-window'
          ? `refused: ${held} is inside its merge window (rebase, re-test, push) and the pull request is still open; the gate releases the lease itself when it is done`
          : `${who} does not hold the merge lease (held by ${held}); left as it is`;
  return {
    summary,
    outputs: { outcome: r.outcome, ...(wake ? { woke: wake.woke?.branch ?? '' } : {}) },
    body: `## Merge lease\n\n${summary}\n${wake ? `\n${wake.line}\n` : ''}`,
    warnings: wake?.error ? [wake.error] : []
  };
}

/** On a push to the target branch: release the holder's lease if its branch has landed. */
async function releaseLanded(
  c: LeaseReleaseConfig,
  backend: StateBackend,
  ctx: RunContext
): Promise<ToolResult> {
  const holder = await backend.withDb('read', (db) => currentLease(db, c.repository));
  const done = (summary: string, outcome: string): ToolResult => ({
    summary,
    outputs: { outcome },
    body: `## Merge lease\n\n${summary}\n`,
    warnings: []
  });
  if (!holder) {
    // Nothing held: a queue left behind (a lost wake-up) moves now.
    const wake = await wakeNext(backend, c.wake, ctx);
    const r = done(`no merge lease held in ${c.repository}: nothing to release`, 'absent');
    return { ...r, body: `${r.body}\n${wake.line}\n`, warnings: wake.error ? [wake.error] : [] };
  }
  const credential = await gateCredential({
    workspace: ctx.workspace,
    token: c.state.token,
    env: ctx.env
  });
  const landing = await branchLanded(
    new Git(ctx.workspace, { credential, env: ctx.env }),
    c.remote,
    c.baseRef,
    holder.branch
  );
  if (!landing.landed) {
    return done(
      `${holder.branch} holds the merge lease and has not landed (${landing.why}); left as it is`,
      'not-landed'
    );
  }
  const now = ctx.now();
  const outcome = await backend.withDb(
    'write',
    (db) => releaseLease(db, { repo: c.repository, branch: holder.branch }, now),
    { message: () => `merge lease of ${holder.branch} released: landed (${landing.how})` }
  );
  const wake = outcome === 'released' ? await wakeNext(backend, c.wake, ctx) : undefined;
  const r = done(
    outcome === 'released'
      ? `merge lease released: ${holder.branch} landed on ${c.baseRef} (${landing.how})`
      : `${holder.branch} landed on ${c.baseRef} (${landing.how}) but no longer holds the lease`,
    outcome
  );
  return wake
    ? { ...r, body: `${r.body}\n${wake.line}\n`, warnings: wake.error ? [wake.error] : [] }
    : r;
}

export const leaseRelease: ToolDefinition<LeaseReleaseConfig> = {
  name: 'lease-release',
  inputs: [
    ...Object.values(LEASE_RELEASE_INPUTS),
    ...Object.values(STATE_INPUTS),
    ...Object.values(WAKE_INPUTS)
  ],
  buildConfig: readLeaseReleaseConfig,
  run: runLeaseRelease
};
