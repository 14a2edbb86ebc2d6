import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Git } from '../../packages/git/src/git.ts';
import type {
  GitRefBackend,
  GitRefBackendOptions
} from '../../packages/store/src/backends/git-ref.ts';
import { StoreError } from '../../packages/store/src/errors.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import { latestVersion } from '../../packages/store/src/migrations.ts';
import { StateStore } from '../../packages/store/src/state-store.ts';
import { auditLog, getBaseline } from '../../packages/store/src/baseline.ts';
import { parseTrailer } from '../../packages/store/src/state-trailer.ts';
import { GIT_ENV, git, makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { auditChainProblem } from '../helpers/store-audit.ts';
import {
  copyRemoteState,
  gitRefBackend,
  pushStateCommit,
  STATE_REF as REF
} from '../helpers/state-ref.ts';
import { randomValues, runChild } from '../helpers/store-spawn.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const REPO = 'acme/app';
const BRANCH = 'main';
const landing = (percent: number, repo = REPO) => ({
  repo,
  branch: BRANCH,
  percent,
  sha: 'b'.repeat(40),
  actor: 'ci',
  reason: 'landing'
});

let repo: TestRepo;
beforeEach(() => {
  repo = makeRepo();
});

function backend(extra: Partial<GitRefBackendOptions> = {}): GitRefBackend {
  return gitRefBackend(repo, extra);
}

function refSha(): string | undefined {
  try {
    return git(repo.origin, 'rev-parse', '--verify', '--quiet', REF).trim();
  } catch {
    return undefined;
  }
}

/** The state as the remote holds it: the blob of the ref's tip, opened like the store opens it. */
function remoteState(repoName = REPO) {
  const path = copyRemoteState(repo.origin, 'remote.sqlite');
  const db = openStateDatabase(path, { journal: 'delete', writable: true });
  try {
    return {
      percent: getBaseline(db, repoName, BRANCH)?.percent,
      audit: auditLog(db, repoName, BRANCH, 100_000),
      journal: db.pragma('journal_mode', { simple: true })
    };
  } finally {
    db.close();
  }
}

function history(): { sha: string; parents: string[]; subject: string }[] {
  return git(repo.origin, 'log', '--format=%H %P%x09%s', REF)
    .trim()
    .split('\n')
    .map((l) => {
      const [ids, subject] = l.split('\t');
      const [sha, ...parents] = ids.split(' ').filter(Boolean);
      return { sha, parents, subject };
    });
}

describe('git-ref backend', () => {
  it('every write replaces the tip with one root commit naming the tip it replaced; the ref never grows a history', async () => {
    const store = new StateStore(backend());
    expect(refSha()).toBeUndefined();
    expect(await store.ratchetBaseline(landing(70))).toMatchObject({ outcome: 'bootstrapped' });
    const first = refSha()!;
    expect(history()).toEqual([
      {
        sha: first,
        parents: [],
        subject:
          'coverage baseline acme/app@main: bootstrapped none -> 70.00% at bbbbbbbbbbbb by ci'
      }
    ]);
    expect(parseTrailer(git(repo.origin, 'log', '-1', '--format=%B', REF))?.prev).toBe('none');
    expect(await store.ratchetBaseline(landing(75.5))).toMatchObject({
      outcome: 'raised',
      old: 70
    });
    const h = history();
    expect(h).toEqual([
      {
        sha: refSha(),
        parents: [],
        subject: 'coverage baseline acme/app@main: raised 70.00% -> 75.50% at bbbbbbbbbbbb by ci'
      }
    ]);
    expect(parseTrailer(git(repo.origin, 'log', '-1', '--format=%B', REF))?.prev).toBe(first);
    // The audit is in the state's tables, not in the ref's history.
    const state = remoteState();
    expect(state.audit.map((a) => a.how)).toEqual(['ratchet', 'bootstrap']);
    // The blob is a self-contained database: no WAL, nothing outside the file.
    expect(state).toMatchObject({ percent: 75.5, journal: 'delete' });
    expect(git(repo.origin, 'ls-tree', '--name-only', REF).trim()).toBe('state.sqlite');
  });

  it('reads and unchanged ratchets push nothing', async () => {
    const b = backend();
    const store = new StateStore(b);
    await store.ratchetBaseline(landing(80));
    const tip = refSha();
    expect(await store.ratchetBaseline(landing(79.99))).toMatchObject({ outcome: 'unchanged' });
    expect((await store.getBaseline(REPO, BRANCH))?.percent).toBe(80);
    expect(await store.auditLog(REPO, BRANCH)).toHaveLength(1);
    expect(refSha()).toBe(tip);
    expect(b.stats).toEqual({ operations: 4, attempts: 4, retries: 0, pushes: 1 });
  });

  it('a read before any state exists answers empty and creates no ref', async () => {
    const store = new StateStore(backend());
    expect(await store.getBaseline(REPO, BRANCH)).toBeUndefined();
    expect(refSha()).toBeUndefined();
  });

  it('leaves the workspace alone: branches, index, HEAD, no leftover refs', async () => {
    const head = repo.git('rev-parse', 'HEAD').trim();
    const store = new StateStore(backend());
    await store.ratchetBaseline(landing(1));
    await store.recordGateRun({
      repo: REPO,
      branch: BRANCH,
      gate: 'coverage',
      sha: head,
      verdict: 'PASS',
      summary: 'ok'
    });
    expect(repo.git('rev-parse', 'HEAD').trim()).toBe(head);
    expect(repo.git('status', '--porcelain')).toBe('');
    expect(repo.git('for-each-ref', '--format=%(refname)')).not.toMatch(/quality-gates/);
    expect(await store.recentGateRuns(REPO)).toHaveLength(1);
  });

  it('keeps repositories apart in one state ref', async () => {
    const store = new StateStore(backend());
    await store.ratchetBaseline(landing(90, 'acme/one'));
    await store.ratchetBaseline(landing(10, 'acme/two'));
    expect((await store.getBaseline('acme/one', BRANCH))?.percent).toBe(90);
    expect((await store.getBaseline('acme/two', BRANCH))?.percent).toBe(10);
    expect(remoteState('acme/two').audit).toHaveLength(1);
  });

  it('works against a remote URL too (the state repository need not be the workspace origin)', async () => {
    const stateRepo = join(tempDir(), 'state.git');
    git(tempDir(), 'init', '-q', '--bare', stateRepo);
    const store = new StateStore(backend({ remote: stateRepo }));
    await store.ratchetBaseline(landing(33));
    expect(git(stateRepo, 'rev-parse', '--verify', REF).trim()).toMatch(/^[0-9a-f]{40}$/);
    expect(refSha()).toBeUndefined();
  });

  it('a lost race is redone on top of the winner, and counted', async () => {
    const other = new StateStore(backend());
    let raced = false;
    const b = backend({
      beforePush: async () => {
        if (raced) return;
        raced = true;
        // Another writer lands first, between our fetch and our push.
        await other.ratchetBaseline(landing(85));
      }
    });
    await new StateStore(backend()).ratchetBaseline(landing(60));
    // The redo ran on the winner's state (85): our 70 no longer raises it.
    expect(await new StateStore(b).ratchetBaseline(landing(70))).toEqual({
      outcome: 'unchanged',
      old: 85,
      new: 85
    });
    const state = remoteState();
    expect(state.percent).toBe(85);
    expect(b.stats).toMatchObject({ operations: 1, attempts: 2, retries: 1, pushes: 0 });
    expect(auditChainProblem(state.audit, state.percent)).toBeUndefined();
  });

  it('gives up after the attempt limit with a StoreError', async () => {
    const other = new StateStore(backend());
    let v = 10;
    const b = backend({
      maxAttempts: 3,
      backoff: { baseMs: 1, maxMs: 2 },
      beforePush: async () => {
        await other.ratchetBaseline(landing((v += 1)));
      }
    });
    const err = await new StateStore(b).ratchetBaseline(landing(99)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).toMatch(
      /origin refs\/quality-gates\/state: another writer won the push 3 times/
    );
    expect(b.stats.retries).toBe(2);
    expect(remoteState().percent).toBe(13);
  });

  it('refuses a ref whose commit has no state file, and leaves it alone', async () => {
    const foreign = repo.git('rev-parse', 'HEAD').trim();
    git(repo.origin, 'update-ref', REF, foreign);
    const err = await new StateStore(backend())
      .ratchetBaseline(landing(1))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).toMatch(
      /has no regular file state\.sqlite; this ref is not quality-gates state/
    );
    expect(refSha()).toBe(foreign);
  });

  it('refuses a state blob that is not a SQLite database, and leaves the ref alone', async () => {
    const commit = pushStateCommit(repo, join(repo.work, 'README.md'), ['not a db']);
    const err = await new StateStore(backend())
      .ratchetBaseline(landing(1))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).toMatch(
      /origin refs\/quality-gates\/state \([0-9a-f]{12}:state\.sqlite\): is not a SQLite database/
    );
    expect(refSha()).toBe(commit);
  });

  it('refuses state from a newer release, naming both versions, and leaves the ref alone', async () => {
    const store = new StateStore(backend());
    await store.ratchetBaseline(landing(50));
    // A newer release wrote the next schema version on the ref.
    const next = latestVersion() + 1;
    const path = copyRemoteState(repo.origin, 'future.sqlite');
    const raw = new Database(path);
    raw.prepare("INSERT INTO schema_version VALUES (?, 'future', 'x')").run(next);
    raw.close();
    const commit = pushStateCommit(repo, path, ['future'], refSha()!);
    const err = await store.ratchetBaseline(landing(60)).catch((e: unknown) => e);
    expect((err as StoreError).message).toMatch(
      new RegExp(
        `schema version ${next}, but this quality-gates release knows versions up to ${latestVersion()}`
      )
    );
    expect(refSha()).toBe(commit);
    const readErr = await store.getBaseline(REPO, BRANCH).catch((e: unknown) => e);
    expect(readErr).toBeInstanceOf(StoreError);
  });

  it('an unreachable remote is a StoreError naming remote and ref', async () => {
    const missing = join(tempDir(), 'nope.git');
    const err = await new StateStore(backend({ remote: missing }))
      .getBaseline(REPO, BRANCH)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).toContain(`${missing} ${REF}: git fetch failed`);
  });

  it('refuses branch refs, invalid refs, option-like remotes and odd file names up front', () => {
    expect(() => backend({ ref: 'refs/heads/main' })).toThrow(
      /refused to replace refs\/heads\/main: a branch or tag is never force-pushed/
    );
    expect(() => backend({ ref: 'refs/heads/qg-state' })).toThrow(StoreError);
    expect(() => backend({ ref: 'refs/tags/qg-state' })).toThrow(/never force-pushed/);
    expect(() => backend({ ref: 'quality-gates/state' })).toThrow(/invalid ref name/);
    expect(() => backend({ ref: 'refs/a..b' })).toThrow(/invalid ref name/);
    expect(() => backend({ remote: '--upload-pack=evil' })).toThrow(/remote name or URL/);
    expect(() => backend({ file: '../x' })).toThrow(/not a plain file name/);
  });
});

describe('Git.pushRef', () => {
  it('pushes without force and reports a lost race as rejected', async () => {
    const g = new Git(repo.work, { env: { ...process.env, ...GIT_ENV } });
    const first = repo.git('rev-parse', 'HEAD').trim();
    expect(await g.pushRef('origin', first, 'refs/quality-gates/x')).toBe('pushed');
    const second = repo.commit('a.txt', 'a');
    expect(await g.pushRef('origin', second, 'refs/quality-gates/x')).toBe('pushed');
    // Not a descendant of the remote tip: refused, never forced.
    expect(await g.pushRef('origin', first, 'refs/quality-gates/x')).toBe('rejected');
    expect(git(repo.origin, 'rev-parse', 'refs/quality-gates/x').trim()).toBe(second);
  });

  it('refuses protected branches, force, deletion and bad input without running git', async () => {
    const g = new Git(repo.work);
    const sha = repo.git('rev-parse', 'HEAD').trim();
    await expect(g.pushRef('origin', sha, 'refs/heads/main')).rejects.toThrow(/protected branch/);
    await expect(g.pushRef('origin', sha, '+refs/quality-gates/x')).rejects.toThrow(
      /invalid ref name/
    );
    await expect(g.pushRef('origin', '', 'refs/quality-gates/x')).rejects.toThrow(
      /not a commit sha/
    );
    await expect(g.pushRef('origin', `+${sha}`, 'refs/quality-gates/x')).rejects.toThrow(
      /not a commit sha/
    );
    await expect(g.pushRef('-x', sha, 'refs/quality-gates/x')).rejects.toThrow(/invalid remote/);
    await expect(g.pushRef('origin', sha, 'main')).rejects.toThrow(/invalid ref name/);
  });
});

describe('Git.replaceRef', () => {
  it('replaces a state ref whatever its history while the remote still has the expected sha, else rejected', async () => {
    const g = new Git(repo.work, { env: { ...process.env, ...GIT_ENV } });
    const first = repo.git('rev-parse', 'HEAD').trim();
    const second = repo.commit('a.txt', 'a');
    const x = 'refs/quality-gates/x';
    // Absent expected (null): only while the ref does not exist.
    expect(await g.replaceRef('origin', first, x, null)).toBe('pushed');
    expect(await g.replaceRef('origin', second, x, null)).toBe('rejected');
    // Not a fast-forward (back to an ancestor), with the right lease: replaced.
    expect(await g.replaceRef('origin', second, x, first)).toBe('pushed');
    expect(await g.replaceRef('origin', first, x, second)).toBe('pushed');
    expect(git(repo.origin, 'rev-parse', x).trim()).toBe(first);
    // A stale lease: refused, the ref stays.
    expect(await g.replaceRef('origin', second, x, second)).toBe('rejected');
    expect(git(repo.origin, 'rev-parse', x).trim()).toBe(first);
  });

  it('refuses every branch and tag (protected or not), a lease without a sha, force and deletion, without running git', async () => {
    const g = new Git(repo.work, { protectedBranches: [] });
    const sha = repo.git('rev-parse', 'HEAD').trim();
    const main = git(repo.origin, 'rev-parse', 'refs/heads/main').trim();
    for (const ref of ['refs/heads/main', 'refs/heads/feature/x', 'refs/tags/v1'])
      await expect(g.replaceRef('origin', sha, ref, main)).rejects.toThrow(/never force-pushed/);
    await expect(g.replaceRef('origin', sha, 'refs/quality-gates/x', 'HEAD')).rejects.toThrow(
      /is not a commit sha/
    );
    await expect(g.replaceRef('origin', sha, '+refs/quality-gates/x', null)).rejects.toThrow(
      /invalid ref name/
    );
    await expect(g.replaceRef('origin', '', 'refs/quality-gates/x', null)).rejects.toThrow(
      /not a commit sha/
    );
    await expect(g.replaceRef('-x', sha, 'refs/quality-gates/x', null)).rejects.toThrow(
      /invalid remote/
    );
    expect(git(repo.origin, 'rev-parse', 'refs/heads/main').trim()).toBe(main);
    expect(git(repo.origin, 'for-each-ref', '--format=%(refname)', 'refs/quality-gates')).toBe('');
  });
});

describe('git-ref backend under concurrency and crashes', () => {
  it('12 processes (half sharing one workspace) ratcheting random values end at the true maximum', async () => {
    const N = 12;
    const shared = repo.work;
    const startAt = Date.now() + 1500;
    const values = Array.from({ length: N }, (_, i) => randomValues(3, 7000 + i));
    const results = await Promise.all(
      values.map((v, i) => {
        let repoDir = shared;
        if (i % 2 === 1) {
          repoDir = join(tempDir(), 'ws');
          git(tempDir(), 'init', '-q', repoDir);
        }
        return runChild({
          op: 'ratchet',
          backend: { kind: 'git-ref', repoDir, remote: repo.origin },
          repo: REPO,
          branch: BRANCH,
          values: v,
          startAt
        });
      })
    );
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.lines.at(-1)).toMatchObject({ type: 'done' });
    }
    const state = remoteState();
    expect(state.percent).toBe(Math.max(...values.flat()));
    expect(auditChainProblem(state.audit, state.percent)).toBeUndefined();
    // Every raise is in the audit table; the ref holds one root commit.
    expect(state.audit.length).toBeGreaterThan(1);
    expect(history()).toEqual([expect.objectContaining({ parents: [] })]);
    const retries = results.reduce((n, r) => {
      const done = r.lines.at(-1);
      return n + (done?.type === 'done' ? (done.stats as { retries: number }).retries : 0);
    }, 0);
    // All 12 started together against an absent ref: most lost at least the first race.
    expect(retries).toBeGreaterThan(0);
  });

  it.each([
    ['after the commit exists, before the push', 'kill-before-push'],
    ['inside the transaction on the private copy', 'kill-in-fn']
  ] as const)(
    'a process killed %s leaves the remote ref unchanged and valid',
    async (_what, op) => {
      await new StateStore(backend()).ratchetBaseline(landing(50));
      const tip = refSha();
      const r = await runChild({
        op,
        // A killed process cannot remove its private copy: keep it where the suite cleans up.
        backend: { kind: 'git-ref', repoDir: repo.work, remote: 'origin', tmpDir: tempDir() },
        repo: REPO,
        branch: BRANCH,
        values: [90]
      });
      expect(r.signal).toBe('SIGKILL');
      expect(r.lines).toHaveLength(1);
      expect(r.lines[0].type).toBe('marker');
      expect(refSha()).toBe(tip);
      expect(remoteState().percent).toBe(50);
      // The next writer is not disturbed by what the dead one left behind.
      expect(await new StateStore(backend()).ratchetBaseline(landing(60))).toMatchObject({
        outcome: 'raised',
        old: 50
      });
    }
  );
});
