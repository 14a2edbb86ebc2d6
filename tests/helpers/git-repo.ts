// Real repositories for tests: a bare origin and a working clone, or a lone
// working repository, in a temp dir, with a fixed identity and no global or
// system config leaking in.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
  return runGit(cwd, args, {});
}

function runGit(cwd: string, args: string[], env: Record<string, string>): string {
  return execFileSync('git', args, {
    cwd,
    env: { ...process.env, ...GIT_ENV, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024
  });
}

export interface RepoOptions {
  /**
   * The author and committer date of the repository's git commands, given how
   * many commits the helper has made so far (a constant, or `tickingDate`).
   * Default: the clock.
   */
  date?: (commits: number) => string;
}

/** One second more per commit from 2024-05-01T12:00:00Z: distinct, reproducible dates. */
export function tickingDate(commits: number): string {
  const two = (n: number): string => String(n % 60).padStart(2, '0');
  return `2024-05-01T12:${two(Math.floor(commits / 60))}:${two(commits)}+00:00`;
}

export interface LocalRepo {
  /** The temp dir that holds the repository (and, for makeRepo, its origin). */
  root: string;
  /** The working tree. */
  work: string;
  git(...args: string[]): string;
  /** Writes a file, creating its directories; stages nothing. */
  write(path: string, content: string | Buffer): void;
  /** Writes one file and commits only it; returns the new commit's sha. */
  commit(path: string, content: string | Buffer, message?: string): string;
  /**
   * Writes the files (undefined removes one), stages the whole tree and
   * commits, even when nothing changed; returns the new commit's sha.
   */
  commitAll(message: string, files?: Record<string, string | Buffer | undefined>): string;
  /** The full sha `rev` names. */
  sha(rev: string): string;
}

export interface TestRepo extends LocalRepo {
  /** The bare repository the work tree was cloned from. */
  origin: string;
}

function repoAt(root: string, work: string, opts: RepoOptions): LocalRepo {
  let commits = 0;
  const repo: LocalRepo = {
    root,
    work,
    git(...args) {
      const date = opts.date?.(commits);
      return runGit(work, args, date ? { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : {});
    },
    write(path, content) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), content);
    },
    commit(path, content, message = `change ${path}`) {
      commits++;
      repo.write(path, content);
      repo.git('add', '--', path);
      repo.git('commit', '-q', '-m', message);
      return repo.sha('HEAD');
    },
    commitAll(message, files = {}) {
      commits++;
      for (const [path, content] of Object.entries(files)) {
        if (content === undefined) rmSync(join(work, path), { force: true });
        else repo.write(path, content);
      }
      repo.git('add', '-A');
      repo.git('commit', '-q', '--allow-empty', '--no-verify', '-m', message);
      return repo.sha('HEAD');
    },
    sha: (rev) => repo.git('rev-parse', rev).trim()
  };
  return repo;
}

/** A working repository on an unborn main: no commits, no remote. */
export function makeLocalRepo(opts: RepoOptions = {}): LocalRepo {
  const root = tempDir('qg-repo-');
  const work = join(root, 'work');
  mkdirSync(work);
  const repo = repoAt(root, work, opts);
  repo.git('init', '-q', '-b', 'main');
  return repo;
}

/** origin.git (bare, default branch main) and a clone with one commit on main, pushed. */
export function makeRepo(opts: RepoOptions = {}): TestRepo {
  const root = tempDir('qg-repo-');
  const origin = join(root, 'origin.git');
  const work = join(root, 'work');
  git(root, 'init', '-q', '--bare', '-b', 'main', origin);
  git(root, 'clone', '-q', origin, work);
  const repo: TestRepo = { ...repoAt(root, work, opts), origin };
  repo.git('checkout', '-q', '-b', 'main');
  repo.commit('README.md', '# test repo\n', 'initial');
  repo.git('push', '-q', 'origin', 'main');
  return repo;
}

/**
 * A repository whose tests pass while ./ok exists on main, with one task
 * branch per name (one commit each) pushed to origin, HEAD back on main;
 * with `mainMoves`, main then gains a commit so every branch is behind.
 */
export function makeRepoWithBranches(
  branches: readonly string[],
  opts: { mainMoves?: boolean } = {}
): TestRepo {
  const repo = makeRepo();
  repo.commit('ok', 'green\n');
  repo.git('push', '-q', 'origin', 'main');
  for (const b of branches) {
    repo.git('checkout', '-q', '-b', b, 'main');
    repo.commit(`${b.replace('/', '-')}.txt`, `${b}\n`);
    repo.git('push', '-q', 'origin', b);
  }
  repo.git('checkout', '-q', 'main');
  if (opts.mainMoves) {
    repo.commit('later.txt', 'main moved\n');
    repo.git('push', '-q', 'origin', 'main');
  }
  return repo;
}

/** The check every test of the classic landing race runs: each `use-*.js` caller against lib.js. */
export const RACE_CHECK = `const fs = require('fs');
const lib = require('./lib.js');
for (const f of fs.readdirSync(__dirname).filter((f) => f.startsWith('use-')).sort())
  require('./' + f)(lib);
console.log('all callers ok');
`;

/**
 * Two branches, each green against the main it started from, red together:
 * `rename` renames greet -> hello and updates its one caller, `caller` adds a
 * new caller of the old name. Both pushed; HEAD on `caller`.
 */
export function makeRaceRepo(rename: string, caller: string): TestRepo {
  const repo = makeRepo();
  repo.commitAll('base', {
    'check.js': RACE_CHECK,
    'lib.js': "exports.greet = () => 'hi';\n",
    'use-app.js':
      "module.exports = (lib) => { if (lib.greet() !== 'hi') throw new Error('app'); };\n"
  });
  repo.git('push', '-q', 'origin', 'main');
  repo.git('checkout', '-q', '-b', rename, 'main');
  repo.commitAll('rename greet to hello', {
    'lib.js': "exports.hello = () => 'hi';\n",
    'use-app.js':
      "module.exports = (lib) => { if (lib.hello() !== 'hi') throw new Error('app'); };\n"
  });
  repo.git('checkout', '-q', '-b', caller, 'main');
  repo.commitAll('add a caller', {
    'use-extra.js':
      "module.exports = (lib) => { if (lib.greet().length !== 2) throw new Error('extra'); };\n"
  });
  repo.git('push', '-q', 'origin', rename, caller);
  return repo;
}

/**
 * main green (`node check.js` passes while m.js says ok), and `branch` off
 * the current main that makes it red, pushed and checked out: a red branch
 * that already contains main. Returns the repository and the branch head.
 */
export function makeRedUpToDateRepo(branch: string): { repo: TestRepo; head: string } {
  const repo = makeRepo();
  repo.commitAll('green', {
    'check.js': 'process.exit(require("./m.js").ok ? 0 : 1);\n',
    'm.js': 'exports.ok = true;\n'
  });
  repo.git('push', '-q', 'origin', 'main');
  repo.git('checkout', '-q', '-b', branch);
  const head = repo.commit('m.js', 'exports.ok = false;\n', 'break m');
  repo.git('push', '-q', 'origin', branch);
  return { repo, head };
}
