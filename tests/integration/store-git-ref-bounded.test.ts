// The git-ref state does not grow with its history: hundreds of gate cycles
// leave one commit on the ref and bounded tables, the first operation of a
// fresh clone fetches that one commit (also from a ref an earlier release
// filled with history), a SIGKILLed operation's work directory is removed by
// the next operation and nothing lands in the workspace, and the trailer of
// a root commit still binds it to the state it replaced.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  owner,
  sweepWorkDirs,
  WORK_PREFIX
} from '../../packages/store/src/backends/git-ref-work.ts';
import type {
  GitRefBackend,
  GitRefBackendOptions
} from '../../packages/store/src/backends/git-ref.ts';
import { canonicalJson } from '../../packages/store/src/chained-rows.ts';
import { isTampered } from '../../packages/store/src/errors.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import type { RowCaps } from '../../packages/store/src/retention.ts';
import { chainHeadHash, verifyState } from '../../packages/store/src/state-chain.ts';
import { StateStore } from '../../packages/store/src/state-store.ts';
import { fileDigest, parseTrailer } from '../../packages/store/src/state-trailer.ts';
import { BENCH_REPO, gateCycle } from '../../scripts/gate-cycle.ts';
import { GIT_ENV, git, makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { copyRemoteState, gitRefBackend, STATE_REF as REF } from '../helpers/state-ref.ts';
import { tableCounts, within, type TableCounts } from '../helpers/retention.ts';
import { runChild } from '../helpers/store-spawn.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const KEY = 'a-state-key-of-32-characters-000';
const CAPS: Partial<RowCaps> = {
  gateRuns: 40,
  leaseEvents: 30,
  measurements: 6,
  baselineAudit: 10,
  greenTests: 10,
  gateFailures: 30,
  chainRows: 40
};
const BASELINE = { repo: 'acme/app', branch: 'main', sha: 'b'.repeat(40), actor: 'ci' };
const landing = (percent: number) => ({ ...BASELINE, percent, reason: 'landing' });

let repo: TestRepo;
let backend: (extra?: Partial<GitRefBackendOptions>) => GitRefBackend;
beforeEach(() => {
  const r = makeRepo();
  repo = r;
  backend = (extra = {}) => gitRefBackend(r, extra);
});

function commitsOnRef(): number {
  return Number(git(repo.origin, 'rev-list', '--count', REF).trim());
}

/** git in the backend's private repository (GIT_DIR), from an afterFetch hook. */
function inPrivate(gitDir: string, ...args: string[]): string {
  return execFileSync('git', args, { env: { ...process.env, GIT_DIR: gitDir }, encoding: 'utf8' });
}

/** The backend of a runner's fresh clone of the origin, and what its fetches brought. */
function freshClone(extra: Partial<GitRefBackendOptions>): {
  backend: GitRefBackend;
  seen: { commits: number; objects: number }[];
} {
  const clone = join(tempDir(), 'clone');
  git(tempDir(), 'clone', '-q', repo.origin, clone);
  const probe = fetchProbe();
  return {
    backend: gitRefBackend({ ...repo, work: clone }, { ...extra, afterFetch: probe.afterFetch }),
    seen: probe.seen
  };
}

/** What the first fetch of a backend brought: commits and objects in its private repository. */
function fetchProbe(): {
  seen: { commits: number; objects: number }[];
  afterFetch: GitRefBackendOptions['afterFetch'];
} {
  const seen: { commits: number; objects: number }[] = [];
  return {
    seen,
    afterFetch: (gitDir, tip) => {
      if (tip === undefined) return;
      seen.push({
        commits: Number(inPrivate(gitDir, 'rev-list', '--count', '--all').trim()),
        objects: inPrivate(gitDir, 'cat-file', '--batch-all-objects', '--batch-check')
          .trim()
          .split('\n').length
      });
    }
  };
}

function rows(path: string): TableCounts {
  const db = new Database(path, { readonly: true });
  try {
    return tableCounts(db);
  } finally {
    db.close();
  }
}

/** The workspace's own repository: refs and loose objects, to show the backend wrote nothing there. */
function workspaceFacts(): { refs: string; objects: string } {
  return {
    refs: repo.git('for-each-ref', '--format=%(refname) %(objectname)'),
    objects: repo.git('count-objects')
  };
}

describe('a git-ref state that does not grow with its history', () => {
  it('300 gate cycles: one commit on the ref, bounded tables, a verifying signed chain; a fresh clone fetches one commit', async () => {
    const before = workspaceFacts();
    const b = backend({ stateKey: KEY, retention: { days: 0, rows: CAPS } });
    // Five cycles' writes per git-ref operation (60 operations): the state is the same, the test shorter.
    for (let i = 0; i < 300; i += 5) {
      await b.withDb(
        'write',
        (db) => {
          for (let k = i; k < i + 5; k++) for (const w of gateCycle(k, 3).writes) w(db);
        },
        { message: () => `cycles ${i}-${i + 4}` }
      );
      if (i % 50 === 0) {
        await b.withDb('read', gateCycle(i, 3).read);
        expect(commitsOnRef()).toBe(1);
      }
    }
    expect(commitsOnRef()).toBe(1);
    expect(b.stats).toMatchObject({ operations: 66, retries: 0, pushes: 60 });
    const r = rows(copyRemoteState(repo.origin));
    expect(r.gate_run).toBeLessThanOrEqual(within(CAPS.gateRuns!));
    expect(r.lease_event).toBeLessThanOrEqual(within(CAPS.leaseEvents!));
    expect(r.coverage_measurement).toBeLessThanOrEqual(within(CAPS.measurements!) + 1);
    expect(r.baseline_audit).toBeLessThanOrEqual(within(CAPS.baselineAudit!) + 1);
    expect(r.green_test).toBeLessThanOrEqual(within(CAPS.greenTests!));
    expect(r.gate_failure).toBeLessThanOrEqual(within(CAPS.gateFailures!));
    expect(r.state_chain).toBeLessThanOrEqual(within(CAPS.chainRows!) + r.state_chain_head + 1);
    expect(b.lastPruned).toBeDefined();
    // The workspace is only read: no ref, no object of the backend's lands in it.
    expect(workspaceFacts()).toEqual(before);

    // A runner's fresh checkout: its first operation fetches the tip alone.
    const { backend: fresh, seen } = freshClone({ stateKey: KEY });
    const report = await fresh.withDb('read', (db) => verifyState(db, { full: true }));
    expect(report).toMatchObject({ ok: true, keyed: true, lines: [] });
    expect(seen).toEqual([{ commits: 1, objects: 3 }]);
    expect(
      await new StateStore(fresh).getBaseline(BENCH_REPO, 'main').then((x) => x?.percent)
    ).toBe(50.05);
  }, 300_000);

  it('a ref an earlier release filled with history: the first operation fetches its tip alone, the first write leaves one root commit', async () => {
    // 40 state commits in one line, each with the trailer the earlier release wrote (signed over its parent).
    const path = join(tempDir(), 'state.sqlite');
    const db = openStateDatabase(path, { journal: 'delete', writable: true, stateKey: KEY });
    gateCycle(0, 3).writes.forEach((w) => w(db));
    const chain = chainHeadHash(db)!;
    db.close();
    const digest = fileDigest(path);
    const blob = repo.git('hash-object', '-w', path).trim();
    const tree = execFileSync('git', ['mktree'], {
      cwd: repo.work,
      input: `100644 blob ${blob}\tstate.sqlite\n`,
      encoding: 'utf8'
    }).trim();
    let parent: string | undefined;
    for (let k = 0; k < 40; k++) {
      const hmac = createHmac('sha256', KEY)
        .update(canonicalJson(['quality-gates state commit v1', parent ?? '', digest, chain]))
        .digest('hex');
      parent = execFileSync(
        'git',
        [
          'commit-tree',
          tree,
          ...(parent ? ['-p', parent] : []),
          '-m',
          `old change ${k}`,
          '-m',
          `Quality-Gates-State: v1 sha256=${digest} chain=${chain} hmac=${hmac}`
        ],
        { cwd: repo.work, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' }
      ).trim();
    }
    repo.git('push', '-q', 'origin', `${parent}:${REF}`);
    expect(commitsOnRef()).toBe(40);
    const legacyTip = parent!;

    const { backend: b, seen } = freshClone({ stateKey: KEY });
    const store = new StateStore(b);
    expect((await store.getBaseline(BENCH_REPO, 'main'))?.percent).toBe(50);
    expect(seen[0]).toEqual({ commits: 1, objects: 3 });
    await b.withDb('write', gateCycle(1, 3).writes[0]);
    expect(commitsOnRef()).toBe(1);
    const t = parseTrailer(git(repo.origin, 'log', '-1', '--format=%B', REF));
    expect(t).toMatchObject({ prev: legacyTip, hmac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await store.verify(true)).toMatchObject({ ok: true });
  });

  it.each([
    ['inside the operation, with the private copy open', 'kill-in-fn'],
    ['after the commit exists, before the push', 'kill-before-push']
  ] as const)(
    'a process SIGKILLed %s leaves a work directory the next operation removes; the workspace gets nothing',
    async (_what, op) => {
      const tmp = tempDir();
      await new StateStore(backend({ tmpDir: tmp })).ratchetBaseline(landing(50));
      const tip = git(repo.origin, 'rev-parse', REF).trim();
      const before = workspaceFacts();
      const r = await runChild({
        op,
        backend: { kind: 'git-ref', repoDir: repo.work, remote: 'origin', tmpDir: tmp },
        repo: 'acme/app',
        branch: 'main',
        values: [90]
      });
      expect(r.signal).toBe('SIGKILL');
      expect(r.lines.map((l) => l.type)).toEqual(['marker']);
      const left = readdirSync(tmp);
      expect(left).toEqual([expect.stringMatching(/^qg-state-[0-9a-f]{8}-\d+-[0-9a-z]+-/)]);
      expect(readdirSync(join(tmp, left[0]))).toContain('git');
      expect(git(repo.origin, 'rev-parse', REF).trim()).toBe(tip);

      // The next operation, in another process's backend, sweeps it first.
      expect(
        await new StateStore(backend({ tmpDir: tmp })).ratchetBaseline(landing(60))
      ).toMatchObject({ outcome: 'raised', old: 50 });
      expect(readdirSync(tmp)).toEqual([]);
      expect(workspaceFacts()).toEqual(before);
      expect(commitsOnRef()).toBe(1);
    }
  );

  it('work refs an earlier release left in the workspace are removed by the first operation, unless their process runs', async () => {
    const head = repo.git('rev-parse', 'HEAD').trim();
    const dead = 'refs/quality-gates-work/999999999-0b5c';
    const running = `refs/quality-gates-work/${process.pid}-7f3a`;
    repo.git('update-ref', dead, head);
    repo.git('update-ref', running, head);
    repo.git('pack-refs', '--all');
    await new StateStore(backend()).getBaseline('acme/app', 'main');
    expect(repo.git('for-each-ref', '--format=%(refname)', 'refs/quality-gates-work/').trim()).toBe(
      running
    );
  });

  it('the sweep keeps the work directories of running operations and removes stale ones', () => {
    const tmp = tempDir();
    const now = Date.now();
    const name = (o: string, pid: number, at: number) =>
      `${WORK_PREFIX}${o}-${pid}-${at.toString(36)}-abc123`;
    const running = name(owner(), process.pid, now);
    const elsewhere = name('ffffffff', 999_999_999, now);
    const dead = name(owner(), 999_999_999, now);
    const old = name(owner(), process.pid, now - 7 * 3_600_000);
    const olderRelease = `${WORK_PREFIX}Xy12Ab`;
    for (const d of [running, elsewhere, dead, old, olderRelease]) mkdirSync(join(tmp, d));
    const hoursAgo = new Date(now - 7 * 3_600_000);
    utimesSync(join(tmp, olderRelease), hoursAgo, hoursAgo);
    expect(sweepWorkDirs(tmp, 6 * 3_600_000, now).sort()).toEqual([dead, old, olderRelease].sort());
    expect(readdirSync(tmp).sort()).toEqual([elsewhere, running].sort());
  });
});

describe('the trailer of a root commit', () => {
  async function twoWrites(extra: Partial<GitRefBackendOptions> = {}) {
    const store = new StateStore(backend(extra));
    await store.ratchetBaseline(landing(70));
    const first = git(repo.origin, 'rev-parse', REF).trim();
    await store.ratchetBaseline(landing(80));
    const second = git(repo.origin, 'rev-parse', REF).trim();
    repo.git('fetch', '-q', '--no-tags', 'origin', `${first}`, `${second}`);
    return { store, first, second };
  }

  function commitTree(tree: string, message: string, parent?: string): string {
    return execFileSync(
      'git',
      ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message],
      { cwd: repo.work, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' }
    ).trim();
  }

  async function refusal(p: Promise<unknown>): Promise<string> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e
    );
    expect(isTampered(err)).toBe(true);
    return (err as Error).message;
  }

  it('an older state commit copied on top of the tip (its tree and message) is refused', async () => {
    const { store, first, second } = await twoWrites();
    const msg = git(repo.origin, 'log', '-1', '--format=%B', first).trim();
    const replay = commitTree(`${first}^{tree}`, msg, second);
    repo.git('push', '-q', 'origin', `${replay}:${REF}`);
    expect(await refusal(store.getBaseline('acme/app', 'main'))).toContain(
      `its trailer says it replaced no state, but its parent is ${second.slice(0, 12)}`
    );
  });

  it('with a state-key, a trailer whose prev was removed does not verify', async () => {
    const { store, second } = await twoWrites({ stateKey: KEY });
    const msg = git(repo.origin, 'log', '-1', '--format=%B', second)
      .trim()
      .replace(/ prev=[0-9a-f]+/, '');
    const stripped = commitTree(`${second}^{tree}`, msg);
    repo.git('push', '-q', '--force', 'origin', `${stripped}:${REF}`);
    expect(await refusal(store.getBaseline('acme/app', 'main'))).toContain(
      'its signature does not verify'
    );
  });
});
