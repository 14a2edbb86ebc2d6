// Issue 8, items 1 and 3, as they were seen: a red branch that already
// contains main passed because "nothing changed" was taken as "tested"; and
// a lease released behind a re-testing gate let two branches hold it, both
// PASS, and landing both turned main red. Real repositories with a bare
// origin, two workspaces, the merge gate through runGate().
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { runGate } from '../../packages/core/src/gate.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { runTool } from '../../packages/core/src/tool.ts';
import { mergeGate } from '../../packages/merge/src/gate.ts';
import { leaseRelease } from '../../packages/merge/src/lease-release.ts';
import { currentLease, leaseEvents } from '../../packages/store/src/lease.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import { git, makeRaceRepo, makeRedUpToDateRepo, type TestRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const REPO = 'acme/service';
function ctx(
  work: string,
  event: RunContext['event'] = { name: '' },
  env: NodeJS.ProcessEnv = {}
): RunContext {
  return {
    env: { ...process.env, ...env },
    workspace: work,
    repository: REPO,
    event,
    logger: new RecordingLogger(),
    now: () => new Date()
  };
}

const prEvent = (n: number, branch: string, state: 'open' | 'closed', headRepo = REPO) => ({
  name: 'pull_request',
  action: state === 'closed' ? 'closed' : 'synchronized',
  baseRef: 'main',
  headRef: branch,
  prNumber: n,
  headRepo,
  prState: state
});

function clone(repo: TestRepo, branch: string): string {
  const dir = join(tempDir('qg-ws-'), 'w');
  git(repo.root, 'clone', '-q', '--branch', branch, repo.origin, dir);
  return dir;
}

function readLease(state: string) {
  const db = openStateDatabase(state, { journal: 'wal', writable: true });
  try {
    return { lease: currentLease(db, REPO), events: leaseEvents(db, REPO, 50) };
  } finally {
    db.close();
  }
}

async function waitFor(path: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${path}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('a red branch that already contains main (issue 8, item 1)', () => {
  it('is re-tested and FAILs red: "up to date" is not proof that anything tested it', async () => {
    const { repo } = makeRedUpToDateRepo('agent/red');
    const state = join(tempDir('qg-st-'), 'state.sqlite');
    const r = await runGate(
      mergeGate,
      mapInputSource({
        'base-ref': 'main',
        branch: 'agent/red',
        'test-command': `"${process.execPath}" check.js`,
        'state-path': state,
        'report-dir': tempDir('qg-r-'),
        'lease-wait-minutes': '0'
      }),
      ctx(repo.work)
    );
    expect(r.verdict).toBe('FAIL');
    expect(r.frontmatter).toMatchObject({
      failure_class: 'red',
      rebased: false,
      retest_skipped: false,
      attempts: 1
    });
    expect(readLease(state).lease).toBeUndefined();
  });
});

describe('two holders (issue 8, item 3)', () => {
  let repo: TestRepo;
  let state: string;
  beforeEach(() => {
    repo = makeRaceRepo('task/a', 'task/b');
    state = join(tempDir('qg-st-'), 'state.sqlite');
  });

  const gateInputs = (branch: string, marker: string) =>
    mapInputSource({
      'base-ref': 'main',
      branch,
      // Tell the test when the re-test is running, then take a while.
      'test-command': `touch "${marker}"; sleep 1.5; "${process.execPath}" check.js`,
      'state-path': state,
      'report-dir': tempDir('qg-r-'),
      'lease-wait-minutes': '0'
    });

  const release = (work: string, event: RunContext['event']) =>
    runTool(leaseRelease, mapInputSource({ 'state-path': state }), ctx(work, event));

  it('a release for an open PR is refused while its holder re-tests; a release behind its back is caught by the fencing token; main stays green', async () => {
    const wsA = clone(repo, 'task/a');
    const wsB = clone(repo, 'task/b');
    const markA = join(tempDir('qg-m-'), 'a-started');
    const gateA = runGate(
      mergeGate,
      gateInputs('task/a', markA),
      ctx(wsA, prEvent(1, 'task/a', 'open'))
    );
    await waitFor(markA);

    // The release the reusable workflow runs for an open PR: refused inside the window.
    const open = await release(wsA, prEvent(1, 'task/a', 'open'));
    expect(open.outputs.outcome).toBe('in-window');
    expect(open.summary).toMatch(
      /^refused: task\/a \(PR #1 from acme\/service\) is inside its merge window/
    );
    // A closed fork PR with the same branch name is not the holder.
    const fork = await release(wsA, prEvent(7, 'task/a', 'closed', 'mallory/service'));
    expect(fork.outputs.outcome).toBe('not-holder');
    expect(readLease(state).lease?.branch).toBe('task/a');

    // The holder's own PR closed: released mid re-test (what the closed workflow does).
    const closed = await release(wsA, prEvent(1, 'task/a', 'closed'));
    expect(closed.outputs.outcome).toBe('released');

    // B takes the free lease and passes alone.
    const markB = join(tempDir('qg-m-'), 'b-started');
    const b = await runGate(
      mergeGate,
      gateInputs('task/b', markB),
      ctx(wsB, prEvent(2, 'task/b', 'open'))
    );
    expect(b.verdict).toBe('PASS');

    // A's re-test was green too, but it no longer holds the lease: no second PASS.
    const a = await gateA;
    expect(a.verdict).toBe('FAIL');
    expect(a.frontmatter.failure_class).toBe('lease-lost');
    expect(a.summary).toMatch(/^merge lease lost before PASS: the lease is now held by task\/b/);
    const l = readLease(state).lease!;
    expect(l).toMatchObject({ branch: 'task/b', prNumber: 2, headRepo: REPO });
    expect(l.token).toBeGreaterThan(Number(a.frontmatter.lease_token));

    // Landing what PASSed (B, by a merge commit) leaves main green.
    const land = join(tempDir('qg-land-'), 'w');
    git(repo.root, 'clone', '-q', repo.origin, land);
    git(land, 'merge', '-q', '--no-ff', '--no-edit', `origin/task/b`);
    git(land, 'push', '-q', 'origin', 'HEAD:main');
    git(land, 'checkout', '-q', 'main');
    expect(() => git(land, 'reset', '-q', '--hard', 'origin/main')).not.toThrow();
    const { execFileSync } = await import('node:child_process');
    expect(() => execFileSync(process.execPath, ['check.js'], { cwd: land })).not.toThrow();
  });
});
