// The failure classes of the merge gate's catch-up and re-test, and the
// functions that map an outcome or a thrown error onto them. The class picks
// the message and the policy; it never changes whether a branch lands.

import type { CatchUpResult } from './catch-up.ts';

/**
 * conflict: the branch does not rebase cleanly onto the base.
 * red: the re-test ran and failed.
 * timeout: the re-test hit its limit on every attempt.
 * lock-busy: another landing holds the merge lease (raised by the lease module).
 * lease-lost: the gate no longer held the lease (with its fencing token) when it was about to say PASS.
 * other: anything else (refusals, git failures, a lost push race, a command that could not start).
 */
export type MergeFailureClass =
  'conflict' | 'red' | 'timeout' | 'lock-busy' | 'lease-lost' | 'other';

export const MERGE_FAILURE_CLASSES: readonly MergeFailureClass[] = [
  'conflict',
  'red',
  'timeout',
  'lock-busy',
  'lease-lost',
  'other'
];

export type RetestOutcome = 'pass' | 'red' | 'timeout' | 'other';

/** The class of a re-test outcome; undefined for a pass. */
export function classifyRetest(outcome: RetestOutcome): MergeFailureClass | undefined {
  return outcome === 'pass' ? undefined : outcome;
}

/** The class of a catch-up result; undefined when it may go on to the re-test. */
export function classifyCatchUp(result: CatchUpResult): MergeFailureClass | undefined {
  return result.conflict ? 'conflict' : undefined;
}

/**
 * The class of a thrown error. An error may name its own class with a
 * `failureClass` property (the lease module's busy error can); everything
 * else, refusals and a lost push race included, is 'other'.
 */
export function classifyError(err: unknown): MergeFailureClass {
  if (typeof err === 'object' && err !== null && 'failureClass' in err) {
    const c = (err as { failureClass: unknown }).failureClass;
    if (typeof c === 'string' && (MERGE_FAILURE_CLASSES as readonly string[]).includes(c))
      return c as MergeFailureClass;
  }
  return 'other';
}
