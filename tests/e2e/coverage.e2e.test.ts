// The coverage bundles (gate, ratchet, baseline) run as a runner runs them,
// on a real Python project measured with the reference command (pytest-cov),
// sharing one real SQLite state file across jobs as a runner volume would.
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { git, makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { giteaPullRequestEvent, runActionBundle } from '../helpers/runner.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const PYTHON_APP = fileURLToPath(new URL('../fixtures/projects/python-app', import.meta.url));
const PYTHON = '/usr/bin/python3';

describe('coverage bundles, as a runner runs them', () => {
  let repo: TestRepo;
  let state: string;
  const common = (): Record<string, string> => ({ python: PYTHON, 'state-path': state });

  beforeAll(() => {
    repo = makeRepo();
    cpSync(PYTHON_APP, repo.work, { recursive: true });
    repo.git('add', '.');
    repo.git('commit', '-q', '-m', 'python app');
    repo.git('push', '-q', 'origin', 'main');
    state = join(tempDir('qg-state-'), 'state.sqlite');
  });

  function checkout(branch: string): string {
    const ws = join(tempDir('qg-ws-'), 'ws');
    git(repo.root, 'clone', '-q', '--branch', branch, `file://${repo.origin}`, ws);
    return ws;
  }

  it('the ratchet bootstraps the baseline on a push to main', () => {
    const ws = checkout('main');
    const run = runActionBundle('coverage-ratchet', {
      workspace: ws,
      inputs: common(),
      env: { GITHUB_REF: 'refs/heads/main', GITHUB_ACTOR: 'ci-bot' }
    });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({
      outcome: 'bootstrapped',
      baseline: '57.14',
      previous: '',
      measured: '57.14',
      reused: 'false'
    });
    expect(run.summary).toContain('## Coverage ratchet');
  });

  it('a branch that lowers coverage fails against the baseline, and names the file', () => {
    repo.git('checkout', '-q', '-b', 'agent/drop-test', 'main');
    const test = readFileSync(join(repo.work, 'tests/test_ops.py'), 'utf8');
    repo.commit(
      'tests/test_ops.py',
      test.replace(/\ndef test_div\(\):\n.*\n/, '\n'),
      'drop a test'
    );
    repo.git('push', '-q', 'origin', 'agent/drop-test');
    const ws = checkout('agent/drop-test');
    const head = git(ws, 'rev-parse', 'HEAD').trim();
    const run = runActionBundle('coverage-gate', {
      workspace: ws,
      inputs: common(),
      event: giteaPullRequestEvent({
        base: 'main',
        head: 'agent/drop-test',
        headSha: head,
        repo: 'acme/service'
      })
    });
    expect(run.exitCode).toBe(1);
    expect(run.outputs.status).toBe('FAIL');
    expect(run.outputs.baseline).toBe('57.14');
    expect(Number(run.outputs.measured)).toBeLessThan(57.14);
    expect(Number(run.outputs.delta)).toBeLessThan(-0.1);
    const report = readFileSync(run.outputs['report-path'], 'utf8');
    expect(report).toMatch(/^---\ngate: coverage\ncoverage_status: FAIL\n/);
    expect(report).toContain('src/calc/ops.py');
    expect(report).toContain('Files whose coverage fell most');
  });

  it('a maintainer lowers the baseline by hand, with a reason; then the branch passes', () => {
    const ws = checkout('main');
    const noReason = runActionBundle('coverage-baseline', {
      workspace: ws,
      inputs: { ...common(), operation: 'set', value: '50' }
    });
    expect(noReason.exitCode).toBe(1);
    expect(noReason.outputs.summary).toBe(
      "configuration error: input 'reason': expected a reason for 'set' (it goes into the audit log)"
    );

    const set = runActionBundle('coverage-baseline', {
      workspace: ws,
      inputs: { ...common(), operation: 'set', value: '42.5', reason: 'accept the smaller suite' },
      env: { GITHUB_ACTOR: 'maintainer' }
    });
    expect(set.exitCode).toBe(0);
    expect(set.outputs).toMatchObject({ baseline: '42.50', previous: '57.14' });
    expect(set.summary).toContain('maintainer');
    expect(set.summary).toContain('accept the smaller suite');

    const ws2 = checkout('agent/drop-test');
    const run = runActionBundle('coverage-gate', {
      workspace: ws2,
      inputs: { ...common(), 'base-ref': 'main' }
    });
    // 42.86% measured against 42.50%: holds the lowered baseline.
    expect(run.outputs.status).toBe('PASS');
    expect(run.outputs.baseline).toBe('42.5');
    expect(run.exitCode).toBe(0);
  });

  it('a failing test suite FAILs the gate with class red, fail-open default or not (issue 8)', () => {
    repo.git('checkout', '-q', '-b', 'agent/red', 'main');
    repo.commit('tests/test_red.py', 'def test_red():\n    assert 1 == 2\n', 'red test');
    repo.git('push', '-q', 'origin', 'agent/red');
    const ws = checkout('agent/red');
    const run = runActionBundle('coverage-gate', {
      workspace: ws,
      inputs: { ...common(), 'base-ref': 'main' }
    });
    expect(run.exitCode).toBe(1);
    expect(run.outputs.status).toBe('FAIL');
    expect(run.outputs.summary).toMatch(/^coverage command: the test suite is red \(exit 1\)/);
    const report = readFileSync(run.outputs['report-path'], 'utf8');
    expect(report).toMatch(/^failure_class: red$/m);
  });
});
