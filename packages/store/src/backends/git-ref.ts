// The `git-ref` backend: the state database is one blob (state.sqlite) in a
// commit on a ref of a git remote (refs/quality-gates/state by default), so
// jobs on different hosts share it with nothing but git. A change fetches the
// ref, edits a private copy of the file, commits it on top of what it
// fetched and pushes without force: the remote accepts only a fast-forward,
// so the push is a compare-and-set. A rejected push means another writer won;
// the whole operation is redone on the new state, a bounded number of times.
// The ref's history is a log of every change; nothing is ever force-pushed.
//
// Every state commit carries a trailer (state-trailer.ts) naming the SHA-256
// of its state file and the hash of the newest state-chain row, signed with
// the state-key (and bound to the parent commit) when there is one. A tip
// commit without a trailer that holds (a state pushed by anything but
// quality-gates) is refused for every operation, read or write, with a
// StoreError of code 'tampered': never used, never built upon silently. A
// maintainer's reseal (state-tool.ts) may accept it, or restore the state of
// the newest commit quality-gates wrote, on top of it.
//
// The workspace may have run the code under test before a state operation
// (the merge gate's re-test, the coverage command), so nothing here trusts
// its git config: every git process is hardened (no hooks, fsmonitor,
// helpers, filters), and with a GitCredential the fetch and the push go to
// the URL pinned before the user command ran, with the gate's credential in
// their environment, never the checkout's persisted one.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { oneLine } from '../../../core/src/verdict.ts';
import { isRemoteName, type GitCredential } from '../../../git/src/credentials.ts';
import { Git, GitError, assertPushableRef, firstErrorLine, isSha } from '../../../git/src/git.ts';
import {
  emptyStats,
  noteIntegrity,
  type BackendStats,
  type StateBackend,
  type WithDbOptions
} from '../backend.ts';
import { StoreError, asStoreError } from '../errors.ts';
import { latestVersion } from '../migrations.ts';
import { openStateDatabase } from '../open-database.ts';
import {
  CHAIN_SCHEMA_VERSION,
  chainHeadHash,
  verifyState,
  type IntegrityReport
} from '../state-chain.ts';
import { stateContext } from '../state-context.ts';
import {
  STATE_TRAILER,
  fileDigest,
  parseCommit,
  parseTrailer,
  stateTrailer,
  trailerProblem
} from '../state-trailer.ts';

export const DEFAULT_STATE_REF = 'refs/quality-gates/state';
export const DEFAULT_STATE_FILE = 'state.sqlite';
export const DEFAULT_MAX_ATTEMPTS = 20;

export interface GitRefBackendOptions {
  /** A local git repository used as the workspace (objects and a private ref land here). */
  repoDir: string;
  /** Remote name or URL of the repository that holds the state ref. */
  remote: string;
  /**
   * The URL to fetch from and push to instead of `remote`'s configured one:
   * pinned before any user command ran (GitCredential.urlFor). Default: with
   * a credential, its pin for `remote`; without, `remote` as git resolves it.
   */
  remoteUrl?: string;
  /**
   * The gate's git credential (GitCredential.setup): its environment for the
   * fetch and the push, its pinned URLs, its masking. Without it, git uses
   * whatever credential the workspace's config and environment provide.
   */
  credential?: GitCredential;
  /** Default refs/quality-gates/state. A protected branch is refused. */
  ref?: string;
  /** Default state.sqlite. */
  file?: string;
  /** Attempts per operation before giving up with a StoreError. Default 20. */
  maxAttempts?: number;
  /** Backoff after a lost race: full jitter over min(maxMs, baseMs * 2^(n-1)). Default 50 / 4000 ms. */
  backoff?: { baseMs: number; maxMs: number };
  /** Committer of state commits. Default quality-gates <quality-gates@users.noreply.invalid>. */
  identity?: { name: string; email: string };
  /** Where private copies of the database are made. Default os.tmpdir(). */
  tmpDir?: string;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  random?: () => number;
  /**
   * Runs after the new commit exists and before it is pushed. A seam for
   * tests (a process killed here must leave the remote untouched) and for
   * diagnostics; it must not touch the state.
   */
  beforePush?: (commit: string) => void | Promise<void>;
  /** The state-key input: state commits and the state chain are signed with it. */
  stateKey?: string;
  /** How many commits a restore looks back for the newest one quality-gates wrote. Default 1000. */
  restoreDepth?: number;
}

type Attempt<T> = { done: true; value: T } | { done: false };

export class GitRefBackend implements StateBackend {
  readonly name = 'git-ref';
  readonly atomic = true;
  readonly stats: BackendStats = emptyStats();
  /** State changed outside quality-gates, found when an operation opened the state (also in tamper). */
  readonly warnings: string[] = [];
  readonly tamper: string[] = [];
  integrity: IntegrityReport | undefined;
  readonly remote: string;
  readonly ref: string;
  readonly file: string;
  private readonly git: Git;
  private readonly repoDir: string;
  /** What fetch and push name: the pinned URL, else the remote. */
  private readonly target: string;
  private readonly maxAttempts: number;
  private readonly backoff: { baseMs: number; maxMs: number };
  private readonly tmpDir: string;
  private readonly now?: () => Date;
  private readonly random: () => number;
  private readonly beforePush?: (commit: string) => void | Promise<void>;
  private readonly stateKey?: string;
  private readonly restoreDepth: number;

  constructor(opts: GitRefBackendOptions) {
    this.repoDir = opts.repoDir;
    this.remote = opts.remote;
    this.ref = opts.ref ?? DEFAULT_STATE_REF;
    this.file = opts.file ?? DEFAULT_STATE_FILE;
    const where = `${this.remote} ${this.ref}`;
    if (this.remote === '' || this.remote.startsWith('-'))
      throw new StoreError(where, 'the remote must be a remote name or URL');
    try {
      assertPushableRef(this.ref, ['**']);
    } catch (err) {
      throw new StoreError(where, `the state ref cannot be used: ${(err as Error).message}`);
    }
    if (!/^[A-Za-z0-9._-]+$/.test(this.file) || this.file.startsWith('.'))
      throw new StoreError(
        where,
        `the state file name ${JSON.stringify(this.file)} is not a plain file name`
      );
    const id = opts.identity ?? {
      name: 'quality-gates',
      email: 'quality-gates@users.noreply.invalid'
    };
    if (opts.remoteUrl !== undefined && (opts.remoteUrl === '' || opts.remoteUrl.startsWith('-')))
      throw new StoreError(where, 'the pinned remote URL must be a URL or path');
    this.target = opts.remoteUrl ?? this.remote;
    const env = {
      ...(opts.env ?? process.env),
      GIT_AUTHOR_NAME: id.name,
      GIT_AUTHOR_EMAIL: id.email,
      GIT_COMMITTER_NAME: id.name,
      GIT_COMMITTER_EMAIL: id.email,
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      LC_ALL: 'C'
    };
    // Every branch is "protected" for this Git: the backend pushes state refs only.
    this.git = new Git(this.repoDir, {
      env,
      protectedBranches: ['**'],
      timeoutMs: 120_000,
      credential: opts.credential,
      urls: isRemoteName(this.target) ? [] : [this.target]
    });
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.backoff = opts.backoff ?? { baseMs: 50, maxMs: 4000 };
    this.tmpDir = opts.tmpDir ?? tmpdir();
    this.now = opts.now;
    this.random = opts.random ?? Math.random;
    this.beforePush = opts.beforePush;
    this.stateKey = opts.stateKey || undefined;
    this.restoreDepth = Math.max(1, opts.restoreDepth ?? 1000);
  }

  describe(): string {
    return `${this.remote} ${this.ref}`;
  }

  async withDb<T>(
    mode: 'read' | 'write',
    fn: (db: Database) => T,
    opts: WithDbOptions<T> = {}
  ): Promise<T> {
    this.stats.operations++;
    for (let attempt = 1; ; attempt++) {
      this.stats.attempts++;
      const r = await this.attempt(mode, fn, opts);
      if (r.done) return r.value;
      if (attempt >= this.maxAttempts) {
        throw new StoreError(
          this.describe(),
          `another writer won the push ${attempt} times in a row; gave up (raise the attempt limit or reduce concurrent writers)`
        );
      }
      this.stats.retries++;
      const cap = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** (attempt - 1));
      await sleep(Math.floor(this.random() * cap));
    }
  }

  /** One fetch -> edit -> commit -> push round; { done: false } when the push lost a race. */
  private async attempt<T>(
    mode: 'read' | 'write',
    fn: (db: Database) => T,
    opts: WithDbOptions<T>
  ): Promise<Attempt<T>> {
    const where = this.describe();
    const work = mkdtempSync(join(this.tmpDir, 'qg-state-'));
    // Private per operation: concurrent processes sharing one workspace
    // never fight over a ref lock, and a fetch never moves another's base.
    const privateRef = `refs/quality-gates-work/${process.pid}-${randomUUID()}`;
    try {
      const base = await this.fetch(privateRef);
      const dbPath = join(work, this.file);
      let baseBlob: string | undefined;
      let foreign: { commit: string; why: string } | undefined;
      let source = base;
      if (base !== undefined) {
        baseBlob = await this.blobOf(base);
        await this.extract(baseBlob, dbPath);
        const why = await this.tipProblem(base, dbPath);
        if (why !== undefined) {
          if (opts.integrity !== 'accept-foreign' && opts.integrity !== 'restore-last-written')
            throw new StoreError(
              where,
              `${this.ref}: commit ${base} was not written by quality-gates (${why}); refused, the ref was left as it is (a maintainer checks it, then runs quality-gates state reseal)`,
              undefined,
              'tampered'
            );
          foreign = { commit: base, why };
          if (opts.integrity === 'restore-last-written') {
            source = await this.lastWritten(base, work);
            rmSync(dbPath, { force: true });
            await this.extract(await this.blobOf(source), dbPath);
            foreign.why = `${why}; restored the state of commit ${source}`;
          }
        }
      }
      const db = openStateDatabase(dbPath, {
        journal: 'delete',
        writable: true,
        // A private copy read back by hash-object after close: fsync buys nothing.
        durable: false,
        location: source === undefined ? where : `${where} (${source.slice(0, 12)}:${this.file})`,
        now: this.now,
        stateKey: this.stateKey
      });
      let value: T;
      let chain: string | undefined;
      try {
        if (foreign) stateContext(db).foreign = foreign;
        noteIntegrity(this, verifyState(db), where);
        value = fn(db);
        chain = chainHeadHash(db);
      } catch (err) {
        throw asStoreError(where, err);
      } finally {
        db.close();
      }
      if (mode === 'read') return { done: true, value };
      // --no-filters: no clean filter (a program the config names) sees the file.
      const blob = (await this.run(['hash-object', '-w', '--no-filters', '--', dbPath])).trim();
      // Nothing changed (a ratchet that did not raise): nothing to publish.
      if (blob === baseBlob && foreign === undefined) return { done: true, value };
      const tree = (await this.run(['mktree'], `100644 blob ${blob}\t${this.file}\n`)).trim();
      const message = oneLine(opts.message?.(value) || 'quality-gates state update', 200);
      const trailer = stateTrailer(
        { parent: base, digest: fileDigest(dbPath), chain },
        this.stateKey
      );
      const commit = (
        await this.run([
          'commit-tree',
          tree,
          ...(base === undefined ? [] : ['-p', base]),
          '-m',
          message,
          '-m',
          trailer
        ])
      ).trim();
      await this.beforePush?.(commit);
      let pushed: 'pushed' | 'rejected';
      try {
        pushed = await this.git.pushRef(this.target, commit, this.ref);
      } catch (err) {
        throw new StoreError(where, (err as Error).message);
      }
      if (pushed === 'rejected') return { done: false };
      this.stats.pushes++;
      return { done: true, value };
    } finally {
      rmSync(work, { recursive: true, force: true });
      await this.git.exec(['update-ref', '-d', privateRef]);
    }
  }

  /**
   * Why the tip commit is not one quality-gates wrote (undefined: it is).
   * A commit from before the trailer existed (a state below schema v5, in a
   * history where no commit has a trailer yet) is accepted: the first write
   * seals it and signs the next commit.
   */
  private async tipProblem(commit: string, dbPath: string): Promise<string | undefined> {
    const version = schemaVersionOf(dbPath);
    // A newer release's state: opening it refuses it, naming both versions.
    if (version > latestVersion()) return undefined;
    const c = parseCommit(await this.run(['cat-file', 'commit', commit]));
    const trailer = parseTrailer(c.message);
    if (trailer === undefined) {
      if (version >= CHAIN_SCHEMA_VERSION) return `it has no ${STATE_TRAILER} trailer`;
      const signed = (
        await this.run(['rev-list', '-1', `--grep=^${STATE_TRAILER}: `, commit])
      ).trim();
      return signed === ''
        ? undefined
        : `it has no ${STATE_TRAILER} trailer, and commit ${signed.slice(0, 12)} before it had one`;
    }
    return trailerProblem(
      trailer,
      { parent: c.parents[0], digest: fileDigest(dbPath), chain: chainOf(dbPath) },
      this.stateKey
    );
  }

  /** The newest commit before `tip` (first parents) whose trailer holds: a state quality-gates wrote. */
  private async lastWritten(tip: string, work: string): Promise<string> {
    const list = (
      await this.run(['rev-list', '--first-parent', `--max-count=${this.restoreDepth}`, tip])
    )
      .trim()
      .split('\n')
      .filter(Boolean);
    for (const [i, commit] of list.entries()) {
      if (i === 0) continue;
      const path = join(work, `candidate-${i}.sqlite`);
      try {
        await this.extract(await this.blobOf(commit), path);
        const c = parseCommit(await this.run(['cat-file', 'commit', commit]));
        const trailer = parseTrailer(c.message);
        const digest = fileDigest(path);
        if (
          trailer &&
          trailerProblem(
            trailer,
            { parent: c.parents[0], digest, chain: chainOf(path) },
            this.stateKey
          ) === undefined
        )
          return commit;
      } catch {
        // Not a state commit either; look further back.
      } finally {
        rmSync(path, { force: true });
      }
    }
    throw new StoreError(
      this.describe(),
      `no commit within ${this.restoreDepth} before ${tip.slice(0, 12)} carries a ${STATE_TRAILER} trailer that holds; nothing to restore (reseal accepting the tip instead)`
    );
  }

  /** Fetches the state ref into `privateRef`; undefined when the remote has no such ref yet. */
  private async fetch(privateRef: string): Promise<string | undefined> {
    let r;
    try {
      r = await this.git.fetchRef(this.target, `+${this.ref}:${privateRef}`, [
        '--no-tags',
        '--quiet',
        '--no-write-fetch-head',
        '--no-auto-gc'
      ]);
    } catch (err) {
      throw new StoreError(this.describe(), (err as Error).message);
    }
    if (r.exitCode !== 0 || r.timedOut || r.spawnError) {
      if (/couldn't find remote ref/i.test(r.stderr)) return undefined;
      const line = r.spawnError ?? (r.timedOut ? 'timed out' : firstErrorLine(r.stderr));
      throw new StoreError(
        this.describe(),
        `git fetch failed: ${line ?? `exit code ${r.exitCode}`}`
      );
    }
    const sha = (await this.run(['rev-parse', '--verify', `${privateRef}^{commit}`])).trim();
    if (!isSha(sha)) throw new StoreError(this.describe(), 'the fetched state ref is not a commit');
    return sha;
  }

  /** The blob of the state file in `commit`; a commit without one is refused, never overwritten. */
  private async blobOf(commit: string): Promise<string> {
    const out = await this.run(['ls-tree', '-z', commit, '--', this.file]);
    const m = /^100644 blob ([0-9a-f]{40,64})\t/.exec(out);
    if (!m) {
      throw new StoreError(
        this.describe(),
        `commit ${commit.slice(0, 12)} has no regular file ${this.file}; this ref is not quality-gates state (left untouched)`
      );
    }
    return m[1];
  }

  /** Writes the blob's exact bytes to `path` (git's stdout straight into the file: binary-safe, no size limit). */
  private extract(blob: string, path: string): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const fd = openSync(path, 'wx', 0o600);
      const child = spawn('git', ['cat-file', 'blob', blob], {
        cwd: this.repoDir,
        env: this.git.processEnv,
        stdio: ['ignore', fd, 'pipe']
      });
      let stderr = '';
      child.stderr?.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
      const done = (err?: Error): void => {
        closeSync(fd);
        if (err) reject(err);
        else resolvePromise();
      };
      child.on('error', (e) =>
        done(new StoreError(this.describe(), `git could not be started (${e.message})`))
      );
      child.on('close', (code) => {
        if (code === 0) done();
        else
          done(
            new StoreError(
              this.describe(),
              `git cat-file failed: ${firstErrorLine(stderr) ?? `exit code ${code}`}`
            )
          );
      });
    });
  }

  private async run(args: readonly string[], input?: string): Promise<string> {
    try {
      return await this.git.run(args, input);
    } catch (err) {
      if (err instanceof GitError) throw new StoreError(this.describe(), err.message);
      throw err;
    }
  }
}

/** Runs `fn` on a read-only connection to `path`; `fallback` when it is not a readable database. */
function readOnly<T>(path: string, fn: (db: Database) => T, fallback: T): T {
  let db: Database | undefined;
  try {
    db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    return fn(db);
  } catch {
    return fallback;
  } finally {
    db?.close();
  }
}

/** The schema version of a state file, read without changing it (0 when it has none). */
function schemaVersionOf(path: string): number {
  return readOnly(
    path,
    (db) => {
      const has = db
        .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'")
        .get();
      if (!has) return 0;
      const v = db.prepare('SELECT MAX(version) FROM schema_version').pluck().get();
      return typeof v === 'number' ? v : 0;
    },
    0
  );
}

/** The chain head a state file's checkpoint names, read without changing it. */
function chainOf(path: string): string | undefined {
  return readOnly(path, (db) => chainHeadHash(db), undefined);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
