// The coverage gate and its ratchet through runGate()/runTool() on real
// repositories made from the fixture projects, measured by the real tools
// (pytest + coverage.py with the system python, Node's test runner writing
// LCOV): a branch that lowers coverage does not land, the baseline only ever
// rises when code lands, the ratchet does not test a tree twice, and the
// policy, floor and epsilon decide exactly at their boundaries.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  NODE_LCOV_COMMAND,
  SESSION_COUNTER_CONFTEST,
  baselineRun,
  coverageGateRun,
  freshStatePath,
  land,
  projectRepo,
  pythonTests,
  ratchetRun,
  type ProjectRepo
} from '../helpers/coverage-project.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const FRONTMATTER_KEYS = [
  'gate',
  'coverage_status',
  'measured',
  'baseline',
  'floor',
  'policy',
  'epsilon',
  'delta',
  'bootstrap',
  'format',
  'warnings',
  'summary',
  'checksum'
];

describe('python project, reference command: gate, landing, ratchet', () => {
  let repo: ProjectRepo;
  let state: string;
  let mainSha: string;
  const inputs = (): Record<string, string> => ({ 'state-path': state });

  beforeAll(() => {
    repo = projectRepo('python-app', { 'tests/conftest.py': SESSION_COUNTER_CONFTEST });
    state = freshStatePath();
  });

  it('the first gate run bootstraps: PASS at the measured 57.14% with every frontmatter key', async () => {
    repo.git('checkout', '-q', '-b', 'agent/docs');
    repo.commitAll('docs', { 'docs/usage.md': '# usage\n' });
    const r = await coverageGateRun(repo.work, inputs(), { headRef: 'agent/docs' });
    expect(r.verdict).toBe('PASS');
    expect(r.summary).toMatch(
      /^coverage holds: no baseline yet \(bootstrap\): only the floor applies \(policy 'both'\); coverage 57\.14% meets the floor 0\.00%$/
    );
    expect(Object.keys(r.frontmatter)).toEqual(expect.arrayContaining(FRONTMATTER_KEYS));
    expect(r.frontmatter).toMatchObject({
      gate: 'coverage',
      coverage_status: 'PASS',
      measured: 57.14,
      baseline: null,
      floor: 0,
      policy: 'both',
      epsilon: 0.1,
      delta: null,
      bootstrap: true,
      format: 'coverage-py',
      warnings: [],
      measure: 'lines',
      lines_covered: 8,
      lines_total: 14,
      head_sha: repo.sha('HEAD'),
      base_ref: 'main',
      state_backend: 'file'
    });
    // The artefact on disk says the same.
    expect(readFileSync(r.reportPath, 'utf8')).toMatch(/^coverage_status: PASS$/m);
    expect(r.body).toContain('| 57.14% | - | - | 0.00% | both | 0.1 | 8/14 | coverage-py |');
    expect(repo.pytestSessions()).toBe(1);
  });

  it('landing it and ratcheting bootstraps the baseline from the gate run, without testing again', async () => {
    mainSha = land(repo);
    // The reference command writes coverage.json; a second run would write it again.
    rmSync(join(repo.work, 'coverage.json'));
    const r = await ratchetRun(repo.work, inputs());
    expect(r.ok).toBe(true);
    expect(r.summary).toBe('baseline for main bootstrapped at 57.14%');
    expect(r.outputs).toEqual({
      baseline: '57.14',
      previous: '',
      outcome: 'bootstrapped',
      measured: '57.14',
      reused: 'true'
    });
    expect(r.log).toMatch(/was measured at [0-9a-f]{12} \(57\.14%\); not running the tests again/);
    expect(repo.pytestSessions()).toBe(1);
    expect(existsSync(join(repo.work, 'coverage.json'))).toBe(false);
    const shown = await baselineRun(repo.work, { 'state-path': state });
    expect(shown.outputs.baseline).toBe('57.14');
  });

  it('a branch that deletes a test FAILs, with a negative delta and the file whose coverage fell', async () => {
    repo.git('checkout', '-q', '-b', 'agent/drop-div', 'main');
    repo.commitAll('drop test_div', { 'tests/test_ops.py': pythonTests('test_add', 'test_sub') });
    const r = await coverageGateRun(repo.work, inputs(), { headRef: 'agent/drop-div' });
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toBe(
      'coverage fell: coverage 42.86% meets the floor 0.00%; coverage 42.86% dropped 14.28 points below the baseline 57.14% (tolerance 0.10)'
    );
    expect(r.frontmatter).toMatchObject({
      coverage_status: 'FAIL',
      measured: 42.86,
      baseline: 57.14,
      delta: -14.28,
      bootstrap: false
    });
    // Compared with main's last measurement: the ratchet's, at the landed commit.
    expect(r.body).toContain(
      `### Files whose coverage fell most (against main at ${mainSha.slice(0, 12)})`
    );
    expect(r.body).toMatch(/\| src\/calc\/ops\.py \| 57\.14% \| 42\.86% \|/);
    expect(r.body).not.toContain('src/calc/__init__.py');
    expect(repo.pytestSessions()).toBe(2);
  });

  it('a branch that adds a test PASSes with a positive delta and no falling file', async () => {
    repo.git('checkout', '-q', '-b', 'agent/clamp', 'main');
    repo.commitAll('test clamp', {
      'tests/test_ops.py': pythonTests('test_add', 'test_sub', 'test_div', 'test_clamp')
    });
    const r = await coverageGateRun(repo.work, inputs(), { headRef: 'agent/clamp' });
    expect(r.verdict).toBe('PASS');
    expect(r.frontmatter).toMatchObject({
      measured: 92.86,
      baseline: 57.14,
      delta: 35.72,
      bootstrap: false
    });
    expect(r.summary).toMatch(/holds the baseline 57\.14% \(delta \+35\.72\)/);
    expect(r.body).toMatch(
      /### Files whose coverage fell most \(against main at [0-9a-f]{12}\)\n\nNone\./
    );
  });

  it('the ratchet after landing it raises the baseline', async () => {
    mainSha = land(repo);
    const r = await ratchetRun(repo.work, inputs());
    expect(r.ok).toBe(true);
    expect(r.outputs).toMatchObject({
      outcome: 'raised',
      previous: '57.14',
      baseline: '92.86',
      reused: 'true'
    });
    expect(r.summary).toBe('baseline for main raised from 57.14% to 92.86%');
    expect(repo.pytestSessions()).toBe(3);
  });

  it('the ratchet never lowers: landing a lower-coverage commit keeps the baseline', async () => {
    repo.git('checkout', '-q', 'main');
    repo.commitAll('drop test_div', {
      'tests/test_ops.py': pythonTests('test_add', 'test_sub', 'test_clamp')
    });
    repo.git('push', '-q', 'origin', 'main');
    const r = await ratchetRun(repo.work, inputs());
    expect(r.ok).toBe(true);
    expect(r.outputs).toEqual({
      baseline: '92.86',
      previous: '92.86',
      outcome: 'unchanged',
      measured: '78.57',
      reused: 'false'
    });
    expect(r.summary).toBe(
      'baseline for main stays at 92.86% (landed 78.57%; the ratchet never lowers it)'
    );
    // A tree nobody measured is measured now.
    expect(repo.pytestSessions()).toBe(4);
    expect((await baselineRun(repo.work, { 'state-path': state })).outputs.baseline).toBe('92.86');
    // And the next branch off this main is judged against 92.86, not 42.86.
    repo.git('checkout', '-q', '-b', 'agent/next');
    repo.commitAll('next', { 'NOTES.md': 'x\n' });
    const next = await coverageGateRun(repo.work, inputs(), { headRef: 'agent/next' });
    expect(next.verdict).toBe('FAIL');
    expect(next.frontmatter).toMatchObject({ baseline: 92.86, measured: 78.57, delta: -14.29 });
  });
});

describe('JS project, LCOV from Node test runner', () => {
  it('measures real LCOV (format auto), ratchets it, and fails a branch that drops a test', async () => {
    const repo = projectRepo('js-app');
    const state = freshStatePath();
    const inputs = {
      command: NODE_LCOV_COMMAND,
      report: 'lcov.info',
      format: 'auto',
      'state-path': state
    };
    const first = await coverageGateRun(repo.work, inputs, { headRef: 'main' });
    expect(first.verdict).toBe('PASS');
    expect(first.frontmatter).toMatchObject({
      format: 'lcov',
      measured: 68.75,
      lines_covered: 11,
      lines_total: 16,
      bootstrap: true
    });
    const rat = await ratchetRun(repo.work, inputs);
    expect(rat.outputs).toMatchObject({
      outcome: 'bootstrapped',
      baseline: '68.75',
      reused: 'true'
    });

    repo.git('checkout', '-q', '-b', 'agent/drop-sign');
    repo.commitAll('drop sign test', {
      'test/math.test.js': [
        "import { test } from 'node:test';",
        "import assert from 'node:assert/strict';",
        "import { add } from '../src/math.js';",
        '',
        "test('add', () => assert.equal(add(1, 2), 3));",
        ''
      ].join('\n')
    });
    const r = await coverageGateRun(repo.work, inputs, { headRef: 'agent/drop-sign' });
    expect(r.verdict).toBe('FAIL');
    expect(r.frontmatter).toMatchObject({
      format: 'lcov',
      measured: 50,
      baseline: 68.75,
      delta: -18.75
    });
    expect(r.body).toMatch(/\| src\/math\.js \| 68\.75% \| 50\.00% \|/);
  });
});

describe('policy, floor and epsilon at their boundaries (real report, measure: false)', () => {
  let repo: ProjectRepo;
  let state: string;
  const gate = (extra: Record<string, string>) =>
    coverageGateRun(
      repo.work,
      { 'state-path': state, measure: 'false', ...extra },
      { headRef: 'agent/policy' }
    );
  const setBaseline = async (value: string): Promise<void> => {
    const r = await baselineRun(
      repo.work,
      { operation: 'set', value, reason: 'boundary test', 'state-path': state },
      { env: { GITHUB_ACTOR: 'maintainer' } }
    );
    expect(r.ok).toBe(true);
  };

  beforeAll(async () => {
    repo = projectRepo('python-app');
    repo.git('checkout', '-q', '-b', 'agent/policy');
    state = freshStatePath();
    // One real measurement writes coverage.json; the rest read it.
    const r = await coverageGateRun(
      repo.work,
      { 'state-path': state },
      { headRef: 'agent/policy' }
    );
    expect(r.frontmatter.measured).toBe(57.14);
  });

  it('measure: false reads the existing report without running anything', async () => {
    const r = await gate({ command: 'echo ran > ran.marker; false' });
    expect(r.verdict).toBe('PASS');
    expect(r.frontmatter.measured).toBe(57.14);
    expect(existsSync(join(repo.work, 'ran.marker'))).toBe(false);
  });

  it('an absolute floor above the measurement FAILs; a floor equal to it PASSes', async () => {
    const above = await gate({ policy: 'absolute', floor: '60' });
    expect(above.verdict).toBe('FAIL');
    expect(above.summary).toBe(
      'coverage fell: no baseline yet (bootstrap): only the floor applies; coverage 57.14% is below the floor 60.00% by 2.86 points'
    );
    expect(above.frontmatter).toMatchObject({ floor: 60, policy: 'absolute' });
    const equal = await gate({ policy: 'absolute', floor: '57.14' });
    expect(equal.verdict).toBe('PASS');
    const bootstrapBelowFloor = await gate({ policy: 'both', floor: '57.15' });
    expect(bootstrapBelowFloor.verdict).toBe('FAIL');
  });

  it('a baseline exactly epsilon above the measurement PASSes, a hundredth more FAILs', async () => {
    await setBaseline('57.24');
    const within = await gate({});
    expect(within.verdict).toBe('PASS');
    expect(within.frontmatter).toMatchObject({ baseline: 57.24, delta: -0.1, bootstrap: false });
    expect(within.summary).toMatch(
      /coverage 57\.14% is within the tolerance 0\.10 of the baseline 57\.24% \(delta -0\.10\)/
    );
    await setBaseline('57.25');
    const beyond = await gate({});
    expect(beyond.verdict).toBe('FAIL');
    expect(beyond.frontmatter).toMatchObject({ baseline: 57.25, delta: -0.11 });
    expect(beyond.summary).toMatch(
      /dropped 0\.11 points below the baseline 57\.25% \(tolerance 0\.10\)/
    );
    // A wider epsilon lets it through; 'absolute' ignores the baseline.
    expect((await gate({ epsilon: '0.11' })).verdict).toBe('PASS');
    expect((await gate({ policy: 'absolute', floor: '50' })).verdict).toBe('PASS');
    // 'baseline' ignores the floor once there is a baseline; 'both' does not.
    await setBaseline('57.14');
    expect((await gate({ policy: 'baseline', floor: '99' })).verdict).toBe('PASS');
    expect((await gate({ policy: 'both', floor: '99' })).verdict).toBe('FAIL');
  });
});

describe('kill-switch', () => {
  it('QG_COVERAGE_ENABLED=false skips the gate and the ratchet: nothing runs, no state is written', async () => {
    const repo = projectRepo('python-app');
    const state = freshStatePath();
    const env = { QG_COVERAGE_ENABLED: 'false' };
    const inputs = { 'state-path': state, command: 'echo ran > ran.marker' };
    const g = await coverageGateRun(repo.work, inputs, { env });
    expect(g.verdict).toBe('SKIPPED');
    expect(g.summary).toBe('coverage gate disabled by QG_COVERAGE_ENABLED=false');
    expect(g.frontmatter.coverage_status).toBe('SKIPPED');
    const r = await ratchetRun(repo.work, inputs, { env });
    expect(r).toMatchObject({ ok: true, skipped: true });
    expect(r.summary).toBe('coverage-ratchet skipped: QG_COVERAGE_ENABLED=false');
    expect(existsSync(join(repo.work, 'ran.marker'))).toBe(false);
    expect(existsSync(state)).toBe(false);
  });
});

describe('the run environment', () => {
  // The command gets the run context's env (as gitleaks does), not the test
  // process's: here ctx.env puts /usr/bin (python3 with pytest-cov) first on PATH.
  it('the coverage command runs with the run context’s environment', async () => {
    const repo = projectRepo('python-app');
    const r = await coverageGateRun(
      repo.work,
      { 'state-path': freshStatePath(), python: 'python3' },
      { env: { PATH: `/usr/bin:${process.env.PATH ?? ''}` } }
    );
    expect(r.warnings).toEqual([]);
    expect(r.frontmatter.measured).toBe(57.14);
  });
});
