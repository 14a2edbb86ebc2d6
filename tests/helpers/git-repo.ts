// Real repositories for tests: a bare origin and a working clone in a temp
// dir, with a fixed identity and no global config leaking in.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from './tmp.ts';

export const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.invalid',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null'
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: { ...process.env, ...GIT_ENV },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024
  });
}

export interface TestRepo {
  root: string;
  origin: string;
  work: string;
  commit(path: string, content: string | Buffer, message?: string): string;
  git(...args: string[]): string;
}

/** origin.git (bare, default branch main) and a clone with one commit on main, pushed. */
export function makeRepo(): TestRepo {
  const root = tempDir('qg-repo-');
  const origin = join(root, 'origin.git');
  const work = join(root, 'work');
  git(root, 'init', '-q', '--bare', '-b', 'main', origin);
  git(root, 'clone', '-q', origin, work);
  git(work, 'checkout', '-q', '-b', 'main');
  const repo: TestRepo = {
    root,
    origin,
    work,
    git: (...args) => git(work, ...args),
    commit(path, content, message = `change ${path}`) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), content);
      git(work, 'add', '--', path);
      git(work, 'commit', '-q', '-m', message);
      return git(work, 'rev-parse', 'HEAD').trim();
    }
  };
  repo.commit('README.md', '# test repo\n', 'initial');
  git(work, 'push', '-q', 'origin', 'main');
  return repo;
}
