// A typed git wrapper. Arguments go to git as an array (never through a
// shell), refs from users are checked before use, and every push is vetted:
// nothing here can push to, force-push or delete main or a protected branch,
// and force exists only as --force-with-lease with an explicit expected sha:
// on a task branch (push), or on a state ref outside refs/heads/ and
// refs/tags/ (replaceRef), never on any branch through the latter.
//
// Every git process runs hardened (git-env.ts: no hooks, fsmonitor,
// credential helpers, askpass or ext transport, whatever the repository or
// global config says). With a GitCredential, its network commands use the
// remote URLs pinned before any user command ran, refuse to run when the
// config git reads now would rewrite them, carry the credential in their
// environment only, and mask it in every error.

import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { runCommand, type RunResult } from '../../proc/src/run.ts';
import { matchesAny } from '../../core/src/glob.ts';
import type { GitCredential, RemoteDirection } from './credentials.ts';
import { hardenedGitEnv } from './git-env.ts';

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
  /**
   * The gate's git credential (GitCredential.setup, taken before any user
   * command ran): its environment, pinned remote URLs and masking.
   */
  credential?: GitCredential;
  /** URLs besides the credential's pinned remotes that this Git fetches from or pushes to. */
  urls?: readonly string[];
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
  private readonly credential?: GitCredential;

  constructor(cwd: string, opts: GitOptions = {}) {
    this.cwd = cwd;
    this.protectedBranches = opts.protectedBranches ?? DEFAULT_PROTECTED;
    this.timeoutMs = opts.timeoutMs ?? 10 * 60_000;
    this.credential = opts.credential;
    const base = {
      ...(opts.env ?? process.env),
      GIT_TERMINAL_PROMPT: '0',
      LC_ALL: 'C',
      GIT_PAGER: 'cat',
      // Ignore a user's global hooks/aliases that could change output formats.
      GIT_CONFIG_NOSYSTEM: '1'
    };
    this.env = opts.credential ? opts.credential.env(base, opts.urls) : hardenedGitEnv(base);
  }

  /** The environment this Git runs git with (for a caller that spawns git itself). */
  get processEnv(): NodeJS.ProcessEnv {
    return { ...this.env };
  }

  /** `text` with the credential masked (unchanged without one). */
  mask(text: string): string {
    return this.credential ? this.credential.mask(text) : text;
  }

  /** A GitError whose message and captured output carry no credential. */
  private error(message: string, args: readonly string[], result?: RunResult): GitError {
    const masked = result && {
      ...result,
      stdout: this.mask(result.stdout),
      stderr: this.mask(result.stderr)
    };
    return new GitError(this.mask(message), args, masked);
  }

  /**
   * What to name `remote` as in a network command. Without a credential,
   * `remote` itself. With one: the URL pinned before any user command ran
   * (a URL or path is taken as given), after checking that the config git
   * reads now does not rewrite it (url.<x>.insteadOf, pushInsteadOf, or a
   * remote section named after the URL): the code under test may have
   * written that config, and a rewritten URL is refused, never followed.
   */
  async remoteArg(remote: string, direction: RemoteDirection): Promise<string> {
    if (!this.credential) return remote;
    if (remote === '' || remote.startsWith('-'))
      throw this.error(`refused: invalid remote ${JSON.stringify(remote)}`, []);
    let url: string;
    try {
      url = this.credential.urlFor(remote, direction);
    } catch (err) {
      throw this.error((err as Error).message, []);
    }
    await this.assertNotRedirected(url, direction);
    return url;
  }

  private async assertNotRedirected(url: string, direction: RemoteDirection): Promise<void> {
    const args = ['config', '--null', '--list'];
    const r = await this.exec(args);
    if (r.exitCode !== 0 || r.timedOut || r.spawnError)
      throw this.error(
        `git config --list failed: ${r.spawnError ?? firstErrorLine(r.stderr) ?? `exit code ${r.exitCode}`}`,
        args,
        r
      );
    const remoteSection = `remote.${url}.`.toLowerCase();
    for (const rec of r.stdout.split('\0')) {
      const nl = rec.indexOf('\n');
      const key = nl < 0 ? rec : rec.slice(0, nl);
      const value = nl < 0 ? '' : rec.slice(nl + 1);
      const rewrite = /^url\..*\.(insteadof|pushinsteadof)$/i.exec(key);
      if (rewrite) {
        if (rewrite[1].toLowerCase() === 'pushinsteadof' && direction !== 'push') continue;
        if (value !== '' && url.startsWith(value))
          throw this.error(
            `refused: git config now rewrites the ${direction} URL the gate pinned (${key}); the workspace's git config changed after the gate read it`,
            args
          );
      } else if (key.toLowerCase().startsWith(remoteSection)) {
        throw this.error(
          `refused: git config now defines a remote named after the URL the gate pinned (${key})`,
          args
        );
      }
    }
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
      throw this.error(`git could not be started (${r.spawnError}); is git installed?`, args, r);
    if (r.timedOut)
      throw this.error(`git ${args[0]} timed out after ${this.timeoutMs} ms`, args, r);
    if (r.exitCode !== 0) {
      const line = firstErrorLine(r.stderr) ?? `exit code ${r.exitCode}`;
      throw this.error(`git ${args[0]} failed: ${line}`, args, r);
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

  /** The branch HEAD is on, or undefined when detached (or not a repository). */
  async currentBranch(): Promise<string | undefined> {
    const r = await this.exec(['symbolic-ref', '--quiet', '--short', 'HEAD']);
    const name = r.stdout.trim();
    return r.exitCode === 0 && name !== '' ? name : undefined;
  }

  /** Whether the repository is shallow (git's own test: its shallow file exists). */
  async isShallow(): Promise<boolean> {
    return (await this.readShallowFile()) !== undefined;
  }

  /**
   * The shallow boundary: commits a shallow fetch took without their parents
   * (the repository's shallow file). Empty in a complete repository.
   */
  async shallowCommits(): Promise<Set<string>> {
    const text = await this.readShallowFile();
    if (text === undefined) return new Set();
    return new Set(
      text
        .split('\n')
        .map((l) => l.trim())
        .filter(isSha)
    );
  }

  /** Where git keeps the shallow boundary (asked once: it does not move). */
  private shallowPath: Promise<string> | undefined;

  /** The shallow file's text; undefined when there is none (a complete repository). */
  private async readShallowFile(): Promise<string | undefined> {
    this.shallowPath ??= this.run(['rev-parse', '--git-path', 'shallow']).then((p) =>
      resolvePath(this.cwd, p.trim())
    );
    let path: string;
    try {
      path = await this.shallowPath;
    } catch (err) {
      this.shallowPath = undefined;
      throw err;
    }
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.error(`cannot read the shallow file ${path}: ${(err as Error).message}`, []);
    }
  }

  /**
   * Whether base..head is all there. `shallow`: commits of the range on the
   * shallow boundary (git sees them as roots: whatever lies below them is
   * missing). `missingParents`: parents of range commits absent from the
   * object store. A range is complete when both are empty; `commits` counts
   * the commits of the range that are present. `base` must be a commit
   * present here (a merge-base git found): its presence is not checked again.
   * Throws GitError when git cannot walk the range (an object it needs is
   * missing).
   */
  async rangeCompleteness(
    base: string,
    head: string
  ): Promise<{ commits: number; shallow: string[]; missingParents: string[] }> {
    const [boundary, out] = await Promise.all([
      this.shallowCommits(),
      this.run(['rev-list', '--parents', '--end-of-options', `${base}..${head}`])
    ]);
    const inRange = new Set<string>();
    const parents = new Set<string>();
    for (const line of out.split('\n')) {
      const [commit, ...ps] = line.trim().split(' ').filter(Boolean);
      if (commit === undefined) continue;
      inRange.add(commit);
      for (const p of ps) parents.add(p);
    }
    const shallow = [...inRange].filter((c) => boundary.has(c));
    // The base itself is present (the caller found it): only other parents need a look.
    const outside = [...parents].filter((p) => !inRange.has(p) && p !== base);
    let missingParents: string[] = [];
    if (outside.length > 0) {
      const checked = await this.run(
        ['cat-file', '--batch-check=%(objectname) %(objecttype)'],
        `${outside.join('\n')}\n`
      );
      missingParents = checked
        .split('\n')
        .map((l) => l.trim().split(' '))
        .filter(([sha, type]) => sha !== undefined && sha !== '' && type !== 'commit')
        .map(([sha]) => sha);
    }
    return { commits: inRange.size, shallow, missingParents };
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
      await this.remoteArg(remote, 'fetch'),
      `+refs/heads/${branch}:refs/remotes/${remote}/${branch}`
    ]);
    return r.exitCode === 0;
  }

  /**
   * Fetches `refspec` from a remote (a pinned URL with a credential);
   * resolves with the raw result. `extra` goes before the remote.
   */
  async fetchRef(
    remote: string,
    refspec: string,
    extra: readonly string[] = []
  ): Promise<RunResult> {
    const r = await this.exec(['fetch', ...extra, await this.remoteArg(remote, 'fetch'), refspec]);
    return { ...r, stdout: this.mask(r.stdout), stderr: this.mask(r.stderr) };
  }

  async deepen(remote: string, by: number): Promise<void> {
    await this.run([
      'fetch',
      '--no-tags',
      '--quiet',
      `--deepen=${by}`,
      ...(await this.whole(remote))
    ]);
  }

  async unshallow(remote: string): Promise<void> {
    await this.run(['fetch', '--no-tags', '--quiet', '--unshallow', ...(await this.whole(remote))]);
  }

  /** A remote's branches as a fetch names them: a pinned URL needs the refspec the remote's name implied. */
  private async whole(remote: string): Promise<string[]> {
    const arg = await this.remoteArg(remote, 'fetch');
    return arg === remote ? [remote] : [arg, `+refs/heads/*:refs/remotes/${remote}/*`];
  }

  /**
   * Several objects (`<rev>`, `<rev>:<path>`) read by one `git cat-file
   * --batch`: one process for several reads. Each is its type and content,
   * or undefined when it does not exist.
   */
  async readObjects(
    names: readonly string[]
  ): Promise<({ type: string; content: Buffer } | undefined)[]> {
    const args = ['cat-file', '--batch'];
    if (names.some((n) => /[\n\r]/.test(n) || n === ''))
      throw new GitError('cat-file --batch: an object name must be one non-empty line', args);
    const r = await runCommand('git', args, {
      cwd: this.cwd,
      env: this.env,
      timeoutMs: this.timeoutMs,
      input: `${names.join('\n')}\n`,
      maxOutputBytes: 64 * 1024 * 1024,
      rawStdout: true
    });
    if (r.spawnError)
      throw this.error(`git could not be started (${r.spawnError}); is git installed?`, args, r);
    if (r.timedOut) throw this.error(`git cat-file timed out after ${this.timeoutMs} ms`, args, r);
    if (r.exitCode !== 0)
      throw this.error(
        `git cat-file failed: ${firstErrorLine(r.stderr) ?? `exit code ${r.exitCode}`}`,
        args,
        r
      );
    const out = r.stdoutBytes!;
    const objects: ({ type: string; content: Buffer } | undefined)[] = [];
    let at = 0;
    for (let i = 0; i < names.length; i++) {
      const nl = out.indexOf(10, at);
      if (nl < 0) throw this.error('git cat-file --batch: its output ended early', args, r);
      const header = out.toString('utf8', at, nl);
      // "<sha> <type> <size>", or "<name> missing" / "<name> ambiguous".
      const m = /^[0-9a-f]{40,64} (\S+) (\d+)$/.exec(header);
      if (!m) {
        objects.push(undefined);
        at = nl + 1;
        continue;
      }
      const size = Number(m[2]);
      objects.push({ type: m[1], content: out.subarray(nl + 1, nl + 1 + size) });
      at = nl + 1 + size + 1;
    }
    return objects;
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
   * The branch push (pushRef, below, is the fast-forward-only push for state
   * refs and can never force). Refuses protected branches, deletions and plain
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
    args.push(await this.remoteArg(remote, 'push'), `${opts.sha}:refs/heads/${branch}`);
    await this.run(args);
  }

  /**
   * Deletes a task branch on the remote (STOP): refuses protected and invalid
   * names before git runs, never forces. 'absent' when the remote has no such
   * branch (already deleted, or deleted meanwhile); `sha` is where it pointed.
   */
  async deleteRemoteBranch(
    remote: string,
    branch: string
  ): Promise<{ outcome: 'deleted' | 'absent'; sha?: string }> {
    assertPushable(branch, this.protectedBranches);
    if (remote === '' || remote.startsWith('-'))
      throw new GitError(`refused to delete: invalid remote ${JSON.stringify(remote)}`, []);
    const ref = `refs/heads/${branch.replace(/^refs\/heads\//, '')}`;
    // The listing and the deletion name the same place: the push URL.
    const target = await this.remoteArg(remote, 'push');
    const listed = await this.run(['ls-remote', '--heads', target, ref]);
    const sha = listed
      .split('\n')
      .map((l) => l.split('\t'))
      .find(([, name]) => name === ref)?.[0];
    if (sha === undefined) return { outcome: 'absent' };
    const args = ['push', '--porcelain', '--no-verify', target, `:${ref}`];
    const r = await this.exec(args);
    if (r.exitCode === 0 && !r.timedOut) return { outcome: 'deleted', sha };
    if (/remote ref does not exist/i.test(r.stderr + r.stdout)) return { outcome: 'absent', sha };
    const line = r.spawnError ?? firstErrorLine(r.stderr) ?? `exit code ${r.exitCode}`;
    throw this.error(`git push (delete ${ref}) failed: ${line}`, args, r);
  }

  /**
   * Pushes a commit to a full ref name that is not a protected branch (a
   * state ref such as refs/quality-gates/state), never with force: the
   * remote takes it only as a fast-forward, or as a new ref, so the push is a
   * compare-and-set. 'rejected' means another writer moved the ref first:
   * fetch, redo, push again. Any other failure throws GitError.
   */
  async pushRef(remote: string, sha: string, ref: string): Promise<'pushed' | 'rejected'> {
    assertPushableRef(ref, this.protectedBranches);
    return this.pushTo(remote, sha, ref, []);
  }

  /**
   * Replaces a ref that is neither a branch nor a tag (a state ref such as
   * refs/quality-gates/state) with `sha`, whatever its history, only while
   * the remote ref is still `expected` (null: while it does not exist):
   * --force-with-lease=<ref>:<expected>. The remote checks the old value in
   * the same atomic ref update, so this is a compare-and-set that needs no
   * fast-forward, and a ref written this way never grows a history. Refuses
   * every refs/heads/ and refs/tags/ ref (protected or not), a lease without
   * an explicit full sha, plain force and deletion. 'rejected': the remote
   * ref was no longer `expected` (another writer moved it).
   */
  async replaceRef(
    remote: string,
    sha: string,
    ref: string,
    expected: string | null
  ): Promise<'pushed' | 'rejected'> {
    assertReplaceableRef(ref);
    if (expected !== null && !isSha(expected))
      throw new GitError(
        `refused to replace ${ref}: the expected old value ${JSON.stringify(expected)} is not a commit sha`,
        []
      );
    return this.pushTo(remote, sha, ref, [`--force-with-lease=${ref}:${expected ?? ''}`]);
  }

  /** One push of `sha` to `ref` (already vetted by the caller), with `lease` flags. */
  private async pushTo(
    remote: string,
    sha: string,
    ref: string,
    lease: readonly string[]
  ): Promise<'pushed' | 'rejected'> {
    if (!isSha(sha))
      throw new GitError(`refused to push: ${JSON.stringify(sha)} is not a commit sha`, []);
    if (remote === '' || remote.startsWith('-'))
      throw new GitError(`refused to push: invalid remote ${JSON.stringify(remote)}`, []);
    const args = [
      'push',
      '--porcelain',
      '--no-verify',
      ...lease,
      await this.remoteArg(remote, 'push'),
      `${sha}:${ref}`
    ];
    const r = await this.exec(args);
    if (r.exitCode === 0 && !r.timedOut) return 'pushed';
    if (!r.spawnError && !r.timedOut && isLostRace(r.stdout, r.stderr)) return 'rejected';
    const line = r.spawnError ?? firstErrorLine(r.stderr) ?? `exit code ${r.exitCode}`;
    throw this.error(`git push failed: ${line}`, args, r);
  }
}

/**
 * Throws unless `ref` is a full ref name (refs/...) that may be pushed: a
 * branch under refs/heads/ must pass assertPushable; a '+' (force) or an
 * empty source (deletion) cannot be expressed through pushRef at all.
 */
export function assertPushableRef(ref: string, protectedBranches: readonly string[]): void {
  if (!ref.startsWith('refs/') || !validBranchName(ref.slice('refs/'.length)))
    throw new GitError(`refused to push: invalid ref name ${JSON.stringify(ref)}`, []);
  if (ref.startsWith('refs/heads/')) assertPushable(ref, protectedBranches);
}

/**
 * Throws unless `ref` may be replaced by a lease-checked force push: a full,
 * valid ref name outside refs/heads/ and refs/tags/. Branches are never
 * force-pushed this way, whatever the protected list says.
 */
export function assertReplaceableRef(ref: string): void {
  if (!ref.startsWith('refs/') || !validBranchName(ref.slice('refs/'.length)))
    throw new GitError(`refused to push: invalid ref name ${JSON.stringify(ref)}`, []);
  if (ref.startsWith('refs/heads/') || ref.startsWith('refs/tags/'))
    throw new GitError(
      `refused to replace ${ref}: a branch or tag is never force-pushed this way (only state refs outside refs/heads/ and refs/tags/ are)`,
      []
    );
}

/**
 * Did the push fail only because the remote ref moved under us? Either git
 * refused a non-fast-forward, or the remote could not take the ref lock
 * because a concurrent push held it or had just created or moved the ref
 * (local and ssh remotes say "cannot lock ref ...: reference already exists"
 * or "... is at X but expected Y"). Hook refusals, permissions and network
 * errors are not a race and must not be retried.
 */
export function isLostRace(stdout: string, stderr: string): boolean {
  const lines = stdout.split('\n').filter((l) => l.startsWith('!'));
  if (
    lines.some((l) =>
      /\[rejected\] \((non-fast-forward|fetch first|stale info|already exists)\)/.test(l)
    )
  )
    return true;
  const lockLost =
    /reference already exists|is at [0-9a-f]+ but expected|unable to create '[^']*\.lock': file exists|incorrect old value/i;
  return lines.some(
    (l) =>
      /\[remote rejected\] \((failed to update ref|failed to lock|cannot lock ref)/.test(l) &&
      (lockLost.test(l) || lockLost.test(stderr))
  );
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
