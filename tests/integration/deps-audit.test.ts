import { join } from 'node:path';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { auditDependencies, type AuditOptions } from '../../packages/security/src/deps/audit.ts';
import { OsvDirectorySource } from '../../packages/security/src/deps/osv-directory.ts';
import { OsvApiSource } from '../../packages/security/src/deps/osv-api.ts';
import type { VulnSource } from '../../packages/security/src/deps/vuln-source.ts';
import type { OsvVuln } from '../../packages/security/src/deps/osv-record.ts';
import { auditRepo, packageLock, type AuditRepo } from '../helpers/deps-repo.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';
import {
  ALL_RECORDS,
  JINJA_GHSA,
  LODASH_PROTO,
  LODASH_TEMPLATE,
  MALWARE,
  REQUESTS_LOW,
  writeRecords
} from '../fixtures/osv/records.ts';
import { startOsvServer } from '../fixtures/osv/osv-server.ts';

afterAll(cleanupTempDirs);

type Repo = AuditRepo;
const repo = auditRepo;

function offlineDb(records: OsvVuln[] = ALL_RECORDS): OsvDirectorySource {
  const dir = tempDir('qg-osvdb-');
  const ecosystemOf = (r: OsvVuln): string => r.affected![0].package!.ecosystem;
  // Both ecosystems exist even when a test's records cover only one.
  for (const eco of new Set(['npm', 'PyPI', ...records.map(ecosystemOf)])) {
    writeRecords(
      join(dir, eco),
      records.filter((r) => ecosystemOf(r) === eco)
    );
  }
  return new OsvDirectorySource(dir);
}

async function audit(r: Repo, extra: Partial<AuditOptions> = {}) {
  const logger = new RecordingLogger();
  const result = await auditDependencies({
    git: r.git,
    base: r.base,
    head: r.head,
    source: offlineDb(),
    failOnSeverity: 'high',
    logger,
    ...extra
  });
  return { ...result, logger };
}

describe('auditDependencies on real git history', () => {
  it('reports the vulnerabilities a newly added package brings, with severity and fixes', async () => {
    const r = await repo(
      { 'package-lock.json': packageLock({ express: '4.18.2' }) },
      { 'package-lock.json': packageLock({ express: '4.18.2', lodash: '4.17.11' }) }
    );
    const res = await audit(r);
    expect(res.lockfilesAudited).toEqual(['package-lock.json']);
    expect(res.packagesChecked).toBe(1); // express is unchanged and not looked up
    expect(res.packagesAtHead).toBe(2);
    expect(res).toMatchObject({
      completeness: 'ok',
      failures: [],
      gaps: [],
      packagesNotLookedUp: 0
    });
    expect(res.introduced.map((f) => [f.id, f.severity, f.score])).toEqual([
      [LODASH_PROTO.id, 'critical', 9.1],
      [LODASH_TEMPLATE.id, 'high', 7.2]
    ]);
    expect(res.introduced[0]).toMatchObject({
      aliases: ['CVE-2019-10744'],
      ecosystem: 'npm',
      name: 'lodash',
      version: '4.17.11',
      summary: 'Prototype Pollution in lodash',
      fixed: ['4.17.12'],
      lockfile: 'package-lock.json',
      severitySource: 'CVSS:3.1'
    });
    expect(res.blocking).toEqual(res.introduced);
    expect(res.blocking[0]).toBe(res.introduced[0]); // same objects, so callers can use includes()
  });

  it('the threshold decides what blocks', async () => {
    const r = await repo({}, { 'package-lock.json': packageLock({ lodash: '4.17.11' }) });
    const res = await audit(r, { failOnSeverity: 'critical' });
    expect(res.introduced).toHaveLength(2);
    expect(res.blocking.map((f) => f.id)).toEqual([LODASH_PROTO.id]);
  });

  it('a vulnerability already present at base is not reported', async () => {
    const r = await repo(
      { 'package-lock.json': packageLock({ lodash: '4.17.15' }) },
      { 'package-lock.json': packageLock({ lodash: '4.17.20' }) }
    );
    const res = await audit(r);
    expect(res.introduced).toEqual([]);
    expect(res.notes.join('\n')).toMatch(
      /1 vulnerability match\(es\) were already present at base/
    );
  });

  it('upgrading to a fixed version removes it', async () => {
    const r = await repo(
      { 'package-lock.json': packageLock({ lodash: '4.17.11' }) },
      { 'package-lock.json': packageLock({ lodash: '4.17.21' }) }
    );
    const res = await audit(r);
    expect(res.introduced).toEqual([]);
    expect(res.packagesChecked).toBe(1);
  });

  it('downgrading into an affected range introduces it', async () => {
    const r = await repo(
      { 'package-lock.json': packageLock({ lodash: '4.17.12' }) },
      { 'package-lock.json': packageLock({ lodash: '4.17.11' }) }
    );
    const res = await audit(r);
    // the template injection affects 4.17.12 too: only the prototype pollution is new
    expect(res.introduced.map((f) => f.id)).toEqual([LODASH_PROTO.id]);
  });

  it('a lockfile new at HEAD, in a subdirectory: everything is new; aliased records are one finding', async () => {
    const poetry = `[[package]]\nname = "Jinja2"\nversion = "2.10"\n\n[[package]]\nname = "click"\nversion = "8.0.0"\n`;
    const r = await repo({}, { 'services/api/poetry.lock': poetry });
    const res = await audit(r);
    expect(res.lockfilesAudited).toEqual(['services/api/poetry.lock']);
    expect(res.packagesChecked).toBe(2);
    expect(res.introduced).toHaveLength(1);
    expect(res.introduced[0]).toMatchObject({
      id: JINJA_GHSA.id,
      aliases: ['CVE-2019-10906', 'PYSEC-2019-217'],
      name: 'jinja2',
      ecosystem: 'PyPI',
      severity: 'high', // the GHSA label; the PYSEC record alone has none
      fixed: ['2.10.1'],
      lockfile: 'services/api/poetry.lock'
    });
  });

  it('requirements.txt: a low finding is reported but does not block at moderate; unpinned lines are noted', async () => {
    const r = await repo(
      { 'requirements.txt': 'requests==2.31.0\n' },
      { 'requirements.txt': 'requests==2.30.0 --hash=sha256:abc\nflask>=2\n' }
    );
    const res = await audit(r, { failOnSeverity: 'moderate' });
    expect(res.introduced.map((f) => [f.id, f.severity])).toEqual([[REQUESTS_LOW.id, 'low']]);
    expect(res.blocking).toEqual([]);
    expect(res.notes.join('\n')).toMatch(
      /requirements\.txt: 1 requirement\(s\) not pinned with == are not auditable: flask>=2/
    );
  });

  it('unknown severity blocks at every threshold by default, and can be only reported', async () => {
    const r = await repo({}, { 'web/package-lock.json': packageLock({ 'evil-pkg': '1.0.0' }) });
    const strict = await audit(r, { failOnSeverity: 'critical' });
    expect(strict.introduced.map((f) => [f.id, f.severity])).toEqual([[MALWARE.id, 'unknown']]);
    expect(strict.blocking).toHaveLength(1);
    expect(strict.notes.join('\n')).toMatch(
      /no usable severity .* blocks at every threshold: MAL-2024-0001 in evil-pkg@1\.0\.0/
    );
    const lenient = await audit(r, { failOnSeverity: 'low', unknownSeverity: 'report' });
    expect(lenient.introduced).toHaveLength(1);
    expect(lenient.blocking).toEqual([]);
  });

  it("a corrupt lockfile at HEAD is that file's failure, one line naming it", async () => {
    const r = await repo(
      { 'package-lock.json': packageLock({ lodash: '4.17.21' }) },
      { 'package-lock.json': '{"lockfileVersion": 3, "packages": {\n<<<<<<< HEAD\n' }
    );
    const res = await audit(r);
    expect(res.lockfilesAudited).toEqual([]);
    expect(res.lockfilesUnreadable).toEqual(['package-lock.json']);
    expect(res.completeness).toBe('unavailable');
    expect(res.gaps).toEqual(['1 of 1 lockfile unreadable']);
    expect(res.failures).toEqual([
      {
        kind: 'lockfile',
        what: 'package-lock.json',
        problem: expect.stringMatching(/^not valid JSON/)
      }
    ]);
    expect(res.failures[0].problem).not.toContain('\n');
  });

  it('a corrupt lockfile at base is noted and base is treated as empty', async () => {
    const r = await repo(
      { 'poetry.lock': '[[package]\nbroken' },
      { 'poetry.lock': '[[package]]\nname = "jinja2"\nversion = "2.10"\n' }
    );
    const res = await audit(r);
    expect(res.introduced.map((f) => f.id)).toEqual([JINJA_GHSA.id]);
    expect(res.notes.join('\n')).toMatch(
      /poetry\.lock: corrupt at base \(not valid TOML.*\); every package at HEAD is treated as new/
    );
  });

  it('a lockfile the branch deletes is noted, not audited', async () => {
    const r = await repo(
      { 'yarn.lock': 'lodash@^4.0.0:\n  version "4.17.11"\n' },
      { 'yarn.lock': undefined }
    );
    const res = await audit(r);
    expect(res.lockfilesAudited).toEqual([]);
    expect(res.notes).toEqual(['yarn.lock: removed by the branch; nothing to audit']);
  });

  it('a moved lockfile is compared with where it came from', async () => {
    const lock = packageLock({ lodash: '4.17.11' });
    const r = await repo(
      { 'package-lock.json': lock },
      { 'package-lock.json': undefined, 'app/package-lock.json': lock }
    );
    const res = await audit(r);
    expect(res.lockfilesAudited).toEqual(['app/package-lock.json']);
    expect(res.introduced).toEqual([]);
    expect(res.notes).toEqual([
      'app/package-lock.json: new at HEAD, compared with package-lock.json, which the branch removes (a move)'
    ]);
  });

  it('without lockfile changes the source is never asked', async () => {
    const r = await repo(
      { 'package-lock.json': packageLock({ lodash: '4.17.11' }) },
      { 'src/index.js': 'console.log(1)\n' }
    );
    const untouchable: VulnSource = {
      query: () => Promise.reject(new Error('the source must not be asked'))
    };
    const res = await audit(r, { source: untouchable });
    expect(res).toMatchObject({
      lockfilesAudited: [],
      packagesChecked: 0,
      introduced: [],
      blocking: []
    });
  });

  it('several lockfiles and ecosystems, end to end against the local OSV API', async () => {
    const server = await startOsvServer({ records: ALL_RECORDS });
    try {
      const r = await repo(
        {
          'package-lock.json': packageLock({ lodash: '4.17.12', minimist: '1.2.5' }),
          'py/requirements.txt': 'jinja2==2.10.1\n'
        },
        {
          'package-lock.json': packageLock({ lodash: '4.17.11', minimist: '1.2.5' }),
          'py/requirements.txt': 'Jinja2==2.10\n',
          'docs/x.md': 'x'
        }
      );
      const source = new OsvApiSource({ baseUrl: server.url, retries: 1, backoffMs: 5 });
      const res = await audit(r, { source });
      expect(res.lockfilesAudited).toEqual(['package-lock.json', 'py/requirements.txt']);
      expect(res.completeness).toBe('ok');
      expect(
        res.introduced.map((f) => `${f.lockfile} ${f.name}@${f.version} ${f.id} ${f.severity}`)
      ).toEqual([
        `package-lock.json lodash@4.17.11 ${LODASH_PROTO.id} critical`,
        `py/requirements.txt jinja2@2.10 ${JINJA_GHSA.id} high`
      ]);
      // one batch: the new versions and the base versions of the same packages, nothing else
      const batch = server.requests.filter((q) => q.path === '/v1/querybatch');
      expect(batch).toHaveLength(1);
      const asked = (
        batch[0].body as { queries: { package: { name: string }; version: string }[] }
      ).queries
        .map((q) => `${q.package.name}@${q.version}`)
        .sort();
      expect(asked).toEqual(['jinja2@2.10', 'jinja2@2.10.1', 'lodash@4.17.11', 'lodash@4.17.12']);
    } finally {
      await server.close();
    }
  });
});
