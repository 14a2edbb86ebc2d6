// A snapshot of the workspace's git configuration around a user command.
// The code under test runs with write access to the workspace, .git
// included: it can plant hooks, an fsmonitor command, credential helpers,
// url.<x>.insteadOf rewrites, a pushurl, includes, an alternates file or a
// commondir that moves the whole config elsewhere. guardGitConfig(), taken
// before the command, and restore(), right after it (before any other git
// process of the gate runs there), put back the exact bytes of what git
// reads as configuration and report whether anything had changed, so the
// gate can say so. The gate's own git processes are hardened anyway
// (git-env.ts); this keeps the workspace honest for what runs after the gate
// in the same job, and removes what hardening cannot reach.
//
// Restoring only writes files (rename over the old path, so a symlink
// planted in place of a file is replaced, not followed); it runs no git. A
// .git that was replaced by another directory, a file or a symlink cannot
// be put back: restore() throws, and the gate fails closed.

import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  type Stats
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { GitError } from './git.ts';

/** Files under .git that git reads as configuration or that steer where it reads it. */
export const GUARDED_FILES = [
  'config',
  'config.worktree',
  'commondir',
  'info/attributes',
  'objects/info/alternates'
] as const;

export interface GitConfigRestore {
  /** The command under test changed .git's configuration (now undone). */
  changed: boolean;
  /** What changed, as paths relative to the workspace (never contents). */
  changes: string[];
}

export interface GitConfigGuard {
  /** Puts back the snapshot's bytes; what differed is reported. Throws when .git itself was replaced. */
  restore(): Promise<GitConfigRestore>;
}

/** A regular file's bytes and mode, 'absent', or 'other' (a symlink or directory, left alone). */
type FileSnap = { bytes: Buffer; mode: number } | 'absent' | 'other';

/**
 * Snapshots `<workspace>/.git`'s configuration files and hooks. Take it
 * after GitCredential.setup() (which removes the persisted credential: the
 * snapshot must not hold it) and just before the user command.
 */
export async function guardGitConfig(workspace: string): Promise<GitConfigGuard> {
  const gitDir = join(workspace, '.git');
  const dirStat = lstatOrUndefined(gitDir);
  if (!dirStat?.isDirectory())
    throw new GitError(
      `cannot guard the git config: ${gitDir} is not a directory (a plain clone is expected)`,
      []
    );
  const files = new Map<string, FileSnap>();
  for (const f of GUARDED_FILES) files.set(f, snapFile(join(gitDir, f)));
  const hooksDir = join(gitDir, 'hooks');
  const hooksWasDir = lstatOrUndefined(hooksDir)?.isDirectory() ?? false;
  const hooks = new Map<string, FileSnap>();
  if (hooksWasDir)
    for (const name of readdirSync(hooksDir)) hooks.set(name, snapFile(join(hooksDir, name)));

  return {
    async restore(): Promise<GitConfigRestore> {
      const now = lstatOrUndefined(gitDir);
      if (!now?.isDirectory() || now.ino !== dirStat.ino || now.dev !== dirStat.dev)
        throw new GitError(
          `${gitDir} was replaced while the command under test ran; the gate will not run git there again`,
          []
        );
      const changes: string[] = [];
      for (const [f, snap] of files) if (putBack(join(gitDir, f), snap)) changes.push(`.git/${f}`);

      const hooksNow = lstatOrUndefined(hooksDir);
      if (hooksNow && !hooksNow.isDirectory()) {
        rmSync(hooksDir, { recursive: true, force: true });
        changes.push('.git/hooks');
      }
      if (hooksWasDir) {
        mkdirSync(hooksDir, { recursive: true });
        for (const name of readdirSync(hooksDir))
          if (!hooks.has(name)) {
            rmSync(join(hooksDir, name), { recursive: true, force: true });
            changes.push(`.git/hooks/${name}`);
          }
        for (const [name, snap] of hooks)
          if (putBack(join(hooksDir, name), snap)) changes.push(`.git/hooks/${name}`);
      } else if (hooksNow?.isDirectory()) {
        rmSync(hooksDir, { recursive: true, force: true });
        changes.push('.git/hooks');
      }
      return { changed: changes.length > 0, changes: [...new Set(changes)] };
    }
  };
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function snapFile(path: string): FileSnap {
  const st = lstatOrUndefined(path);
  if (!st) return 'absent';
  if (!st.isFile()) return 'other';
  return { bytes: readFileSync(path), mode: st.mode & 0o7777 };
}

/** Makes `path` what `snap` says (absent, or these bytes and mode); true when it was not. */
function putBack(path: string, snap: FileSnap): boolean {
  if (snap === 'other') return false;
  const st = lstatOrUndefined(path);
  if (snap === 'absent') {
    if (!st) return false;
    rmSync(path, { recursive: true, force: true });
    return true;
  }
  if (st?.isFile() && (st.mode & 0o7777) === snap.mode && readFileSync(path).equals(snap.bytes))
    return false;
  if (st && !st.isFile() && !st.isSymbolicLink()) rmSync(path, { recursive: true, force: true });
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.qg-restore-${randomBytes(6).toString('hex')}`;
  writeFileSync(tmp, snap.bytes, { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, snap.mode);
  renameSync(tmp, path);
  return true;
}
