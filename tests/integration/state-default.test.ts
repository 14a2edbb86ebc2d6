// Issue 9, "safe state by default": a caller workflow that sets no state
// input keeps one merge lease and one coverage baseline per repository
// across jobs, runs and runners. Each "job" below is a clone of its own (a
// runner's checkout) with a fresh RUNNER_TOOL_CACHE, as act_runner >= v3.2
// (tool_cache_mode: none) and hosted runners give every job, and
// GITHUB_ACTIONS=true. With no input, state-backend auto puts the state on
// refs/quality-gates/state of the origin, and it survives; the old default
// (a file in the tool cache) is refused with one line naming the fix.
//
// The upgrade path: a user of the earlier default on a tool cache every job
// of the host mounts (act_runner <= v3.1) upgrades and sets nothing. The
// first job on git-ref finds no ref and that file: this repository's rows
// are imported once, the chain verifies, other repositories' rows stay out,
// the file is left as it was, and one line says so. A file that does not
// verify is not imported and nothing goes on until a maintainer looks.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { RunContext } from '../../packages/core/src/context.ts';
import { runGate } from '../../packages/core/src/gate.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { runTool } from '../../packages/core/src/tool.ts';
import { leaseRelease } from '../../packages/merge/src/lease-release.ts';
import { mergeGate } from '../../packages/merge/src/gate.ts';
import { status } from '../../packages/merge/src/status.ts';
import { getBaseline } from '../../packages/store/src/baseline.ts';
import { currentLease } from '../../packages/store/src/lease.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import { verifyState } from '../../packages/store/src/state-chain.ts';
import { stateTool } from '../../packages/store/src/state-tool.ts';
import {
  baselineSetRun,
  cloneOf,
  coverageGateRun,
  land,
  projectRepo,
  pythonTests,
  ratchetRun
} from '../helpers/coverage-project.ts';
import { GIT_ENV, git, makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { STATE_REF, copyRemoteState } from '../helpers/state-ref.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const REPO = 'acme/service';
const OTHER = 'other/secret';

/** A forge job's environment: a tool cache, temp dir and home of its own, nothing of them kept. */
function jobEnv(toolCache = tempDir('qg-toolcache-')): NodeJS.ProcessEnv {
  return {
    GITHUB_ACTIONS: 'true',
    RUNNER_TOOL_CACHE: toolCache,
    RUNNER_TEMP: tempDir('qg-runner-temp-'),
    HOME: tempDir('qg-home-')
  };
}

function jobCtx(workspace: string, env: NodeJS.ProcessEnv, event: RunContext['event']) {
  const logger = new RecordingLogger();
  const ctx: RunContext = {
    env: { ...process.env, ...GIT_ENV, GITHUB_ACTIONS: '', GITEA_ACTIONS: '', ...env },
    workspace,
    repository: REPO,
    event,
    logger,
    now: () => new Date()
  };
  return { ctx, logger };
}

const PR = (head: string): RunContext['event'] => ({
  name: 'pull_request',
  baseRef: 'main',
  headRef: head
});

async function mergeJob(
  workspace: string,
  branch: string,
  env: NodeJS.ProcessEnv,
  extra: Record<string, string> = {}
) {
  const { ctx, logger } = jobCtx(workspace, env, PR(branch));
  const r = await runGate(
    mergeGate,
    mapInputSource({
      'test-command': 'test -f ok',
      'report-dir': tempDir('qg-r-'),
      'lease-wait-minutes': '0',
      branch,
      ...extra
    }),
    ctx
  );
  return { ...r, logger, log: logger.text() };
}

/** A second runner's checkout of the task branch. */
function checkout(repo: TestRepo, branch: string): string {
  const dir = cloneOf(repo);
  git(dir, 'checkout', '-q', branch);
  return dir;
}

function stateCommits(origin: string): string[] {
  const has = git(origin, 'for-each-ref', '--format=%(refname)', STATE_REF).trim();
  return has ? git(origin, 'log', '--format=%s', STATE_REF).trim().split('\n') : [];
}

/** Nothing quality-gates wrote is left in a job's tool cache. */
function nothingCached(toolCache: string): boolean {
  return !existsSync(join(toolCache, 'quality-gates')) && readdirSync(toolCache).length === 0;
}

/** A repo whose test is `test -f ok`, with two task branches pushed. */
function landingRepo(): TestRepo {
  const repo = makeRepo();
  repo.commit('ok', 'green\n', 'tests pass while ./ok exists');
  repo.git('push', '-q', 'origin', 'main');
  for (const b of ['agent/a', 'agent/b']) {
    repo.git('checkout', '-q', '-b', b, 'main');
    repo.commit(`${b.slice(6)}.txt`, `${b}\n`);
    repo.git('push', '-q', 'origin', b);
  }
  repo.git('checkout', '-q', 'main');
  return repo;
}

describe('the merge lease with no state input, across jobs with per-job tool caches', () => {
  it('one lease per repository: job 2 on another runner defers to job 1, a release in job 3 frees it for job 4', async () => {
    const repo = landingRepo();
    const t1 = tempDir('qg-toolcache-');
    const one = await mergeJob(checkout(repo, 'agent/a'), 'agent/a', jobEnv(t1));
    expect(one.verdict).toBe('PASS');
    expect(one.log).toContain(
      `info: state: state-backend auto: git-ref ${STATE_REF} of origin (a forge job in a git checkout; pushed with the token input)`
    );
    expect(nothingCached(t1)).toBe(true);
    expect(stateCommits(repo.origin).length).toBeGreaterThan(0);

    // Another runner, another tool cache: the lease is there.
    const t2 = tempDir('qg-toolcache-');
    const two = await mergeJob(checkout(repo, 'agent/b'), 'agent/b', jobEnv(t2));
    expect(two.verdict).toBe('DEFER');
    expect(two.summary).toMatch(/^merge lock busy, held by agent\/a since /);
    expect(nothingCached(t2)).toBe(true);

    const statusCtx = jobCtx(cloneOf(repo), jobEnv(), { name: 'workflow_dispatch' });
    const shown = await runTool(status, mapInputSource({}), statusCtx.ctx);
    expect(shown.ok).toBe(true);
    expect(shown.summary).toContain('agent/a');

    const rel = jobCtx(cloneOf(repo), jobEnv(), { name: 'pull_request' });
    const released = await runTool(leaseRelease, mapInputSource({ branch: 'agent/a' }), rel.ctx);
    expect(released.outputs.outcome).toBe('released');

    const four = await mergeJob(checkout(repo, 'agent/b'), 'agent/b', jobEnv());
    expect(four.verdict).toBe('PASS');
  });

  it('the old default, a file in the per-job tool cache, is refused before anything runs, with one line naming the fix', async () => {
    const repo = landingRepo();
    const t1 = tempDir('qg-toolcache-');
    const work = checkout(repo, 'agent/a');
    const marker = join(work, 'ran.marker');
    const refused = await mergeJob(work, 'agent/a', jobEnv(t1), {
      'state-backend': 'file',
      'test-command': `touch ${marker}`
    });
    const path = join(t1, 'quality-gates', 'state.sqlite');
    expect(refused.verdict).toBe('FAIL');
    expect(refused.summary).toBe(
      `configuration error: input 'state-path': expected a file on a volume every job mounts, or state-backend: git-ref (under RUNNER_TOOL_CACHE, a lease or baseline dies with the job: per job from act_runner v3.2 on) (got ${JSON.stringify(path)})`
    );
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(path)).toBe(false);
    expect(stateCommits(repo.origin)).toEqual([]);

    // A path the user names outside the job's directories is a volume: taken as given.
    const volume = join(tempDir('qg-volume-'), 'state.sqlite');
    const named = await mergeJob(work, 'agent/a', jobEnv(t1), { 'state-path': volume });
    expect(named.verdict).toBe('PASS');
    expect(existsSync(volume)).toBe(true);
    expect(stateCommits(repo.origin)).toEqual([]);

    // Under RUNNER_TEMP or the workspace: refused the same way.
    const env = jobEnv(t1);
    for (const p of [join(String(env.RUNNER_TEMP), 's.sqlite'), '.qg/state.sqlite']) {
      const r = await mergeJob(work, 'agent/a', env, { 'state-path': p });
      expect(r.verdict).toBe('FAIL');
      expect(r.summary).toMatch(
        /^configuration error: input 'state-path': expected a file on a volume every job mounts, or state-backend: git-ref \(under (RUNNER_TEMP|the workspace), a lease or baseline dies with the job\) \(got "/
      );
    }
  });
});

describe('the coverage baseline with no state input, across jobs with per-job tool caches', () => {
  it('bootstrapped once, ratcheted in another job, and a third job on another runner FAILs a branch below it', async () => {
    const repo = projectRepo('python-app');
    const caches = [1, 2, 3].map(() => tempDir('qg-toolcache-'));
    repo.git('checkout', '-q', '-b', 'agent/docs');
    repo.commitAll('docs', { 'docs/a.md': 'a\n' });
    const first = await coverageGateRun(
      repo.work,
      {},
      { headRef: 'agent/docs', env: jobEnv(caches[0]), repository: REPO }
    );
    expect(first.verdict).toBe('PASS');
    expect(first.frontmatter).toMatchObject({ state_backend: 'git-ref', bootstrap: true });
    land(repo);

    const rat = await ratchetRun(cloneOf(repo), {}, { env: jobEnv(caches[1]), repository: REPO });
    expect(rat.ok).toBe(true);
    expect(rat.outputs).toMatchObject({ outcome: 'bootstrapped', baseline: '57.14' });

    const third = checkout(repo, 'main');
    git(third, 'checkout', '-q', '-b', 'agent/fewer-tests');
    const tests = join(third, 'tests', 'test_ops.py');
    writeFileSync(tests, pythonTests('test_add'));
    git(third, 'commit', '-q', '-am', 'fewer tests');
    const worse = await coverageGateRun(
      third,
      {},
      {
        headRef: 'agent/fewer-tests',
        env: jobEnv(caches[2]),
        repository: REPO
      }
    );
    expect(worse.verdict).toBe('FAIL');
    expect(worse.summary).toBe(
      'coverage fell: coverage 35.71% meets the floor 0.00%; coverage 35.71% dropped 21.43 points below the baseline 57.14% (tolerance 0.10)'
    );
    expect(worse.frontmatter).toMatchObject({ baseline: 57.14, bootstrap: false });
    for (const c of caches) expect(nothingCached(c)).toBe(true);

    // With the old default the same job is refused instead of bootstrapping a baseline that
    // would be gone with the job (the gate could then never fail).
    const old = await coverageGateRun(
      third,
      { 'state-backend': 'file' },
      { headRef: 'agent/fewer-tests', env: jobEnv(caches[2]), repository: REPO }
    );
    expect(old.verdict).toBe('FAIL');
    expect(old.summary).toMatch(
      /^configuration error: input 'state-path': expected a file on a volume every job mounts, or state-backend: git-ref \(under RUNNER_TOOL_CACHE, a lease or baseline dies with the job: per job from act_runner v3.2 on\) \(got "/
    );
    const oldRatchet = await ratchetRun(
      third,
      { 'state-backend': 'file' },
      { env: jobEnv(caches[2]), repository: REPO }
    );
    expect(oldRatchet.ok).toBe(false);
    expect(oldRatchet.summary).toMatch(
      /^configuration error: input 'state-path': expected a file on a volume every job mounts/
    );
    expect(nothingCached(caches[2])).toBe(true);
  });
});

const sha256 = (path: string): string =>
  createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * The state the earlier default left on a shared tool cache: agent/a holds
 * acme/service's merge lease, its baseline is 80%, and another repository of
 * the same host has a baseline there too.
 */
async function earlierDefault(repo: TestRepo): Promise<{ toolCache: string; path: string }> {
  const toolCache = tempDir('qg-shared-toolcache-');
  const path = join(toolCache, 'quality-gates', 'state.sqlite');
  const held = await mergeJob(checkout(repo, 'agent/a'), 'agent/a', {}, { 'state-path': path });
  expect(held.verdict).toBe('PASS');
  for (const [repository, value] of [
    [REPO, '80'],
    [OTHER, '42']
  ])
    expect((await baselineSetRun(repo.work, path, value, 'seed', { repository })).ok).toBe(true);
  return { toolCache, path };
}

describe('the default file of earlier releases, found by the first git-ref job', () => {
  it('is imported once (this repository only, the chain verifying), said in one line, and left as it was', async () => {
    const repo = landingRepo();
    const { toolCache, path } = await earlierDefault(repo);
    const before = sha256(path);

    const job = await mergeJob(checkout(repo, 'agent/b'), 'agent/b', jobEnv(toolCache));
    // The imported lease is held: agent/b waits for agent/a, as it would have before the upgrade.
    expect(job.verdict).toBe('DEFER');
    expect(job.summary).toMatch(/^merge lock busy, held by agent\/a since /);
    const line = job.logger.entries.find((e) => e.message.startsWith('state: imported'));
    expect(line?.level).toBe('warning');
    expect(line?.message).toMatch(
      new RegExp(
        `^state: imported acme/service's state from ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(the default file of earlier releases\\) into origin refs/quality-gates/state: 1 coverage baseline, the merge lease held by agent/a, 1 green-test proof, \\d+ rows in all; the file was left as it was and is no longer read$`
      )
    );
    expect(job.warnings).toContain(line?.message);
    expect(sha256(path)).toBe(before);

    // One root commit: the import's own commit was replaced by the merge job's write (the ref keeps no history).
    expect(git(repo.origin, 'rev-list', '--count', STATE_REF).trim()).toBe('1');
    const copy = copyRemoteState(repo.origin);
    const db = openStateDatabase(copy, { journal: 'delete', writable: true });
    try {
      expect(verifyState(db, { full: true }).ok).toBe(true);
      expect(currentLease(db, REPO)?.branch).toBe('agent/a');
      expect(getBaseline(db, REPO, 'main')?.percent).toBe(80);
      // The other repository of the host stays out of this repository's ref.
      for (const t of ['coverage_baseline', 'baseline_audit', 'gate_run', 'merge_lease']) {
        const n = db.prepare(`SELECT COUNT(*) FROM ${t} WHERE repo <> ?`).pluck().get(REPO);
        expect([t, n]).toEqual([t, 0]);
      }
      const ops = db
        .prepare("SELECT kind, op FROM state_chain WHERE op = 'import' ORDER BY id")
        .all();
      expect(ops).toEqual([
        { kind: 'baseline', op: 'import' },
        { kind: 'lease', op: 'import' },
        { kind: 'green-test', op: 'import' }
      ]);
    } finally {
      db.close();
    }

    // The ref exists from now on: the next job imports nothing, whatever the file holds.
    const again = await mergeJob(checkout(repo, 'agent/b'), 'agent/b', jobEnv(toolCache));
    expect(again.verdict).toBe('DEFER');
    expect(again.log).not.toContain('state: imported');
    const verify = jobCtx(cloneOf(repo), jobEnv(toolCache), { name: 'workflow_dispatch' });
    const v = await runTool(stateTool, mapInputSource({ full: 'true' }), verify.ctx);
    expect(v.ok).toBe(true);
    expect(v.summary).toMatch(/^state origin refs\/quality-gates\/state verifies: /);
  });

  it('a file changed outside the store is not imported: every operation refuses with one line, the ref is not created', async () => {
    const repo = landingRepo();
    const { toolCache, path } = await earlierDefault(repo);
    const raw = new BetterSqlite3(path);
    raw.prepare('UPDATE coverage_baseline SET percent = 1 WHERE repo = ?').run(REPO);
    raw.close();
    const before = sha256(path);

    const job = jobCtx(cloneOf(repo), jobEnv(toolCache), { name: 'workflow_dispatch' });
    const shown = await runTool(status, mapInputSource({}), job.ctx);
    expect(shown.ok).toBe(false);
    expect(shown.summary).toMatch(
      new RegExp(
        `^state store ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: tampered, so not imported into origin refs/quality-gates/state: move it away to start afresh, or check it and run quality-gates state reseal on it outside a job; coverage baseline acme/service@main was changed outside the store`
      )
    );
    const gate = await mergeJob(checkout(repo, 'agent/b'), 'agent/b', jobEnv(toolCache));
    expect(gate.verdict).toBe('FAIL');
    expect(gate.summary).toMatch(
      /^state-tampered tool error: state store .*: tampered, so not imported /
    );
    expect(stateCommits(repo.origin)).toEqual([]);
    expect(sha256(path)).toBe(before);
  });

  it('outside a forge job (a local run), an explicit git-ref imports nothing from the local file', async () => {
    const repo = landingRepo();
    const { toolCache } = await earlierDefault(repo);
    const local = jobCtx(cloneOf(repo), { RUNNER_TOOL_CACHE: toolCache }, { name: '' });
    const shown = await runTool(status, mapInputSource({ 'state-backend': 'git-ref' }), local.ctx);
    expect(shown.ok).toBe(true);
    expect(local.logger.text()).not.toContain('state: imported');
    expect(stateCommits(repo.origin)).toEqual([]);
  });
});
