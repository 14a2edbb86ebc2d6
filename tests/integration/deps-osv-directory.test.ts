import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OsvDirectorySource } from '../../packages/security/src/deps/osv-directory.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';
import {
  JINJA_GHSA,
  JINJA_PYSEC,
  LODASH_PROTO,
  LODASH_TEMPLATE,
  MINIMIST,
  record,
  writeRecords
} from '../fixtures/osv/records.ts';
import { writeZip } from '../fixtures/osv/zip-writer.ts';
import type { OsvVuln } from '../../packages/security/src/deps/osv-record.ts';

afterAll(cleanupTempDirs);

const ids = (vulns: OsvVuln[] | undefined): string[] => (vulns ?? []).map((v) => v.id).sort();

describe('OsvDirectorySource', () => {
  it('reads the per-ecosystem export layout and matches ranges locally', async () => {
    const dir = tempDir('qg-osv-');
    // Ranges only: no versions lists, so this exercises the range evaluation.
    const strip = (r: OsvVuln): OsvVuln => ({
      ...r,
      affected: r.affected!.map(({ versions: _v, ...a }) => a)
    });
    writeRecords(join(dir, 'npm'), [LODASH_PROTO, LODASH_TEMPLATE, MINIMIST].map(strip));
    writeRecords(join(dir, 'PyPI'), [JINJA_PYSEC, JINJA_GHSA].map(strip));
    const src = new OsvDirectorySource(dir);
    const res = await src.query([
      { ecosystem: 'npm', name: 'lodash', version: '4.17.11' },
      { ecosystem: 'npm', name: 'lodash', version: '4.17.12' },
      { ecosystem: 'npm', name: 'lodash', version: '4.17.21' },
      { ecosystem: 'npm', name: 'left-pad', version: '1.0.0' },
      { ecosystem: 'PyPI', name: 'jinja2', version: '2.10' },
      { ecosystem: 'PyPI', name: 'jinja2', version: '2.10.1' }
    ]);
    expect(ids(res.answers.get('npm:lodash@4.17.11'))).toEqual(
      [LODASH_TEMPLATE.id, LODASH_PROTO.id].sort()
    );
    expect(ids(res.answers.get('npm:lodash@4.17.12'))).toEqual([LODASH_TEMPLATE.id]);
    expect(res.answers.get('npm:lodash@4.17.21')).toEqual([]);
    expect(res.answers.get('npm:left-pad@1.0.0')).toEqual([]);
    expect(ids(res.answers.get('PyPI:jinja2@2.10'))).toEqual(
      [JINJA_GHSA.id, JINJA_PYSEC.id].sort()
    );
    expect(res.answers.get('PyPI:jinja2@2.10.1')).toEqual([]);
  });

  it('reads a flat directory of records and looks PyPI names up normalised', async () => {
    const dir = tempDir('qg-osv-');
    writeRecords(dir, [
      record('PYSEC-9', 'PyPI', 'Zope.Interface', [{ introduced: '0' }, { fixed: '5.0' }]),
      LODASH_PROTO
    ]);
    const res = await new OsvDirectorySource(dir).query([
      { ecosystem: 'PyPI', name: 'zope-interface', version: '4.7.1' },
      { ecosystem: 'npm', name: 'lodash', version: '4.17.0' }
    ]);
    expect(ids(res.answers.get('PyPI:zope-interface@4.7.1'))).toEqual(['PYSEC-9']);
    expect(ids(res.answers.get('npm:lodash@4.17.0'))).toEqual([LODASH_PROTO.id]);
  });

  it('reads all.zip archives, keeping the newer copy of a record found twice', async () => {
    const dir = tempDir('qg-osv-');
    mkdirSync(join(dir, 'npm'));
    const newer = { ...LODASH_PROTO, modified: '2025-01-01T00:00:00Z', summary: 'newer copy' };
    writeFileSync(
      join(dir, 'npm', 'all.zip'),
      writeZip([
        { name: `${newer.id}.json`, data: JSON.stringify(newer) },
        { name: `${MINIMIST.id}.json`, data: JSON.stringify(MINIMIST), deflate: false }
      ])
    );
    writeRecords(join(dir, 'npm'), [LODASH_PROTO]);
    const res = await new OsvDirectorySource(dir).query([
      { ecosystem: 'npm', name: 'lodash', version: '4.17.11' },
      { ecosystem: 'npm', name: 'minimist', version: '1.2.0' }
    ]);
    expect(res.answers.get('npm:lodash@4.17.11')![0].summary).toBe('newer copy');
    expect(ids(res.answers.get('npm:minimist@1.2.0'))).toEqual([MINIMIST.id]);
  });

  it('skips a corrupt record file, naming it, and still matches the others', async () => {
    const dir = tempDir('qg-osv-');
    writeRecords(join(dir, 'npm'), [LODASH_PROTO]);
    writeFileSync(join(dir, 'npm', 'GHSA-broken.json'), '{"id": "GHSA-broken", ');
    const res = await new OsvDirectorySource(dir).query([
      { ecosystem: 'npm', name: 'lodash', version: '4.17.11' }
    ]);
    expect(ids(res.answers.get('npm:lodash@4.17.11'))).toEqual([LODASH_PROTO.id]);
    expect(res.failures).toHaveLength(1);
    expect(res.failures[0]).toMatchObject({
      kind: 'record',
      what: `offline OSV record ${join(dir, 'npm', 'GHSA-broken.json')}`,
      keys: []
    });
    expect(res.failures[0].problem).toMatch(/^is not valid JSON \(.*\); skipped$/);

    const dir2 = tempDir('qg-osv-');
    writeRecords(join(dir2, 'npm'), [
      {
        id: 'GHSA-bad',
        affected: [{ package: { ecosystem: 'npm', name: 'x' }, ranges: 'oops' }]
      } as unknown as OsvVuln
    ]);
    const res2 = await new OsvDirectorySource(dir2).query([
      { ecosystem: 'npm', name: 'x', version: '1.0.0' }
    ]);
    expect(res2.answers.get('npm:x@1.0.0')).toEqual([]);
    expect(res2.failures.map((f) => `${f.what}: ${f.problem}`)).toEqual([
      expect.stringMatching(
        /GHSA-bad\.json: is not a valid OSV record: GHSA-bad: affected\[0\]\.ranges is not an array; skipped$/
      )
    ]);
  });

  it('a missing directory, or one without the ecosystem, leaves those packages not looked up', async () => {
    const missing = join(tempDir('qg-osv-'), 'nope');
    const none = await new OsvDirectorySource(missing).query([
      { ecosystem: 'npm', name: 'x', version: '1.0.0' }
    ]);
    expect(none.answers.size).toBe(0);
    expect(none.failures).toEqual([
      expect.objectContaining({
        kind: 'ecosystem',
        what: 'npm',
        keys: ['npm:x@1.0.0'],
        problem: expect.stringMatching(/is not a readable directory/)
      })
    ]);
    const dir = tempDir('qg-osv-');
    writeRecords(join(dir, 'npm'), [LODASH_PROTO]);
    const res = await new OsvDirectorySource(dir).query([
      { ecosystem: 'PyPI', name: 'x', version: '1.0' },
      { ecosystem: 'npm', name: 'lodash', version: '4.17.11' }
    ]);
    expect(ids(res.answers.get('npm:lodash@4.17.11'))).toEqual([LODASH_PROTO.id]);
    expect(res.answers.has('PyPI:x@1.0')).toBe(false);
    expect(res.failures).toEqual([
      expect.objectContaining({
        kind: 'ecosystem',
        what: 'PyPI',
        keys: ['PyPI:x@1.0'],
        short: 'PyPI not in the offline database',
        problem: expect.stringMatching(/^not in the offline OSV database /)
      })
    ]);
  });

  it('reports records whose bounds cannot be compared, and counts them as affecting', async () => {
    const dir = tempDir('qg-osv-');
    writeRecords(join(dir, 'npm'), [
      record('GHSA-odd', 'npm', 'x', [{ introduced: '0' }, { fixed: 'v-next' }])
    ]);
    const src = new OsvDirectorySource(dir);
    const res = await src.query([{ ecosystem: 'npm', name: 'x', version: '1.0.0' }]);
    expect(ids(res.answers.get('npm:x@1.0.0'))).toEqual(['GHSA-odd']);
    expect(src.notes()[0]).toMatch(
      /GHSA-odd: SEMVER range bound "v-next"( \(fixed\))? is not a SemVer version/
    );
  });
});
