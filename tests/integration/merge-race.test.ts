// The classic landing race: two branches, each green against the main it
// started from, red together. Landing both without catch-up leaves main red;
// catching the second up onto the first and re-testing catches it as 'red'.
import { join } from 'node:path';
import { Git } from '../../packages/git/src/git.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { catchUp } from '../../packages/merge/src/catch-up.ts';
import { retest } from '../../packages/merge/src/retest.ts';
import { classifyRetest } from '../../packages/merge/src/classify.ts';
import { GIT_ENV, git, makeRaceRepo, type TestRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const COMMAND = `"${process.execPath}" check.js`;

let repo: TestRepo;
const logger = new RecordingLogger();

beforeEach(() => {
  repo = makeRaceRepo('task/rename', 'task/caller');
});

const test = (cwd: string) =>
  retest({ command: COMMAND, cwd, timeoutMs: 20_000, infraRetries: 0, logger });

it('each branch is green alone', async () => {
  for (const b of ['task/rename', 'task/caller']) {
    repo.git('checkout', '-q', b);
    expect((await test(repo.work)).outcome).toBe('pass');
  }
});

it('merging both without catch-up gives a red main', async () => {
  const dir = join(tempDir('qg-race-'), 'w');
  git(repo.root, 'clone', '-q', repo.origin, dir);
  // Both merge without a textual conflict: that is the trap.
  git(dir, 'merge', '-q', '--no-edit', 'origin/task/rename');
  git(dir, 'merge', '-q', '--no-edit', 'origin/task/caller');
  const r = await test(dir);
  expect(r.outcome).toBe('red');
  expect(r.tail).toMatch(/lib\.greet is not a function/);
});

it('catchUp + retest on the second branch after the first landed catches it as red', async () => {
  // A lands (fast-forward of main on origin).
  repo.git('push', '-q', 'origin', 'task/rename:main');
  const mainTip = git(repo.origin, 'rev-parse', 'refs/heads/main').trim();
  repo.git('checkout', '-q', 'task/caller');
  const up = await catchUp({
    git: new Git(repo.work, { env: { ...process.env, ...GIT_ENV } }),
    remote: 'origin',
    baseRef: 'main',
    logger
  });
  expect(up.conflict).toBe(false);
  expect(up.rebased).toBe(true);
  const r = await test(repo.work);
  expect(r.outcome).toBe('red');
  expect(classifyRetest(r.outcome)).toBe('red');
  expect(r.tail).toMatch(/lib\.greet is not a function/);
  // main stays the green landing of A.
  expect(git(repo.origin, 'rev-parse', 'refs/heads/main').trim()).toBe(mainTip);
});
