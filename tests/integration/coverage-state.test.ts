// Where the coverage baseline lives, seen through the gate, the ratchet and
// the override on real repositories: a damaged state file is a tool error
// naming it and is never touched; repositories sharing a file keep their own
// baselines; the git-ref backend shares the state through the origin's
// refs/quality-gates/state (each change one root commit replacing the tip);
// the artifact backend
// against the Gitea contract server starts empty with a warning and picks up
// an uploaded state; the override's set/reset land in the audit log.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditLog } from '../../packages/store/src/baseline.ts';
import { FileBackend } from '../../packages/store/src/backends/file.ts';
import { makeZip } from '../helpers/contract-zip.ts';
import {
  NODE_LCOV_COMMAND,
  baselineRun,
  baselineSetRun,
  cloneOf,
  coverageGateRun,
  freshStatePath,
  land,
  projectRepo,
  ratchetRun,
  type ProjectRepo
} from '../helpers/coverage-project.ts';
import { git } from '../helpers/git-repo.ts';
import { GiteaContractServer, TEST_TOKEN } from '../helpers/gitea-contract-server.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const JS_INPUTS = { command: NODE_LCOV_COMMAND, report: 'lcov.info' };

describe('a damaged state file', () => {
  let repo: ProjectRepo;
  beforeAll(async () => {
    repo = projectRepo('python-app');
    repo.git('checkout', '-q', '-b', 'agent/state');
    repo.commitAll('docs', { 'docs/a.md': 'a\n' });
    // One real measurement; the runs below read its report (measure: false).
    const r = await coverageGateRun(
      repo.work,
      { 'state-path': freshStatePath() },
      { headRef: 'agent/state' }
    );
    expect(r.frontmatter.measured).toBe(57.14);
  });

  async function truncatedDatabase(): Promise<string> {
    const path = freshStatePath();
    const set = await baselineSetRun(repo.work, path, '50', 'seed');
    expect(set.ok).toBe(true);
    const bytes = readFileSync(path);
    expect(bytes.length).toBeGreaterThan(8192);
    writeFileSync(path, bytes.subarray(0, 4096 + 1000));
    return path;
  }

  function notADatabase(): string {
    const path = freshStatePath();
    writeFileSync(path, 'baseline=57.14\n'.repeat(400));
    return path;
  }

  it.each([
    ['truncated', truncatedDatabase],
    ['not SQLite', async () => notADatabase()]
  ])(
    '%s: a tool error naming the path, PASS with a warning (fail-open), FAIL fail-closed, the file untouched',
    async (_what, make) => {
      const path = await make();
      const before = readFileSync(path);
      const inputs = { 'state-path': path, measure: 'false' };
      const open = await coverageGateRun(repo.work, inputs, { headRef: 'agent/state' });
      expect(open.verdict).toBe('PASS');
      expect(open.summary.startsWith(`state tool error: state store ${path}: `)).toBe(true);
      expect(open.summary).toMatch(/\(fail-open => PASS\)$/);
      expect(open.warnings).toEqual([open.summary]);
      expect(open.frontmatter).toMatchObject({ measured: null, baseline: null });
      const closed = await coverageGateRun(
        repo.work,
        { ...inputs, 'coverage-tool-fail-closed': 'true' },
        { headRef: 'agent/state' }
      );
      expect(closed.verdict).toBe('FAIL');
      expect(closed.summary).toContain(path);
      const rat = await ratchetRun(repo.work, inputs);
      expect(rat.ok).toBe(false);
      expect(rat.summary).toContain(`state store ${path}: `);
      const show = await baselineRun(repo.work, { 'state-path': path });
      expect(show.ok).toBe(false);
      expect(show.summary).toContain(path);
      const set = await baselineSetRun(repo.work, path, '10', 'overwrite?');
      expect(set.ok).toBe(false);
      expect(readFileSync(path).equals(before)).toBe(true);
      expect(existsSync(`${path}-wal`)).toBe(false);
    }
  );
});

describe('two repositories sharing one state file', () => {
  it('never see each other’s baseline (GITHUB_REPOSITORY tells them apart)', async () => {
    const state = freshStatePath();
    const py = projectRepo('python-app');
    const js = projectRepo('js-app');
    const A = { repository: 'acme/python-app' };
    const B = { repository: 'acme/js-app' };
    expect((await ratchetRun(py.work, { 'state-path': state }, A)).outputs).toMatchObject({
      outcome: 'bootstrapped',
      baseline: '57.14'
    });
    const gateB = await coverageGateRun(js.work, { ...JS_INPUTS, 'state-path': state }, B);
    expect(gateB.frontmatter).toMatchObject({ measured: 68.75, baseline: null, bootstrap: true });
    // B's first landing bootstraps its own baseline: it neither raises nor is held by A's.
    const ratB = await ratchetRun(js.work, { ...JS_INPUTS, 'state-path': state }, B);
    expect(ratB.outputs).toMatchObject({
      outcome: 'bootstrapped',
      baseline: '68.75',
      previous: ''
    });
    const gateA = await coverageGateRun(py.work, { 'state-path': state, measure: 'false' }, A);
    expect(gateA.frontmatter).toMatchObject({ baseline: 57.14, delta: 0 });
    // The owner/name key is case-insensitive, as forges treat it.
    const upper = await baselineRun(
      py.work,
      { 'state-path': state },
      { repository: 'Acme/Python-App' }
    );
    expect(upper.outputs.baseline).toBe('57.14');
  });

  // Without GITHUB_REPOSITORY the key is the checkout's absolute path: two
  // different projects both checked out in folders called `work` stay apart.
  it('never see each other’s baseline (GITHUB_REPOSITORY tells them apart)', async () => {
    const state = freshStatePath();
    const py = projectRepo('python-app');
    const js = projectRepo('js-app');
    const A = { repository: 'acme/python-app' };
    const B = { repository: 'acme/js-app' };
    expect((await ratchetRun(py.work, { 'state-path': state }, A)).outputs).toMatchObject({
      outcome: 'bootstrapped',
      baseline: '57.14'
    });
    const gateB = await coverageGateRun(js.work, { ...JS_INPUTS, 'state-path': state }, B);
    expect(gateB.frontmatter).toMatchObject({ measured: 68.75, baseline: null, bootstrap: true });
    // B's first landing bootstraps its own baseline: it neither raises nor is held by A's.
    const ratB = await ratchetRun(js.work, { ...JS_INPUTS, 'state-path': state }, B);
    expect(ratB.outputs).toMatchObject({
      outcome: 'bootstrapped',
      baseline: '68.75',
      previous: ''
    });
    const gateA = await coverageGateRun(py.work, { 'state-path': state, measure: 'false' }, A);
    expect(gateA.frontmatter).toMatchObject({ baseline: 57.14, delta: 0 });
    // The owner/name key is case-insensitive, as forges treat it.
    const upper = await baselineRun(
      py.work,
      { 'state-path': state },
      { repository: 'Acme/Python-App' }
    );
    expect(upper.outputs.baseline).toBe('57.14');
  });

  // Was a product bug (fixed): without GITHUB_REPOSITORY the key was local/<last directory name>
  // (packages/coverage/src/config.ts repositoryKey), so two checkouts of different
  // projects that are both called `work` share one baseline, contrary to
  // docs/coverage-gate.md ("Two repositories sharing a state file never see each
  // other's baseline").
  it('never see each other’s baseline in a local run (no GITHUB_REPOSITORY either)', async () => {
    const state = freshStatePath();
    const py = projectRepo('python-app');
    const js = projectRepo('js-app');
    const local = { repository: '' };
    const ratA = await ratchetRun(py.work, { 'state-path': state }, local);
    expect(ratA.outputs).toMatchObject({ outcome: 'bootstrapped', baseline: '57.14' });
    const gateB = await coverageGateRun(js.work, { ...JS_INPUTS, 'state-path': state }, local);
    expect(gateB.frontmatter).toMatchObject({ measured: 68.75, baseline: null, bootstrap: true });
  });
});

describe('state-backend: git-ref against the origin', () => {
  const REF = 'refs/quality-gates/state';
  // The ref holds one root commit, replaced by every change: its sha says whether anything changed.
  const history = (origin: string): string[] =>
    git(origin, 'log', '--format=%H %P|%s', REF).trim().split('\n');
  const tip = (origin: string): string => git(origin, 'rev-parse', REF).trim();

  it('gate, ratchet, then a second clone sees the baseline; one root commit replaced per change, never a branch', async () => {
    const repo = projectRepo('python-app');
    const inputs = { 'state-backend': 'git-ref' };
    repo.git('checkout', '-q', '-b', 'agent/ref');
    repo.commitAll('docs', { 'docs/a.md': 'a\n' });
    const g = await coverageGateRun(repo.work, inputs, { headRef: 'agent/ref' });
    expect(g.verdict).toBe('PASS');
    expect(g.frontmatter).toMatchObject({ state_backend: 'git-ref', bootstrap: true });
    expect(history(repo.origin)).toHaveLength(1);
    const measured = tip(repo.origin);

    const landed = land(repo);
    const rat = await ratchetRun(repo.work, inputs);
    expect(rat.ok).toBe(true);
    expect(rat.outputs).toMatchObject({
      outcome: 'bootstrapped',
      baseline: '57.14',
      reused: 'true'
    });
    // The reuse lookup was a read: only the baseline change made a commit.
    expect(history(repo.origin)).toEqual([
      expect.stringMatching(/^[0-9a-f]{40} \|coverage ratchet main: bootstrapped - -> 57\.14$/)
    ]);
    const ratcheted = tip(repo.origin);
    expect(ratcheted).not.toBe(measured);

    const second = cloneOf(repo);
    const shown = await baselineRun(second, inputs);
    expect(shown.outputs.baseline).toBe('57.14');
    expect(shown.summary).toMatch(
      /^baseline for acme\/app main: 57\.14% \(set .* landed [0-9a-f]{12}\)$/
    );
    expect(tip(repo.origin)).toBe(ratcheted);

    git(second, 'checkout', '-q', '-b', 'agent/second');
    writeFileSync(join(second, 'b.md'), 'b\n');
    git(second, 'add', 'b.md');
    git(second, 'commit', '-q', '-m', 'b');
    const g2 = await coverageGateRun(second, inputs, { headRef: 'agent/second' });
    expect(g2.verdict).toBe('PASS');
    expect(g2.frontmatter).toMatchObject({ baseline: 57.14, bootstrap: false, delta: 0 });
    // The ratchet's measurement of main is what the second clone's report compares with.
    expect(g2.body).toContain(`against main at ${landed.slice(0, 12)}`);

    // One root commit (no parent): the newest change.
    expect(history(repo.origin)).toEqual([
      expect.stringMatching(
        /^[0-9a-f]{40} \|coverage: measured 57\.14% on agent\/second at [0-9a-f]{12}$/
      )
    ]);
    expect(git(repo.origin, 'for-each-ref', '--format=%(refname)', 'refs/heads').trim()).toBe(
      'refs/heads/main'
    );
    // The checkouts stay clean.
    expect(repo.git('status', '--porcelain').trim()).toBe('');
    expect(git(second, 'status', '--porcelain').trim()).toBe('');
  });
});

describe('state-backend: artifact against the Gitea contract server', () => {
  let server: GiteaContractServer;
  beforeEach(async () => {
    server = await GiteaContractServer.start();
  });
  afterEach(async () => {
    expect(server.violations).toEqual([]);
    await server.close();
  });

  const env = (runId: string): NodeJS.ProcessEnv => ({
    GITHUB_API_URL: server.apiUrl,
    GITHUB_REPOSITORY: 'acme/service',
    GITHUB_RUN_ID: runId
  });
  const inputs = { 'state-backend': 'artifact', token: TEST_TOKEN };

  it('no artefact yet: bootstrap with a warning; an uploaded state is what the next run compares with', async () => {
    const repo = projectRepo('python-app');
    repo.git('checkout', '-q', '-b', 'agent/art');
    repo.commitAll('docs', { 'docs/a.md': 'a\n' });
    const g = await coverageGateRun(repo.work, inputs, {
      headRef: 'agent/art',
      env: env('101'),
      repository: 'acme/service'
    });
    expect(g.verdict).toBe('PASS');
    const starting = `no non-expired 'quality-gates-state' artefact in the successful runs of main: starting from an empty state database; the baseline starts over (first run, or the artefact expired)`;
    expect(g.frontmatter).toMatchObject({
      state_backend: 'artifact',
      bootstrap: true,
      warnings: [starting]
    });
    expect(g.body).toContain(starting);
    expect(g.log).toContain(`warning: ${starting}`);
    expect(server.calls('getWorkflowRuns')[0].query).toMatchObject({
      branch: ['main'],
      status: ['success']
    });

    // The push run after landing: no artefact on main yet either.
    const mainSha = land(repo);
    const rat = await ratchetRun(repo.work, inputs, {
      env: env('102'),
      repository: 'acme/service'
    });
    expect(rat.ok).toBe(true);
    expect(rat.outputs).toMatchObject({ outcome: 'bootstrapped', baseline: '57.14' });
    expect(rat.warnings).toEqual([starting]);
    // The workflow uploads the local state file as the run's artefact.
    const local = join(repo.work, '.quality-gates-state', 'state.sqlite');
    const run = server.fake.addRun({ branch: 'main', headSha: mainSha });
    server.fake.addArtifact(
      run.id,
      'quality-gates-state',
      makeZip([{ name: 'state.sqlite', data: readFileSync(local) }])
    );

    const second = cloneOf(repo);
    git(second, 'checkout', '-q', '-b', 'agent/next');
    const g2 = await coverageGateRun(second, inputs, {
      headRef: 'agent/next',
      env: env('103'),
      repository: 'acme/service'
    });
    expect(g2.verdict).toBe('PASS');
    expect(g2.frontmatter).toMatchObject({ baseline: 57.14, bootstrap: false });
    expect(g2.warnings.join('\n')).not.toMatch(/starts over/);
    expect(server.calls('downloadArtifact')).toHaveLength(1);
    // Every API request carried the token, none in the query.
    for (const q of server.requests.filter((x) => x.target === 'api'))
      expect(q.authorization).toBe('token ***');
  });

  // Only what the user must know (the baseline starting over) is a warning;
  // where a healthy state came from is a note, not a warning.
  it('a healthy download of the state is not a warning', async () => {
    const repo = projectRepo('python-app');
    const state = join(repo.root, 'seed.sqlite');
    await baselineSetRun(repo.work, state, '50', 'seed', { repository: 'acme/service' });
    const run = server.fake.addRun({ branch: 'main' });
    server.fake.addArtifact(
      run.id,
      'quality-gates-state',
      makeZip([{ name: 'state.sqlite', data: readFileSync(state) }])
    );
    repo.git('checkout', '-q', '-b', 'agent/quiet');
    const g = await coverageGateRun(repo.work, inputs, {
      headRef: 'agent/quiet',
      env: env('201'),
      repository: 'acme/service'
    });
    expect(g.frontmatter).toMatchObject({ baseline: 50, bootstrap: false });
    expect(g.warnings).toEqual([]);
  });
});

describe('baseline override', () => {
  let repo: ProjectRepo;
  let state: string;
  beforeAll(() => {
    repo = projectRepo('python-app');
  });
  beforeEach(() => {
    state = freshStatePath();
  });
  const override = (inputs: Record<string, string>, actor = 'alice') =>
    baselineRun(repo.work, { 'state-path': state, ...inputs }, { env: { GITHUB_ACTOR: actor } });

  it.each([
    [
      { operation: 'set', value: '80' },
      'reason',
      "a reason for 'set' (it goes into the audit log)"
    ],
    [{ operation: 'reset' }, 'reason', "a reason for 'reset' (it goes into the audit log)"],
    [
      { operation: 'set', value: 'abc', reason: 'r' },
      'value',
      'a number from 0 to 100, such as 80 or 80.5 (got "abc")'
    ],
    [
      { operation: 'set', reason: 'r' },
      'value',
      "the new baseline in percent for 'set', such as 82.5"
    ],
    [{ operation: 'raise', reason: 'r' }, 'operation', 'one of show | set | reset (got "raise")']
  ])('%j: a configuration error naming %s, nothing written', async (inputs, name, expected) => {
    const r = await override(inputs);
    expect(r.ok).toBe(false);
    expect(r.summary).toBe(`configuration error: input '${name}': expected ${expected}`);
    expect(existsSync(state)).toBe(false);
  });

  it('set and reset are audited with actor and reason; show prints the current value', async () => {
    const empty = await override({});
    expect(empty.summary).toBe('no baseline for acme/app main: the next landing bootstraps it');
    const set = await override({
      operation: 'set',
      value: '57.24',
      reason: 'flaky suite quarantined'
    });
    expect(set.ok).toBe(true);
    expect(set.outputs).toEqual({ baseline: '57.24', previous: '' });
    expect(set.summary).toBe(
      'baseline for acme/app main set from none to 57.24% by alice: flaky suite quarantined'
    );
    const shown = await override({}, 'someone-else');
    expect(shown.outputs.baseline).toBe('57.24');
    expect(shown.summary).toMatch(
      /^baseline for acme\/app main: 57\.24% \(set \S+ by alice: flaky suite quarantined\)$/
    );
    expect(shown.body).toMatch(/\| set \| {2}\| 57\.24 \| alice \| flaky suite quarantined \|/);
    // A manual set may lower it.
    const lower = await override(
      { operation: 'set', value: '40', reason: 'big refactor' },
      'carol'
    );
    expect(lower.outputs).toEqual({ baseline: '40.00', previous: '57.24' });
    const reset = await override({ operation: 'reset', reason: 'new test layout' }, 'bob');
    expect(reset.ok).toBe(true);
    expect(reset.outputs).toEqual({ baseline: '', previous: '40.00' });
    expect((await override({})).outputs.baseline).toBe('');
    // The audit table, read with the store's own function, newest first.
    const audit = await new FileBackend({ path: state }).withDb('read', (db) =>
      auditLog(db, 'acme/app', 'main')
    );
    expect(audit.map((a) => [a.how, a.old, a.new, a.actor, a.reason])).toEqual([
      ['reset', 40, null, 'bob', 'new test layout'],
      ['set', 57.24, 40, 'carol', 'big refactor'],
      ['set', null, 57.24, 'alice', 'flaky suite quarantined']
    ]);
    // After a reset the next landing bootstraps again.
    const rat = await ratchetRun(repo.work, { 'state-path': state });
    expect(rat.outputs).toMatchObject({ outcome: 'bootstrapped', baseline: '57.14' });
  });
});
