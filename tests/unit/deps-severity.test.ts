import {
  cvss2BaseScore,
  cvss3BaseScore,
  roundUp31
} from '../../packages/security/src/deps/cvss.ts';
import {
  assessSeverity,
  blocks,
  levelFromLabel
} from '../../packages/security/src/deps/severity.ts';
import { record } from '../fixtures/osv/records.ts';
import { loadCvss4 } from '../../packages/security/src/deps/cvss.ts';

// The calculator loads on demand (the audit loads it before scoring).
beforeAll(loadCvss4);

describe('CVSS v3.x base score (FIRST formulas)', () => {
  it.each([
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10.0],
    ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:N/A:N', 6.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
    ['CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N', 5.4],
    ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', 7.5],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N', 5.3],
    ['CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N', 4.3],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 8.8],
    ['CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', 7.2],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:H', 9.1],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:H', 8.6],
    ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H', 5.5],
    ['CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N', 1.6],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 0.0],
    ['CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    // temporal and environmental metrics do not change the base score
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C/CR:L', 9.8]
  ])('%s = %d', (vector, score) => {
    expect(cvss3BaseScore(vector)?.score).toBe(score);
  });

  it('reports the version it scored', () => {
    expect(cvss3BaseScore('CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')?.version).toBe('3.0');
  });

  it.each([
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H', // A missing
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:L', // A twice
    'CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', // bad value
    'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N',
    'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
    ''
  ])('rejects %j', (vector) => {
    expect(cvss3BaseScore(vector)).toBeUndefined();
  });

  it('v3.1 Roundup is immune to floating-point noise', () => {
    expect(roundUp31(4.0)).toBe(4.0);
    expect(roundUp31(4.000001)).toBe(4.0);
    expect(roundUp31(4.02)).toBe(4.1);
    expect(roundUp31(4.1)).toBe(4.1);
  });
});

describe('CVSS v2 base score', () => {
  it.each([
    ['AV:N/AC:L/Au:N/C:P/I:P/A:P', 7.5],
    ['AV:N/AC:L/Au:N/C:C/I:C/A:C', 10.0],
    ['AV:N/AC:M/Au:N/C:N/I:P/A:N', 4.3],
    ['AV:L/AC:L/Au:N/C:P/I:N/A:N', 2.1],
    ['AV:N/AC:L/Au:N/C:N/I:N/A:N', 0]
  ])('%s = %d', (vector, score) => {
    expect(cvss2BaseScore(vector)?.score).toBe(score);
  });
  it('rejects incomplete vectors', () => {
    expect(cvss2BaseScore('AV:N/AC:L/Au:N/C:P/I:P')).toBeUndefined();
  });
});

describe('severity of a record', () => {
  const base = (extra: Parameters<typeof record>[4]) =>
    record('GHSA-x', 'npm', 'x', [{ introduced: '0' }], extra);

  it('a CVSS v3 vector wins and maps with FIRST’s scale', () => {
    expect(
      assessSeverity(
        base({
          severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
          database_specific: { severity: 'LOW' }
        })
      )
    ).toEqual({
      level: 'critical',
      score: 9.8,
      source: 'CVSS:3.1'
    });
    const level = (v: string): string =>
      assessSeverity(base({ severity: [{ type: 'CVSS_V3', score: v }] })).level;
    expect(level('CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H')).toBe('high'); // 7.2
    expect(level('CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N')).toBe('moderate'); // 4.3
    expect(level('CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N')).toBe('low'); // 1.6
    expect(level('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N')).toBe('low'); // 0.0, "none"
  });

  it('takes the highest of several v3 vectors, including the package’s own', () => {
    const v = base({
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N' }]
    });
    v.affected![0].severity = [
      { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' }
    ];
    expect(assessSeverity(v, { ecosystem: 'npm', name: 'x' })).toMatchObject({
      level: 'high',
      score: 7.5
    });
  });

  it('a v4 vector is scored and, like a v3 one, wins over the GHSA label', () => {
    const v = base({
      severity: [
        {
          type: 'CVSS_V4',
          score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N'
        }
      ],
      database_specific: { severity: 'MODERATE' }
    });
    expect(assessSeverity(v)).toEqual({ level: 'critical', score: 9.3, source: 'CVSS:4.0' });
  });

  it('then ecosystem_specific labels, then CVSS v2', () => {
    const eco = base({});
    eco.affected![0].ecosystem_specific = { severity: 'MEDIUM' };
    expect(assessSeverity(eco, { ecosystem: 'npm', name: 'x' })).toEqual({
      level: 'moderate',
      source: 'ecosystem_specific'
    });
    expect(
      assessSeverity(base({ severity: [{ type: 'CVSS_V2', score: 'AV:N/AC:L/Au:N/C:C/I:C/A:C' }] }))
    ).toEqual({ level: 'high', score: 10, source: 'CVSS:2.0' });
  });

  it('without usable data the level is unknown, and says why', () => {
    expect(assessSeverity(base({}))).toEqual({ level: 'unknown', source: 'none' });
    expect(
      assessSeverity(base({ severity: [{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N' }] })).source
    ).toMatch(/CVSS_V4/);
    expect(assessSeverity(base({ database_specific: { severity: 'SEVERE?' } })).level).toBe(
      'unknown'
    );
  });

  it('labels: moderate == medium, GHSA and Ubuntu words', () => {
    expect(
      ['LOW', 'Moderate', 'medium', 'HIGH', 'critical', 'negligible', 'important', 'x', 3].map(
        levelFromLabel
      )
    ).toEqual([
      'low',
      'moderate',
      'moderate',
      'high',
      'critical',
      'low',
      'high',
      undefined,
      undefined
    ]);
  });

  it('blocking: at or above the threshold; unknown blocks unless told to only report it', () => {
    expect(blocks('high', 'high')).toBe(true);
    expect(blocks('critical', 'high')).toBe(true);
    expect(blocks('moderate', 'high')).toBe(false);
    expect(blocks('low', 'low')).toBe(true);
    expect(blocks('unknown', 'critical')).toBe(true);
    expect(blocks('unknown', 'low', 'report')).toBe(false);
  });
});
