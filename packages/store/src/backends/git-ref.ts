// The `git-ref` backend: the state database is one blob (state.sqlite) in a
// commit on a ref of a git remote (refs/quality-gates/state by default), so
// jobs on different hosts share it with nothing but git.
//
// One operation: fetch the tip of the ref alone (--depth=1) into a private
// bare repository in a temporary directory of its own, edit a private copy
// of the file, write the new state as a root commit and push it with
// --force-with-lease=<ref>:<the tip it replaces>. The remote checks the old
// value in the same atomic ref update, so the push is the compare-and-set:
// another writer's push in between makes ours fail as a lost race, and the
// whole operation is redone on the new state, a bounded number of times.
// Because every state commit is a root commit, the ref always holds exactly
// one commit: the first operation of a fresh clone fetches one commit, one
// tree and one blob whatever the ref has seen, and nothing accumulates on
// the remote or in the workspace. The audit is in the state's own tables
// (bounded by retention.ts), not in the ref's history.
//
// Every state commit carries a trailer (state-trailer.ts) naming the SHA-256
// of its state file, the hash of the newest state-chain row and the tip it
// replaced, signed with the state-key when there is one. A tip commit
// without a trailer that holds (a state pushed by anything but quality-gates)
// is refused for every operation, read or write, with a StoreError of code
// 'tampered': never used, never built upon silently. A maintainer's reseal
// (state-tool.ts) may accept it, or restore the state of the newest commit
// quality-gates wrote before it; a reseal commit keeps the refused tip as its
// parent, as evidence, until the next write replaces both.
//
// The private repository and the copy live in one temporary directory
// (git-ref-work.ts), removed when the operation ends; one left by a killed
// process is removed by the next operation's sweep. The workspace's
// repository is only read: its remote URLs when there is no GitCredential,
// its config (for redirections) when there is one. (The one write: the work
// refs an earlier release fetched into it and a killed process left there
// are removed by a backend's first operation.)
//
// The workspace may have run the code under test before a state operation
// (the merge gate's re-test, the coverage command), so nothing here trusts
// its git config: every git process is hardened (no hooks, fsmonitor,
// helpers, filters), and with a GitCredential the fetch and the push go to
// the URL pinned before the user command ran, with the gate's credential in
// their environment, never the checkout's persisted one, after checking that
// the workspace's config does not now redirect that URL.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { oneLine } from '../../../core/src/verdict.ts';
import { isRemoteName, type GitCredential } from '../../../git/src/credentials.ts';
import {
  Git,
  GitError,
  assertReplaceableRef,
  firstErrorLine,
  isSha
} from '../../../git/src/git.ts';
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
  DEFAULT_RETENTION,
  pruneAfterWrite,
  type PruneCounts,
  type RetentionPolicy
} from '../retention.ts';
import {
  CHAIN_SCHEMA_VERSION,
  chainHeadHash,
  verifyState,
  type IntegrityReport
} from '../state-chain.ts';
import { stateContext } from '../state-context.ts';
import {
  STATE_TRAILER,
  bytesDigest,
  parseCommit,
  parseTrailer,
  stateTrailer,
  trailerProblem
} from '../state-trailer.ts';
import {
  commitBody,
  objectId,
  oneFileTree,
  parseTree,
  readLoose,
  writeLoose,
  type ObjectFormat
} from './git-objects.ts';
import {
  DEFAULT_STALE_AFTER_MS,
  TIP_REF,
  makePrivateRepo,
  makeWorkDir,
  processAlive,
  readLooseRef,
  sweepWorkDirs
} from './git-ref-work.ts';

export const DEFAULT_STATE_REF = 'refs/quality-gates/state';
export const DEFAULT_STATE_FILE = 'state.sqlite';
export const DEFAULT_MAX_ATTEMPTS = 20;

export interface GitRefBackendOptions {
  /**
   * The workspace: a local git repository whose remotes name `remote`
   * (without a credential, its URLs are read here) and whose config is
   * checked for redirections (with one). Nothing is written to it.
   */
  repoDir: string;
  /** Remote name or URL of the repository that holds the state ref. */
  remote: string;
  /**
   * The URL to fetch from and push to instead of `remote`'s configured one:
   * pinned before any user command ran (GitCredential.urlFor). Default: with
   * a credential, its pin for `remote`; without, `remote` as git resolves it
   * in the workspace.
   */
  remoteUrl?: string;
  /**
   * The gate's git credential (GitCredential.setup): its environment for the
   * fetch and the push, its pinned URLs, its masking. Without it, git uses
   * whatever credential the environment and the global config provide.
   */
  credential?: GitCredential;
  /** Default refs/quality-gates/state. Refused under refs/heads/ and refs/tags/. */
  ref?: string;
  /** Default state.sqlite. */
  file?: string;
  /** Attempts per operation before giving up with a StoreError. Default 20. */
  maxAttempts?: number;
  /** Backoff after a lost race: full jitter over min(maxMs, baseMs * 2^(n-1)). Default 50 / 4000 ms. */
  backoff?: { baseMs: number; maxMs: number };
  /** Committer of state commits. Default quality-gates <quality-gates@users.noreply.invalid>. */
  identity?: { name: string; email: string };
  /** Where the per-operation work directories are made (and stale ones swept). Default os.tmpdir(). */
  tmpDir?: string;
  /** A work directory older than this is removed by the next operation's sweep, whoever made it. Default 6 h. */
  staleAfterMs?: number;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  random?: () => number;
  /**
   * Runs after the new commit exists and before it is pushed. A seam for
   * tests (a process killed here must leave the remote untouched) and for
   * diagnostics; it must not touch the state.
   */
  beforePush?: (commit: string) => void | Promise<void>;
  /**
   * Runs after the fetch with the private repository (GIT_DIR) and the tip
   * fetched (undefined: no state yet). A seam for tests and diagnostics
   * (what did the fetch bring); it must not change anything.
   */
  afterFetch?: (gitDir: string, tip: string | undefined) => void | Promise<void>;
  /** The state-key input: state commits and the state chain are signed with it. */
  stateKey?: string;
  /** How many commits a restore looks back for the newest one quality-gates wrote. Default 1000. */
  restoreDepth?: number;
  /** How the history tables are bounded (retention.ts). Default: 90 days and the default row caps. */
  retention?: RetentionPolicy;
}

type Attempt<T> = { done: true; value: T } | { done: false };

/** One operation's private repository and the git that runs in it. */
interface Workspace {
  work: string;
  gitDir: string;
  git: Git;
}

/** A commit of the private repository, read: its parents, message, and the state file's blob. */
interface StateCommit {
  sha: string;
  parents: string[];
  message: string;
  blob: string;
}

/** Repository-location variables a caller's environment may carry; the private git sets GIT_DIR alone. */
const LOCATION_VARS = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_CEILING_DIRECTORIES',
  'GIT_DISCOVERY_ACROSS_FILESYSTEM'
];

export class GitRefBackend implements StateBackend {
  readonly name = 'git-ref';
  readonly atomic = true;
  readonly stats: BackendStats = emptyStats();
  /** State changed outside quality-gates, found when an operation opened the state (also in tamper). */
  readonly warnings: string[] = [];
  readonly tamper: string[] = [];
  integrity: IntegrityReport | undefined;
  /** What retention removed in the newest write that pruned anything. */
  lastPruned: PruneCounts | undefined;
  readonly remote: string;
  readonly ref: string;
  readonly file: string;
  /** The workspace's git: URL resolution and the redirection check; writes nothing but the removal of an earlier release's leftover work refs. */
  private readonly git: Git;
  private readonly hasCredential: boolean;
  private readonly repoDir: string;
  /** What fetch and push name: the pinned URL, else the remote. */
  private readonly target: string;
  private readonly maxAttempts: number;
  private readonly backoff: { baseMs: number; maxMs: number };
  private readonly tmpDir: string;
  private readonly staleAfterMs: number;
  private readonly identity: string;
  private readonly now?: () => Date;
  private readonly random: () => number;
  private readonly beforePush?: (commit: string) => void | Promise<void>;
  private readonly afterFetch?: (gitDir: string, tip: string | undefined) => void | Promise<void>;
  private readonly stateKey?: string;
  private readonly restoreDepth: number;
  private readonly retention: RetentionPolicy;
  /** The remote's object format, learnt from the first fetch that says otherwise. */
  private format: ObjectFormat = 'sha1';
  /** Without a credential: the remote name's URLs, read from the workspace once. */
  private resolved: Partial<Record<'fetch' | 'push', string>> = {};
  /** The workspace was checked for an earlier release's work refs. */
  private legacySwept = false;

  constructor(opts: GitRefBackendOptions) {
    this.repoDir = opts.repoDir;
    this.remote = opts.remote;
    this.ref = opts.ref ?? DEFAULT_STATE_REF;
    this.file = opts.file ?? DEFAULT_STATE_FILE;
    const where = `${this.remote} ${this.ref}`;
    if (this.remote === '' || this.remote.startsWith('-'))
      throw new StoreError(where, 'the remote must be a remote name or URL');
    try {
      assertReplaceableRef(this.ref);
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
    const clean = (s: string): string => s.replace(/[<>\r\n]/g, '').trim();
    this.identity = `${clean(id.name) || 'quality-gates'} <${clean(id.email)}>`;
    if (opts.remoteUrl !== undefined && (opts.remoteUrl === '' || opts.remoteUrl.startsWith('-')))
      throw new StoreError(where, 'the pinned remote URL must be a URL or path');
    this.target = opts.remoteUrl ?? this.remote;
    const env = {
      ...(opts.env ?? process.env),
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
    this.staleAfterMs = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    this.now = opts.now;
    this.random = opts.random ?? Math.random;
    this.beforePush = opts.beforePush;
    this.afterFetch = opts.afterFetch;
    this.stateKey = opts.stateKey || undefined;
    this.restoreDepth = Math.max(1, opts.restoreDepth ?? 1000);
    this.retention = opts.retention ?? DEFAULT_RETENTION;
    this.hasCredential = opts.credential !== undefined;
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
    // What a killed operation left behind goes before this one adds its own.
    sweepWorkDirs(this.tmpDir, this.staleAfterMs);
    await this.sweepLegacyWorkRefs();
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
    let work: string;
    try {
      work = makeWorkDir(this.tmpDir);
    } catch (err) {
      throw asStoreError(where, err);
    }
    try {
      const ws = await this.fetchTip(work);
      const base = ws.tip;
      const dbPath = join(work, this.file);
      let baseBlob: string | undefined;
      let foreign: { commit: string; why: string } | undefined;
      let source = base;
      if (base !== undefined) {
        const tip = await this.readCommit(ws, base);
        baseBlob = tip.blob;
        const bytes = await this.readBlob(ws, tip.blob);
        writeFileSync(dbPath, bytes, { mode: 0o600, flag: 'wx' });
        const why = await this.tipProblem(ws, tip, bytes, dbPath);
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
            const last = await this.lastWritten(ws, base);
            source = last.sha;
            rmSync(dbPath, { force: true });
            writeFileSync(dbPath, last.bytes, { mode: 0o600, flag: 'wx' });
            foreign.why = `${why}; restored the state of commit ${source}`;
          }
        }
      }
      const db = openStateDatabase(dbPath, {
        journal: 'delete',
        writable: true,
        // A private copy read back after close: fsync buys nothing.
        durable: false,
        location: source === undefined ? where : `${where} (${source.slice(0, 12)}:${this.file})`,
        now: this.now,
        stateKey: this.stateKey
      });
      let value: T;
      let chain: string | undefined;
      try {
        if (foreign) stateContext(db).foreign = foreign;
        const report = verifyState(db);
        noteIntegrity(this, report, where);
        value = fn(db);
        if (mode === 'write')
          pruneAfterWrite(this, db, this.retention, report.ok, this.now?.() ?? new Date());
        chain = chainHeadHash(db);
      } catch (err) {
        throw asStoreError(where, err);
      } finally {
        db.close();
      }
      if (mode === 'read') return { done: true, value };
      const bytes = readFileSync(dbPath);
      const blob = objectId(this.format, 'blob', bytes);
      // Nothing changed (a ratchet that did not raise): nothing to publish.
      if (blob === baseBlob && foreign === undefined) return { done: true, value };
      const commit = this.writeCommit(ws, bytes, {
        message: oneLine(opts.message?.(value) || 'quality-gates state update', 200),
        trailer: stateTrailer(
          { prev: base ?? null, digest: bytesDigest(bytes), chain },
          this.stateKey
        ),
        // A reseal keeps the refused tip as its parent: the evidence, until the next write.
        parents: foreign ? [foreign.commit] : []
      });
      await this.beforePush?.(commit);
      let pushed: 'pushed' | 'rejected';
      try {
        pushed = await ws.git.replaceRef(await this.url('push'), commit, this.ref, base ?? null);
      } catch (err) {
        throw new StoreError(where, this.git.mask((err as Error).message));
      }
      if (pushed === 'rejected') return { done: false };
      this.stats.pushes++;
      return { done: true, value };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  /**
   * Once per backend: the work refs an earlier release fetched into the
   * workspace (refs/quality-gates-work/<pid>-<uuid>) and left there when its
   * process was killed, removed unless their process still runs. Found by a
   * look at the files first, so a workspace without them costs no process.
   */
  private async sweepLegacyWorkRefs(): Promise<void> {
    if (this.legacySwept) return;
    this.legacySwept = true;
    const dotGit = join(this.repoDir, '.git');
    let found = existsSync(join(dotGit, 'refs', 'quality-gates-work'));
    if (!found) {
      try {
        found = readFileSync(join(dotGit, 'packed-refs'), 'utf8').includes(
          ' refs/quality-gates-work/'
        );
      } catch {
        return;
      }
    }
    if (!found) return;
    const listed = await this.git.exec([
      'for-each-ref',
      '--format=%(refname)',
      'refs/quality-gates-work/'
    ]);
    for (const ref of listed.stdout.split('\n').filter(Boolean)) {
      const pid = Number(/^refs\/quality-gates-work\/(\d+)-/.exec(ref)?.[1] ?? 0);
      if (pid > 0 && processAlive(pid)) continue;
      await this.git.exec(['update-ref', '-d', ref]);
    }
  }

  /**
   * The URL the fetch or push names: with a credential, its pin, checked
   * against the workspace's config now (a redirection is refused); without,
   * a URL as given, or the remote name's URL as the workspace's config says.
   */
  private async url(direction: 'fetch' | 'push'): Promise<string> {
    if (this.hasCredential) {
      try {
        return absoluteUrl(await this.git.remoteArg(this.target, direction), this.repoDir);
      } catch (err) {
        throw new StoreError(this.describe(), (err as Error).message);
      }
    }
    if (!isRemoteName(this.target)) return absoluteUrl(this.target, this.repoDir);
    let url = this.resolved[direction];
    if (url === undefined) {
      const args =
        direction === 'fetch'
          ? ['ls-remote', '--get-url', this.target]
          : ['remote', 'get-url', '--push', this.target];
      url = absoluteUrl((await this.run(this.git, args)).split('\n')[0].trim(), this.repoDir);
      if (url === '' || url.startsWith('-'))
        throw new StoreError(this.describe(), `remote ${this.target} has no usable URL`);
      this.resolved[direction] = url;
    }
    return url;
  }

  /** A private repository in `work`, with the ref's tip fetched into it (alone: depth 1). */
  private async fetchTip(work: string): Promise<Workspace & { tip?: string }> {
    const url = await this.url('fetch');
    for (let tries = 1; ; tries++) {
      const ws = this.privateRepo(work);
      const r = await this.fetchInto(ws, url, ['--depth=1']);
      if (r.tip !== false) {
        await this.afterFetch?.(ws.gitDir, r.tip);
        return { ...ws, tip: r.tip };
      }
      if (tries > 1)
        throw new StoreError(this.describe(), 'git fetch failed: the object formats do not match');
      // The remote uses the other object format: learnt once per backend.
      this.format = this.format === 'sha1' ? 'sha256' : 'sha1';
    }
  }

  private privateRepo(work: string): Workspace {
    const gitDir = makePrivateRepo(work, this.format);
    const env = this.git.processEnv;
    for (const v of LOCATION_VARS) delete env[v];
    env.GIT_DIR = gitDir;
    // No credential of its own: the workspace git's environment already carries it.
    return {
      work,
      gitDir,
      git: new Git(work, { env, protectedBranches: ['**'], timeoutMs: 120_000 })
    };
  }

  /**
   * Fetches the state ref into TIP_REF of the private repository. The tip,
   * undefined when the remote has no such ref, false when the remote's object
   * format is not this repository's.
   */
  private async fetchInto(
    ws: Workspace,
    url: string,
    depth: readonly string[]
  ): Promise<{ tip: string | undefined | false }> {
    const r = await ws.git.exec([
      'fetch',
      '--no-tags',
      '--quiet',
      '--no-write-fetch-head',
      '--no-auto-gc',
      ...depth,
      url,
      `+${this.ref}:${TIP_REF}`
    ]);
    if (r.exitCode !== 0 || r.timedOut || r.spawnError) {
      if (/couldn't find remote ref/i.test(r.stderr)) return { tip: undefined };
      const other = /mismatched algorithms: client (sha1|sha256); server (sha1|sha256)/.exec(
        r.stderr
      );
      if (other && other[1] === this.format && other[2] !== this.format && depth[0] === '--depth=1')
        return { tip: false };
      const line = r.spawnError ?? (r.timedOut ? 'timed out' : firstErrorLine(r.stderr));
      throw new StoreError(
        this.describe(),
        this.git.mask(`git fetch failed: ${line ?? `exit code ${r.exitCode}`}`)
      );
    }
    const sha =
      readLooseRef(ws.gitDir, TIP_REF) ??
      (await this.run(ws.git, ['rev-parse', '--verify', `${TIP_REF}^{commit}`])).trim();
    if (!isSha(sha)) throw new StoreError(this.describe(), 'the fetched state ref is not a commit');
    return { tip: sha };
  }

  /** A commit of the private repository and the blob of its state file (refused when it has none). */
  private async readCommit(ws: Workspace, sha: string): Promise<StateCommit> {
    const raw = await this.object(ws, sha, 'commit');
    const text = raw.toString('utf8');
    const { parents, message } = parseCommit(text);
    const tree = /^tree ([0-9a-f]+)$/m.exec(text.slice(0, text.indexOf('\n\n')))?.[1];
    const entry = tree
      ? parseTree(await this.object(ws, tree, 'tree'), this.format).find(
          (e) => e.name === this.file
        )
      : undefined;
    if (!entry || entry.mode !== '100644') {
      throw new StoreError(
        this.describe(),
        `commit ${sha.slice(0, 12)} has no regular file ${this.file}; this ref is not quality-gates state (left untouched)`
      );
    }
    return { sha, parents, message, blob: entry.id };
  }

  private readBlob(ws: Workspace, blob: string): Promise<Buffer> {
    return this.object(ws, blob, 'blob');
  }

  /**
   * An object's body: a loose object read directly (the depth-1 fetch leaves
   * them loose), else from git (a deeper fetch kept as a pack).
   */
  private async object(
    ws: Workspace,
    id: string,
    type: 'commit' | 'tree' | 'blob'
  ): Promise<Buffer> {
    let loose;
    try {
      loose = readLoose(ws.gitDir, this.format, id);
    } catch (err) {
      throw new StoreError(this.describe(), (err as Error).message);
    }
    if (loose) {
      if (loose.type !== type)
        throw new StoreError(this.describe(), `git object ${id} is a ${loose.type}, not a ${type}`);
      return loose.body;
    }
    const path = join(ws.work, `object-${id}`);
    try {
      await this.catFile(ws, type, id, path);
      return readFileSync(path);
    } finally {
      rmSync(path, { force: true });
    }
  }

  /** Writes the new state commit (blob, tree, commit) into the private repository; its sha. */
  private writeCommit(
    ws: Workspace,
    bytes: Buffer,
    c: { message: string; trailer: string; parents: string[] }
  ): string {
    const blob = writeLoose(ws.gitDir, this.format, 'blob', bytes);
    const tree = writeLoose(ws.gitDir, this.format, 'tree', oneFileTree(this.file, blob));
    return writeLoose(
      ws.gitDir,
      this.format,
      'commit',
      commitBody({
        tree,
        parents: c.parents,
        author: this.identity,
        committer: this.identity,
        time: Math.floor(Date.now() / 1000),
        paragraphs: [c.message, c.trailer]
      })
    );
  }

  /**
   * Why the tip commit is not one quality-gates wrote (undefined: it is).
   * A commit from before the trailer existed (a state below schema v5, in a
   * history where no commit has a trailer yet) is accepted: the first write
   * seals it and signs the next commit.
   */
  private async tipProblem(
    ws: Workspace & { tip?: string },
    c: StateCommit,
    bytes: Buffer,
    dbPath: string
  ): Promise<string | undefined> {
    const { version, chain } = stateFacts(dbPath);
    // A newer release's state: opening it refuses it, naming both versions.
    if (version > latestVersion()) return undefined;
    const trailer = parseTrailer(c.message);
    if (trailer === undefined) {
      if (version >= CHAIN_SCHEMA_VERSION) return `it has no ${STATE_TRAILER} trailer`;
      if (c.parents.length === 0) return undefined;
      // The history behind a trailer-less tip: fetched only here (a rare, old state).
      await this.deepen(ws, ['--unshallow']);
      const signed = (
        await this.run(ws.git, ['rev-list', '-1', `--grep=^${STATE_TRAILER}: `, c.sha])
      ).trim();
      return signed === ''
        ? undefined
        : `it has no ${STATE_TRAILER} trailer, and commit ${signed.slice(0, 12)} before it had one`;
    }
    return trailerProblem(
      trailer,
      { parent: c.parents[0], digest: bytesDigest(bytes), chain },
      this.stateKey
    );
  }

  /** The ref fetched again, deeper (a restore, or the history of an old state). */
  private async deepen(ws: Workspace, depth: readonly string[]): Promise<void> {
    if (!existsSync(join(ws.gitDir, 'shallow'))) return;
    const r = await this.fetchInto(ws, await this.url('fetch'), depth);
    if (r.tip === false)
      throw new StoreError(this.describe(), 'the remote changed its object format');
  }

  /** The newest commit before `tip` (first parents) whose trailer holds: a state quality-gates wrote. */
  private async lastWritten(ws: Workspace, tip: string): Promise<{ sha: string; bytes: Buffer }> {
    await this.deepen(ws, [`--depth=${this.restoreDepth}`]);
    const list = (
      await this.run(ws.git, [
        'rev-list',
        '--first-parent',
        `--max-count=${this.restoreDepth}`,
        tip
      ])
    )
      .trim()
      .split('\n')
      .filter(Boolean);
    for (const [i, commit] of list.entries()) {
      if (i === 0) continue;
      const path = join(ws.work, `candidate-${i}.sqlite`);
      try {
        const c = await this.readCommit(ws, commit);
        const bytes = await this.readBlob(ws, c.blob);
        writeFileSync(path, bytes, { mode: 0o600 });
        const trailer = parseTrailer(c.message);
        if (
          trailer &&
          trailerProblem(
            trailer,
            { parent: c.parents[0], digest: bytesDigest(bytes), chain: stateFacts(path).chain },
            this.stateKey
          ) === undefined
        )
          return { sha: commit, bytes };
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

  /** Writes an object's exact bytes to `path` (git's stdout straight into the file: binary-safe, no size limit). */
  private catFile(ws: Workspace, type: string, id: string, path: string): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const fd = openSync(path, 'wx', 0o600);
      const child = spawn('git', ['cat-file', type, id], {
        cwd: ws.work,
        env: ws.git.processEnv,
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

  private async run(git: Git, args: readonly string[], input?: string): Promise<string> {
    try {
      return await git.run(args, input);
    } catch (err) {
      if (err instanceof GitError)
        throw new StoreError(this.describe(), this.git.mask(err.message));
      throw err;
    }
  }
}

/**
 * A relative local path (a remote configured as ../origin.git) made
 * absolute against the workspace: git in the private repository would
 * resolve it against another directory.
 */
function absoluteUrl(url: string, base: string): string {
  if (url === '' || isAbsolute(url) || url.includes('://') || /^[^/]*:/.test(url)) return url;
  return resolve(base, url);
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

/**
 * A state file's schema version (0 when it has none) and the chain head its
 * checkpoint names, read without changing it.
 */
function stateFacts(path: string): { version: number; chain?: string } {
  return readOnly<{ version: number; chain?: string }>(
    path,
    (db) => {
      const has = db
        .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'")
        .get();
      const v = has ? db.prepare('SELECT MAX(version) FROM schema_version').pluck().get() : 0;
      return { version: typeof v === 'number' ? v : 0, chain: chainHeadHash(db) };
    },
    { version: 0 }
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
