// The merge gate through runGate() on real repositories with a bare origin:
// the lease serialises branches, a PASS keeps it, FAIL and DEFER do not,
// and the artefact tells later jobs which commit to test.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { runGate } from '../../packages/core/src/gate.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { runTool } from '../../packages/core/src/tool.ts';
import { mergeGate } from '../../packages/merge/src/gate.ts';
import { leaseRelease } from '../../packages/merge/src/lease-release.ts';
import { counters } from '../../packages/store/src/counters.ts';
import { currentLease } from '../../packages/store/src/lease.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import { git, makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

function ctx(repo: TestRepo, env: NodeJS.ProcessEnv = {}): RunContext {
  return {
    env: { ...process.env, ...env },
    workspace: repo.work,
    repository: 'acme/service',
    event: { name: '' },
    logger: new RecordingLogger(),
    now: () => new Date()
  };
}

function lease(state: string) {
  const db = openStateDatabase(state, { journal: 'wal', writable: true });
  try {
    return { lease: currentLease(db, 'acme/service'), counters: counters(db, 'acme/service') };
  } finally {
    db.close();
  }
}

/** A repo whose test is `test -f ok`, with main and two task branches. */
function setup(): { repo: TestRepo; state: string } {
  const repo = makeRepo();
  repo.commit('ok', 'green\n', 'tests pass while ./ok exists');
  repo.git('push', '-q', 'origin', 'main');
  return { repo, state: join(tempDir('qg-merge-state-'), 'state.sqlite') };
}

const inputs = (state: string, extra: Record<string, string> = {}) =>
  mapInputSource({
    'base-ref': 'main',
    'test-command': 'test -f ok',
    'state-path': state,
    'report-dir': tempDir('qg-r-'),
    'lease-wait-minutes': '0',
    ...extra
  });

describe('merge gate', () => {
  it('rebases a branch that is behind, re-tests, pushes it with a lease, keeps the merge lease; main is untouched', async () => {
    const { repo, state } = setup();
    repo.git('checkout', '-q', '-b', 'agent/a');
    repo.commit('a.txt', 'a\n');
    repo.git('push', '-q', 'origin', 'agent/a');
    repo.git('checkout', '-q', 'main');
    repo.commit('m.txt', 'm\n', 'main moves on');
    repo.git('push', '-q', 'origin', 'main');
    const mainSha = git(repo.root, '--git-dir', repo.origin, 'rev-parse', 'main').trim();
    repo.git('checkout', '-q', 'agent/a');
    const r = await runGate(mergeGate, inputs(state, { branch: 'agent/a' }), ctx(repo));
    expect(r.verdict).toBe('PASS');
    expect(r.frontmatter.rebased).toBe(true);
    expect(r.frontmatter.retest_skipped).toBe(false);
    const newHead = String(r.frontmatter.new_head);
    expect(git(repo.root, '--git-dir', repo.origin, 'rev-parse', 'agent/a').trim()).toBe(newHead);
    expect(git(repo.root, '--git-dir', repo.origin, 'rev-parse', 'main').trim()).toBe(mainSha);
    expect(lease(state).lease?.branch).toBe('agent/a');
    expect(lease(state).counters.pass).toBe(1);

    // A second branch meets the held lease: DEFER, naming the holder, and it holds nothing.
    repo.git('checkout', '-q', '-b', 'agent/b', 'main');
    repo.git('reset', '-q', '--hard', 'origin/main');
    repo.commit('b.txt', 'b\n');
    repo.git('push', '-q', 'origin', 'agent/b');
    const d = await runGate(
      mergeGate,
      inputs(state, { branch: 'agent/b' }),
      ctx(repo, { GITHUB_RUN_ID: '7' })
    );
    expect(d.verdict).toBe('DEFER');
    expect(d.summary).toMatch(/^merge lock busy, held by agent\/a since \d{4}-/);
    expect(d.frontmatter.failure_class).toBe('lock-busy');
    expect(lease(state).counters.defer).toBe(1);

    // Only the holder releases: agent/b cannot, agent/a can; then agent/b goes through.
    const notHolder = await runTool(
      leaseRelease,
      mapInputSource({ branch: 'agent/b', 'state-path': state }),
      ctx(repo)
    );
    expect(notHolder.outputs.outcome).toBe('not-holder');
    const released = await runTool(
      leaseRelease,
      mapInputSource({ branch: 'agent/a', 'state-path': state }),
      ctx(repo)
    );
    expect(released.outputs.outcome).toBe('released');
    const b = await runGate(mergeGate, inputs(state, { branch: 'agent/b' }), ctx(repo));
    expect(b.verdict).toBe('PASS');
    // Already up to date, but nothing had tested this tree: it is re-tested (issue 8).
    expect(b.frontmatter.retest_skipped).toBe(false);
    expect(b.frontmatter.attempts).toBe(1);
    // The green run is recorded: the same tree and command need no second run.
    await runTool(
      leaseRelease,
      mapInputSource({ branch: 'agent/b', 'state-path': state }),
      ctx(repo)
    );
    const again = await runGate(mergeGate, inputs(state, { branch: 'agent/b' }), ctx(repo));
    expect(again.verdict).toBe('PASS');
    expect(again.frontmatter.retest_skipped).toBe(true);
    expect(again.summary).toMatch(
      /re-test skipped: this test command was green on tree [0-9a-f]{12}/
    );
  });

  it('a red combined tree FAILs with class red and releases the lease', async () => {
    const { repo, state } = setup();
    repo.git('checkout', '-q', '-b', 'agent/red');
    repo.commit('c.txt', 'c\n');
    repo.git('push', '-q', 'origin', 'agent/red');
    repo.git('checkout', '-q', 'main');
    repo.git('rm', '-q', 'ok');
    repo.git('commit', '-q', '-m', 'main removes ok');
    repo.git('push', '-q', 'origin', 'main');
    repo.git('checkout', '-q', 'agent/red');
    const r = await runGate(mergeGate, inputs(state, { branch: 'agent/red' }), ctx(repo));
    expect(r.verdict).toBe('FAIL');
    expect(r.frontmatter.failure_class).toBe('red');
    expect(lease(state).lease).toBeUndefined();
    expect(lease(state).counters['fail:red']).toBe(1);
  });

  // A wake-up dispatched twice (or whose answer was lost) runs after its branch landed.
  it('a branch already on main: FAIL on a pull request run, SKIPPED on a wake-up (workflow_dispatch); no lease held either way', async () => {
    const { repo, state } = setup();
    repo.git('checkout', '-q', '-b', 'agent/done');
    repo.commit('d.txt', 'd\n');
    repo.git('push', '-q', 'origin', 'agent/done');
    repo.git('checkout', '-q', 'main');
    repo.git('merge', '-q', '--no-ff', '-m', 'land agent/done', 'agent/done');
    repo.git('push', '-q', 'origin', 'main');
    repo.git('checkout', '-q', 'agent/done');
    const pr = await runGate(mergeGate, inputs(state, { branch: 'agent/done' }), ctx(repo));
    expect(pr.verdict).toBe('FAIL');
    expect(pr.summary).toMatch(/already contained in origin\/main/);
    const woken = await runGate(mergeGate, inputs(state, { branch: 'agent/done' }), {
      ...ctx(repo),
      event: { name: 'workflow_dispatch' }
    });
    expect(woken.verdict).toBe('SKIPPED');
    expect(woken.summary).toBe(
      'agent/done has already landed on main: this wake-up came after it; nothing to do'
    );
    expect(woken.frontmatter.failure_class).toBeNull();
    expect(lease(state).lease).toBeUndefined();
    expect(lease(state).counters).toMatchObject({ 'fail:other': 1, 'late-wake': 1 });
  });

  it('a conflict FAILs with the files listed, the worktree restored and no lease held', async () => {
    const { repo, state } = setup();
    repo.git('checkout', '-q', '-b', 'agent/conflict');
    repo.commit('shared.txt', 'branch\n');
    repo.git('push', '-q', 'origin', 'agent/conflict');
    repo.git('checkout', '-q', 'main');
    repo.commit('shared.txt', 'main\n');
    repo.git('push', '-q', 'origin', 'main');
    repo.git('checkout', '-q', 'agent/conflict');
    const before = repo.git('rev-parse', 'HEAD').trim();
    const r = await runGate(mergeGate, inputs(state, { branch: 'agent/conflict' }), ctx(repo));
    expect(r.verdict).toBe('FAIL');
    expect(r.frontmatter.failure_class).toBe('conflict');
    expect(r.body).toContain('- shared.txt');
    expect(repo.git('rev-parse', 'HEAD').trim()).toBe(before);
    expect(repo.git('status', '--porcelain')).toBe('');
    expect(lease(state).lease).toBeUndefined();
  });

  it('refuses to gate a protected branch, and refuses the artifact backend naming file and git-ref', async () => {
    const { repo, state } = setup();
    const onMain = await runGate(mergeGate, inputs(state, { branch: 'main' }), ctx(repo));
    expect(onMain.verdict).toBe('FAIL');
    expect(onMain.summary).toMatch(/protected branch/);
    expect(lease(state).lease).toBeUndefined();
    const artifact = await runGate(
      mergeGate,
      inputs(state, { branch: 'x', 'state-backend': 'artifact' }),
      ctx(repo, { GITHUB_API_URL: 'http://127.0.0.1:1/api/v1' })
    );
    expect(artifact.verdict).toBe('FAIL');
    expect(artifact.summary).toMatch(/state-backend.*'file' or 'git-ref'/);
  });

  it('a lease TTL shorter than the longest re-test is refused (another branch could reclaim it mid-test)', async () => {
    const { repo, state } = setup();
    const r = await runGate(
      mergeGate,
      inputs(state, {
        branch: 'x',
        'lease-ttl-minutes': '30',
        'retest-timeout-seconds': '900',
        'infra-retries': '2'
      }),
      ctx(repo)
    );
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toBe(
      'configuration error: input \'lease-ttl-minutes\': expected more than the longest re-test, retest-timeout-seconds x (infra-retries + 1) = 45 min (got "30")'
    );
  });

  it('a missing test-command is a configuration error naming it', async () => {
    const { repo, state } = setup();
    writeFileSync(join(repo.work, 'x'), '');
    const r = await runGate(
      mergeGate,
      mapInputSource({ 'state-path': state, 'report-dir': tempDir() }),
      ctx(repo)
    );
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toBe(
      "configuration error: input 'test-command': expected the command that runs the tests on the caught-up tree"
    );
  });
});
