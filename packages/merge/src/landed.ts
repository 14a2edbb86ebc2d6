// Has a task branch landed on the target branch? Asked on a push to main,
// which does not name the branch that landed: the lease holder is released
// when its branch is contained in main (merge or fast-forward), when main's
// tree is the branch's tree (a squash or rebase merge of a branch the merge
// gate caught up), or when the branch is gone from the remote.

import { GitError, type Git } from '../../git/src/git.ts';

export type Landing =
  { landed: true; how: 'merged' | 'squashed' | 'deleted' } | { landed: false; why: string };

export async function branchLanded(
  git: Git,
  remote: string,
  base: string,
  branch: string
): Promise<Landing> {
  const listed = await git.exec(['ls-remote', '--heads', '--', remote, `refs/heads/${branch}`]);
  if (listed.exitCode !== 0)
    throw new GitError(`cannot list ${remote}: ${listed.stderr.trim().split('\n')[0] ?? ''}`, []);
  if (listed.stdout.trim() === '') return { landed: true, how: 'deleted' };
  for (const b of [base, branch]) {
    if (!(await git.fetchBranch(remote, b)))
      throw new GitError(`cannot fetch ${b} from ${remote}`, []);
  }
  const tip = `refs/remotes/${remote}/${branch}`;
  const main = `refs/remotes/${remote}/${base}`;
  const ancestor = await git.exec(['merge-base', '--is-ancestor', tip, main]);
  if (ancestor.exitCode === 0) return { landed: true, how: 'merged' };
  const trees = await git.exec(['rev-parse', `${tip}^{tree}`, `${main}^{tree}`]);
  const [a, b] = trees.stdout.trim().split('\n');
  if (trees.exitCode === 0 && a !== undefined && a === b) return { landed: true, how: 'squashed' };
  return { landed: false, why: `${base} neither contains ${branch} nor has its tree` };
}
