// `quality-gates status` as the merge queue's view, on a real SQLite state
// written through the store: a lease holder inside its merge window, three
// waiting branches (pull requests, wake-ups, one whose last wake-up failed)
// and the queue's counters. The tables a person reads (holder, queue,
// counters) row by row, the status object (holder, queue, waiting, grouped
// counters), and the CLI run from the sources: the tables, and with --json
// the status object itself (not a string in outputs.json), while another
// tool's --json keeps the generic shape.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';
import { printStatus } from '../../packages/cli/src/status-output.ts';
import type { RunContext } from '../../packages/core/src/context.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { runTool, type ToolOutcome } from '../../packages/core/src/tool.ts';
import { groupCounters, status, type RepositoryStatus } from '../../packages/merge/src/status.ts';
import { ratchetBaseline } from '../../packages/store/src/baseline.ts';
import { bumpCounter } from '../../packages/store/src/counters.ts';
import { markWaiting, noteWake, tryAcquireLease } from '../../packages/store/src/lease.ts';
import { enterCritical } from '../../packages/store/src/merge-window.ts';
import { withStateDb } from '../helpers/store-db.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const REPO = 'acme/service';
const MIN = 60_000;
const HEAD = 'abcdef0123456789abcdef0123456789abcdef01';
const WAKE_ERROR =
  'workflow_dispatch of edge.yml failed: HTTP 422\nWorkflow does not have | workflow_dispatch trigger';

const MAIN = join(
  fileURLToPath(new URL('../..', import.meta.url)),
  'packages',
  'cli',
  'src',
  'main.ts'
);

/**
 * The queue at `t0`: agent/a took the lease (PR #7, TTL 60m) and entered
 * its merge window at +15m; agent/b (#12) waits since +2m, woken at +10m and
 * +16m; agent/c (#13) since +5m, its one wake-up at +17m failed; agent/d (no
 * PR) since +9m, never woken. Counters as the queue and the gates bump them.
 */
function queueState(db: Database, t0: Date): void {
  const at = (m: number) => new Date(t0.getTime() + m * MIN);
  tryAcquireLease(
    db,
    { repo: REPO, branch: 'agent/a', headSha: HEAD, runId: '41.1', ttlMs: 60 * MIN, prNumber: 7 },
    t0
  );
  markWaiting(db, REPO, 'agent/b', at(2), 12);
  markWaiting(db, REPO, 'agent/c', at(5), 13);
  markWaiting(db, REPO, 'agent/d', at(9));
  expect(noteWake(db, REPO, 'agent/b', at(10))).toBe(true);
  expect(noteWake(db, REPO, 'agent/b', at(16))).toBe(true);
  expect(noteWake(db, REPO, 'agent/c', at(17), WAKE_ERROR)).toBe(true);
  expect(enterCritical(db, REPO, { branch: 'agent/a' }, at(15))).toBe(true);
  ratchetBaseline(
    db,
    { repo: REPO, branch: 'main', percent: 81.25, sha: 'm1', actor: 'ci', reason: 'landed' },
    t0
  );
  const counts: [string, number][] = [
    ['landed', 4],
    ['land-refused:conflict', 2],
    ['land-refused:head-moved', 1],
    ['wake', 5],
    ['wake-failed', 1],
    ['wake-skipped', 2],
    ['defer', 6],
    ['pass', 9],
    ['fail:red', 2],
    ['fail:conflict', 1],
    ['stale-reclaim', 1],
    ['something-else', 3]
  ];
  for (const [name, by] of counts) bumpCounter(db, REPO, name, by);
}

function ctx(now: Date): RunContext {
  return {
    env: {},
    workspace: tempDir('qg-status-ws-'),
    repository: 'Acme/Service',
    event: { name: '' },
    logger: new RecordingLogger(),
    now: () => now
  };
}

/** The non-empty lines of the body's `### title...` section. */
function section(body: string, title: string): string[] {
  const lines = body.split('\n');
  const i = lines.findIndex((l) => l.startsWith(`### ${title}`));
  expect(i).toBeGreaterThanOrEqual(0);
  const rest = lines.slice(i + 1);
  const end = rest.findIndex((l) => l.startsWith('### '));
  return (end < 0 ? rest : rest.slice(0, end)).filter((l) => l !== '');
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--no-warnings', MAIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: tempDir() }
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const T0 = new Date('2024-05-01T10:00:00.000Z');
const iso = (m: number) => new Date(T0.getTime() + m * MIN).toISOString();

describe('status: the merge queue', () => {
  let state: string;
  let r: ToolOutcome;
  beforeAll(async () => {
    state = join(tempDir('qg-status-queue-'), 'state.sqlite');
    withStateDb(state, (db) => queueState(db, T0));
    r = await runTool(
      status,
      mapInputSource({ 'state-path': state, 'base-ref': 'main' }),
      ctx(new Date(T0.getTime() + 20 * MIN))
    );
    expect(r.ok).toBe(true);
  });

  it('shows the holder in its merge window: PR, 12 characters of head, held for, expires in, phase', () => {
    expect(r.summary).toBe(
      'lease held by agent/a for 20m; 3 waiting; baseline main 81.25%; 0 runs'
    );
    expect(section(r.body, 'Merge lease holder')).toEqual([
      '| branch | PR | head | run | since | held for | expires in | phase | window since |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      `| agent/a | #7 | abcdef012345 | 41.1 | ${iso(0)} | 20m | 40m | in merge window (rebase, re-test, push) | ${iso(15)} |`
    ]);
  });

  it('shows the queue in order with its wake-ups, the failed one on one line', () => {
    expect(section(r.body, 'Merge queue')).toEqual([
      '| place | branch | PR | waiting since | waited | last wake-up | wake attempts | last wake error |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      `| 1 | agent/b | #12 | ${iso(2)} | 18m | ${iso(16)} | 2 | - |`,
      `| 2 | agent/c | #13 | ${iso(5)} | 15m | ${iso(17)} | 1 | workflow_dispatch of edge.yml failed: HTTP 422 Workflow does not have \\| workflow_dispatch trigger |`,
      `| 3 | agent/d | - | ${iso(9)} | 11m | never | 0 | - |`
    ]);
  });

  it('shows the counters grouped: landings, refusals by reason, wake-ups, waits, passes, fails by class', () => {
    expect(section(r.body, 'Counters')).toEqual([
      '| counter | value |',
      '| --- | --- |',
      '| landings | 4 |',
      '| auto-land refusals | 3 |',
      '| auto-land refused: head-moved | 1 |',
      '| auto-land refused: conflict | 2 |',
      '| wake-ups sent | 5 |',
      '| wake-ups failed | 1 |',
      '| wake-ups skipped | 2 |',
      '| waits (defer) | 6 |',
      '| passes | 9 |',
      '| fails | 3 |',
      '| fails: conflict | 1 |',
      '| fails: red | 2 |',
      '| stale reclaims | 1 |',
      '| infra retries | 0 |',
      '| something-else | 3 |'
    ]);
  });

  it('keeps the other sections', () => {
    expect(r.body).toContain('### State integrity\n\nstate verifies (');
    expect(section(r.body, 'Coverage baselines')[2]).toBe(
      `| main | 81.25% | m1 | ${iso(0)} | ci | landed |`
    );
    for (const title of ['Recent gate runs', 'Retry counts', 'Cancelled branches'])
      expect(section(r.body, title)).toEqual(['none']);
  });

  it('the status object holds the holder, the queue, the waiting branches and the grouped counters', () => {
    const j = JSON.parse(r.outputs.json ?? '') as RepositoryStatus;
    expect(j.holder).toEqual({
      branch: 'agent/a',
      prNumber: 7,
      headSha: HEAD,
      runId: '41.1',
      since: iso(0),
      heldMs: 20 * MIN,
      expiresAt: iso(60),
      expiresInMs: 40 * MIN,
      phase: 'merge-window',
      windowSince: iso(15)
    });
    expect(j.queue).toEqual([
      { place: 0, branch: 'agent/a', prNumber: 7, role: 'holder' },
      { place: 1, branch: 'agent/b', prNumber: 12, role: 'waiting' },
      { place: 2, branch: 'agent/c', prNumber: 13, role: 'waiting' },
      { place: 3, branch: 'agent/d', prNumber: null, role: 'waiting' }
    ]);
    expect(j.waiting).toEqual([
      {
        place: 1,
        branch: 'agent/b',
        prNumber: 12,
        since: iso(2),
        waitingMs: 18 * MIN,
        wokenAt: iso(16),
        wakeAttempts: 2,
        wakeError: null
      },
      {
        place: 2,
        branch: 'agent/c',
        prNumber: 13,
        since: iso(5),
        waitingMs: 15 * MIN,
        wokenAt: iso(17),
        wakeAttempts: 1,
        wakeError: WAKE_ERROR
      },
      {
        place: 3,
        branch: 'agent/d',
        prNumber: null,
        since: iso(9),
        waitingMs: 11 * MIN,
        wokenAt: null,
        wakeAttempts: 0,
        wakeError: null
      }
    ]);
    expect(j.lease).toMatchObject({ state: 'held', prNumber: 7, criticalSince: iso(15) });
    expect(j.counters).toEqual({
      landed: 4,
      landRefused: {
        total: 3,
        byReason: {
          'head-moved': 1,
          conflict: 2,
          'not-allowed': 0,
          permission: 0,
          'base-moved': 0,
          other: 0
        }
      },
      wake: { sent: 5, failed: 1, skipped: 2 },
      defer: 6,
      pass: 9,
      fail: { total: 3, byClass: { conflict: 1, red: 2 } },
      staleReclaim: 1,
      infraRetry: 0,
      all: {
        defer: 6,
        'fail:conflict': 1,
        'fail:red': 2,
        landed: 4,
        'land-refused:conflict': 2,
        'land-refused:head-moved': 1,
        pass: 9,
        'something-else': 3,
        'stale-reclaim': 1,
        wake: 5,
        'wake-failed': 1,
        'wake-skipped': 2
      }
    });
    expect(j.integrity.ok).toBe(true);
  });

  it('a holder past its TTL is stale; after PASS, outside its window, it is gated', async () => {
    const stale = await runTool(
      status,
      mapInputSource({ 'state-path': state }),
      ctx(new Date(T0.getTime() + 75 * MIN))
    );
    const s = JSON.parse(stale.outputs.json ?? '') as RepositoryStatus;
    expect(s.holder).toMatchObject({ phase: 'stale', windowSince: null, expiresInMs: -15 * MIN });
    expect(section(stale.body, 'Merge lease holder')[2]).toContain(
      '| 1h 15m | expired 15m ago | stale (past its TTL) | - |'
    );

    const gatedState = join(tempDir('qg-status-queue-'), 'state.sqlite');
    withStateDb(gatedState, (db) =>
      tryAcquireLease(
        db,
        { repo: REPO, branch: 'agent/z', headSha: HEAD, runId: '9.1', ttlMs: 60 * MIN },
        T0
      )
    );
    const gated = await runTool(
      status,
      mapInputSource({ 'state-path': gatedState }),
      ctx(new Date(T0.getTime() + MIN))
    );
    expect(section(gated.body, 'Merge lease holder')[2]).toBe(
      `| agent/z | - | abcdef012345 | 9.1 | ${iso(0)} | 1m | 59m | gated, waiting to land | - |`
    );
    expect(section(gated.body, 'Merge queue')).toEqual(['nobody']);
    const g = JSON.parse(gated.outputs.json ?? '') as RepositoryStatus;
    expect(g.queue).toEqual([{ place: 0, branch: 'agent/z', prNumber: null, role: 'holder' }]);
    expect(g.waiting).toEqual([]);
    expect(g.counters).toMatchObject({
      landed: 0,
      landRefused: { total: 0 },
      wake: { sent: 0, failed: 0, skipped: 0 }
    });
  });
});

describe('groupCounters', () => {
  it('counts a refusal reason it does not know, and zero for names never bumped', () => {
    const c = groupCounters({ 'land-refused:weird': 2, 'land-refused:other': 1 });
    expect(c.landRefused).toEqual({
      total: 3,
      byReason: {
        'head-moved': 0,
        conflict: 0,
        'not-allowed': 0,
        permission: 0,
        'base-moved': 0,
        other: 1,
        weird: 2
      }
    });
    expect(c.fail).toEqual({ total: 0, byClass: {} });
    expect([c.landed, c.defer, c.pass, c.staleReclaim, c.infraRetry]).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('printStatus', () => {
  const outcome = (o: Partial<ToolOutcome>): ToolOutcome => ({
    ok: true,
    skipped: false,
    summary: 's',
    outputs: {},
    body: 'b\n',
    warnings: [],
    ...o
  });
  it('prints the body for a person, the json output as pretty JSON, else falls back', () => {
    expect(printStatus(outcome({ body: '## x\n\ntable\n' }), false)).toBe('## x\n\ntable\n');
    expect(printStatus(outcome({ outputs: { json: '{"a":{"b":1}}' } }), true)).toBe(
      '{\n  "a": {\n    "b": 1\n  }\n}\n'
    );
    expect(printStatus(outcome({ ok: false, summary: 'configuration error: x' }), true)).toBe(
      undefined
    );
  });
});

describe('quality-gates status (the CLI, from the sources)', () => {
  // The CLI reads the clock: the state is written relative to now.
  const now = Date.now();
  const t0 = new Date(now - 20 * MIN);
  const at = (m: number) => new Date(t0.getTime() + m * MIN).toISOString();
  let state: string;
  let args: string[];
  beforeAll(() => {
    state = join(tempDir('qg-status-cli-'), 'state.sqlite');
    withStateDb(state, (db) => queueState(db, t0));
    args = [
      '--repo',
      tempDir('qg-status-ws-'),
      '--repository',
      'Acme/Service',
      '--state-path',
      state
    ];
  });

  it('prints the tables for a person', () => {
    const r = cli(['status', ...args]);
    expect(r.code).toBe(0);
    // Logs go to stderr; the tables alone to stdout.
    expect(r.stderr).not.toContain('###');
    expect(r.stdout).toMatch(
      /^## Quality gates status: acme\/service\n\nlease held by agent\/a for 2\dm; 3 waiting; /
    );
    const holder = section(r.stdout, 'Merge lease holder');
    expect(holder[2]).toMatch(
      new RegExp(
        `^\\| agent/a \\| #7 \\| abcdef012345 \\| 41\\.1 \\| ${at(0)} \\| \\d+m \\| \\d+m \\| in merge window \\(rebase, re-test, push\\) \\| ${at(15)} \\|$`
      )
    );
    const queue = section(r.stdout, 'Merge queue');
    expect(queue.slice(2).map((l) => l.split(' | ').slice(0, 4))).toEqual([
      ['| 1', 'agent/b', '#12', at(2)],
      ['| 2', 'agent/c', '#13', at(5)],
      ['| 3', 'agent/d', '-', at(9)]
    ]);
    expect(queue[3]).toContain(
      `| ${at(17)} | 1 | workflow_dispatch of edge.yml failed: HTTP 422 Workflow does not have \\| workflow_dispatch trigger |`
    );
    expect(queue[4]).toMatch(/ \| never \| 0 \| - \|$/);
    expect(section(r.stdout, 'Counters')).toContain('| auto-land refused: conflict | 2 |');
    expect(r.stdout).toContain('### Coverage baselines');
  });

  it('--json prints the status object itself', () => {
    const r = cli(['status', ...args, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as RepositoryStatus & { outputs?: unknown };
    expect(r.stdout).toMatch(/^\{\n {2}"repository": "acme\/service",\n/);
    expect(j.outputs).toBeUndefined();
    expect(j.repository).toBe('acme/service');
    expect(j.holder).toMatchObject({
      branch: 'agent/a',
      prNumber: 7,
      headSha: HEAD,
      phase: 'merge-window',
      windowSince: at(15)
    });
    expect(j.queue.map((q) => [q.place, q.branch, q.role])).toEqual([
      [0, 'agent/a', 'holder'],
      [1, 'agent/b', 'waiting'],
      [2, 'agent/c', 'waiting'],
      [3, 'agent/d', 'waiting']
    ]);
    expect(j.waiting.map((w) => [w.place, w.prNumber, w.wakeAttempts, w.wakeError])).toEqual([
      [1, 12, 2, null],
      [2, 13, 1, WAKE_ERROR],
      [3, null, 0, null]
    ]);
    expect(j.waiting[0]?.waitingMs).toBeGreaterThanOrEqual(18 * MIN);
    expect(j.counters).toMatchObject({
      landed: 4,
      landRefused: { total: 3 },
      wake: { sent: 5, failed: 1, skipped: 2 },
      fail: { total: 3, byClass: { red: 2, conflict: 1 } }
    });
    expect(j.baselines.map((b) => [b.branch, b.percent])).toEqual([['main', 81.25]]);
  });

  it("another tool's --json keeps the generic shape", () => {
    const r = cli(['state', 'verify', '--state-path', state, '--json']);
    const j = JSON.parse(r.stdout) as { ok: boolean; summary: string; outputs: object };
    expect(Object.keys(j)).toEqual(['ok', 'summary', 'outputs']);
  });
});
