// How many commits of a range gitleaks is expected to count. gitleaks reads
// `git log -p -U0 <range>` and counts a commit only when a file in its patch is
// neither deleted nor binary and has a hunk: merge commits (no patch under
// plain `git log -p`), empty commits, pure file deletions and binary-only or
// rename/mode-only commits are not counted. The same selection is made here
// with --numstat, so "N commits scanned." can be checked rather than trusted.
// Both counts are only meaningful over a complete range: assertCompleteRange
// refuses one cut off by a shallow boundary (its counts would agree with a
// scan that never saw the commits below the cut).

import { ToolError, describeError } from '../../../core/src/errors.ts';
import { Git } from '../../../git/src/git.ts';
import { incompleteRangeMessage } from '../range.ts';

export interface RangeCommits {
  /** Every commit in base..head (`git rev-list --count`). */
  total: number;
  /** Commits that give gitleaks at least one hunk to read. */
  withContent: number;
}

/** Parses `git log --format=%x00%H --numstat --diff-filter=d` output. */
export function countCommitsWithContent(log: string): number {
  let count = 0;
  for (const block of log.split('\0').slice(1)) {
    const [, ...stats] = block.split('\n');
    const hasHunk = stats.some((line) => {
      const m = /^(\d+|-)\t(\d+|-)\t/.exec(line);
      // '-\t-' is a binary file; '0\t0' a rename or mode change without a hunk.
      return m !== null && m[1] !== '-' && (m[1] !== '0' || m[2] !== '0');
    });
    if (hasHunk) count++;
  }
  return count;
}

/**
 * Throws a secrets ToolError unless every commit of base..head is present
 * with its parents (none on the shallow boundary, none with a parent missing
 * from the object store): gitleaks would read a cut range as a whole one.
 */
export async function assertCompleteRange(
  repoDir: string,
  base: string,
  head: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number
): Promise<void> {
  const git = new Git(repoDir, { env, timeoutMs });
  let cut: number;
  try {
    const c = await git.rangeCompleteness(base, head);
    cut = c.shallow.length + c.missingParents.length;
  } catch (err) {
    throw new ToolError(
      'secrets',
      incompleteRangeMessage(base, head, { cut: 0, unchecked: describeError(err) })
    );
  }
  if (cut > 0) throw new ToolError('secrets', incompleteRangeMessage(base, head, { cut }));
}

export async function rangeCommits(
  repoDir: string,
  base: string,
  head: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number
): Promise<RangeCommits> {
  // Same environment as gitleaks' own git, so rename detection settings agree.
  const git = new Git(repoDir, { env, timeoutMs });
  try {
    const total = await git.countCommits(`${base}..${head}`);
    const log = await git.run([
      'log',
      '--format=%x00%H',
      '--numstat',
      // Deleted files are skipped by gitleaks; with a diff filter, git log
      // also leaves out commits that only delete, which gitleaks skips too.
      '--diff-filter=d',
      '--end-of-options',
      `${base}..${head}`
    ]);
    return { total, withContent: countCommitsWithContent(log) };
  } catch (err) {
    throw new ToolError(
      'secrets',
      `cannot count the commits in ${base}..${head}: ${describeError(err)}`
    );
  }
}
