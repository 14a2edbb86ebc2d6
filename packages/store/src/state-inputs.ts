// The state inputs every action that touches the store declares
// (state-backend, state-path, state-ref, state-repo, state-key,
// state-retention-days, token),
// parsed in one place into a StateConfig the backend factory understands.
// state-backend auto (the default) is resolved here (state-default.ts), and
// every backend opened from a StateConfig is guarded as its placement
// requires (state-guard.ts).

import type { RunContext } from '../../core/src/context.ts';
import { ConfigurationError } from '../../core/src/errors.ts';
import { readEnum, readInteger, readString, type InputSource } from '../../core/src/inputs.ts';
import type { StateBackend, StateBackendName } from './backend.ts';
import { openBackend } from './open-backend.ts';
import { DEFAULT_STATE_REF } from './backends/git-ref.ts';
import { gateCredential, type GitCredential } from '../../git/src/credentials.ts';
import { DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS, type RetentionPolicy } from './retention.ts';
import { placeState, STATE_BACKEND_CHOICES, type StatePlacement } from './state-default.ts';
import { guardStateBackend } from './state-guard.ts';

export { defaultStatePath } from './state-default.ts';

export const STATE_INPUTS = {
  backend: 'state-backend',
  path: 'state-path',
  ref: 'state-ref',
  repo: 'state-repo',
  key: 'state-key',
  retention: 'state-retention-days',
  token: 'token'
} as const;

/** The shortest state-key accepted: a guessable key signs nothing. */
export const MIN_STATE_KEY_LENGTH = 16;

export const STATE_ARTIFACT_NAME = 'quality-gates-state';

export interface StateConfig {
  backend: StateBackendName;
  /** file: the database; artifact: where the downloaded copy is kept for upload. */
  path: string;
  /** git-ref: the ref holding the database commit. */
  ref: string;
  /** git-ref: remote name or URL of the repository holding the ref. */
  remote: string;
  /** git-ref: local repository used to fetch and push. */
  repoDir: string;
  /** artifact: REST API access. */
  apiUrl: string;
  token: string;
  repository: string;
  /**
   * The state-key input (a secret): the state chain and git-ref state commits
   * are signed with HMAC-SHA256 under it. '' for none (plain SHA-256).
   */
  stateKey: string;
  /**
   * How state-backend (auto by default) and state-path were resolved, and
   * what the backend may do in this job (state-default.ts). Absent in a
   * config built by hand: the backend is opened as it is.
   */
  placement?: StatePlacement;
  /** How the history tables are bounded (retention.ts); absent: the default. */
  retention?: RetentionPolicy;
}

export function readStateConfig(src: InputSource, ctx: RunContext): StateConfig {
  const requested = readEnum(src, STATE_INPUTS.backend, STATE_BACKEND_CHOICES, 'auto');
  const statePath = readString(src, STATE_INPUTS.path);
  const ref = readString(src, STATE_INPUTS.ref, DEFAULT_STATE_REF);
  if (
    !/^refs\/[A-Za-z0-9._/-]+$/.test(ref) ||
    ref.includes('..') ||
    ref.startsWith('refs/heads/')
  ) {
    throw new ConfigurationError(
      STATE_INPUTS.ref,
      'a ref outside refs/heads/, such as refs/quality-gates/state',
      ref
    );
  }
  const remote = readString(src, STATE_INPUTS.repo, 'origin');
  if (remote.startsWith('-') || /\s/.test(remote)) {
    throw new ConfigurationError(STATE_INPUTS.repo, 'a git remote name or repository URL', remote);
  }
  const stateKey = readString(src, STATE_INPUTS.key);
  if (stateKey !== '' && stateKey.length < MIN_STATE_KEY_LENGTH) {
    // Never echo a secret, not even a short one.
    throw new ConfigurationError(
      STATE_INPUTS.key,
      `a secret of at least ${MIN_STATE_KEY_LENGTH} characters, such as the output of openssl rand -hex 32 (got ${stateKey.length} characters)`
    );
  }
  const placement = placeState({ requested, statePath, remote, ref, ctx });
  return {
    stateKey,
    retention: {
      days: readInteger(src, STATE_INPUTS.retention, DEFAULT_RETENTION_DAYS, 0, MAX_RETENTION_DAYS)
    },
    backend: placement.backend,
    path: placement.path,
    placement,
    ref,
    remote,
    repoDir: ctx.workspace,
    apiUrl: (ctx.env.GITHUB_API_URL ?? '').replace(/\/+$/, ''),
    token: readString(src, STATE_INPUTS.token),
    repository: ctx.repository
  };
}

/**
 * The backend a StateConfig names. `branch` is the target branch: the
 * artifact backend downloads the state of the newest successful run there.
 */
export function stateBackendFor(
  config: StateConfig,
  branch: string,
  ctx: RunContext,
  /** The gate's git credential (gateCredential()): git-ref fetches and pushes with it, at the URL pinned before any user command ran. */
  credential?: GitCredential
): StateBackend {
  return guardStateBackend(
    configuredBackend(config, branch, ctx, credential),
    { placement: config.placement, repository: config.repository, stateKey: config.stateKey },
    ctx
  );
}

function configuredBackend(
  config: StateConfig,
  branch: string,
  ctx: RunContext,
  credential?: GitCredential
): StateBackend {
  switch (config.backend) {
    case 'file':
      return openBackend({
        kind: 'file',
        path: config.path,
        now: ctx.now,
        stateKey: config.stateKey || undefined,
        retention: config.retention
      });
    case 'git-ref':
      return openBackend({
        kind: 'git-ref',
        repoDir: config.repoDir,
        remote: config.remote,
        ref: config.ref,
        env: ctx.env,
        ...(credential ? { credential } : {}),
        now: ctx.now,
        stateKey: config.stateKey || undefined,
        retention: config.retention
      });
    case 'artifact': {
      const [owner, repo] = config.repository.split('/');
      if (!owner || !repo) {
        throw new ConfigurationError(
          STATE_INPUTS.backend,
          "'file' or 'git-ref' when GITHUB_REPOSITORY is not set ('artifact' needs owner/name)",
          'artifact'
        );
      }
      if (!config.apiUrl) {
        throw new ConfigurationError(
          STATE_INPUTS.backend,
          "'file' or 'git-ref' when GITHUB_API_URL is not set ('artifact' reads the REST API)",
          'artifact'
        );
      }
      return openBackend({
        kind: 'artifact',
        api: { apiUrl: config.apiUrl, token: config.token },
        owner,
        repo,
        branch,
        localPath: config.path,
        logger: ctx.logger,
        runId: ctx.env.GITHUB_RUN_ID,
        now: ctx.now,
        stateKey: config.stateKey || undefined,
        retention: config.retention
      });
    }
  }
}

/**
 * stateBackendFor() with the gate's git credential when the state lives on a
 * git ref (the workflows check out without persisted credentials: the gate
 * pushes with its `token` input, passed to its own git processes only).
 */
export async function openStateBackend(
  config: StateConfig,
  branch: string,
  ctx: RunContext
): Promise<StateBackend> {
  const credential =
    config.backend === 'git-ref'
      ? await gateCredential({ workspace: config.repoDir, token: config.token, env: ctx.env })
      : undefined;
  return stateBackendFor(config, branch, ctx, credential);
}
