import {
  fixedVersionsFor,
  matchVuln,
  rangeIncludes
} from '../../packages/security/src/deps/osv-match.ts';
import type { OsvRange, OsvVuln } from '../../packages/security/src/deps/osv-record.ts';
import { validateOsvRecord, OsvRecordError } from '../../packages/security/src/deps/osv-record.ts';
import type { Ecosystem } from '../../packages/security/src/deps/package-ref.ts';
import { record } from '../fixtures/osv/records.ts';
import { osvRecord } from '../fixtures/osv-records/load.ts';

const range = (type: string, ...events: Record<string, string>[]): OsvRange => ({ type, events });
const inRange = (r: OsvRange, eco: Ecosystem, v: string): boolean | string | undefined =>
  rangeIncludes(r, eco, v);
const affects = (vuln: OsvVuln, eco: Ecosystem, name: string, version: string): boolean =>
  matchVuln(vuln, { ecosystem: eco, name, version }).affected;

describe('OSV range evaluation, npm (SemVer precedence)', () => {
  const upTo102 = range('SEMVER', { introduced: '0' }, { fixed: '1.0.2' });
  it.each([
    ['0.0.0', true],
    ['0.0.1-alpha', true],
    ['1.0.1', true],
    ['1.0.2-beta.1', true], // a prerelease sorts before its release
    ['1.0.2', false], // fixed is exclusive
    ['1.0.2+build.5', false], // build metadata does not change precedence
    ['1.0.3', false],
    ['10.0.0', false]
  ])('introduced 0, fixed 1.0.2: %s -> %s', (v, want) => {
    expect(inRange(upTo102, 'npm', v)).toBe(want);
  });

  const from100 = range('SEMVER', { introduced: '1.0.0' }, { fixed: '1.0.2' });
  it.each([
    ['0.9.9', false],
    ['1.0.0-rc.1', false], // below the introducing release
    ['1.0.0', true], // introduced is inclusive
    ['1.0.1', true],
    ['1.0.2', false]
  ])('introduced 1.0.0, fixed 1.0.2: %s -> %s', (v, want) => {
    expect(inRange(from100, 'npm', v)).toBe(want);
  });

  it('evaluates several intervals in one range', () => {
    const r = range(
      'SEMVER',
      { introduced: '1.0.0' },
      { fixed: '1.0.2' },
      { introduced: '3.0.0' },
      { fixed: '3.2.5' }
    );
    expect(
      ['0.1.0', '1.0.0', '1.0.2', '2.9.9', '3.0.0', '3.2.4', '3.2.5'].map((v) =>
        inRange(r, 'npm', v)
      )
    ).toEqual([false, true, false, false, true, true, false]);
  });

  it('sorts events before evaluating (records need not be sorted)', () => {
    const r = range(
      'SEMVER',
      { fixed: '3.2.5' },
      { introduced: '3.0.0' },
      { fixed: '1.0.2' },
      { introduced: '1.0.0' }
    );
    expect(['1.0.1', '2.0.0', '3.1.0', '3.2.5'].map((v) => inRange(r, 'npm', v))).toEqual([
      true,
      false,
      true,
      false
    ]);
  });

  it('last_affected is inclusive', () => {
    const r = range('ECOSYSTEM', { introduced: '0' }, { last_affected: '2.1.214' });
    expect(inRange(r, 'npm', '2.1.214')).toBe(true);
    expect(inRange(r, 'npm', '2.1.215-rc.1')).toBe(false);
    expect(inRange(r, 'npm', '2.1.215')).toBe(false);
  });

  it('limit caps the range, "*" is infinity, and several limits widen it', () => {
    expect(inRange(range('SEMVER', { introduced: '0' }, { limit: '2.0.0' }), 'npm', '1.9.9')).toBe(
      true
    );
    expect(inRange(range('SEMVER', { introduced: '0' }, { limit: '2.0.0' }), 'npm', '2.0.0')).toBe(
      false
    );
    expect(inRange(range('SEMVER', { introduced: '0' }, { limit: '*' }), 'npm', '99.0.0')).toBe(
      true
    );
    expect(
      inRange(
        range('SEMVER', { introduced: '0' }, { limit: '1.0.0' }, { limit: '3.0.0' }),
        'npm',
        '2.0.0'
      )
    ).toBe(true);
  });

  it('an open range (introduced only) affects everything from there on', () => {
    expect(inRange(range('SEMVER', { introduced: '2.0.0' }), 'npm', '1.0.0')).toBe(false);
    expect(inRange(range('SEMVER', { introduced: '2.0.0' }), 'npm', '2.0.0')).toBe(true);
    expect(inRange(range('SEMVER', { introduced: '2.0.0' }), 'npm', '99.0.0')).toBe(true);
  });

  it('GIT ranges and unknown types cannot be evaluated from a version and are skipped', () => {
    expect(
      inRange(range('GIT', { introduced: 'abc' }, { fixed: 'def' }), 'npm', '1.0.0')
    ).toBeUndefined();
    expect(inRange(range('WHATEVER', { introduced: '0' }), 'npm', '1.0.0')).toBeUndefined();
  });

  it('an unparseable bound is reported, and counted as affecting', () => {
    const r = range('SEMVER', { introduced: '0' }, { fixed: 'not-a-version' });
    expect(inRange(r, 'npm', '1.0.0')).toMatch(/not-a-version.*not a SemVer version/);
    const vuln = record('GHSA-bad', 'npm', 'x', [{ introduced: '0' }, { fixed: 'not-a-version' }]);
    const m = matchVuln(vuln, { ecosystem: 'npm', name: 'x', version: '1.0.0' });
    expect(m.affected).toBe(true);
    expect(m.problems[0]).toMatch(/^GHSA-bad: .*counted as affecting x@1\.0\.0/);
  });
});

describe('OSV range evaluation, PyPI (PEP 440 ordering)', () => {
  const upTo10 = range('ECOSYSTEM', { introduced: '0' }, { fixed: '1.0' });
  it.each([
    ['0.9', true],
    ['1.0.dev0', true], // dev release precedes pre-releases and the final
    ['1.0a1', true],
    ['1.0rc1', true], // release candidate precedes the final
    ['1.0', false],
    ['1.0.0', false], // 1.0 == 1.0.0 in PEP 440
    ['1.0.post1', false], // post-release follows the final
    ['1.0.1', false]
  ])('introduced 0, fixed 1.0: %s -> %s', (v, want) => {
    expect(inRange(upTo10, 'PyPI', v)).toBe(want);
  });

  it('a fix in a post-release leaves the final release affected', () => {
    const r = range('ECOSYSTEM', { introduced: '0' }, { fixed: '1.0.post1' });
    expect(inRange(r, 'PyPI', '1.0')).toBe(true);
    expect(inRange(r, 'PyPI', '1.0.post1.dev0')).toBe(true);
    expect(inRange(r, 'PyPI', '1.0.post1')).toBe(false);
  });

  it('epochs outrank every release of a lower epoch', () => {
    const r = range('ECOSYSTEM', { introduced: '0' }, { fixed: '2.0' });
    expect(inRange(r, 'PyPI', '1!0.1')).toBe(false);
    expect(inRange(range('ECOSYSTEM', { introduced: '1!0' }), 'PyPI', '99.0')).toBe(false);
    expect(inRange(range('ECOSYSTEM', { introduced: '1!0' }), 'PyPI', '1!0.1')).toBe(true);
  });

  it('pre-release introduced bounds', () => {
    const r = range('ECOSYSTEM', { introduced: '2.0a1' }, { fixed: '2.0.1' });
    expect(inRange(r, 'PyPI', '2.0.dev1')).toBe(false);
    expect(inRange(r, 'PyPI', '2.0a1')).toBe(true);
    expect(inRange(r, 'PyPI', '2.0b3')).toBe(true);
    expect(inRange(r, 'PyPI', '2.0')).toBe(true);
    expect(inRange(r, 'PyPI', '2.0.1rc1')).toBe(true);
    expect(inRange(r, 'PyPI', '2.0.1')).toBe(false);
  });

  it('numeric, not lexical, ordering', () => {
    const r = range('ECOSYSTEM', { introduced: '0' }, { fixed: '2.10' });
    expect(inRange(r, 'PyPI', '2.9')).toBe(true);
    expect(inRange(r, 'PyPI', '2.10')).toBe(false);
    expect(inRange(r, 'PyPI', '2.100')).toBe(false);
  });

  it('an unparseable installed version is reported, and counted as affecting', () => {
    expect(inRange(upTo10, 'PyPI', 'not.a.version!')).toMatch(/not a PEP 440 version/);
  });
});

describe('matchVuln: package identity, versions list, withdrawn records', () => {
  it('matches PyPI names after PEP 503 normalisation', () => {
    const v = record('PYSEC-1', 'PyPI', 'Zope.Interface', [{ introduced: '0' }, { fixed: '5.0' }]);
    expect(affects(v, 'PyPI', 'zope-interface', '4.0')).toBe(true);
    expect(affects(v, 'PyPI', 'zope-interface', '5.0')).toBe(false);
  });

  it('npm names are exact and ecosystems must agree', () => {
    const v = record('GHSA-1', 'npm', 'lodash', [{ introduced: '0' }]);
    expect(affects(v, 'npm', 'lodash', '1.0.0')).toBe(true);
    expect(affects(v, 'npm', 'Lodash', '1.0.0')).toBe(false);
    expect(affects(v, 'npm', 'lodash.merge', '1.0.0')).toBe(false);
    expect(affects(v, 'PyPI', 'lodash', '1.0.0')).toBe(false);
  });

  it('an enumerated version affects even outside every range, compared in the ecosystem’s terms', () => {
    const v = record('PYSEC-2', 'PyPI', 'jinja2', [{ introduced: '3.0' }], { versions: ['2.10'] });
    expect(affects(v, 'PyPI', 'jinja2', '2.10')).toBe(true);
    expect(affects(v, 'PyPI', 'jinja2', '2.10.0')).toBe(true);
    expect(affects(v, 'PyPI', 'jinja2', '2.11')).toBe(false);
  });

  it('a withdrawn record affects nothing', () => {
    const v = record('GHSA-2', 'npm', 'x', [{ introduced: '0' }], {
      withdrawn: '2024-02-01T00:00:00Z'
    });
    expect(affects(v, 'npm', 'x', '1.0.0')).toBe(false);
  });

  it('fixed versions above the installed one, lowest first', () => {
    const v: OsvVuln = {
      id: 'GHSA-3',
      affected: [
        {
          package: { ecosystem: 'npm', name: 'x' },
          ranges: [
            range(
              'SEMVER',
              { introduced: '2.0.0' },
              { fixed: '2.0.10' },
              { introduced: '0' },
              { fixed: '1.0.2' }
            )
          ]
        }
      ]
    };
    expect(fixedVersionsFor(v, { ecosystem: 'npm', name: 'x', version: '0.5.0' })).toEqual([
      '1.0.2',
      '2.0.10'
    ]);
    expect(fixedVersionsFor(v, { ecosystem: 'npm', name: 'x', version: '2.0.1' })).toEqual([
      '2.0.10'
    ]);
  });
});

describe('OSV record validation', () => {
  it('accepts a record and reads null optional fields as absent', () => {
    const v = validateOsvRecord({
      id: 'X-1',
      aliases: null,
      affected: [{ package: { ecosystem: 'npm', name: 'x' }, versions: ['1.0.0'], severity: null }]
    });
    expect(v.aliases).toBeUndefined();
  });
  it.each([
    [[], /not a JSON object/],
    [{ summary: 'x' }, /no string 'id'/],
    [{ id: 'X', affected: {} }, /affected is not an array/],
    [
      { id: 'X', affected: [{ package: { name: 'x' } }] },
      /package needs string 'ecosystem' and 'name'/
    ],
    [
      {
        id: 'X',
        affected: [{ ranges: [{ type: 'SEMVER', events: [{ introduced: '0', fixed: '1' }] }] }]
      },
      /exactly one of introduced/
    ],
    [{ id: 'X', severity: [{ type: 'CVSS_V3' }] }, /severity must be a list/],
    [{ id: 'X', aliases: 'CVE-1' }, /aliases must be a list of strings/]
  ])('rejects %j', (value, pattern) => {
    expect(() => validateOsvRecord(value)).toThrow(OsvRecordError);
    expect(() => validateOsvRecord(value)).toThrow(pattern);
  });
});

// Issue 13: `last_affected: "0"` and `limit: "0"` threw a TypeError (SemVer
// compare of the unparsed "0"). The OSV schema gives "0" its before-every-
// version meaning in `introduced` only, and "*" its infinity in `limit` only;
// anywhere else a value is a version of the range's type, "0" being version 0
// (0.0.0 in SemVer, as osv.dev pads it).
describe('OSV range special values (issue 13)', () => {
  const match = (file: string, eco: Ecosystem, name: string, version: string) =>
    matchVuln(osvRecord(file), { ecosystem: eco, name, version });

  it('last_affected "0" (npm record): no TypeError; only version 0 is affected', () => {
    const at = (v: string) => match('last-affected-zero-npm.json', 'npm', 'zero-last-affected', v);
    expect(() => at('1.2.3')).not.toThrow();
    expect(at('1.2.3')).toEqual({ affected: false, problems: [] });
    expect(at('0.0.1').affected).toBe(false);
    expect(at('0.0.0').affected).toBe(true); // last_affected is inclusive
    expect(at('0.0.0-alpha.1').affected).toBe(true);
  });

  it('last_affected "0" before introduced "0" (PyPI record): sorted, only 0 itself is affected', () => {
    const at = (v: string) =>
      match('last-affected-zero-pypi.json', 'PyPI', 'zero-last-affected', v).affected;
    expect(['0', '0.0', '0.dev1', '0.0.1', '0.1', '1.0', '2024.1'].map(at)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false
    ]);
  });

  it('limit "0" (npm record): no TypeError; the range ends below version 0', () => {
    const at = (v: string) => match('limit-zero-npm.json', 'npm', 'zero-limit', v);
    expect(() => at('1.0.0')).not.toThrow();
    expect(at('1.0.0')).toEqual({ affected: false, problems: [] });
    expect(at('0.0.0').affected).toBe(false); // limit is exclusive
    expect(at('0.0.0-rc.1').affected).toBe(true); // the one thing below 0.0.0
  });

  it('fixed "0" leaves nothing from 0 on affected (introduced 0, fixed 0 means unaffected)', () => {
    const r = range('SEMVER', { introduced: '0' }, { fixed: '0' });
    expect(inRange(r, 'npm', '0.0.0')).toBe(false);
    expect(inRange(r, 'npm', '5.0.0')).toBe(false);
    expect(inRange(range('ECOSYSTEM', { introduced: '0' }, { fixed: '0' }), 'PyPI', '1.0')).toBe(
      false
    );
  });

  it('introduced "0" still means from the beginning, whatever the ecosystem', () => {
    expect(inRange(range('ECOSYSTEM', { introduced: '0' }), 'PyPI', '0.dev0')).toBe(true);
    expect(inRange(range('SEMVER', { introduced: '0' }), 'npm', '0.0.0-0')).toBe(true);
  });

  it('"*" is infinity in a limit (anywhere in it), and not a version elsewhere', () => {
    expect(inRange(range('SEMVER', { introduced: '0' }, { limit: '2.*' }), 'npm', '9.0.0')).toBe(
      true
    );
    for (const evt of [{ fixed: '*' }, { last_affected: '*' }] as Record<string, string>[]) {
      const r = range('SEMVER', { introduced: '0' }, evt);
      expect(() => inRange(r, 'npm', '1.0.0')).not.toThrow();
      expect(inRange(r, 'npm', '1.0.0')).toMatch(
        /"\*" \((fixed|last_affected)\) is not a SemVer version/
      );
    }
    expect(inRange(range('SEMVER', { introduced: '*' }), 'npm', '1.0.0')).toMatch(
      /"\*" \(introduced\) is not a SemVer version/
    );
  });

  it('an event the validator would refuse is reported, never thrown', () => {
    const bad = { introduced: 5 } as unknown as Record<string, string>;
    const vuln = record('GHSA-unvalidated', 'npm', 'x', [bad]);
    expect(() => matchVuln(vuln, { ecosystem: 'npm', name: 'x', version: '1.0.0' })).not.toThrow();
    const m = matchVuln(vuln, { ecosystem: 'npm', name: 'x', version: '1.0.0' });
    expect(m.affected).toBe(true);
    expect(m.problems[0]).toMatch(/^GHSA-unvalidated: SEMVER range event .* counted as affecting/);
  });

  it('unsorted events with last_affected (a range has fixed or last_affected, not both)', () => {
    const r = range(
      'ECOSYSTEM',
      { last_affected: '3.2.4' },
      { introduced: '3.0.0' },
      { last_affected: '1.0.2' },
      { introduced: '0' }
    );
    expect(
      ['0.5.0', '1.0.2', '1.0.3', '2.0.0', '3.0.0', '3.2.4', '3.2.5'].map((v) =>
        inRange(r, 'npm', v)
      )
    ).toEqual([true, true, false, false, true, true, false]);
  });

  it('several ranges: any one including the version is enough; GIT ranges are skipped, versions still match', () => {
    const v: OsvVuln = {
      id: 'GHSA-multi',
      affected: [
        {
          package: { ecosystem: 'npm', name: 'x' },
          ranges: [
            range('GIT', { introduced: 'a1b2c3' }, { fixed: 'd4e5f6' }),
            range('SEMVER', { introduced: '1.0.0' }, { fixed: '1.0.5' }),
            range('SEMVER', { introduced: '2.0.0' }, { last_affected: '2.1.0' })
          ],
          versions: ['0.9.0']
        }
      ]
    };
    expect(
      ['0.9.0', '0.9.1', '1.0.4', '1.0.5', '2.1.0', '2.1.1'].map((ver) =>
        affects(v, 'npm', 'x', ver)
      )
    ).toEqual([true, false, true, false, true, false]);
  });

  it('database_specific.last_known_affected_version_range has no effect on evaluation', () => {
    const v = record('GHSA-lkav', 'npm', 'x', [{ introduced: '0' }]);
    v.affected![0].database_specific = { last_known_affected_version_range: '<= 1.0.0' };
    expect(affects(v, 'npm', 'x', '2.0.0')).toBe(true);
  });

  it('fixedVersionsFor ignores a fixed "0" below the installed version', () => {
    const v = record('GHSA-f0', 'npm', 'x', [{ introduced: '0' }, { fixed: '0' }]);
    expect(fixedVersionsFor(v, { ecosystem: 'npm', name: 'x', version: '1.0.0' })).toEqual([]);
  });
});
