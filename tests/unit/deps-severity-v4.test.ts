// Issue 13, severity: records scored with CVSS v4 honour fail-on-severity.
// The records are tests/fixtures/osv-records/*.json, in the shape osv.dev
// serves, read through the audit's own validator.

import {
  assessSeverity,
  blocks,
  type SeverityThreshold
} from '../../packages/security/src/deps/severity.ts';
import { record } from '../fixtures/osv/records.ts';
import { osvRecord } from '../fixtures/osv-records/load.ts';
import { loadCvss4 } from '../../packages/security/src/deps/cvss.ts';

// The calculator loads on demand (the audit loads it before scoring).
beforeAll(loadCvss4);

const blocksAt = (file: string, threshold: SeverityThreshold): boolean =>
  blocks(assessSeverity(osvRecord(file)).level, threshold);

describe('a record scored only with CVSS v4', () => {
  it('a 1.0 (Low) v4-only record is low, and does not block at critical (it blocked as unknown)', () => {
    const v = osvRecord('cvss-v4-only-low.json');
    expect(assessSeverity(v, { ecosystem: 'npm', name: 'v4-only-low' })).toEqual({
      level: 'low',
      score: 1.0,
      source: 'CVSS:4.0'
    });
    expect(blocksAt('cvss-v4-only-low.json', 'critical')).toBe(false);
    expect(blocksAt('cvss-v4-only-low.json', 'moderate')).toBe(false);
    expect(blocksAt('cvss-v4-only-low.json', 'low')).toBe(true);
  });

  it('a 9.3 (Critical) v4-only record is critical and blocks at high', () => {
    expect(assessSeverity(osvRecord('cvss-v4-only-critical.json'))).toEqual({
      level: 'critical',
      score: 9.3,
      source: 'CVSS:4.0'
    });
    expect(blocksAt('cvss-v4-only-critical.json', 'high')).toBe(true);
    expect(blocksAt('cvss-v4-only-critical.json', 'critical')).toBe(true);
  });

  it('a v4 vector given per package counts like a record-level one', () => {
    const v = record('GHSA-pkg', 'npm', 'x', [{ introduced: '0' }]);
    v.affected![0].severity = [
      { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' }
    ];
    expect(assessSeverity(v, { ecosystem: 'npm', name: 'x' })).toEqual({
      level: 'high',
      score: 8.7,
      source: 'CVSS:4.0'
    });
  });
});

describe('a record scored with both CVSS v3 and v4', () => {
  it('is as severe as the higher score (as osv-scanner rates it): v4 9.2 over v3 8.1', () => {
    expect(assessSeverity(osvRecord('cvss-v3-and-v4.json'))).toEqual({
      level: 'critical',
      score: 9.2,
      source: 'CVSS:4.0'
    });
    expect(blocksAt('cvss-v3-and-v4.json', 'critical')).toBe(true);
  });

  it('v3 wins when it scores higher, whatever the order of the vectors', () => {
    const v3 = { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }; // 9.8
    const v4 = {
      type: 'CVSS_V4',
      score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N'
    }; // 9.3
    for (const severity of [
      [v3, v4],
      [v4, v3]
    ]) {
      expect(
        assessSeverity(record('GHSA-both', 'npm', 'x', [{ introduced: '0' }], { severity }))
      ).toEqual({ level: 'critical', score: 9.8, source: 'CVSS:3.1' });
    }
  });

  it('on a tie the newer version is named', () => {
    const severity = [
      { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N' },
      { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N' }
    ];
    expect(
      assessSeverity(record('GHSA-tie', 'npm', 'x', [{ introduced: '0' }], { severity }))
    ).toEqual({ level: 'low', score: 0, source: 'CVSS:4.0' });
  });
});

describe('a malformed CVSS v4 vector', () => {
  it('is skipped with a note naming the record; a valid v3 vector decides', () => {
    expect(assessSeverity(osvRecord('cvss-v4-malformed.json'))).toEqual({
      level: 'high',
      score: 7.5,
      source: 'CVSS:3.1',
      notes: [
        'GHSA-test-v4ma-lfrm: CVSS_V4 vector "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H" is malformed; not used for its severity'
      ]
    });
  });

  it('without other vectors, the database label decides', () => {
    const v = record('GHSA-bad4', 'npm', 'x', [{ introduced: '0' }], {
      severity: [{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L' }],
      database_specific: { severity: 'LOW' }
    });
    const s = assessSeverity(v);
    expect(s).toMatchObject({ level: 'low', source: 'database_specific' });
    expect(s.notes).toEqual([expect.stringMatching(/^GHSA-bad4: CVSS_V4 vector .* is malformed/)]);
  });

  it('with nothing else, the level is unknown and says the v4 vector was not scored', () => {
    const v = record('GHSA-bad5', 'npm', 'x', [{ introduced: '0' }], {
      severity: [{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N' }]
    });
    expect(assessSeverity(v)).toMatchObject({
      level: 'unknown',
      source: 'CVSS_V4 (not scored)',
      notes: [expect.stringMatching(/^GHSA-bad5: /)]
    });
  });

  it('a record with usable data only carries no notes', () => {
    expect(assessSeverity(osvRecord('cvss-v4-only-critical.json')).notes).toBeUndefined();
  });
});
