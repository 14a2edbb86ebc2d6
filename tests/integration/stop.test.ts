// STOP through runTool() on real repositories with a bare origin and a real
// state file: a branch holding the lease, one that does not, one already
// gone, protected and hostile names, the merge window (deferred, then the
// merge gate honours it; or STOP waits it out), the forge side against the
// Gitea contract server and against a GitHub-shaped server, and no token.
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { runGate } from '../../packages/core/src/gate.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { runTool } from '../../packages/core/src/tool.ts';
import { mergeGate } from '../../packages/merge/src/gate.ts';
import { branchState, pendingStop } from '../../packages/store/src/branch-state.ts';
import { currentLease, tryAcquireLease } from '../../packages/store/src/lease.ts';
import { enterCritical, mergeWindow } from '../../packages/store/src/merge-window.ts';
import { branchFailures, recordGateVerdict } from '../../packages/store/src/retries.ts';
import { branchCancelled } from '../../packages/stop/src/cancelled.ts';
import { readStopConfig } from '../../packages/stop/src/config.ts';
import { runStop, stopTool } from '../../packages/stop/src/stop.ts';
import { readStateConfig } from '../../packages/store/src/state-inputs.ts';
import { git, makeRepoWithBranches, type TestRepo } from '../helpers/git-repo.ts';
import { GiteaContractServer, TEST_TOKEN } from '../helpers/gitea-contract-server.ts';
import { withStateDb as withDb } from '../helpers/store-db.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const REPO = 'acme/service';
const HOUR = 3_600_000;

function ctx(
  repo: TestRepo,
  env: NodeJS.ProcessEnv = {}
): RunContext & { logger: RecordingLogger } {
  return {
    env: { ...process.env, GITHUB_ACTOR: 'alice', GITHUB_API_URL: '', ...env },
    workspace: repo.work,
    repository: REPO,
    event: { name: '' },
    logger: new RecordingLogger(),
    now: () => new Date()
  };
}

/** main (tests pass while ./ok exists) and agent/a, agent/b pushed to origin. */
function setup(): { repo: TestRepo; state: string } {
  const repo = makeRepoWithBranches(['agent/a', 'agent/b']);
  return { repo, state: join(tempDir('qg-stop-state-'), 'state.sqlite') };
}

function takeLease(state: string, branch: string, runId = `run-${branch}`) {
  return withDb(state, (db) =>
    tryAcquireLease(
      db,
      { repo: REPO, branch, headSha: 'f'.repeat(40), runId, ttlMs: HOUR },
      new Date()
    )
  );
}

const originRefs = (repo: TestRepo) =>
  git(repo.root, '--git-dir', repo.origin, 'for-each-ref', '--format=%(refname) %(objectname)');
const onOrigin = (repo: TestRepo, branch: string) =>
  originRefs(repo).includes(`refs/heads/${branch} `);

const inputs = (state: string, extra: Record<string, string> = {}) =>
  mapInputSource({ 'state-path': state, reason: 'agent went off task', ...extra });

describe('STOP', () => {
  it('of the lease holder: lease released, branch deleted on origin, counts reset, cancelled; no token only warns', async () => {
    const { repo, state } = setup();
    takeLease(state, 'agent/a');
    withDb(state, (db) => {
      for (const gate of ['security', 'merge'])
        recordGateVerdict(
          db,
          { repo: REPO, branch: 'agent/a', gate, verdict: 'FAIL', sha: 'a'.repeat(40) },
          new Date()
        );
    });
    const mainBefore = git(repo.root, '--git-dir', repo.origin, 'rev-parse', 'main');
    const c = ctx(repo);
    const r = await runTool(stopTool, inputs(state, { branch: 'agent/a' }), c);
    expect(r.ok).toBe(true);
    expect(r.outputs).toEqual({
      outcome: 'cancelled',
      'lease-released': 'true',
      'branch-deleted': 'true',
      'runs-cancelled': '0'
    });
    expect(r.summary).toBe(
      'agent/a cancelled; merge lease released; branch deleted on origin; forge not updated (see warnings)'
    );
    expect(r.warnings).toEqual([
      "forge not updated (input 'token' is empty): commit statuses not set, runs not cancelled"
    ]);
    expect(onOrigin(repo, 'agent/a')).toBe(false);
    expect(onOrigin(repo, 'agent/b')).toBe(true);
    expect(git(repo.root, '--git-dir', repo.origin, 'rev-parse', 'main')).toBe(mainBefore);
    withDb(state, (db) => {
      expect(currentLease(db, REPO)).toBeUndefined();
      expect(branchFailures(db, REPO, 'agent/a')).toEqual({});
      expect(branchState(db, REPO, 'agent/a')).toMatchObject({
        state: 'cancelled',
        cancelledBy: 'alice',
        reason: 'agent went off task'
      });
    });
    expect(r.body).toContain('| merge lease | released |');
    // The helper the publishing layer calls.
    const cfg = readStateConfig(mapInputSource({ 'state-path': state }), c);
    expect(await branchCancelled(c, cfg, REPO, 'agent/a')).toMatchObject({ cancelledBy: 'alice' });
    expect(await branchCancelled(c, cfg, REPO, 'agent/b')).toBeUndefined();
  });

  it("of a branch not holding the lease: the holder's lease stays", async () => {
    const { repo, state } = setup();
    takeLease(state, 'agent/b');
    const r = await runTool(stopTool, inputs(state, { branch: 'agent/a' }), ctx(repo));
    expect(r.outputs.outcome).toBe('cancelled');
    expect(r.outputs['lease-released']).toBe('false');
    expect(r.summary).toContain('it held no merge lease');
    expect(onOrigin(repo, 'agent/a')).toBe(false);
    withDb(state, (db) => expect(currentLease(db, REPO)?.branch).toBe('agent/b'));
  });

  it('of a branch already deleted: fine, and says so', async () => {
    const { repo, state } = setup();
    repo.git('push', '-q', 'origin', '--delete', 'agent/a');
    const r = await runTool(stopTool, inputs(state, { branch: 'agent/a' }), ctx(repo));
    expect(r.ok).toBe(true);
    expect(r.outputs['branch-deleted']).toBe('false');
    expect(r.summary).toContain('branch already gone from origin');
    expect(r.body).toContain('already gone from origin: nothing to delete');
    withDb(state, (db) => expect(branchState(db, REPO, 'agent/a')?.state).toBe('cancelled'));
  });

  it.each(['main', 'release/1.0'])(
    'of %s is refused in one line, nothing touched',
    async (branch) => {
      const { repo, state } = setup();
      repo.git('push', '-q', 'origin', 'main:refs/heads/release/1.0');
      const before = originRefs(repo);
      const r = await runTool(stopTool, inputs(state, { branch }), ctx(repo));
      expect(r.ok).toBe(false);
      expect(r.outputs.outcome).toBe('refused');
      expect(r.summary).toBe(
        `refused: '${branch}' is a protected branch (main, master, release/*); STOP never cancels or deletes it`
      );
      expect(originRefs(repo)).toBe(before);
      expect(existsSync(state)).toBe(false);
    }
  );

  it('honours protected-branches globs given as input', async () => {
    const { repo, state } = setup();
    const before = originRefs(repo);
    const r = await runTool(
      stopTool,
      inputs(state, { branch: 'agent/a', 'protected-branches': 'main, agent/*' }),
      ctx(repo)
    );
    expect(r.outputs.outcome).toBe('refused');
    expect(originRefs(repo)).toBe(before);
  });

  it.each(['--delete', 'agent/../main', 'a b', 'x\ny', ''])(
    'refuses the branch name %j with a one-line configuration error',
    async (branch) => {
      const { repo, state } = setup();
      const before = originRefs(repo);
      const r = await runTool(stopTool, inputs(state, { branch }), ctx(repo));
      expect(r.ok).toBe(false);
      expect(r.summary).toMatch(
        /^configuration error: input 'branch': expected the task branch to stop/
      );
      expect(r.summary).not.toContain('\n');
      expect(originRefs(repo)).toBe(before);
      expect(existsSync(state)).toBe(false);
    }
  );

  it('refuses the artifact backend (the lease needs atomic updates) before touching anything', async () => {
    const { repo, state } = setup();
    const r = await runTool(
      stopTool,
      inputs(state, { branch: 'agent/a', 'state-backend': 'artifact' }),
      ctx(repo)
    );
    expect(r.summary).toMatch(
      /^configuration error: input 'state-backend': expected 'file' or 'git-ref'/
    );
    expect(onOrigin(repo, 'agent/a')).toBe(true);
  });

  it('inside the merge window with wait-minutes 0: deferred, nothing else touched', async () => {
    const { repo, state } = setup();
    const l = takeLease(state, 'agent/a');
    withDb(state, (db) =>
      enterCritical(db, REPO, { branch: 'agent/a', leaseId: l.leaseId }, new Date())
    );
    const r = await runTool(
      stopTool,
      inputs(state, { branch: 'agent/a', 'wait-minutes': '0' }),
      ctx(repo)
    );
    expect(r.ok).toBe(true);
    expect(r.outputs).toMatchObject({
      outcome: 'deferred',
      'lease-released': 'false',
      'branch-deleted': 'false'
    });
    expect(r.summary).toMatch(
      /^STOP deferred: agent\/a is inside the merge window since \d{4}-\d\d-\d\dT[\d:.]+Z; it will be cancelled when that finishes$/
    );
    expect(onOrigin(repo, 'agent/a')).toBe(true);
    withDb(state, (db) => {
      expect(currentLease(db, REPO)?.branch).toBe('agent/a');
      expect(pendingStop(db, REPO, 'agent/a')).toMatchObject({ by: 'alice' });
      expect(branchState(db, REPO, 'agent/a')?.state).toBeNull();
    });
  });

  it('wait-minutes outside 0..120 is a configuration error', async () => {
    const { repo, state } = setup();
    const r = await runTool(
      stopTool,
      inputs(state, { branch: 'agent/a', 'wait-minutes': '121' }),
      ctx(repo)
    );
    expect(r.summary).toBe(
      'configuration error: input \'wait-minutes\': expected a whole number from 0 to 120 (got "121")'
    );
  });
});

describe('STOP and the merge gate', () => {
  /** main moves on, so the merge gate rebases and re-tests agent/a; the re-test waits for `go`. */
  function racing() {
    const { repo, state } = setup();
    repo.commit('m.txt', 'main moves\n');
    repo.git('push', '-q', 'origin', 'main');
    repo.git('checkout', '-q', 'agent/a');
    const flags = tempDir('qg-stop-flags-');
    const started = join(flags, 'started');
    const go = join(flags, 'go');
    const gate = runGate(
      mergeGate,
      mapInputSource({
        'base-ref': 'main',
        branch: 'agent/a',
        'test-command': `touch '${started}'; while [ ! -f '${go}' ]; do sleep 0.05; done; test -f ok`,
        'state-path': state,
        'report-dir': tempDir('qg-r-'),
        'lease-wait-minutes': '0'
      }),
      ctx(repo, { GITHUB_RUN_ID: '501' })
    );
    return { repo, state, gate, started, go };
  }

  async function until(path: string): Promise<void> {
    for (let i = 0; i < 600 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(path)).toBe(true);
  }

  it('a STOP deferred during the re-test is honoured when the gate leaves the window', async () => {
    const { repo, state, gate, started, go } = racing();
    await until(started);
    withDb(state, (db) => expect(mergeWindow(db, REPO, new Date())?.lease.branch).toBe('agent/a'));
    const stop = await runTool(
      stopTool,
      inputs(state, { branch: 'agent/a', 'wait-minutes': '0' }),
      ctx(repo)
    );
    expect(stop.outputs.outcome).toBe('deferred');
    writeFileSync(go, '');
    const r = await gate;
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toBe('cancelled by STOP');
    expect(r.frontmatter.failure_class).toBe('other');
    expect(onOrigin(repo, 'agent/a')).toBe(false);
    withDb(state, (db) => {
      expect(currentLease(db, REPO)).toBeUndefined();
      expect(mergeWindow(db, REPO, new Date())).toBeUndefined();
      expect(branchState(db, REPO, 'agent/a')).toMatchObject({
        state: 'cancelled',
        cancelledBy: 'alice',
        stopRequestedAt: null
      });
    });
  });

  it('a STOP that waits sees the window end, then cancels and releases the PASS lease', async () => {
    const { repo, state, gate, started, go } = racing();
    await until(started);
    setTimeout(() => writeFileSync(go, ''), 700);
    const stop = await runTool(
      stopTool,
      inputs(state, { branch: 'agent/a', 'wait-minutes': '1' }),
      ctx(repo)
    );
    const r = await gate;
    expect(r.verdict).toBe('PASS');
    expect(stop.outputs).toMatchObject({
      outcome: 'cancelled',
      'lease-released': 'true',
      'branch-deleted': 'true'
    });
    withDb(state, (db) => expect(currentLease(db, REPO)).toBeUndefined());
    expect(onOrigin(repo, 'agent/a')).toBe(false);
  });

  it('the merge gate on a cancelled branch does nothing and FAILs', async () => {
    const { repo, state } = setup();
    await runTool(stopTool, inputs(state, { branch: 'agent/b' }), ctx(repo));
    // The branch is re-created locally and pushed by hand: the gate still refuses it.
    repo.git('checkout', '-q', 'agent/b');
    repo.git('push', '-q', 'origin', 'agent/b');
    const tip = git(repo.root, '--git-dir', repo.origin, 'rev-parse', 'agent/b');
    const r = await runGate(
      mergeGate,
      mapInputSource({
        'base-ref': 'main',
        branch: 'agent/b',
        'test-command': 'test -f ok',
        'state-path': state,
        'report-dir': tempDir('qg-r-'),
        'lease-wait-minutes': '0'
      }),
      ctx(repo)
    );
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toBe('cancelled by STOP');
    expect(git(repo.root, '--git-dir', repo.origin, 'rev-parse', 'agent/b')).toBe(tip);
    withDb(state, (db) => expect(currentLease(db, REPO)).toBeUndefined());
  });
});

describe('STOP on the forge', () => {
  let server: GiteaContractServer;
  beforeEach(async () => {
    server = await GiteaContractServer.start();
  });
  afterEach(() => server.close());

  it('Gitea: every gate status set to error "cancelled" on the last head; runs listed, not cancellable', async () => {
    const { repo, state } = setup();
    const head = git(repo.root, '--git-dir', repo.origin, 'rev-parse', 'agent/a').trim();
    server.fake.addRun({ branch: 'agent/a', state: 'running' });
    server.fake.addRun({ branch: 'agent/a', state: 'waiting' });
    server.fake.addRun({ branch: 'agent/a', state: 'success' });
    server.fake.addRun({ branch: 'agent/b', state: 'running' });
    const self = server.fake.addRun({ branch: 'agent/a', state: 'running' });
    const r = await runTool(
      stopTool,
      inputs(state, { branch: 'agent/a', token: TEST_TOKEN }),
      ctx(repo, { GITHUB_API_URL: server.apiUrl, GITHUB_RUN_ID: String(self.id) })
    );
    expect(r.ok).toBe(true);
    expect(r.warnings).toEqual([]);
    expect(server.violations).toEqual([]);
    expect(server.fake.statuses.map((s) => [s.sha, s.context, s.state, s.description])).toEqual(
      ['security', 'merge', 'coverage', 'image-freshness'].map((g) => [
        head,
        `quality-gates/${g}`,
        'error',
        'cancelled'
      ])
    );
    expect(server.calls('getWorkflowRuns').length).toBeGreaterThan(0);
    for (const call of server.calls('getWorkflowRuns'))
      expect(call.query.branch).toEqual(['agent/a']);
    expect(r.outputs['runs-cancelled']).toBe('0');
    expect(r.summary).toContain(
      "Gitea's API cannot cancel runs: 2 run(s) left to finish; their gates will see the branch cancelled"
    );
    expect(JSON.stringify(r)).not.toContain(TEST_TOKEN);
  });

  it('a forge error only warns: the branch is still cancelled and deleted', async () => {
    const { repo, state } = setup();
    server.fail('repoCreateStatus', { status: 403, times: 4 });
    const r = await runTool(
      stopTool,
      inputs(state, { branch: 'agent/a', token: TEST_TOKEN }),
      ctx(repo, { GITHUB_API_URL: server.apiUrl })
    );
    expect(r.ok).toBe(true);
    expect(r.outputs['branch-deleted']).toBe('true');
    expect(r.warnings).toHaveLength(4);
    expect(r.warnings[0]).toMatch(/^status quality-gates\/security not set: 403 from POST /);
    expect(r.warnings.join('\n')).not.toContain(TEST_TOKEN);
  });
});

describe('STOP on a GitHub-shaped API', () => {
  it('cancels the in-flight runs of the branch except its own run', async () => {
    const calls: string[] = [];
    const runs = [
      { id: 11, head_branch: 'agent/a', status: 'in_progress' },
      { id: 12, head_branch: 'agent/a', status: 'queued' },
      { id: 13, head_branch: 'agent/a', status: 'in_progress' }
    ];
    const srv: Server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      calls.push(`${req.method} ${url.pathname}${url.search}`);
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.method === 'GET' && url.pathname === '/repos/acme/service/actions/runs') {
          const items = runs.filter((r) => r.status === url.searchParams.get('status'));
          res.end(JSON.stringify({ total_count: items.length, workflow_runs: items }));
        } else if (req.method === 'POST' && /\/actions\/runs\/\d+\/cancel$/.test(url.pathname)) {
          res.statusCode = 202;
          res.end('{}');
        } else if (req.method === 'POST' && url.pathname.includes('/statuses/')) {
          res.statusCode = 201;
          res.end('{}');
        } else {
          res.statusCode = 404;
          res.end('{"message":"Not Found"}');
        }
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    try {
      const { repo, state } = setup();
      const apiUrl = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
      const c = ctx(repo, { GITHUB_API_URL: apiUrl, GITHUB_RUN_ID: '13' });
      const cfg = readStopConfig(
        inputs(state, { branch: 'agent/a', token: 'ghs_0123456789abcdef' }),
        c
      );
      const r = await runStop(cfg, c, { backoffMs: 1 });
      expect(r.outputs['runs-cancelled']).toBe('2');
      expect(r.summary).toContain('2 run(s) cancelled');
      expect(calls.filter((x) => x.endsWith('/cancel'))).toEqual([
        'POST /repos/acme/service/actions/runs/12/cancel',
        'POST /repos/acme/service/actions/runs/11/cancel'
      ]);
      expect(calls.filter((x) => x.includes('/statuses/'))).toHaveLength(4);
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});
