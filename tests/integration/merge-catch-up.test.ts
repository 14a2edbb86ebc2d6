import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Git, ProtectedBranchError } from '../../packages/git/src/git.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import {
  catchUp,
  FALLBACK_IDENTITY,
  type CatchUpOptions
} from '../../packages/merge/src/catch-up.ts';
import { CatchUpError, LeaseRejectedError } from '../../packages/merge/src/errors.ts';
import { classifyCatchUp, classifyError } from '../../packages/merge/src/classify.ts';
import { GIT_ENV, git, makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const BRANCH = 'feat/x';
const ENV = { ...process.env, ...GIT_ENV };

let repo: TestRepo;
let logger: RecordingLogger;

/** Work clone on feat/x (one commit, pushed); main not moved yet. */
beforeEach(() => {
  repo = makeRepo();
  logger = new RecordingLogger();
  repo.git('checkout', '-q', '-b', BRANCH);
  repo.commit('feature.txt', 'feature\n', 'feature work');
  repo.git('push', '-q', 'origin', BRANCH);
});

function remoteSha(ref: string): string | undefined {
  try {
    return git(repo.origin, 'rev-parse', '--verify', '--quiet', `refs/heads/${ref}`).trim();
  } catch {
    return undefined;
  }
}

/** A second clone that plays "someone else". */
function other(): { dir: string; run: (...args: string[]) => string } {
  const dir = join(tempDir('qg-other-'), 'w');
  git(repo.root, 'clone', '-q', repo.origin, dir);
  return { dir, run: (...args) => git(dir, ...args) };
}

/** Lands a new commit on origin main from another clone; returns its sha. */
function advanceMain(path = 'main-only.txt', content = 'from main\n'): string {
  const o = other();
  o.run('checkout', '-q', 'main');
  writeFileSync(join(o.dir, path), content);
  o.run('add', '--', path);
  o.run('commit', '-q', '-m', `main: ${path}`);
  o.run('push', '-q', 'origin', 'main');
  return o.run('rev-parse', 'HEAD').trim();
}

function opts(extra: Partial<CatchUpOptions> = {}): CatchUpOptions {
  return {
    git: new Git(repo.work, { env: ENV }),
    remote: 'origin',
    baseRef: 'main',
    logger,
    ...extra
  };
}

async function refusal(p: Promise<unknown>): Promise<CatchUpError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err
  );
  expect(e).toBeInstanceOf(CatchUpError);
  expect((e as Error).message).not.toContain('\n');
  return e as CatchUpError;
}

describe('catchUp on a real repository with a bare origin', () => {
  it('is a no-op when the branch already contains origin/main', async () => {
    const head = repo.sha('HEAD');
    const r = await catchUp(opts());
    expect(r).toEqual({
      conflict: false,
      rebased: false,
      noop: true,
      branch: BRANCH,
      oldHead: head,
      newHead: head,
      baseSha: remoteSha('main')
    });
    expect(remoteSha(BRANCH)).toBe(head);
    expect(classifyCatchUp(r)).toBeUndefined();
  });

  it('rebases a branch that is behind and pushes it with a lease; main is untouched', async () => {
    const oldHead = repo.sha('HEAD');
    const mainTip = advanceMain();
    const r = await catchUp(opts());
    expect(r.rebased).toBe(true);
    if (!r.rebased) throw new Error('unreachable');
    expect(r.oldHead).toBe(oldHead);
    expect(r.baseSha).toBe(mainTip);
    expect(r.commits).toBe(1);
    expect(r.newHead).not.toBe(oldHead);
    // The remote task branch now holds the rebased commit, on top of main.
    expect(remoteSha(BRANCH)).toBe(r.newHead);
    expect(git(repo.origin, 'rev-parse', `${r.newHead}^`).trim()).toBe(mainTip);
    // main on origin is exactly what the other clone pushed.
    expect(remoteSha('main')).toBe(mainTip);
    // The workspace is the rebased branch, clean, with both changes.
    expect(repo.sha('HEAD')).toBe(r.newHead);
    expect(repo.git('symbolic-ref', '--short', 'HEAD').trim()).toBe(BRANCH);
    expect(repo.git('status', '--porcelain').trim()).toBe('');
    expect(existsSync(join(repo.work, 'main-only.txt'))).toBe(true);
    expect(existsSync(join(repo.work, 'feature.txt'))).toBe(true);
    // The author is kept.
    expect(repo.git('log', '-1', '--format=%an', r.newHead).trim()).toBe('Test Author');
  });

  it('on a conflict lists the files, aborts and restores the workspace', async () => {
    repo.commit('README.md', '# changed on the branch\n', 'branch edits README');
    repo.git('push', '-q', 'origin', BRANCH);
    const oldHead = repo.sha('HEAD');
    advanceMain('README.md', '# changed on main\n');
    const r = await catchUp(opts());
    expect(r.conflict).toBe(true);
    if (!r.conflict) throw new Error('unreachable');
    expect(r.files).toEqual(['README.md']);
    expect(r.oldHead).toBe(oldHead);
    expect(classifyCatchUp(r)).toBe('conflict');
    expect(repo.sha('HEAD')).toBe(oldHead);
    expect(repo.git('symbolic-ref', '--short', 'HEAD').trim()).toBe(BRANCH);
    expect(repo.git('status', '--porcelain').trim()).toBe('');
    expect(existsSync(join(repo.work, '.git', 'rebase-merge'))).toBe(false);
    expect(readFileSync(join(repo.work, 'README.md'), 'utf8')).toBe('# changed on the branch\n');
    expect(remoteSha(BRANCH)).toBe(oldHead);
  });

  it('a force-push by someone else before the lease push fails safely and is kept', async () => {
    const oldHead = repo.sha('HEAD');
    const mainTip = advanceMain();
    let theirs = '';
    const err = await catchUp(
      opts({
        beforePush: () => {
          const o = other();
          o.run('checkout', '-q', '-b', 'tmp', `origin/${BRANCH}`);
          o.run('commit', '-q', '--amend', '-m', 'rewritten by someone else');
          o.run('push', '-q', '--force', 'origin', `HEAD:refs/heads/${BRANCH}`);
          theirs = o.run('rev-parse', 'HEAD').trim();
        }
      })
    ).then(
      () => undefined,
      (e: unknown) => e
    );
    expect(err).toBeInstanceOf(LeaseRejectedError);
    expect((err as Error).message).toMatch(/someone else pushed.*nothing was overwritten/);
    expect(classifyError(err)).toBe('other');
    expect(theirs).not.toBe('');
    expect(remoteSha(BRANCH)).toBe(theirs);
    expect(remoteSha('main')).toBe(mainTip);
    // The workspace is put back where it started.
    expect(repo.sha('HEAD')).toBe(oldHead);
    expect(repo.git('status', '--porcelain').trim()).toBe('');
  });

  it.each(['main', 'release/1.0', 'master'])(
    'refuses the protected branch %s before any rebase',
    async (name) => {
      repo.git('checkout', '-q', '-B', name);
      advanceMain();
      const head = repo.sha('HEAD');
      const err = await catchUp(opts({ baseRef: 'develop' })).then(
        () => undefined,
        (e: unknown) => e
      );
      expect(err).toBeInstanceOf(ProtectedBranchError);
      expect((err as Error).message).toContain(`'${name}' is a protected branch`);
      expect(repo.sha('HEAD')).toBe(head);
    }
  );

  it('refuses a branch matching a caller-given protected glob', async () => {
    const err = await catchUp(opts({ protectedBranches: ['feat/*'] })).then(
      () => undefined,
      (e: unknown) => e
    );
    expect(err).toBeInstanceOf(ProtectedBranchError);
  });

  it('refuses a dirty worktree and leaves the change alone', async () => {
    advanceMain();
    repo.write('feature.txt', 'uncommitted\n');
    const e = await refusal(catchUp(opts()));
    expect(e.reason).toBe('dirty');
    expect(e.message).toMatch(/uncommitted changes/);
    expect(readFileSync(join(repo.work, 'feature.txt'), 'utf8')).toBe('uncommitted\n');
  });

  it('refuses a detached HEAD with no branch, and works on one when the branch is named', async () => {
    advanceMain();
    repo.git('checkout', '-q', '--detach');
    const e = await refusal(catchUp(opts()));
    expect(e.reason).toBe('detached');
    const r = await catchUp(opts({ branch: BRANCH }));
    expect(r.rebased).toBe(true);
    expect(remoteSha(BRANCH)).toBe(repo.sha('HEAD'));
  });

  it('deepens a shallow checkout instead of failing', async () => {
    const mainTip = advanceMain();
    const dir = join(tempDir('qg-shallow-'), 'w');
    git(repo.root, 'clone', '-q', '--depth', '1', '--branch', BRANCH, `file://${repo.origin}`, dir);
    expect(git(dir, 'rev-parse', '--is-shallow-repository').trim()).toBe('true');
    const r = await catchUp(opts({ git: new Git(dir, { env: ENV }) }));
    expect(r.rebased).toBe(true);
    if (!r.rebased) throw new Error('unreachable');
    expect(r.baseSha).toBe(mainTip);
    expect(remoteSha(BRANCH)).toBe(r.newHead);
    expect(logger.text()).toMatch(/shallow checkout/);
  });

  it('says so when the branch was deleted on origin', async () => {
    git(repo.origin, 'update-ref', '-d', `refs/heads/${BRANCH}`);
    const e = await refusal(catchUp(opts()));
    expect(e.reason).toBe('remote-branch-deleted');
    expect(e.message).toContain(`'${BRANCH}' no longer exists on origin`);
  });

  it('refuses a branch that is already merged into main', async () => {
    repo.git('push', '-q', 'origin', `${BRANCH}:main`);
    const e = await refusal(catchUp(opts()));
    expect(e.reason).toBe('already-merged');
    expect(e.message).toMatch(/nothing to land/);
  });

  it('refuses when HEAD is not the remote branch tip', async () => {
    repo.commit('local.txt', 'not pushed\n');
    const e = await refusal(catchUp(opts()));
    expect(e.reason).toBe('head-mismatch');
  });

  it.each([
    ['branch', '--upload-pack=touch pwned'],
    ['branch', 'a..b'],
    ['branch', 'x@{1}'],
    ['branch', 'has space'],
    ['branch', 'ref~1'],
    ['branch', 'a:b'],
    ['baseRef', '-main'],
    ['baseRef', 'main..HEAD']
  ])('refuses a hostile %s %j', async (field, value) => {
    const head = repo.sha('HEAD');
    const e = await refusal(catchUp(opts({ [field]: value })));
    expect(e.reason).toBe('invalid-name');
    expect(repo.sha('HEAD')).toBe(head);
    expect(existsSync(join(repo.work, 'pwned'))).toBe(false);
  });

  it('refuses a remote that is not configured', async () => {
    const e = await refusal(catchUp(opts({ remote: '--upload-pack=touch pwned' })));
    expect(e.reason).toBe('unknown-remote');
  });

  it('treats shell metacharacters in a valid name literally', async () => {
    const name = 'feat/$(touch${IFS}PWNED)`touch${IFS}PWNED2`';
    repo.git('checkout', '-q', '-b', name);
    repo.git('push', '-q', 'origin', name);
    advanceMain();
    const r = await catchUp(opts());
    expect(r.rebased).toBe(true);
    expect(remoteSha(name)).toBe(repo.sha('HEAD'));
    for (const dir of [repo.work, repo.root, process.cwd()]) {
      expect(existsSync(join(dir, 'PWNED'))).toBe(false);
      expect(existsSync(join(dir, 'PWNED2'))).toBe(false);
    }
  });

  it('sets a committer identity when the workspace has none', async () => {
    advanceMain();
    repo.git('config', 'user.useConfigOnly', 'true');
    const bare: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: tempDir(),
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1'
    };
    for (const k of [
      'GIT_AUTHOR_NAME',
      'GIT_AUTHOR_EMAIL',
      'GIT_COMMITTER_NAME',
      'GIT_COMMITTER_EMAIL',
      'EMAIL'
    ])
      delete bare[k];
    const r = await catchUp(opts({ git: new Git(repo.work, { env: bare }) }));
    expect(r.rebased).toBe(true);
    expect(repo.git('log', '-1', '--format=%cn <%ce>|%an').trim()).toBe(
      `${FALLBACK_IDENTITY.name} <${FALLBACK_IDENTITY.email}>|Test Author`
    );
  });
});
