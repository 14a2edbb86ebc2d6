// The merge-gate and lease-release bundles run as a runner runs them, on a
// real repository with a bare origin and a Gitea-style pull_request payload.
import { join } from 'node:path';
import { git, makeRepoWithBranches, type TestRepo } from '../helpers/git-repo.ts';
import { giteaPullRequestEvent, runActionBundle } from '../helpers/runner.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

describe('merge-gate bundle, as a runner runs it', () => {
  let repo: TestRepo;
  let state: string;
  beforeAll(() => {
    repo = makeRepoWithBranches(['agent/one', 'agent/two'], { mainMoves: true });
    state = join(tempDir('qg-state-'), 'state.sqlite');
  });

  function pr(branch: string) {
    const ws = join(tempDir('qg-ws-'), 'ws');
    git(repo.root, 'clone', '-q', '--branch', branch, `file://${repo.origin}`, ws);
    const head = git(ws, 'rev-parse', 'HEAD').trim();
    return {
      ws,
      head,
      event: giteaPullRequestEvent({
        base: 'main',
        head: branch,
        headSha: head,
        repo: 'acme/service'
      })
    };
  }

  it('catches a branch up, outputs the new head, and holds the lease; the next branch is deferred', () => {
    const one = pr('agent/one');
    const run = runActionBundle('merge-gate', {
      workspace: one.ws,
      event: one.event,
      inputs: { 'test-command': 'test -f ok', 'state-path': state, 'lease-wait-minutes': '0' },
      env: { GITHUB_RUN_ID: '101' }
    });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.outputs.status).toBe('PASS');
    expect(run.outputs['new-head']).not.toBe(one.head);
    expect(git(repo.root, '--git-dir', repo.origin, 'rev-parse', 'agent/one').trim()).toBe(
      run.outputs['new-head']
    );

    const two = pr('agent/two');
    const deferred = runActionBundle('merge-gate', {
      workspace: two.ws,
      event: two.event,
      inputs: { 'test-command': 'test -f ok', 'state-path': state, 'lease-wait-minutes': '0' },
      env: { GITHUB_RUN_ID: '102' }
    });
    expect(deferred.exitCode).toBe(0);
    expect(deferred.outputs.status).toBe('DEFER');
    expect(deferred.outputs['failure-class']).toBe('lock-busy');
    expect(deferred.outputs.summary).toMatch(/^merge lock busy, held by agent\/one since /);
  });

  it('lease-release on the pull request of the holder frees it; a red re-test then FAILs with exit 1 and holds nothing', () => {
    const one = pr('agent/one');
    const rel = runActionBundle('lease-release', {
      workspace: one.ws,
      event: one.event,
      inputs: { 'state-path': state }
    });
    expect(rel.exitCode).toBe(0);
    expect(rel.outputs.outcome).toBe('released');

    const two = pr('agent/two');
    const red = runActionBundle('merge-gate', {
      workspace: two.ws,
      event: two.event,
      inputs: { 'test-command': 'exit 3', 'state-path': state, 'lease-wait-minutes': '0' }
    });
    expect(red.exitCode).toBe(1);
    expect(red.outputs.status).toBe('FAIL');
    expect(red.outputs['failure-class']).toBe('red');
    const again = runActionBundle('lease-release', {
      workspace: two.ws,
      event: two.event,
      inputs: { 'state-path': state }
    });
    expect(again.outputs.outcome).toBe('absent');
  });
});
