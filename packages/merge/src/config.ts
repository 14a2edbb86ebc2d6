// The merge gate's typed config, built in one place from inputs and the run
// context; input names as constants that action.yml must match.

import type { RunContext } from '../../core/src/context.ts';
import { ConfigurationError } from '../../core/src/errors.ts';
import { readInteger, readList, readString, type InputSource } from '../../core/src/inputs.ts';
import { DEFAULT_PROTECTED, validBranchName } from '../../git/src/git.ts';
import { repositoryKey } from '../../coverage/src/config.ts';
import { readStateConfig, STATE_INPUTS, type StateConfig } from '../../store/src/state-inputs.ts';
import { readWakeConfig, WAKE_INPUTS, type WakeConfig } from './wake.ts';
import {
  readUserCommandConfig,
  USER_COMMAND_INPUTS,
  type UserCommandConfig
} from '../../proc/src/user-command-inputs.ts';

export const MERGE_INPUTS = {
  baseRef: 'base-ref',
  branch: 'branch',
  remote: 'remote',
  testCommand: 'test-command',
  retestTimeoutSeconds: 'retest-timeout-seconds',
  infraRetries: 'infra-retries',
  leaseTtlMinutes: 'lease-ttl-minutes',
  leaseWaitMinutes: 'lease-wait-minutes',
  leaseWaitSeconds: 'lease-wait-seconds',
  protectedBranches: 'protected-branches'
} as const;

export interface MergeConfig {
  workspace: string;
  baseRef: string;
  /** '' = the branch HEAD is on. */
  branch: string;
  remote: string;
  testCommand: string;
  retestTimeoutMs: number;
  infraRetries: number;
  leaseTtlMs: number;
  leaseWaitMs: number;
  protectedBranches: string[];
  repository: string;
  runId: string;
  state: StateConfig;
  /** The merge queue's wake-up when this gate frees the lease. */
  wake: WakeConfig;
  /** How the test command runs: its environment allowlist additions and isolation. */
  user: UserCommandConfig;
}

export function readMergeConfig(src: InputSource, ctx: RunContext): MergeConfig {
  const I = MERGE_INPUTS;
  const baseRef = readString(src, I.baseRef, ctx.event.baseRef || 'main').replace(
    /^refs\/heads\//,
    ''
  );
  if (!validBranchName(baseRef))
    throw new ConfigurationError(I.baseRef, 'a branch name such as main', baseRef);
  const branch = readString(src, I.branch, ctx.event.headRef ?? '').replace(/^refs\/heads\//, '');
  if (branch !== '' && !validBranchName(branch))
    throw new ConfigurationError(I.branch, 'a branch name (no leading "-", spaces, "..")', branch);
  const testCommand = readString(src, I.testCommand);
  if (testCommand === '')
    throw new ConfigurationError(
      I.testCommand,
      'the command that runs the tests on the caught-up tree'
    );
  const remote = readString(src, I.remote, 'origin');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(remote))
    throw new ConfigurationError(I.remote, 'a git remote name such as origin', remote);
  const protectedBranches = readList(src, I.protectedBranches);
  const state = readStateConfig(src, ctx);
  if (state.backend === 'artifact') {
    // Refused before anything runs: a lease needs an atomic update, which artefacts lack.
    throw new ConfigurationError(
      STATE_INPUTS.backend,
      "'file' or 'git-ref' (the merge lease needs an atomic compare-and-set; 'artifact' has none)",
      state.backend
    );
  }
  const retestTimeoutMs = readInteger(src, I.retestTimeoutSeconds, 900, 1, 21600) * 1000;
  const infraRetries = readInteger(src, I.infraRetries, 2, 0, 10);
  const leaseTtlMs = readInteger(src, I.leaseTtlMinutes, 60, 1, 24 * 60) * 60_000;
  // The lease is not renewed while tests run: it must outlive the longest re-test,
  // or another branch could reclaim it mid-test and both would pass.
  const longestRetestMs = retestTimeoutMs * (infraRetries + 1);
  if (leaseTtlMs <= longestRetestMs) {
    throw new ConfigurationError(
      I.leaseTtlMinutes,
      `more than the longest re-test, retest-timeout-seconds x (infra-retries + 1) = ${Math.ceil(longestRetestMs / 60_000)} min`,
      String(leaseTtlMs / 60_000)
    );
  }
  return {
    workspace: ctx.workspace,
    baseRef,
    branch,
    remote,
    testCommand,
    retestTimeoutMs,
    infraRetries,
    leaseTtlMs,
    leaseWaitMs: leaseWaitMs(src),
    protectedBranches: protectedBranches.length > 0 ? protectedBranches : [...DEFAULT_PROTECTED],
    repository: repositoryKey(ctx),
    // The workflow run, not the attempt: re-running a failed job renews its own lease instead of waiting for it.
    runId: ctx.env.GITHUB_RUN_ID || `local-${process.pid}-${ctx.now().getTime()}`,
    state,
    wake: readWakeConfig(src, ctx, {
      repository: repositoryKey(ctx),
      token: state.token
    }),
    user: readUserCommandConfig(src)
  };
}

/**
 * How long a busy lease is polled before DEFER. The branch keeps its place
 * in the queue and is woken when the lease frees, so the poll is short
 * (default 30 s): a waiting run does not hold a runner. lease-wait-minutes,
 * the older input, wins when set.
 */
function leaseWaitMs(src: InputSource): number {
  if (readString(src, MERGE_INPUTS.leaseWaitMinutes) !== '')
    return readInteger(src, MERGE_INPUTS.leaseWaitMinutes, 0, 0, 12 * 60) * 60_000;
  return readInteger(src, MERGE_INPUTS.leaseWaitSeconds, 30, 0, 3600) * 1000;
}

export const MERGE_INPUT_NAMES: readonly string[] = [
  ...Object.values(MERGE_INPUTS),
  ...Object.values(WAKE_INPUTS),
  ...Object.values(USER_COMMAND_INPUTS),
  ...Object.values(STATE_INPUTS)
];
