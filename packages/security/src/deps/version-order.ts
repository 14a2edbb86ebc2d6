// Version ordering per OSV range type and ecosystem: SEMVER ranges use
// SemVer 2.0 precedence, ECOSYSTEM ranges the ecosystem's own rules (npm is
// SemVer, PyPI is PEP 440). A version that cannot be parsed has no order.

import { compare as pep440Compare, valid as pep440Valid } from '@renovatebot/pep440';
import { compare as semverCompare, parse as semverParse, type SemVer } from 'semver';

export interface VersionOrder {
  /** Parsed form, or undefined when the text is not a version in this order. */
  parse(v: string): unknown;
  /** Sign of a - b for two versions this order parses. */
  compare(a: string, b: string): number;
  name: string;
  /**
   * How this order spells the version "0" of an OSV range event other than
   * `introduced` (where "0" is the schema's sentinel, before every version).
   * SemVer has no "0": osv.dev pads it to 0.0.0, and so do we.
   */
  zero: string;
}

function semverOf(v: string): SemVer | null {
  return semverParse(v) ?? semverParse(v, { loose: true });
}

export const SEMVER_ORDER: VersionOrder = {
  name: 'SemVer',
  zero: '0.0.0',
  parse: (v) => semverOf(v) ?? undefined,
  compare: (a, b) => semverCompare(semverOf(a)!, semverOf(b)!)
};

export const PEP440_ORDER: VersionOrder = {
  name: 'PEP 440',
  zero: '0',
  parse: (v) => pep440Valid(v) ?? undefined,
  // The library returns any magnitude; callers rely on the sign only.
  compare: (a, b) => Math.sign(pep440Compare(a, b))
};

/** The order a range of `rangeType` uses for packages of `ecosystem`; undefined when unsupported. */
export function orderFor(ecosystem: string, rangeType: string): VersionOrder | undefined {
  if (rangeType === 'SEMVER') return SEMVER_ORDER;
  if (rangeType !== 'ECOSYSTEM') return undefined; // GIT and unknown types need data we do not have
  if (ecosystem === 'npm') return SEMVER_ORDER;
  if (ecosystem === 'PyPI') return PEP440_ORDER;
  return undefined;
}

/** Equality in the ecosystem's terms (PyPI 1.0 == 1.0.0), falling back to exact text. */
export function sameVersion(ecosystem: string, a: string, b: string): boolean {
  if (a === b) return true;
  const order =
    ecosystem === 'PyPI' ? PEP440_ORDER : ecosystem === 'npm' ? SEMVER_ORDER : undefined;
  if (!order || order.parse(a) === undefined || order.parse(b) === undefined) return false;
  return order.compare(a, b) === 0;
}
