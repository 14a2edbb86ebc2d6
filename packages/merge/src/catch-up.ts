// Catch-up: bring a task branch up to date with the base before the re-test.
// Fetch both, rebase the workspace onto the base tip (non-interactive), and
// push the rebased branch with --force-with-lease naming the sha the rebase
// started from, so a push by anyone else meanwhile makes the push fail
// instead of being overwritten. A conflict aborts the rebase and leaves the
// workspace exactly where it was. Protected branches are refused before
// anything is fetched or rewritten.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  GitError,
  ProtectedBranchError,
  isLostRace,
  isProtected,
  validBranchName,
  type Git
} from '../../git/src/git.ts';
import type { Logger } from '../../core/src/logger.ts';
import { CatchUpError, LeaseRejectedError } from './errors.ts';

export interface CatchUpOptions {
  git: Git;
  /** Remote name, normally 'origin'. Must be a configured remote. */
  remote: string;
  /** The base branch name ('main' or 'refs/heads/main'). */
  baseRef: string;
  /** The task branch; default: the branch HEAD is on (a detached HEAD then refuses). */
  branch?: string;
  /** Globs refused as a target in addition to the wrapper's own list. */
  protectedBranches?: readonly string[];
  logger: Logger;
  /** Test seam: runs after the rebase, just before the lease push. */
  beforePush?: (info: { branch: string; oldHead: string; newHead: string }) => Promise<void> | void;
}

export interface CatchUpNoop {
  conflict: false;
  rebased: false;
  noop: true;
  branch: string;
  oldHead: string;
  newHead: string;
  baseSha: string;
}

export interface CatchUpRebased {
  conflict: false;
  rebased: true;
  noop: false;
  branch: string;
  oldHead: string;
  newHead: string;
  baseSha: string;
  /** Commits of the branch replayed onto the base. */
  commits: number;
}

export interface CatchUpConflict {
  conflict: true;
  rebased: false;
  noop: false;
  branch: string;
  oldHead: string;
  baseSha: string;
  /** Paths git left unmerged at the first conflicting commit. */
  files: string[];
}

export type CatchUpResult = CatchUpNoop | CatchUpRebased | CatchUpConflict;

/** Used only when the workspace has no committer identity of its own. */
export const FALLBACK_IDENTITY = {
  name: 'quality-gates',
  email: 'quality-gates@users.noreply.invalid'
} as const;

export async function catchUp(opts: CatchUpOptions): Promise<CatchUpResult> {
  const { git, remote, logger } = opts;
  const base = stripHeads(opts.baseRef);
  if (!validBranchName(base))
    throw new CatchUpError(
      'invalid-name',
      `refused: invalid base branch name ${show(opts.baseRef)}`
    );
  if (remote === '' || remote.startsWith('-') || !(await git.remotes()).includes(remote))
    throw new CatchUpError('unknown-remote', `refused: ${show(remote)} is not a configured remote`);

  const current = await git.currentBranch();
  const branch = opts.branch === undefined ? current : stripHeads(opts.branch);
  if (branch === undefined)
    throw new CatchUpError(
      'detached',
      'refused: HEAD is detached and no branch was given; pass the task branch name'
    );
  if (!validBranchName(branch))
    throw new CatchUpError('invalid-name', `refused: invalid branch name ${show(branch)}`);
  // Before anything is fetched or rewritten: the target must be pushable.
  if (
    isProtected(branch, opts.protectedBranches ?? []) ||
    isProtected(branch, git.protectedBranches)
  )
    throw new ProtectedBranchError(branch);
  if (branch === base)
    throw new CatchUpError('invalid-name', `refused: the branch and the base are both '${base}'`);

  await assertNoOperationInProgress(git);
  await assertClean(git);

  if (await git.isShallow()) {
    logger.info(`catch-up: shallow checkout; fetching full history from ${remote}`);
    const r = await git.exec(['fetch', '--no-tags', '--quiet', '--unshallow', remote]);
    if (r.exitCode !== 0 || (await git.isShallow()))
      throw new CatchUpError(
        'shallow',
        'refused: the checkout is shallow and could not be deepened; check out with fetch-depth: 0'
      );
  }

  await fetchOrExplain(git, remote, base, 'base');
  await fetchOrExplain(git, remote, branch, 'branch');
  const baseSha = await mustResolve(git, `refs/remotes/${remote}/${base}`);
  const remoteTip = await mustResolve(git, `refs/remotes/${remote}/${branch}`);
  const oldHead = await mustResolve(git, 'HEAD');

  if (oldHead !== remoteTip)
    throw new CatchUpError(
      'head-mismatch',
      `refused: HEAD ${short(oldHead)} is not ${remote}/${branch} ${short(remoteTip)}; the branch moved since checkout or has unpushed commits`
    );
  if (await isAncestor(git, oldHead, baseSha))
    throw new CatchUpError(
      'already-merged',
      `refused: '${branch}' is already contained in ${remote}/${base}; nothing to land`
    );
  const mergeBase = await git.mergeBase(oldHead, baseSha);
  if (mergeBase === undefined)
    throw new CatchUpError(
      'no-common-history',
      `refused: '${branch}' and ${remote}/${base} have no common history`
    );
  if (mergeBase === baseSha) {
    logger.info(`catch-up: '${branch}' already contains ${remote}/${base} ${short(baseSha)}`);
    return {
      conflict: false,
      rebased: false,
      noop: true,
      branch,
      oldHead,
      newHead: oldHead,
      baseSha
    };
  }

  const commits = await git.countCommits(`${baseSha}..${oldHead}`);
  logger.info(
    `catch-up: rebasing ${commits} commit(s) of '${branch}' onto ${remote}/${base} ${short(baseSha)}`
  );
  const identity = (await hasCommitterIdentity(git))
    ? []
    : ['-c', `user.name=${FALLBACK_IDENTITY.name}`, '-c', `user.email=${FALLBACK_IDENTITY.email}`];
  const rebase = await git.exec([
    ...identity,
    '-c',
    'core.editor=true',
    '-c',
    'commit.gpgSign=false',
    '-c',
    'rebase.updateRefs=false',
    'rebase',
    '--no-verify',
    '--no-autostash',
    '--no-autosquash',
    '--quiet',
    baseSha
  ]);

  if (rebase.exitCode !== 0 || rebase.timedOut || rebase.spawnError) {
    const files = (await git.exec(['diff', '--name-only', '--diff-filter=U', '-z'])).stdout
      .split('\0')
      .filter(Boolean);
    await abortAndVerify(git, oldHead);
    if (files.length === 0)
      throw new CatchUpError(
        'rebase-failed',
        `rebase of '${branch}' onto ${remote}/${base} failed: ${firstLine(rebase.stderr) ?? rebase.spawnError ?? 'unknown error'}`
      );
    logger.info(
      `catch-up: conflict in ${files.length} file(s); rebase aborted, workspace restored`
    );
    return { conflict: true, rebased: false, noop: false, branch, oldHead, baseSha, files };
  }

  const newHead = await mustResolve(git, 'HEAD');
  await opts.beforePush?.({ branch, oldHead, newHead });
  try {
    await git.push(remote, branch, { sha: newHead, expectedOldSha: oldHead });
  } catch (e) {
    if (e instanceof GitError && e.result && isLostRace(e.result.stdout, e.result.stderr)) {
      await restore(git, oldHead);
      throw new LeaseRejectedError(branch, oldHead);
    }
    throw e;
  }
  logger.info(`catch-up: pushed '${branch}' ${short(oldHead)} -> ${short(newHead)} (with lease)`);
  return {
    conflict: false,
    rebased: true,
    noop: false,
    branch,
    oldHead,
    newHead,
    baseSha,
    commits
  };
}

function stripHeads(ref: string): string {
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
}

function show(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}

function short(sha: string): string {
  return sha.slice(0, 12);
}

function firstLine(s: string): string | undefined {
  return s
    .split('\n')
    .map((l) => l.trim())
    .find(Boolean);
}

async function mustResolve(git: Git, rev: string): Promise<string> {
  const sha = await git.resolveCommit(rev);
  if (sha === undefined) throw new GitError(`cannot resolve ${rev}`, []);
  return sha;
}

async function isAncestor(git: Git, a: string, b: string): Promise<boolean> {
  const r = await git.exec(['merge-base', '--is-ancestor', a, b]);
  if (r.exitCode === 0) return true;
  if (r.exitCode === 1) return false;
  throw new GitError(`git merge-base --is-ancestor failed: ${firstLine(r.stderr) ?? ''}`, []);
}

/** Tracked changes (staged or not) and unmerged paths; untracked files do not count. */
async function dirtyPaths(git: Git): Promise<string[]> {
  const out = await git.run(['status', '--porcelain=v1', '-z', '--untracked-files=no']);
  return out
    .split('\0')
    .filter(Boolean)
    .map((l) => l.slice(3));
}

async function assertClean(git: Git): Promise<void> {
  const dirty = await dirtyPaths(git);
  if (dirty.length > 0)
    throw new CatchUpError(
      'dirty',
      `refused: the worktree has uncommitted changes (${dirty.length} path(s), e.g. ${show(dirty[0])}); commit or discard them first`
    );
}

/** A rebase, am, merge or cherry-pick the workspace is in the middle of, if any. */
async function operationInProgress(git: Git): Promise<string | undefined> {
  for (const [marker, what] of [
    ['rebase-merge', 'a rebase'],
    ['rebase-apply', 'a rebase or am'],
    ['MERGE_HEAD', 'a merge'],
    ['CHERRY_PICK_HEAD', 'a cherry-pick']
  ] as const) {
    const path = (await git.run(['rev-parse', '--git-path', marker])).trim();
    if (existsSync(resolve(git.cwd, path))) return what;
  }
  return undefined;
}

async function assertNoOperationInProgress(git: Git): Promise<void> {
  const op = await operationInProgress(git);
  if (op !== undefined)
    throw new CatchUpError(
      'operation-in-progress',
      `refused: ${op} is in progress in the workspace; finish or abort it first`
    );
}

async function fetchOrExplain(
  git: Git,
  remote: string,
  branch: string,
  role: 'base' | 'branch'
): Promise<void> {
  if (await git.fetchBranch(remote, branch)) return;
  const ls = await git.exec([
    'ls-remote',
    '--heads',
    '--exit-code',
    remote,
    `refs/heads/${branch}`
  ]);
  if (ls.exitCode === 2)
    throw role === 'base'
      ? new CatchUpError(
          'base-missing',
          `refused: base branch '${branch}' does not exist on ${remote}`
        )
      : new CatchUpError(
          'remote-branch-deleted',
          `refused: branch '${branch}' no longer exists on ${remote} (deleted while the gate ran?); nothing to land`
        );
  throw new CatchUpError(
    'fetch-failed',
    `could not fetch '${branch}' from ${remote}: ${firstLine(ls.stderr) ?? `exit code ${ls.exitCode}`}`
  );
}

/** git var fails when no usable identity is configured (or derivable). */
async function hasCommitterIdentity(git: Git): Promise<boolean> {
  return (await git.exec(['var', 'GIT_COMMITTER_IDENT'])).exitCode === 0;
}

async function abortAndVerify(git: Git, oldHead: string): Promise<void> {
  if ((await operationInProgress(git)) !== undefined)
    await git.exec(['-c', 'core.hooksPath=/dev/null', 'rebase', '--abort']);
  const head = await git.resolveCommit('HEAD');
  const dirty = await dirtyPaths(git);
  if (head !== oldHead || dirty.length > 0 || (await operationInProgress(git)) !== undefined)
    throw new CatchUpError(
      'restore-failed',
      `rebase --abort did not restore the workspace to ${short(oldHead)} (HEAD ${head ? short(head) : 'unknown'}, ${dirty.length} changed path(s))`
    );
}

/** After a lost lease race: put the workspace (and its branch) back where it started. */
async function restore(git: Git, oldHead: string): Promise<void> {
  await git.exec(['-c', 'core.hooksPath=/dev/null', 'reset', '--hard', '--quiet', oldHead]);
}
