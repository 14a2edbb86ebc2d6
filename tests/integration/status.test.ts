// `quality-gates status` in-process on a real file state written through the
// store functions, with a fake clock: the lease (held, then stale), the
// waiting list, every baseline of the repository, recent runs and counters,
// as markdown and as the `json` output; a missing state is reported, not made.
// The merge queue's own view (PRs, wake-ups, grouped counters, the CLI's
// printing): tests/unit/merge-status-queue.test.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { runTool } from '../../packages/core/src/tool.ts';
import { status, type RepositoryStatus } from '../../packages/merge/src/status.ts';
import { ratchetBaseline } from '../../packages/store/src/baseline.ts';
import { bumpCounter, COUNTER } from '../../packages/store/src/counters.ts';
import { recordGateRun } from '../../packages/store/src/gate-run.ts';
import { markCancelled, requestStop } from '../../packages/store/src/branch-state.ts';
import { markWaiting, tryAcquireLease } from '../../packages/store/src/lease.ts';
import { enterCritical } from '../../packages/store/src/merge-window.ts';
import { recordDefer, recordGateVerdict } from '../../packages/store/src/retries.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const T0 = new Date('2024-05-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const MIN = 60_000;

function ctx(now: Date, repository = 'Acme/Service'): RunContext {
  return {
    env: {},
    workspace: tempDir('qg-status-ws-'),
    repository,
    event: { name: '' },
    logger: new RecordingLogger(),
    now: () => now
  };
}

function prepare(state: string): void {
  const db = openStateDatabase(state, { journal: 'wal', writable: true });
  try {
    const repo = 'acme/service';
    tryAcquireLease(
      db,
      { repo, branch: 'agent/a', headSha: 'aaa111', runId: '41.1', ttlMs: 30 * MIN },
      T0
    );
    markWaiting(db, repo, 'agent/b', at(1 * MIN));
    markWaiting(db, repo, 'agent/c', at(2 * MIN));
    ratchetBaseline(
      db,
      { repo, branch: 'main', percent: 82.5, sha: 'm1', actor: 'ci', reason: 'landed' },
      T0
    );
    ratchetBaseline(
      db,
      { repo, branch: 'release/1', percent: 70, sha: 'r1', actor: 'ci', reason: 'landed' },
      T0
    );
    // Another repository's rows stay out of the status.
    ratchetBaseline(
      db,
      { repo: 'other/x', branch: 'main', percent: 10, sha: 'o1', actor: 'ci', reason: 'x' },
      T0
    );
    for (let i = 0; i < 12; i++)
      recordGateRun(
        db,
        {
          repo,
          branch: `agent/r${i}`,
          gate: 'merge',
          sha: `s${i}`,
          verdict: i % 2 ? 'PASS' : 'FAIL',
          summary: `run | ${i}`
        },
        at(i * 1000)
      );
    bumpCounter(db, repo, COUNTER.pass, 3);
    bumpCounter(db, repo, COUNTER.fail('red'));
  } finally {
    db.close();
  }
}

const inputs = (state: string) => mapInputSource({ 'state-path': state, 'base-ref': 'main' });

describe('status tool', () => {
  it('shows the held lease, waiters, baselines, last 10 runs and counters as tables and JSON', async () => {
    const state = join(tempDir('qg-status-'), 'state.sqlite');
    prepare(state);
    const r = await runTool(status, inputs(state), ctx(at(3 * MIN)));
    expect(r.ok).toBe(true);
    expect(r.summary).toBe(
      'lease held by agent/a for 3m; 2 waiting; baseline main 82.50%; 10 runs'
    );
    expect(r.body).toContain(
      '| agent/a | - | aaa111 | 41.1 | 2024-05-01T10:00:00.000Z | 3m | 27m | gated, waiting to land | - |'
    );
    expect(r.body).toContain('| 1 | agent/b | - | 2024-05-01T10:01:00.000Z | 2m | never | 0 | - |');
    expect(r.body).toContain('| 2 | agent/c | - | 2024-05-01T10:02:00.000Z | 1m | never | 0 | - |');
    expect(r.body).toContain('| main | 82.50% | m1 |');
    expect(r.body).toContain('| release/1 | 70.00% | r1 |');
    expect(r.body).not.toContain('other/x');
    expect(r.body).not.toContain('| 10.00% |');
    expect(r.body).toContain('| agent/r11 | merge | s11 | PASS | run \\| 11 |');
    expect(r.body).not.toContain('agent/r1 |');
    expect(r.body).toContain('| passes | 3 |');
    expect(r.body).toContain('| fails: red | 1 |');

    const j = JSON.parse(r.outputs.json ?? '') as RepositoryStatus;
    expect(j.repository).toBe('acme/service');
    expect(j.hasState).toBe(true);
    expect(j.lease).toMatchObject({
      state: 'held',
      branch: 'agent/a',
      headSha: 'aaa111',
      runId: '41.1',
      ageMs: 3 * MIN,
      expiresInMs: 27 * MIN
    });
    expect(j.waiting.map((w) => [w.branch, w.waitingMs])).toEqual([
      ['agent/b', 2 * MIN],
      ['agent/c', 1 * MIN]
    ]);
    expect(j.baselines.map((b) => [b.branch, b.percent])).toEqual([
      ['main', 82.5],
      ['release/1', 70]
    ]);
    expect(j.runs).toHaveLength(10);
    expect(j.runs[0]?.branch).toBe('agent/r11');
    expect(j.runs[9]?.branch).toBe('agent/r2');
    expect(j.counters.all).toEqual({ 'fail:red': 1, pass: 3 });
    expect(j.counters).toMatchObject({ pass: 3, fail: { total: 1, byClass: { red: 1 } } });
  });

  it('shows the retry counts per branch and gate, cancelled branches and the merge window', async () => {
    const state = join(tempDir('qg-status-'), 'state.sqlite');
    prepare(state);
    const db = openStateDatabase(state, { journal: 'wal', writable: true });
    const repo = 'acme/service';
    const v = (branch: string, gate: string, verdict: 'FAIL' | 'PASS', n: number) =>
      recordGateVerdict(db, { repo, branch, gate, verdict, sha: `c${n}` }, at(n * 1000));
    v('agent/a', 'security', 'FAIL', 1);
    v('agent/a', 'security', 'FAIL', 2);
    v('agent/a', 'coverage', 'PASS', 3);
    v('agent/x', 'merge', 'FAIL', 4);
    recordDefer(db, repo, 'agent/x', at(5000));
    recordGateVerdict(
      db,
      { repo: 'other/x', branch: 'agent/a', gate: 'security', verdict: 'FAIL', sha: 'o' },
      T0
    );
    markCancelled(db, { repo, branch: 'agent/gone', by: 'alice', reason: 'off | task' }, at(MIN));
    requestStop(db, { repo, branch: 'agent/a', by: 'bob', reason: 'wrong' }, at(2 * MIN));
    enterCritical(db, repo, { branch: 'agent/a' }, at(MIN));
    db.close();
    const r = await runTool(status, inputs(state), ctx(at(3 * MIN)));
    expect(r.summary).toBe(
      'lease held by agent/a for 3m; 2 waiting; baseline main 82.50%; 10 runs; 1 cancelled'
    );
    expect(r.body).toContain(
      '| 27m | in merge window (rebase, re-test, push) | 2024-05-01T10:01:00.000Z |'
    );
    expect(r.body).toContain(
      '| agent/a | security | 2 | 0 | FAIL | c2 | 2024-05-01T10:00:02.000Z |'
    );
    expect(r.body).toContain('| agent/a | coverage | 0 | 0 | PASS | c3 |');
    expect(r.body).toContain('| agent/x | merge | 1 | 1 | FAIL | c4 |');
    expect(r.body).toContain(
      '| agent/gone | cancelled | 2024-05-01T10:01:00.000Z | alice | off \\| task |'
    );
    expect(r.body).toContain(
      '| agent/a | STOP waiting for the merge window | 2024-05-01T10:02:00.000Z | bob | wrong |'
    );
    const j = JSON.parse(r.outputs.json ?? '') as RepositoryStatus;
    expect(j.lease.criticalSince).toBe(at(MIN).toISOString());
    expect(j.failures.map((f) => [f.branch, f.gate, f.failures, f.deferStreak])).toEqual([
      ['agent/a', 'coverage', 0, 0],
      ['agent/a', 'security', 2, 0],
      ['agent/x', 'merge', 1, 1]
    ]);
    expect(j.stopped.map((b) => [b.branch, b.state, b.cancelledBy ?? b.stopRequestedBy])).toEqual([
      ['agent/a', null, 'bob'],
      ['agent/gone', 'cancelled', 'alice']
    ]);
  });

  it('marks a lease past its expiry as stale', async () => {
    const state = join(tempDir('qg-status-'), 'state.sqlite');
    prepare(state);
    const r = await runTool(status, inputs(state), ctx(at(45 * MIN)));
    expect(r.summary).toMatch(/^lease stale, held by agent\/a for 45m \(expired 15m ago\); /);
    expect(r.body).toContain('| agent/a | - | aaa111 |');
    expect(r.body).toContain('| expired 15m ago | stale (past its TTL) | - |');
    const j = JSON.parse(r.outputs.json ?? '') as RepositoryStatus;
    expect(j.lease.state).toBe('stale');
    expect(j.lease.expiresInMs).toBe(-15 * MIN);
  });

  it('reports a free lease', async () => {
    const state = join(tempDir('qg-status-'), 'state.sqlite');
    const db = openStateDatabase(state, { journal: 'wal', writable: true });
    bumpCounter(db, 'acme/service', COUNTER.defer);
    db.close();
    const r = await runTool(status, inputs(state), ctx(T0));
    expect(r.summary).toBe('lease free; 0 waiting; no baseline on main; 0 runs');
    expect(JSON.parse(r.outputs.json ?? '')).toMatchObject({ lease: { state: 'free' } });
  });

  it('reports no state yet for a missing state file and does not create it', async () => {
    const dir = tempDir('qg-status-');
    const state = join(dir, 'nested', 'state.sqlite');
    const r = await runTool(status, inputs(state), ctx(T0));
    expect(r.ok).toBe(true);
    expect(r.summary).toMatch(/^no state yet for acme\/service/);
    expect(JSON.parse(r.outputs.json ?? '')).toMatchObject({ hasState: false });
    expect(existsSync(state)).toBe(false);
    expect(existsSync(join(dir, 'nested'))).toBe(false);
  });
});
