// STOP's typed config, built in one place from inputs and the run context.
// A hostile or empty branch name and a non-atomic state backend are refused
// here, before anything is touched.

import { readWakeConfig, WAKE_INPUTS, type WakeConfig } from '../../merge/src/wake.ts';
import type { RunContext } from '../../core/src/context.ts';
import { ConfigurationError } from '../../core/src/errors.ts';
import { readInteger, readList, readString, type InputSource } from '../../core/src/inputs.ts';
import { repositoryKey } from '../../coverage/src/config.ts';
import { DEFAULT_PROTECTED, validBranchName } from '../../git/src/git.ts';
import { readStateConfig, STATE_INPUTS, type StateConfig } from '../../store/src/state-inputs.ts';
import { stopRequestFromEnv, type StopRequest } from './trigger.ts';

export const STOP_INPUTS = {
  branch: 'branch',
  baseRef: 'base-ref',
  remote: 'remote',
  protectedBranches: 'protected-branches',
  reason: 'reason',
  waitMinutes: 'wait-minutes'
} as const;

export const STOP_INPUT_NAMES: readonly string[] = [
  ...Object.values(STOP_INPUTS),
  ...Object.values(STATE_INPUTS),
  ...Object.values(WAKE_INPUTS)
];

export interface StopConfig {
  workspace: string;
  branch: string;
  baseRef: string;
  remote: string;
  protectedBranches: string[];
  reason: string;
  /** How long to wait for the branch to leave the merge window. */
  waitMs: number;
  /** Who asked: GITHUB_ACTOR, else the local user. */
  actor: string;
  repository: string;
  /** This run, never cancelled by itself. */
  runId: string | undefined;
  /** Forge access; '' when absent (the forge side is then skipped with a warning). */
  token: string;
  apiUrl: string;
  state: StateConfig;
  /** The merge queue's wake-up when STOP frees the lease. */
  wake: WakeConfig;
  /**
   * Set on a pull_request label event: whether the event added the stop
   * label (GitHub's `label`, Gitea's `changes.added_labels` or the pull
   * request's labels). Undefined for any other event: STOP as asked.
   */
  request?: StopRequest;
}

export function readStopConfig(src: InputSource, ctx: RunContext): StopConfig {
  const I = STOP_INPUTS;
  const branch = readString(src, I.branch, ctx.event.headRef ?? '').replace(/^refs\/heads\//, '');
  if (!validBranchName(branch))
    throw new ConfigurationError(
      I.branch,
      'the task branch to stop, a valid branch name (default: the pull request head branch)',
      branch
    );
  const baseRef = readString(src, I.baseRef, ctx.event.baseRef || 'main').replace(
    /^refs\/heads\//,
    ''
  );
  if (!validBranchName(baseRef))
    throw new ConfigurationError(I.baseRef, 'a branch name such as main', baseRef);
  const remote = readString(src, I.remote, 'origin');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(remote))
    throw new ConfigurationError(I.remote, 'a git remote name such as origin', remote);
  const reason = readString(src, I.reason, 'STOP requested');
  if (/[\r\n]/.test(reason)) throw new ConfigurationError(I.reason, 'one line of text', reason);
  const protectedBranches = readList(src, I.protectedBranches);
  const state = readStateConfig(src, ctx);
  if (state.backend === 'artifact') {
    // The lease release must be atomic: refused before anything is touched.
    throw new ConfigurationError(
      STATE_INPUTS.backend,
      "'file' or 'git-ref' (STOP releases the merge lease, which needs an atomic compare-and-set; 'artifact' has none)",
      state.backend
    );
  }
  return {
    workspace: ctx.workspace,
    branch,
    baseRef,
    remote,
    protectedBranches: protectedBranches.length > 0 ? protectedBranches : [...DEFAULT_PROTECTED],
    reason,
    waitMs: readInteger(src, I.waitMinutes, 10, 0, 120) * 60_000,
    actor: ctx.env.GITHUB_ACTOR || ctx.env.USER || 'unknown',
    repository: repositoryKey(ctx),
    runId: ctx.env.GITHUB_RUN_ID || undefined,
    token: state.token,
    apiUrl: (ctx.env.GITHUB_API_URL ?? '').trim(),
    state,
    wake: readWakeConfig(src, ctx, {
      repository: repositoryKey(ctx),
      token: state.token
    }),
    request: stopRequestFromEnv(ctx.env)
  };
}
