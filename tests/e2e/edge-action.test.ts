// The root action (action.yml -> dist/edge/index.js) as a runner runs it: the
// whole edge in one step on a real repository with a bare origin, a real
// SQLite state file and a Gitea-style pull_request payload. No image is
// given, so the image-freshness gate is SKIPPED.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { git, makeRepoWithBranches, type TestRepo } from '../helpers/git-repo.ts';
import { giteaPullRequestEvent, runActionBundle, ROOT } from '../helpers/runner.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const LCOV = 'SF:src/a.py\\nDA:1,1\\nDA:2,1\\nDA:3,0\\nDA:4,1\\nend_of_record\\n'; // 75 %

describe('root action: the whole edge in one step', () => {
  let repo: TestRepo;
  beforeAll(() => {
    expect(existsSync(join(ROOT, 'dist', 'edge', 'index.js'))).toBe(true);
    repo = makeRepoWithBranches(['agent/one', 'agent/two', 'agent/three', 'agent/four'], {
      mainMoves: true
    });
  });

  function edge(branch: string, state: string, runId: string, inputs: Record<string, string> = {}) {
    const ws = join(tempDir('qg-ws-'), 'ws');
    git(repo.root, 'clone', '-q', '--branch', branch, `file://${repo.origin}`, ws);
    const head = git(ws, 'rev-parse', 'HEAD').trim();
    const run = runActionBundle('.', {
      workspace: ws,
      event: giteaPullRequestEvent({
        base: 'main',
        head: branch,
        headSha: head,
        repo: 'acme/service'
      }),
      inputs: {
        'test-command': 'test -f ok',
        'state-path': state,
        'lease-wait-minutes': '0',
        'secrets-engine': 'embedded',
        'dep-audit': 'false',
        'coverage-command': `printf '${LCOV}' > cov.lcov`,
        'coverage-report': 'cov.lcov',
        'coverage-format': 'lcov',
        // No forge here: nothing is published, the verdicts stand.
        token: '',
        ...inputs
      },
      env: { GITHUB_RUN_ID: runId }
    });
    return { ws, head, run };
  }

  it('passes a branch through every gate, rebased; the merge lease then DEFERs the next branch', () => {
    const state = join(tempDir('qg-state-'), 'state.sqlite');
    const { head, run } = edge('agent/one', state, '201');
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({
      status: 'PASS',
      'security-status': 'PASS',
      'merge-status': 'PASS',
      'coverage-status': 'PASS',
      'image-freshness-status': 'SKIPPED',
      'lease-release': ''
    });
    // Later gates tested the caught-up branch, which origin now has.
    expect(run.outputs['new-head']).not.toBe(head);
    expect(git(repo.root, '--git-dir', repo.origin, 'rev-parse', 'agent/one').trim()).toBe(
      run.outputs['new-head']
    );
    expect(readdirSync(run.outputs['report-dir']).sort()).toEqual([
      '17-security-report.md',
      '18-coverage-report.md',
      '19-merge-report.md',
      '20-image-freshness-report.md'
    ]);
    expect(run.outputs.summary).toMatch(
      /^security PASS, merge PASS, coverage PASS, image-freshness SKIPPED/
    );
    expect(run.summary).toMatch(/## quality-gates edge: PASS/);
    expect(run.summary).toContain("no image given (input 'image')");

    const deferred = edge('agent/two', state, '202').run;
    expect(deferred.exitCode).toBe(0);
    expect(deferred.outputs).toMatchObject({
      status: 'DEFER',
      'security-status': 'PASS',
      'merge-status': 'DEFER',
      'coverage-status': '',
      'image-freshness-status': ''
    });
    expect(deferred.outputs.summary).toMatch(
      /merge: merge lock busy, held by agent\/one since .*; not run: coverage, image-freshness/
    );
    expect(deferred.stdout).toMatch(/::warning::edge: DEFER - .*not a code fault/);
    // Main was never touched.
    expect(
      git(repo.root, '--git-dir', repo.origin, 'log', '--format=%s', '-1', 'main').trim()
    ).toBe('change later.txt');
  });

  it('a gate failing after the merge gate passed fails the step and releases the lease', () => {
    const state = join(tempDir('qg-state-'), 'state.sqlite');
    const red = edge('agent/three', state, '301', { 'coverage-floor': '90' }).run;
    expect(red.exitCode).toBe(1);
    expect(red.outputs).toMatchObject({
      status: 'FAIL',
      'merge-status': 'PASS',
      'coverage-status': 'FAIL',
      'image-freshness-status': ''
    });
    expect(red.outputs['lease-release']).toBe(
      'merge lease released by agent/three (PR #7 from acme/service)'
    );
    expect(red.stdout).toMatch(/::error::edge: FAIL - .*coverage: /);

    // The lease is free: the next branch is not deferred.
    const next = edge('agent/four', state, '302').run;
    expect(next.outputs['merge-status']).toBe('PASS');
    expect(next.exitCode).toBe(0);
  });

  it('a configuration error names the input under its root name and fails the step', () => {
    const state = join(tempDir('qg-state-'), 'state.sqlite');
    const bad = edge('agent/one', state, '401', { 'fail-on-severity': 'severe' }).run;
    expect(bad.exitCode).toBe(1);
    expect(bad.outputs['security-status']).toBe('FAIL');
    expect(bad.outputs['merge-status']).toBe('');
    expect(bad.outputs.summary).toMatch(/input 'fail-on-severity': expected /);
    // A prefixed input is named as the root action spells it.
    const prefixed = edge('agent/one', state, '402', { 'coverage-floor': '101' }).run;
    expect(prefixed.exitCode).toBe(1);
    expect(prefixed.outputs['coverage-status']).toBe('FAIL');
    expect(prefixed.outputs.summary).toMatch(/input 'coverage-floor': expected a number/);
  });
});
