// guardGitConfig() around a user command in a real clone: what git reads as
// configuration (config, config.worktree, commondir, info/attributes, the
// alternates file, hooks) comes back byte for byte, a change is reported by
// path, and a .git that was swapped for something else is refused.
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from 'node:fs';
import { join } from 'node:path';
import { guardGitConfig } from '../../packages/git/src/config-guard.ts';
import { Git } from '../../packages/git/src/git.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

describe('guardGitConfig', () => {
  it('reports nothing when nothing changed', async () => {
    const repo = makeRepo();
    const guard = await guardGitConfig(repo.work);
    expect(await guard.restore()).toEqual({ changed: false, changes: [] });
  });

  it('undoes config edits, new and edited hooks, commondir, config.worktree, attributes and alternates', async () => {
    const repo = makeRepo();
    const gitDir = join(repo.work, '.git');
    const config = join(gitDir, 'config');
    writeFileSync(join(gitDir, 'hooks', 'pre-commit'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(gitDir, 'hooks', 'pre-commit'), 0o755);
    const before = readFileSync(config);
    const guard = await guardGitConfig(repo.work);

    repo.git('config', 'core.fsmonitor', '/tmp/evil');
    repo.git('config', 'url.http://evil.invalid/.insteadOf', repo.origin);
    writeFileSync(join(gitDir, 'hooks', 'pre-push'), '#!/bin/sh\ntouch /tmp/x\n');
    writeFileSync(join(gitDir, 'hooks', 'pre-commit'), '#!/bin/sh\ntouch /tmp/x\n');
    writeFileSync(join(gitDir, 'commondir'), tempDir());
    writeFileSync(join(gitDir, 'config.worktree'), '[core]\n\thooksPath = /tmp\n');
    mkdirSync(join(gitDir, 'info'), { recursive: true });
    writeFileSync(join(gitDir, 'info', 'attributes'), '* filter=evil\n');
    writeFileSync(join(gitDir, 'objects', 'info', 'alternates'), `${tempDir()}\n`);

    const r = await guard.restore();
    expect(r.changed).toBe(true);
    expect(r.changes.sort()).toEqual(
      [
        '.git/config',
        '.git/config.worktree',
        '.git/commondir',
        '.git/info/attributes',
        '.git/objects/info/alternates',
        '.git/hooks/pre-commit',
        '.git/hooks/pre-push'
      ].sort()
    );
    expect(readFileSync(config).equals(before)).toBe(true);
    expect(readFileSync(join(gitDir, 'hooks', 'pre-commit'), 'utf8')).toBe('#!/bin/sh\nexit 0\n');
    expect(statSync(join(gitDir, 'hooks', 'pre-commit')).mode & 0o777).toBe(0o755);
    // The repository works as before.
    expect(await new Git(repo.work).resolveCommit('HEAD')).toBe(repo.sha('HEAD'));
    expect(() => repo.git('config', '--get', 'core.fsmonitor')).toThrow();
  });

  it('replaces a symlink planted in place of the config, without writing through it', async () => {
    const repo = makeRepo();
    const config = join(repo.work, '.git', 'config');
    const before = readFileSync(config);
    const guard = await guardGitConfig(repo.work);
    const elsewhere = join(tempDir(), 'planted');
    writeFileSync(elsewhere, '[core]\n\tfsmonitor = /tmp/evil\n');
    rmSync(config);
    symlinkSync(elsewhere, config);
    const hooks = join(repo.work, '.git', 'hooks');
    rmSync(hooks, { recursive: true });
    symlinkSync(tempDir(), hooks);

    expect((await guard.restore()).changes).toEqual(
      expect.arrayContaining(['.git/config', '.git/hooks'])
    );
    expect(statSync(config).isFile()).toBe(true);
    expect(readFileSync(config).equals(before)).toBe(true);
    expect(readFileSync(elsewhere, 'utf8')).toBe('[core]\n\tfsmonitor = /tmp/evil\n');
    expect(statSync(hooks).isDirectory()).toBe(true);
  });

  it('refuses when .git itself was replaced', async () => {
    const repo = makeRepo();
    const guard = await guardGitConfig(repo.work);
    const gitDir = join(repo.work, '.git');
    renameSync(gitDir, join(repo.root, 'moved.git'));
    writeFileSync(gitDir, `gitdir: ${join(repo.root, 'moved.git')}\n`);
    await expect(guard.restore()).rejects.toThrow(/was replaced while the command under test ran/);
  });

  it('refuses to guard a workspace without a plain .git directory', async () => {
    await expect(guardGitConfig(tempDir())).rejects.toThrow(/is not a directory/);
  });
});
