// Where the state lives when nobody said: `state-backend: auto` (also what
// an empty input means). Inside a forge job the default is the git-ref
// backend on the repository itself: the job token can push a custom ref, so
// one lease and one baseline per repository outlive every job and runner
// with nothing but the forge. Outside one (a local CLI run) it is the file
// in the user's cache. A named state-path means the file there.
//
// A file inside a forge job is checked for where it is: the runner's tool
// cache (per job from act_runner v3.2, `tool_cache_mode: none`, and on
// hosted runners), RUNNER_TEMP and the workspace do not outlive the job, so
// a lease or a baseline written there protects nothing. Such a state takes
// no writes (state-guard.ts refuses them with one ConfigurationError line
// naming the fix) and a read says it in a warning.

import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { RunContext } from '../../core/src/context.ts';
import { isRemoteName } from '../../git/src/credentials.ts';
import { hardenedGitEnv } from '../../git/src/git-env.ts';
import { STATE_BACKENDS, type StateBackendName } from './backend.ts';

/** The state-backend input's values: a backend, or auto (the default, also for an empty input). */
export const STATE_BACKEND_CHOICES = [...STATE_BACKENDS, 'auto'] as const;
export type StateBackendChoice = (typeof STATE_BACKEND_CHOICES)[number];

/** The file of a local run, and the only default before `auto`: <RUNNER_TOOL_CACHE or ~/.cache>/quality-gates/state.sqlite. */
export function defaultStatePath(env: NodeJS.ProcessEnv): string {
  const base = env.RUNNER_TOOL_CACHE || join(env.HOME || homedir(), '.cache');
  return join(base, 'quality-gates', 'state.sqlite');
}

/** A job of GitHub Actions or Gitea Actions (act_runner sets both variables). */
export function inForgeJob(env: NodeJS.ProcessEnv): boolean {
  return env.GITHUB_ACTIONS === 'true' || env.GITEA_ACTIONS === 'true';
}

/** A file state that does not outlive the job: how to refuse a write, and the warning of a read. */
export interface JobScopedState {
  input: string;
  expected: string;
  got: string;
  warning: string;
}

/** How the state inputs were resolved for this run (readStateConfig). */
export interface StatePlacement {
  requested: StateBackendChoice;
  backend: StateBackendName;
  /** file: the database; artifact: the downloaded copy. */
  path: string;
  /** auto: one line saying what it chose and why. */
  chosen?: string;
  /** file in a forge job, where the file does not outlive the job. */
  jobScoped?: JobScopedState;
  /** git-ref from a pull request of a fork (read-only job token): the head repository. */
  fork?: string;
  /** git-ref in a forge job: the default file of earlier releases, imported once if the ref does not exist yet. */
  legacyPath?: string;
}

export interface PlacementInput {
  requested: StateBackendChoice;
  /** The state-path input as given ('' for none). */
  statePath: string;
  /** The state-repo input: remote name or URL of the repository holding the ref. */
  remote: string;
  ref: string;
  ctx: RunContext;
}

export function placeState(i: PlacementInput): StatePlacement {
  const { ctx } = i;
  const forge = inForgeJob(ctx.env);
  const named = i.statePath === '' ? undefined : resolve(ctx.workspace, i.statePath);
  let backend: StateBackendName;
  let why: string | undefined;
  if (i.requested !== 'auto') backend = i.requested;
  else if (named !== undefined) [backend, why] = ['file', 'state-path is set'];
  else if (!forge) [backend, why] = ['file', 'not a forge job'];
  else if (hasGitRemote(ctx.workspace, i.remote, ctx.env))
    [backend, why] = ['git-ref', 'a forge job in a git checkout; pushed with the token input'];
  else backend = 'file';
  const path =
    named ??
    (backend === 'artifact'
      ? join(ctx.workspace, '.quality-gates-state', 'state.sqlite')
      : defaultStatePath(ctx.env));
  const p: StatePlacement = { requested: i.requested, backend, path };
  if (why)
    p.chosen = `state-backend auto: ${backend === 'git-ref' ? `git-ref ${i.ref} of ${i.remote}` : `file ${path}`} (${why})`;
  if (backend === 'file' && forge) {
    const scoped =
      i.requested === 'auto' && !why
        ? noCheckoutState(ctx.workspace, i.remote, i.ref, path)
        : jobScopedFile(path, named === undefined, ctx);
    if (scoped) p.jobScoped = scoped;
  }
  if (backend === 'git-ref') {
    const fork = forkPullRequest(ctx);
    if (fork) p.fork = fork;
    if (forge) p.legacyPath = defaultStatePath(ctx.env);
  }
  return p;
}

const FIX = 'a file on a volume every job mounts, or state-backend: git-ref';

/** Why `path` does not outlive a forge job (undefined: it may). */
export function jobScopedFile(
  path: string,
  isDefault: boolean,
  ctx: RunContext
): JobScopedState | undefined {
  const env = ctx.env;
  const places: [string, string | undefined][] = [
    ['RUNNER_TOOL_CACHE', env.RUNNER_TOOL_CACHE],
    ['RUNNER_TEMP', env.RUNNER_TEMP],
    ['the workspace', ctx.workspace || env.GITHUB_WORKSPACE]
  ];
  let where = places.find(([, dir]) => dir && inside(dir, path))?.[0];
  if (where === undefined && (isDefault || resolve(path) === resolve(defaultStatePath(env))))
    where = "the job's home directory";
  if (where === undefined) return undefined;
  const perJob = where === 'RUNNER_TOOL_CACHE' ? ': per job from act_runner v3.2 on' : '';
  return {
    input: 'state-path',
    expected: `${FIX} (under ${where}, a lease or baseline dies with the job${perJob})`,
    got: path,
    warning: `state-path ${path} is under ${where}, which does not outlive this job: this step reads an empty or stale state; set state-path to ${FIX}`
  };
}

function noCheckoutState(
  workspace: string,
  remote: string,
  ref: string,
  path: string
): JobScopedState {
  const why = `auto keeps the state on ${ref} of ${remote}, and ${workspace} is not a git checkout with ${isRemoteName(remote) ? `remote ${remote}` : 'a repository'}`;
  return {
    input: 'state-backend',
    expected: `a checkout of the repository before this step, or state-path on a volume every job mounts (${why})`,
    got: 'auto',
    warning: `state: ${why}; this step reads ${path}, which does not outlive the job: check out the repository first, or set state-path to a file on a volume every job mounts`
  };
}

/** The head repository of a pull request from a fork, whose job token is read-only (undefined otherwise). */
export function forkPullRequest(ctx: RunContext): string | undefined {
  const head = ctx.event.headRepo;
  if (!head || !ctx.repository || head.toLowerCase() === ctx.repository.toLowerCase())
    return undefined;
  // pull_request_target runs in the base repository with its token.
  if (ctx.event.name === 'pull_request_target') return undefined;
  return head;
}

function inside(dir: string, path: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

const checkouts = new Map<string, boolean>();

/**
 * Is `dir` a git repository where `remote` can be fetched from (a configured
 * remote, or any repository when `remote` is a URL)? Asked once per process:
 * the answer must not change after the code under test has run.
 */
export function hasGitRemote(dir: string, remote: string, env: NodeJS.ProcessEnv): boolean {
  const key = `${resolve(dir)}\0${remote}`;
  let known = checkouts.get(key);
  if (known === undefined) {
    const args = isRemoteName(remote) ? ['remote', 'get-url', remote] : ['rev-parse', '--git-dir'];
    const r = spawnSync('git', args, {
      cwd: dir,
      env: hardenedGitEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 15_000
    });
    known = r.status === 0;
    checkouts.set(key, known);
  }
  return known;
}
