// Which commits the branch adds: merge-base(target, HEAD)..HEAD, resolved
// before any rebase so a branch is never blamed for what main contains. A
// shallow checkout is deepened step by step until the merge-base appears and
// every commit of the range is present with its parents; a range that stays
// cut off is a secrets ToolError (fail-closed), never a smaller scan.

import { ConfigurationError, ToolError, describeError } from '../../core/src/errors.ts';
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

interface RangeState {
  /** merge-base of the target tip and head, when one is present. */
  base?: string;
  /** Commits of base..head cut off from their parents (shallow boundary or missing object). */
  cut: number;
  /** Why completeness could not be checked (git could not walk the range). */
  unchecked?: string;
  /** Commits of base..head (when checked). */
  commits?: number;
}

/**
 * The one line a cut range fails with: how many commits of it lack their
 * parents, and the fix. Shared by every engine: none may scan such a range.
 */
export function incompleteRangeMessage(
  base: string,
  head: string,
  state: { cut: number; unchecked?: string },
  fetchProblem?: string
): string {
  const range = `${base.slice(0, 12)}..${head.slice(0, 12)}`;
  const one = state.cut === 1;
  const what =
    state.unchecked !== undefined
      ? `cannot check that every commit of ${range} is present (${brief(state.unchecked)})`
      : `${state.cut} commit${one ? '' : 's'} of ${range} ${one ? 'is' : 'are'} cut off from ${one ? 'its' : 'their'} parents (shallow or incomplete checkout): the branch cannot be scanned whole`;
  const why = fetchProblem ? ` (fetch failed: ${briefFetch(fetchProblem)})` : '';
  return `${what}; check out with fetch-depth: 0${why}`;
}

/** Keeps a quoted git error short enough for the one-line summary (the log has it whole). */
function brief(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function briefFetch(problem: string): string {
  return brief(problem.replace(/^git fetch failed: /, ''));
}

export async function resolveBranchRange(
  git: Git,
  opts: { baseRef: string; headRef: string; remote: string },
  log: Logger
): Promise<BranchRange> {
  const notes: string[] = [];
  // Questions that do not wait for each other go to git at once (each is a process
  // start): the remotes and where the shallow file is, while the tip is resolved.
  const remotes = git.remotes();
  remotes.catch(() => undefined); // awaited below, after the tip is known to exist
  git.isShallow().catch(() => undefined); // only asks git where the file is; read again below
  const head = await git.resolveCommit(opts.headRef);
  if (!head)
    throw new ConfigurationError(
      SECURITY_INPUTS.headRef,
      'a revision that exists in the checkout',
      opts.headRef
    );

  const hasRemote = (await remotes).includes(opts.remote);
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

  // The range is complete only when every commit of merge-base..HEAD is
  // present with its parents: a merge near the tip lets the merge-base be
  // found through main's side while the branch's own early commits are still
  // below the shallow boundary, and a scan of that cut range would pass them.
  const inspect = async (): Promise<RangeState> => {
    const base = await git.mergeBase(baseTip, head);
    if (!base) return { cut: 0 };
    try {
      const c = await git.rangeCompleteness(base, head);
      return { base, cut: c.shallow.length + c.missingParents.length, commits: c.commits };
    } catch (err) {
      return { base, cut: 0, unchecked: describeError(err) };
    }
  };
  const complete = (s: RangeState): boolean =>
    s.base !== undefined && s.cut === 0 && s.unchecked === undefined;

  const [first, shallow] = await Promise.all([inspect(), git.isShallow()]);
  let state = first;
  let fetchProblem: string | undefined;
  if (!complete(state) && shallow) {
    if (!hasRemote) {
      fetchProblem = `there is no remote '${opts.remote}' to fetch more history from`;
    } else {
      try {
        let stillShallow = true;
        for (const step of DEEPEN_STEPS) {
          log.info(
            state.base
              ? `shallow checkout: deepening by ${step} commits to reach every commit the branch adds over ${opts.baseRef}`
              : `shallow checkout: deepening by ${step} commits to find the merge-base with ${opts.baseRef}`
          );
          await git.deepen(opts.remote, step);
          state = await inspect();
          stillShallow = await git.isShallow();
          if (complete(state) || !stillShallow) break;
        }
        if (!complete(state) && stillShallow) {
          log.info('shallow checkout: fetching the full history');
          await git.unshallow(opts.remote);
          state = await inspect();
        }
      } catch (err) {
        fetchProblem = describeError(err);
        log.warning(`shallow checkout: could not fetch more history: ${fetchProblem}`);
        state = await inspect();
      }
    }
    if (complete(state))
      notes.push(
        'the checkout was shallow; history was fetched to find the merge-base and every commit the branch adds'
      );
  }
  const base = state.base;
  if (!base) {
    throw new ToolError(
      'secrets',
      shallow
        ? `HEAD ${head.slice(0, 12)} shares no history with ${opts.baseRef} in this shallow checkout, so the commits the branch adds are unknown; check out with fetch-depth: 0${fetchProblem ? ` (fetch failed: ${briefFetch(fetchProblem)})` : ''}`
        : `HEAD ${head.slice(0, 12)} shares no history with ${opts.baseRef}; cannot tell which commits the branch adds`
    );
  }
  if (!complete(state)) {
    throw new ToolError('secrets', incompleteRangeMessage(base, head, state, fetchProblem));
  }
  // The walk that proved the range complete counted it.
  const commits = state.commits ?? (await git.countCommits(`${base}..${head}`));
  return { base, baseTip, head, commits, notes };
}
