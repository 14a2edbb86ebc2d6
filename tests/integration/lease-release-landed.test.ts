// On a push to main no event names the branch that landed: lease-release
// with no branch releases the holder only if its branch has landed (merged
// or fast-forwarded, squashed, or deleted), on a real origin.
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { runTool } from '../../packages/core/src/tool.ts';
import { leaseRelease } from '../../packages/merge/src/lease-release.ts';
import { currentLease, tryAcquireLease } from '../../packages/store/src/lease.ts';
import { makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { withStateDb as withDb } from '../helpers/store-db.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const REPO = 'acme/service';

function pushCtx(repo: TestRepo): RunContext {
  return {
    env: { ...process.env, GITHUB_REF: 'refs/heads/main' },
    workspace: repo.work,
    repository: REPO,
    event: { name: 'push' },
    logger: new RecordingLogger(),
    now: () => new Date()
  };
}

/** main, and agent/x holding the lease with one commit of its own, pushed. */
function setup(): { repo: TestRepo; state: string; tip: string } {
  const repo = makeRepo();
  const state = join(tempDir('qg-landed-'), 'state.sqlite');
  repo.git('checkout', '-q', '-b', 'agent/x');
  const tip = repo.commit('x.txt', 'x\n');
  repo.git('push', '-q', 'origin', 'agent/x');
  withDb(state, (db) =>
    tryAcquireLease(
      db,
      { repo: REPO, branch: 'agent/x', headSha: tip, runId: '9', ttlMs: 3_600_000 },
      new Date()
    )
  );
  return { repo, state, tip };
}

const release = (repo: TestRepo, state: string) =>
  runTool(leaseRelease, mapInputSource({ 'state-path': state }), pushCtx(repo));

describe('lease release on a push to main', () => {
  it('releases the holder whose branch main now contains (fast-forward)', async () => {
    const { repo, state } = setup();
    repo.git('push', '-q', 'origin', 'agent/x:main');
    const r = await release(repo, state);
    expect(r.ok).toBe(true);
    expect(r.outputs.outcome).toBe('released');
    expect(r.summary).toBe('merge lease released: agent/x landed on main (merged)');
    expect(withDb(state, (db) => currentLease(db, REPO))).toBeUndefined();
  });

  it('releases the holder squashed into main (same tree, other commit)', async () => {
    const { repo, state } = setup();
    repo.git('checkout', '-q', 'main');
    repo.git('merge', '-q', '--squash', 'agent/x');
    repo.git('commit', '-q', '-m', 'squash agent/x');
    repo.git('push', '-q', 'origin', 'main');
    const r = await release(repo, state);
    expect(r.summary).toBe('merge lease released: agent/x landed on main (squashed)');
  });

  it('releases the holder whose branch is gone from the origin', async () => {
    const { repo, state } = setup();
    repo.git('push', '-q', 'origin', '--delete', 'agent/x');
    const r = await release(repo, state);
    expect(r.summary).toBe('merge lease released: agent/x landed on main (deleted)');
  });

  it('keeps the lease of a holder that has not landed (another branch was pushed to main)', async () => {
    const { repo, state } = setup();
    repo.git('checkout', '-q', 'main');
    repo.commit('other.txt', 'o\n');
    repo.git('push', '-q', 'origin', 'main');
    const r = await release(repo, state);
    expect(r.ok).toBe(true);
    expect(r.outputs.outcome).toBe('not-landed');
    expect(r.summary).toBe(
      'agent/x holds the merge lease and has not landed (main neither contains agent/x nor has its tree); left as it is'
    );
    expect(withDb(state, (db) => currentLease(db, REPO))?.branch).toBe('agent/x');
  });

  it('says so when no lease is held', async () => {
    const repo = makeRepo();
    const r = await release(repo, join(tempDir(), 'state.sqlite'));
    expect(r.summary).toBe('no merge lease held in acme/service: nothing to release');
  });
});
