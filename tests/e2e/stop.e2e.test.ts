// The stop bundle as a runner runs it, on a real repository with a bare
// origin and a Gitea-style pull_request payload (the `stop` label event):
// the branch is cancelled and deleted; main is refused with exit 1.
import { join } from 'node:path';
import { branchState } from '../../packages/store/src/branch-state.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { giteaPullRequestEvent, runActionBundle } from '../helpers/runner.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

describe('stop bundle, as a runner runs it', () => {
  it('cancels the pull request head branch and deletes it; refuses main with exit 1', () => {
    const repo = makeRepo();
    repo.git('checkout', '-q', '-b', 'agent/x');
    repo.commit('x.txt', 'x\n');
    repo.git('push', '-q', 'origin', 'agent/x');
    const head = repo.sha('HEAD');
    const state = join(tempDir('qg-state-'), 'state.sqlite');
    const event = giteaPullRequestEvent({
      base: 'main',
      head: 'agent/x',
      headSha: head,
      repo: 'acme/service'
    });
    const run = runActionBundle('stop', {
      workspace: repo.work,
      event,
      inputs: { 'state-path': state, reason: 'labelled stop', token: '' },
      env: { GITHUB_ACTOR: 'carol' }
    });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({
      outcome: 'cancelled',
      'lease-released': 'false',
      'branch-deleted': 'true',
      'runs-cancelled': '0'
    });
    expect(run.stdout).toContain("::warning::forge not updated (input 'token' is empty)");
    expect(run.summary).toContain('## STOP: cancelled');
    expect(git(repo.root, '--git-dir', repo.origin, 'for-each-ref', '--format=%(refname)')).toBe(
      'refs/heads/main\n'
    );
    const db = openStateDatabase(state, { journal: 'wal', writable: false });
    try {
      expect(branchState(db, 'acme/service', 'agent/x')).toMatchObject({
        state: 'cancelled',
        cancelledBy: 'carol',
        reason: 'labelled stop'
      });
    } finally {
      db.close();
    }

    const refused = runActionBundle('stop', {
      workspace: repo.work,
      inputs: { branch: 'main', 'state-path': state, token: '' }
    });
    expect(refused.exitCode).toBe(1);
    expect(refused.outputs.outcome).toBe('refused');
    expect(refused.stdout).toContain(
      "::error::stop: refused: 'main' is a protected branch (main, master, release/*); STOP never cancels or deletes it"
    );
    expect(git(repo.root, '--git-dir', repo.origin, 'rev-parse', 'main').trim()).toBe(
      repo.sha('main')
    );
  });
});
