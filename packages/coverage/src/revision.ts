// Which commit and tree a measurement speaks for. The tree sha is what lets
// the ratchet reuse a gate's measurement: a landing whose tree equals a tree
// already measured needs no second test run.

import { Git } from '../../git/src/git.ts';

export interface Revision {
  /** '' outside a git checkout (a report read from a plain directory). */
  sha: string;
  tree: string;
  /** Current branch name, '' when detached. */
  branch: string;
}

export async function currentRevision(workspace: string): Promise<Revision> {
  const git = new Git(workspace);
  const sha = (await git.resolveCommit('HEAD')) ?? '';
  if (!sha) return { sha: '', tree: '', branch: '' };
  const tree = (await git.run(['rev-parse', `${sha}^{tree}`])).trim();
  const ref = await git.exec(['symbolic-ref', '--quiet', '--short', 'HEAD']);
  return { sha, tree, branch: ref.exitCode === 0 ? ref.stdout.trim() : '' };
}
