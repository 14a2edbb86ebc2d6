// The git-ref state backend over a makeRepo() clone, and the state ref on its
// origin as a hand would touch it: the tip's state file copied out, a state
// commit made with `git commit-tree` and pushed without force.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  GitRefBackend,
  type GitRefBackendOptions
} from '../../packages/store/src/backends/git-ref.ts';
import { GIT_ENV, git, type TestRepo } from './git-repo.ts';
import { tempDir } from './tmp.ts';

export const STATE_REF = 'refs/quality-gates/state';

/** The git-ref backend of `repo`'s clone, pushing to its origin, with the tests' git identity. */
export function gitRefBackend(
  repo: TestRepo,
  extra: Partial<GitRefBackendOptions> = {}
): GitRefBackend {
  return new GitRefBackend({
    repoDir: repo.work,
    remote: 'origin',
    env: { ...process.env, ...GIT_ENV },
    ...extra
  });
}

/** A copy of the state file at the tip of the state ref on `origin`, in a temp dir of its own. */
export function copyRemoteState(origin: string, name = 'state.sqlite'): string {
  const path = join(tempDir(), name);
  writeFileSync(
    path,
    execFileSync('git', ['cat-file', 'blob', `${STATE_REF}:state.sqlite`], { cwd: origin })
  );
  return path;
}

/**
 * A state commit made by hand, with `git commit-tree`, holding the file at
 * `path` as state.sqlite, with `paragraphs` as its message, on top of
 * `parent` (a root commit without), pushed to the state ref without force.
 */
export function pushStateCommit(
  repo: TestRepo,
  path: string,
  paragraphs: readonly string[],
  parent?: string
): string {
  const blob = git(repo.work, 'hash-object', '-w', path).trim();
  const tree = execFileSync('git', ['mktree'], {
    cwd: repo.work,
    input: `100644 blob ${blob}\tstate.sqlite\n`,
    encoding: 'utf8'
  }).trim();
  // The backend fetches into a private repository of its own, so the
  // workspace may not have the parent yet.
  if (parent) repo.git('fetch', '-q', '--no-tags', 'origin', STATE_REF);
  const commit = execFileSync(
    'git',
    [
      'commit-tree',
      tree,
      ...(parent ? ['-p', parent] : []),
      ...paragraphs.flatMap((p) => ['-m', p])
    ],
    { cwd: repo.work, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' }
  ).trim();
  repo.git('push', '-q', 'origin', `${commit}:${STATE_REF}`);
  return commit;
}
