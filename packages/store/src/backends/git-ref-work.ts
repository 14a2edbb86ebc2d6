// Where one git-ref operation works: a private temporary directory holding
// the copy of the state file and a bare repository of its own (the fetched
// commit, the commit to push, and the one ref the fetch writes). Nothing of
// an operation lands in the workspace's repository: no objects, no refs, no
// shallow marks. The directory is removed when the operation ends, and one
// left by a process that was killed (SIGKILL skips every finally) is removed
// by the next operation that sweeps the same temporary directory: at once
// when its process is gone (same host and PID namespace), else once it is
// older than the bound.
//
// Name: qg-state-<owner>-<pid>-<start, base 36>-<random>; <owner> is a short
// digest of the host name and PID namespace, so a PID is only ever checked
// where it means the same process.

import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ObjectFormat } from './git-objects.ts';

export const WORK_PREFIX = 'qg-state-';
/** A work directory older than this is stale whatever its process. Default 6 hours. */
export const DEFAULT_STALE_AFTER_MS = 6 * 3_600_000;
/** The one ref of the private repository: the fetched tip. */
export const TIP_REF = 'refs/qg/tip';

let ownerTag: string | undefined;

/** This process's host and PID namespace, as 8 hex digits. */
export function owner(): string {
  if (ownerTag === undefined) {
    let ns = '';
    try {
      ns = readlinkSync('/proc/self/ns/pid');
    } catch {
      // Not Linux, or no /proc: the host name alone.
    }
    ownerTag = createHash('sha256').update(`${hostname()}\0${ns}`).digest('hex').slice(0, 8);
  }
  return ownerTag;
}

/** A new work directory under `tmpDir`, named so a sweep can tell whose and how old it is. */
export function makeWorkDir(tmpDir: string, now = Date.now()): string {
  return mkdtempSync(join(tmpDir, `${WORK_PREFIX}${owner()}-${process.pid}-${now.toString(36)}-`));
}

/**
 * A bare repository at `<work>/git`, written by hand (no process): HEAD,
 * objects, refs and a config naming the object format.
 */
export function makePrivateRepo(work: string, format: ObjectFormat): string {
  const gitDir = join(work, 'git');
  rmSync(gitDir, { recursive: true, force: true });
  mkdirSync(join(gitDir, 'objects'), { recursive: true });
  mkdirSync(join(gitDir, 'refs'), { recursive: true });
  writeFileSync(join(gitDir, 'HEAD'), 'ref: refs/heads/unused\n');
  writeFileSync(
    join(gitDir, 'config'),
    format === 'sha1'
      ? '[core]\n\trepositoryformatversion = 0\n\tbare = true\n'
      : `[core]\n\trepositoryformatversion = 1\n\tbare = true\n[extensions]\n\tobjectformat = ${format}\n`
  );
  return gitDir;
}

/** The sha a loose ref of the private repository holds (undefined: none, or not loose). */
export function readLooseRef(gitDir: string, ref: string): string | undefined {
  try {
    const v = readFileSync(join(gitDir, ref), 'utf8').trim();
    return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Is process `pid` running (here: this host and PID namespace)? */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the work directories under `tmpDir` that no running operation
 * owns: a process of this host and PID namespace that is gone, or older than
 * `staleAfterMs` (also those of an earlier release, named qg-state-XXXXXX,
 * by their age). Returns the names it removed; never throws.
 */
export function sweepWorkDirs(tmpDir: string, staleAfterMs: number, now = Date.now()): string[] {
  let names: string[];
  try {
    names = readdirSync(tmpDir).filter((n) => n.startsWith(WORK_PREFIX));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = /^qg-state-([0-9a-f]{8})-(\d+)-([0-9a-z]+)-[^-]+$/.exec(name);
    let stale: boolean;
    const path = join(tmpDir, name);
    if (m) {
      const pid = Number(m[2]);
      const started = Number.parseInt(m[3], 36);
      stale =
        now - started > staleAfterMs ||
        (m[1] === owner() && pid !== process.pid && !processAlive(pid));
    } else {
      try {
        stale = now - statSync(path).mtimeMs > staleAfterMs;
      } catch {
        continue;
      }
    }
    if (!stale || !existsSync(path)) continue;
    try {
      rmSync(path, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Another sweeper, or not ours to remove: the next sweep tries again.
    }
  }
  return removed;
}
