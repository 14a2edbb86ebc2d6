// A typed git wrapper. Arguments go to git as an array (never through a
// shell), refs from users are checked before use, and every push is vetted:
// nothing here can push to, force-push or delete main or a protected branch,
// and force exists only as --force-with-lease with an explicit expected sha.

import { runCommand, type RunResult } from '../../proc/src/run.ts';
import { matchesAny } from '../../core/src/glob.ts';

export const DEFAULT_PROTECTED = ['main', 'master', 'release/*'] as const;

export class GitError extends Error {
  readonly args: readonly string[];
  readonly result?: RunResult;
  constructor(message: string, args: readonly string[], result?: RunResult) {
    super(message);
    this.name = 'GitError';
    this.args = args;
    this.result = result;
  }
}

export class ProtectedBranchError extends Error {
  constructor(branch: string) {
    super(
      `refused: '${branch}' is a protected branch; quality-gates never pushes to, force-pushes or deletes it`
    );
    this.name = 'ProtectedBranchError';
  }
}

export interface GitOptions {
  /** Globs of branch names that may never be pushed to or deleted. */
  protectedBranches?: readonly string[];
  /** Per-command limit. Default 10 minutes (a big fetch can be slow). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

const SHA_RE = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export function isSha(s: string): boolean {
  return SHA_RE.test(s);
}

/**
 * A branch name that git accepts and that cannot be taken for an option or a
 * revision expression. Hostile names (`$(...)`, quotes, spaces) are harmless
 * here because nothing goes through a shell, but a leading '-' or '..' would
 * change what git does, so they are refused outright.
 */
export function validBranchName(name: string): boolean {
  if (name === '' || name.length > 255) return false;
  if (name.startsWith('-') || name.startsWith('/') || name.endsWith('/') || name.endsWith('.'))
    return false;
  if (name.includes('..') || name.includes('@{') || name.includes('//') || name === '@')
    return false;
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  return !name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'));
}

export function isProtected(branch: string, patterns: readonly string[]): boolean {
  const short = branch.replace(/^refs\/heads\//, '');
  return matchesAny(short, patterns);
}

export class Git {
  readonly cwd: string;
  readonly protectedBranches: readonly string[];
  private readonly timeoutMs: number;
  private readonly env: NodeJS.ProcessEnv;

  constructor(cwd: string, opts: GitOptions = {}) {
    this.cwd = cwd;
    this.protectedBranches = opts.protectedBranches ?? DEFAULT_PROTECTED;
    this.timeoutMs = opts.timeoutMs ?? 10 * 60_000;
    this.env = {
      ...(opts.env ?? process.env),
      GIT_TERMINAL_PROMPT: '0',
      LC_ALL: 'C',
      GIT_PAGER: 'cat',
      // Ignore a user's global hooks/aliases that could change output formats.
      GIT_CONFIG_NOSYSTEM: '1'
    };
  }

  /** Runs git; resolves with the raw result whatever the exit code. */
  exec(args: readonly string[], input?: string): Promise<RunResult> {
    return runCommand('git', args, {
      cwd: this.cwd,
      env: this.env,
      timeoutMs: this.timeoutMs,
      input,
      maxOutputBytes: 64 * 1024 * 1024
    });
  }

  /** Runs git and returns stdout; throws GitError with git's own first error line. */
  async run(args: readonly string[], input?: string): Promise<string> {
    const r = await this.exec(args, input);
    if (r.spawnError)
      throw new GitError(`git could not be started (${r.spawnError}); is git installed?`, args, r);
    if (r.timedOut)
      throw new GitError(`git ${args[0]} timed out after ${this.timeoutMs} ms`, args, r);
    if (r.exitCode !== 0) {
      const line = firstErrorLine(r.stderr) ?? `exit code ${r.exitCode}`;
      throw new GitError(`git ${args[0]} failed: ${line}`, args, r);
    }
    return r.stdout;
  }

  /** Resolves a revision to a full commit sha, or undefined if it does not exist. */
  async resolveCommit(rev: string): Promise<string | undefined> {
    const r = await this.exec([
      'rev-parse',
      '--verify',
      '--quiet',
      '--end-of-options',
      `${rev}^{commit}`
    ]);
    const out = r.stdout.trim();
    return r.exitCode === 0 && isSha(out) ? out : undefined;
  }

  async isShallow(): Promise<boolean> {
    return (await this.run(['rev-parse', '--is-shallow-repository'])).trim() === 'true';
  }

  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const r = await this.exec(['merge-base', '--end-of-options', a, b]);
    const out = r.stdout.trim();
    return r.exitCode === 0 && isSha(out) ? out : undefined;
  }

  async countCommits(range: string): Promise<number> {
    return Number((await this.run(['rev-list', '--count', '--end-of-options', range])).trim());
  }

  async remotes(): Promise<string[]> {
    return (await this.run(['remote'])).split('\n').filter(Boolean);
  }

  /** Fetches one branch of a remote into refs/remotes/<remote>/<branch>; false if it does not exist there. */
  async fetchBranch(
    remote: string,
    branch: string,
    extra: readonly string[] = []
  ): Promise<boolean> {
    if (!validBranchName(branch))
      throw new GitError(`refused to fetch invalid branch name ${JSON.stringify(branch)}`, []);
    const r = await this.exec([
      'fetch',
      '--no-tags',
      '--quiet',
      ...extra,
      remote,
      `+refs/heads/${branch}:refs/remotes/${remote}/${branch}`
    ]);
    return r.exitCode === 0;
  }

  async deepen(remote: string, by: number): Promise<void> {
    await this.run(['fetch', '--no-tags', '--quiet', `--deepen=${by}`, remote]);
  }

  async unshallow(remote: string): Promise<void> {
    await this.run(['fetch', '--no-tags', '--quiet', '--unshallow', remote]);
  }

  /** Contents of a file at a commit, or undefined when it does not exist there. */
  async showFile(commit: string, path: string): Promise<string | undefined> {
    const r = await this.exec(['show', `${commit}:${path}`]);
    return r.exitCode === 0 ? r.stdout : undefined;
  }

  /** Paths changed between two commits (no rename detection: both sides count). */
  async changedFiles(from: string, to: string): Promise<string[]> {
    const out = await this.run(['diff', '--name-only', '--no-renames', '-z', from, to, '--']);
    return out.split('\0').filter(Boolean);
  }

  /**
   * The only push there is. Refuses protected branches, deletions and plain
   * force; a rewrite must name the sha it expects to replace.
   */
  async push(
    remote: string,
    branch: string,
    opts: { sha: string; expectedOldSha?: string }
  ): Promise<void> {
    assertPushable(branch, this.protectedBranches);
    if (!isSha(opts.sha))
      throw new GitError(`refused to push: ${JSON.stringify(opts.sha)} is not a commit sha`, []);
    const args = ['push', '--porcelain', '--no-verify'];
    if (opts.expectedOldSha !== undefined) {
      if (!isSha(opts.expectedOldSha))
        throw new GitError('refused to push: expected old sha is not a commit sha', []);
      args.push(`--force-with-lease=refs/heads/${branch}:${opts.expectedOldSha}`);
    }
    args.push(remote, `${opts.sha}:refs/heads/${branch}`);
    await this.run(args);
  }
}

/** Throws unless `branch` is a valid, unprotected branch name. */
export function assertPushable(branch: string, protectedBranches: readonly string[]): void {
  const short = branch.replace(/^refs\/heads\//, '');
  if (!validBranchName(short))
    throw new GitError(`refused to push: invalid branch name ${JSON.stringify(branch)}`, []);
  if (isProtected(short, protectedBranches)) throw new ProtectedBranchError(short);
}

/** git's own first error line (fatal:/error:), else its first line. */
export function firstErrorLine(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /^(fatal|error):/.test(l)) ?? lines[0];
}
