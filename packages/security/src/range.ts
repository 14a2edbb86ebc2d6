// Which commits the branch adds: merge-base(target, HEAD)..HEAD, resolved
// before any rebase so a branch is never blamed for what main contains. A
// shallow checkout is deepened step by step until the merge-base appears.

import { ConfigurationError, ToolError } from '../../core/src/errors.ts';
import type { Logger } from '../../core/src/logger.ts';
import type { Git } from '../../git/src/git.ts';
import { SECURITY_INPUTS } from './config.ts';

export interface BranchRange {
  /** merge-base of the target branch tip and head. */
  base: string;
  /** Target branch tip: allowlists and scanner config are read here. */
  baseTip: string;
  head: string;
  commits: number;
  notes: string[];
}

const DEEPEN_STEPS = [50, 200, 1000];

export async function resolveBranchRange(
  git: Git,
  opts: { baseRef: string; headRef: string; remote: string },
  log: Logger
): Promise<BranchRange> {
  const notes: string[] = [];
  const head = await git.resolveCommit(opts.headRef);
  if (!head)
    throw new ConfigurationError(
      SECURITY_INPUTS.headRef,
      'a revision that exists in the checkout',
      opts.headRef
    );

  const hasRemote = (await git.remotes()).includes(opts.remote);
  let fetched = false;
  if (hasRemote) {
    // Always refresh the target: the merge-base must be against current main.
    fetched = await git.fetchBranch(opts.remote, opts.baseRef);
    if (!fetched)
      log.debug(`could not fetch ${opts.baseRef} from ${opts.remote}; trying local refs`);
  }
  const baseTip =
    (fetched || hasRemote
      ? await git.resolveCommit(`refs/remotes/${opts.remote}/${opts.baseRef}`)
      : undefined) ?? (await git.resolveCommit(`refs/heads/${opts.baseRef}`));
  if (!baseTip) {
    throw new ConfigurationError(
      SECURITY_INPUTS.baseRef,
      hasRemote
        ? `a branch that exists on remote '${opts.remote}' or locally`
        : 'a branch that exists locally (there is no remote)',
      opts.baseRef
    );
  }

  let base = await git.mergeBase(baseTip, head);
  if (!base && (await git.isShallow()) && hasRemote) {
    for (const step of DEEPEN_STEPS) {
      log.info(
        `shallow checkout: deepening by ${step} commits to find the merge-base with ${opts.baseRef}`
      );
      await git.deepen(opts.remote, step);
      base = await git.mergeBase(baseTip, head);
      if (base || !(await git.isShallow())) break;
    }
    if (!base && (await git.isShallow())) {
      log.info('shallow checkout: fetching the full history');
      await git.unshallow(opts.remote);
      base = await git.mergeBase(baseTip, head);
    }
    if (base) notes.push('the checkout was shallow; history was fetched to find the merge-base');
  }
  if (!base) {
    throw new ToolError(
      'secrets',
      `HEAD ${head.slice(0, 12)} shares no history with ${opts.baseRef}; cannot tell which commits the branch adds`
    );
  }
  const commits = await git.countCommits(`${base}..${head}`);
  return { base, baseTip, head, commits, notes };
}
