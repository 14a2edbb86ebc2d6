// When a gate run deserves a message to a human, as a pure function, and the
// alert's data. FAIL always; DEFER only once the branch has been deferred
// `deferThreshold` times in a row (a busy merge lock is normal, a lock that
// never frees is not); the merge gate's infrastructure alert (its re-test
// timed out on every attempt: not the branch's fault) as its own kind; and
// state tampering (the state store found a change it did not make) whatever
// the verdict, because it means somebody wrote where only the gate should.

import type { Verdict } from '../../core/src/verdict.ts';

export const ALERT_KINDS = ['fail', 'defer', 'infra', 'tamper'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const DEFAULT_DEFER_THRESHOLD = 3;

export interface AlertInput {
  verdict: Verdict;
  gate: string;
  /** The merge gate's failure_class, if any. */
  failureClass?: string;
  /** Consecutive DEFER verdicts of this branch, this one included. */
  deferCount: number;
  /** Alert on the n-th consecutive DEFER and after. Default 3. */
  deferThreshold?: number;
  /** The run raised an infrastructure alert; default: merge gate with failure class 'timeout'. */
  infraAlert?: boolean;
  /** The state store reported a change it did not make (report field state_integrity: tampered). */
  tampered?: boolean;
}

/** What is sent; the summary is already redacted by the caller. */
export interface Alert {
  kind: AlertKind;
  /** owner/name */
  repository: string;
  branch: string;
  gate: string;
  verdict: Verdict;
  summary: string;
  sha: string;
  /** Link to the run; '' or absent when unknown. */
  runUrl?: string;
  /** ISO 8601 time of the verdict. */
  at: string;
  /** For kind 'defer': how many times in a row. */
  deferCount?: number;
}

export function alertFor(input: AlertInput): { kind: AlertKind } | undefined {
  if (input.tampered) return { kind: 'tamper' };
  if (input.verdict === 'FAIL') {
    const infra = input.infraAlert ?? (input.gate === 'merge' && input.failureClass === 'timeout');
    return { kind: infra ? 'infra' : 'fail' };
  }
  if (input.verdict === 'DEFER') {
    const t = input.deferThreshold;
    const threshold =
      t !== undefined && Number.isSafeInteger(t) && t >= 1 ? t : DEFAULT_DEFER_THRESHOLD;
    return input.deferCount >= threshold ? { kind: 'defer' } : undefined;
  }
  return undefined;
}
