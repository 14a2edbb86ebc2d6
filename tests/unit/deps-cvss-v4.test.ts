// CVSS v4.0 scores. Every expected score here is the one the reference
// implementation of FIRST's v4.0 scoring gives (Red Hat's
// github.com/RedHatProductSecurity/cvss-v4-calculator at d1eafe0, after its
// rounding fix). The "reference test data" rows are lines of that repository's own
// data/ files; the others were scored by running that calculator's code.
// ae-cvss-calculator 1.0.13 agrees with it on all 104,976 base vectors.

import {
  cvss3BaseScore,
  cvss4Score,
  isCvss4Vector
} from '../../packages/security/src/deps/cvss.ts';
import { levelFromCvss } from '../../packages/security/src/deps/severity.ts';
import { loadCvss4 } from '../../packages/security/src/deps/cvss.ts';

// The calculator loads on demand (the audit loads it before scoring).
beforeAll(loadCvss4);

describe('CVSS v4.0 score (FIRST MacroVector lookup, via ae-cvss-calculator)', () => {
  it.each([
    // all three vulnerable-system impacts high, nothing else required
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 9.3],
    // no impact at all: None
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N', 0.0],
    // reference test data (data/vectors_threat4, vectors_security4)
    ['CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:A', 7.3],
    ['CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:P', 5.9],
    ['CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U', 4.1],
    ['CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/CR:H/IR:H/AR:M', 7.2],
    // common GHSA vectors, scored with the reference calculator
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H', 10.0],
    ['CVSS:4.0/AV:N/AC:H/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 9.2],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 8.7],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N', 8.7],
    ['CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 8.5],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N', 6.9],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N', 5.3],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N', 5.1],
    ['CVSS:4.0/AV:N/AC:H/AT:P/PR:L/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N', 2.0],
    ['CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N', 1.0]
  ])('%s = %d', (vector, score) => {
    expect(cvss4Score(vector)).toEqual({ version: '4.0', score });
  });

  it('threat metrics lower the score of the same base vector (CVSS-BT)', () => {
    const base = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N';
    expect(cvss4Score(base)?.score).toBe(9.3);
    expect(cvss4Score(`${base}/E:U`)?.score).toBe(8.1);
    expect(cvss4Score(`${base}/E:A`)?.score).toBe(9.3);
  });

  it('supplemental metrics are accepted and do not change the score', () => {
    const v =
      'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:P/AU:Y/R:U/V:C/RE:H/U:Red';
    expect(cvss4Score(v)?.score).toBe(9.3);
  });

  it('metric order does not matter; surrounding whitespace is ignored', () => {
    expect(
      cvss4Score(' CVSS:4.0/SA:N/SI:N/SC:N/VA:H/VI:H/VC:H/UI:N/PR:N/AT:N/AC:L/AV:N ')?.score
    ).toBe(9.3);
  });

  it.each([
    ['a base metric missing', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H'],
    ['only a prefix and one metric', 'CVSS:4.0/AV:N'],
    ['a metric twice', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/AV:L'],
    [
      'a base metric Not Defined',
      'CVSS:4.0/AV:X/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N'
    ],
    ['an unknown value', 'CVSS:4.0/AV:Q/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N'],
    ['an unknown metric', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/FOO:B'],
    ['S only in MSI/MSA', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N'],
    ['a trailing slash', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/'],
    ['a v3.1 vector', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'],
    ['another version', 'CVSS:4.1/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N'],
    ['no prefix', 'AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N'],
    ['garbage', 'garbage'],
    ['empty', '']
  ])('rejects a vector with %s', (_why, vector) => {
    expect(isCvss4Vector(vector)).toBe(false);
    expect(cvss4Score(vector)).toBeUndefined();
  });

  it('a v4 vector is not a v3 vector', () => {
    expect(
      cvss3BaseScore('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N')
    ).toBeUndefined();
  });

  it('maps to FIRST’s v4.0 qualitative scale (None folds into low)', () => {
    expect([0.0, 0.1, 3.9, 4.0, 6.9, 7.0, 8.9, 9.0, 10.0].map(levelFromCvss)).toEqual([
      'low',
      'low',
      'low',
      'moderate',
      'moderate',
      'high',
      'high',
      'critical',
      'critical'
    ]);
  });
});
