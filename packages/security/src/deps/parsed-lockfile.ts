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

export type LockfileParser = (text: string, file: string) => ParsedLockfile;

/** "3 entries ...: a, b, c" with the list capped, for notes about many entries. */
export function countedList(items: readonly string[], max = 5): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown}, and ${items.length - max} more` : shown;
}

function flatten(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > 240 ? `${flat.slice(0, 239)}…` : flat;
}
