// The contract every lockfile parser keeps: text in, packages and notes out,
// and on a defect a LockfileError naming the file and the problem in one line.

import { ToolError } from '../../../core/src/errors.ts';
import type { LockedPackage } from './package-ref.ts';

/** ToolError kind of an unreadable lockfile; the gate maps it to a policy. */
export const LOCKFILE_ERROR_KIND = 'lockfile';

export class LockfileError extends ToolError {
  readonly file: string;
  /** What is wrong, without the file name. */
  readonly problem: string;
  constructor(file: string, problem: string) {
    super(LOCKFILE_ERROR_KIND, `${file}: ${flatten(problem)}`);
    this.name = 'LockfileError';
    this.file = file;
    this.problem = flatten(problem);
  }
}

export interface ParsedLockfile {
  packages: LockedPackage[];
  /** What could not be audited and why; never fatal. */
  notes: string[];
}

export interface ParseOptions {
  /**
   * requirements files: the text of the files it includes (-r, -c), keyed by
   * repository path, as loadRequirementIncludes reads them. Without it an
   * include is noted, not followed.
   */
  includes?: Map<string, string>;
  /**
   * requirements files: the variables `${NAME}` expands from, as pip expands
   * them from its environment. Without it no variable is set (each use is
   * noted); a caller passes only what the install would see.
   */
  env?: NodeJS.ProcessEnv;
}

export type LockfileParser = (text: string, file: string, opts?: ParseOptions) => ParsedLockfile;

/** "3 entries ...: a, b, c" with the list capped, for notes about many entries. */
export function countedList(items: readonly string[], max = 5): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown}, and ${items.length - max} more` : shown;
}

/**
 * True when a file has nothing but blank lines and, where the format has them,
 * comment lines: every kind reads such a file as an empty list, not a defect.
 */
export function isBlank(text: string, comment?: RegExp): boolean {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') return true;
  if (!comment) return false;
  return body.split(/\r\n|\r|\n/).every((l) => l.trim() === '' || comment.test(l));
}

/**
 * Entries left out because they are not registry packages, counted by why:
 * "3 entries not from a registry are not audited (2 git, 1 local directory): a, b, c".
 */
export class Exclusions {
  private readonly items: { why: string; what: string }[] = [];
  add(why: string, what: string): void {
    this.items.push({ why, what });
  }
  get size(): number {
    return this.items.length;
  }
  note(what = 'entr(ies) not from a registry'): string[] {
    if (this.items.length === 0) return [];
    const counts = new Map<string, number>();
    for (const { why } of this.items) counts.set(why, (counts.get(why) ?? 0) + 1);
    const byWhy = [...counts].map(([why, n]) => `${n} ${why}`).join(', ');
    return [
      `${this.items.length} ${what} are not audited (${byWhy}): ${countedList(this.items.map((i) => i.what))}`
    ];
  }
}

/** Drops repeated name@version pairs (peer variants, several ranges), keeping the first. */
export function uniquePackages(list: LockedPackage[]): LockedPackage[] {
  const seen = new Set<string>();
  return list.filter((p) => {
    const k = `${p.ecosystem}:${p.name}@${p.version}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function flatten(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > 240 ? `${flat.slice(0, 239)}…` : flat;
}
