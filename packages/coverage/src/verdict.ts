// The coverage verdict: pure arithmetic on the measured figure, the stored
// baseline and the user's floor. Every figure is rounded to whole hundredths
// of a point before any comparison, so 79.9 against 80.0 - 0.1 is exactly
// equal (PASS) and never lost to 79.89999999999999.

import type { CoveragePolicy } from './config.ts';

export interface CoverageVerdictInput {
  /** Measured line coverage, percent 0..100. */
  measured: number;
  /** Stored baseline for the target branch, percent 0..100; null when there is none yet. */
  baseline: number | null;
  /** Absolute minimum, percent 0..100. */
  floor: number;
  policy: CoveragePolicy;
  /** Points the measured figure may drop below the baseline, 0..100. */
  epsilon: number;
}

export interface CoverageVerdict {
  verdict: 'PASS' | 'FAIL';
  /** No baseline yet: only the floor applied, whatever the policy. */
  bootstrap: boolean;
  /** measured - baseline in points (hundredths exact), null without a baseline. */
  delta: number | null;
  /** One line per check made, in order; the failing ones say by how much. */
  reasons: string[];
}

/**
 * x in whole hundredths, half up. x * 100 carries binary noise (79.89 * 100
 * is 7988.999999999999, 1.005 * 100 is 100.49999999999999): cutting it to 12
 * significant digits first gives the decimal the user wrote.
 */
export function toHundredths(x: number): number {
  return Math.round(Number((x * 100).toPrecision(12)));
}

function checkPercent(name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) {
    throw new RangeError(
      `coverage verdict: ${name} ${String(v)} is not a percentage within 0..100`
    );
  }
}

const pts = (h: number): string => (h / 100).toFixed(2);
const signed = (h: number): string => `${h >= 0 ? '+' : '-'}${pts(Math.abs(h))}`;

/** Throws RangeError on a figure outside 0..100 or NaN: callers validate inputs first. */
export function computeCoverageVerdict(input: CoverageVerdictInput): CoverageVerdict {
  const { measured, baseline, floor, policy, epsilon } = input;
  checkPercent('measured', measured);
  checkPercent('floor', floor);
  checkPercent('epsilon', epsilon);
  if (baseline !== null) checkPercent('baseline', baseline);
  if (policy !== 'absolute' && policy !== 'baseline' && policy !== 'both') {
    throw new RangeError(`coverage verdict: unknown policy ${String(policy)}`);
  }
  const m = toHundredths(measured);
  const f = toHundredths(floor);
  const e = toHundredths(epsilon);
  const b = baseline === null ? null : toHundredths(baseline);
  const bootstrap = b === null;
  const reasons: string[] = [];
  let pass = true;

  if (bootstrap) {
    reasons.push(
      `no baseline yet (bootstrap): only the floor applies${policy === 'absolute' ? '' : ` (policy '${policy}')`}`
    );
  }
  if (bootstrap || policy !== 'baseline') {
    if (m >= f) reasons.push(`coverage ${pts(m)}% meets the floor ${pts(f)}%`);
    else {
      pass = false;
      reasons.push(`coverage ${pts(m)}% is below the floor ${pts(f)}% by ${pts(f - m)} points`);
    }
  }
  if (b !== null && policy !== 'absolute') {
    if (m >= b) {
      reasons.push(`coverage ${pts(m)}% holds the baseline ${pts(b)}% (delta ${signed(m - b)})`);
    } else if (m >= b - e) {
      reasons.push(
        `coverage ${pts(m)}% is within the tolerance ${pts(e)} of the baseline ${pts(b)}% (delta ${signed(m - b)})`
      );
    } else {
      pass = false;
      reasons.push(
        `coverage ${pts(m)}% dropped ${pts(b - m)} points below the baseline ${pts(b)}% (tolerance ${pts(e)})`
      );
    }
  }
  return {
    verdict: pass ? 'PASS' : 'FAIL',
    bootstrap,
    delta: b === null ? null : (m - b) / 100,
    reasons
  };
}
