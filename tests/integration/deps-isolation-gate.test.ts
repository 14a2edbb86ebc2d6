// Issue 13 through the security gate (runGate on real repositories): a branch
// that adds a critical vulnerability in one lockfile and breaks another FAILs
// by default, and the summary names both; a partial audit never says "no new
// vulnerabilities"; dep_audit says ok | partial | unavailable with counts; the
// audit's time budget (dep-audit-timeout-seconds) bounds an unanswering feed.
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { ConfigurationError } from '../../packages/core/src/errors.ts';
import { runGate } from '../../packages/core/src/gate.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import type { GateResult } from '../../packages/core/src/verdict.ts';
import { buildSecurityConfig } from '../../packages/security/src/config.ts';
import { securityGate } from '../../packages/security/src/gate.ts';
import { ALL_RECORDS, LODASH_PROTO, writeRecords } from '../fixtures/osv/records.ts';
import { startOsvServer, type OsvServer } from '../fixtures/osv/osv-server.ts';
import { makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

let server: OsvServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function lockfile(deps: Record<string, string>): string {
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0' } };
  for (const [n, v] of Object.entries(deps)) packages[`node_modules/${n}`] = { version: v };
  return JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 2);
}

function context(repo: TestRepo, logger = new RecordingLogger()): RunContext {
  return {
    env: { ...process.env },
    workspace: repo.work,
    repository: 'acme/service',
    event: { name: '' },
    logger,
    now: () => new Date()
  };
}

async function gate(
  repo: TestRepo,
  inputs: Record<string, string>
): Promise<GateResult & { log: string; elapsed: number }> {
  const logger = new RecordingLogger();
  const started = Date.now();
  const r = await runGate(
    securityGate,
    mapInputSource({ 'base-ref': 'main', 'report-dir': join(tempDir(), 'reports'), ...inputs }),
    context(repo, logger)
  );
  return { ...r, log: logger.text(), elapsed: Date.now() - started };
}

/** main holds two npm lockfiles and a requirements.txt; the branch commits `files`. */
function branch(name: string, files: Record<string, string>): TestRepo {
  const repo = makeRepo();
  repo.commit('package-lock.json', lockfile({ lodash: '4.17.21' }), 'web lock');
  repo.commit('services/api/package-lock.json', lockfile({ minimist: '1.2.5' }), 'api lock');
  repo.commit('requirements.txt', 'requests==2.31.0\n', 'python deps');
  repo.git('push', '-q', 'origin', 'main');
  repo.git('checkout', '-q', '-b', name);
  for (const [p, c] of Object.entries(files)) repo.commit(p, c);
  return repo;
}

function offlineDb(ecosystems: string[]): string {
  const db = join(tempDir(), 'osv');
  for (const eco of ecosystems)
    writeRecords(
      join(db, eco),
      ALL_RECORDS.filter((r) => r.affected![0].package!.ecosystem === eco)
    );
  return db;
}

describe('security gate: a partial dependency audit', () => {
  it('a critical vulnerability in one lockfile and a broken other lockfile: FAIL by default, the summary names both', async () => {
    const repo = branch('agent/crit-and-broken', {
      'package-lock.json': lockfile({ lodash: '4.17.11' }),
      'services/api/package-lock.json': '{"lockfileVersion": 3, "packages": {\n<<<<<<< HEAD\n'
    });
    const r = await gate(repo, { 'osv-db': offlineDb(['npm', 'PyPI']) });
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toMatch(
      /^2 new vulnerabilities at or above high; dependency audit incomplete: 1 of 2 lockfiles unreadable; scanned 2 commits/
    );
    expect(r.frontmatter).toMatchObject({
      dep_audit: 'partial',
      dep_audit_lockfiles: 2,
      dep_audit_unreadable: 1,
      dep_audit_looked_up: 1,
      dep_audit_not_looked_up: 0,
      dep_audit_failures: 1,
      vulnerabilities_blocking: 2
    });
    expect(r.frontmatter.blocking).toContain(
      `critical ${LODASH_PROTO.id} in npm:lodash@4.17.11 (package-lock.json)`
    );
    expect(r.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^dependency audit incomplete: 1 of 2 lockfiles unreadable \(fail-open/
        ),
        expect.stringMatching(
          /^dependency audit: services\/api\/package-lock\.json: not valid JSON/
        )
      ])
    );
    expect(r.body).toContain('**Dependency audit incomplete:** 1 of 2 lockfiles unreadable.');
    expect(r.body).toMatch(/\| services\/api\/package-lock\.json \| not valid JSON/);
    expect(r.body).toContain(LODASH_PROTO.id);
  });

  it('PyPI missing from the offline database: npm still audited; PASS loudly by default, FAIL when fail-closed', async () => {
    const repo = branch('agent/py-and-npm', {
      'package-lock.json': lockfile({ lodash: '4.17.21', minimist: '1.2.6' }),
      'requirements.txt': 'requests==2.30.0\n'
    });
    const db = offlineDb(['npm']);
    const open = await gate(repo, { 'osv-db': db });
    expect(open.verdict).toBe('PASS');
    expect(open.frontmatter).toMatchObject({
      dep_audit: 'partial',
      dep_audit_lockfiles: 2,
      dep_audit_unreadable: 0,
      dep_audit_looked_up: 1,
      dep_audit_not_looked_up: 1
    });
    expect(open.summary).toMatch(
      /^no secrets; dependency audit incomplete: PyPI not in the offline database; scanned/
    );
    expect(open.summary).not.toMatch(/no new vulnerabilities/);
    expect(open.warnings.join('\n')).toMatch(
      /dependency audit: PyPI: not in the offline OSV database .*PyPI:requests@2\.30\.0/
    );
    expect(open.log).toMatch(
      /warning: dependency audit incomplete: PyPI not in the offline database/
    );
    const closed = await gate(repo, { 'osv-db': db, 'dep-audit-fail-closed': 'true' });
    expect(closed.verdict).toBe('FAIL');
    expect(closed.summary).toMatch(
      /^no secrets; dependency audit incomplete: PyPI not in the offline database \(fail-closed\); scanned/
    );
  });

  it('a complete audit still says ok, with its counts', async () => {
    const repo = branch('agent/clean', {
      'package-lock.json': lockfile({ lodash: '4.17.21', minimist: '1.2.6' })
    });
    const r = await gate(repo, { 'osv-db': offlineDb(['npm', 'PyPI']) });
    expect(r.verdict).toBe('PASS');
    expect(r.summary).toMatch(/^no secrets, no new vulnerabilities at or above high; scanned/);
    expect(r.frontmatter).toMatchObject({
      dep_audit: 'ok',
      dep_audit_lockfiles: 1,
      dep_audit_unreadable: 0,
      dep_audit_looked_up: 1,
      dep_audit_not_looked_up: 0,
      dep_audit_failures: 0
    });
  });
});

describe('security gate: the audit time budget', () => {
  it('an OSV API that never answers holds the gate no longer than dep-audit-timeout-seconds', async () => {
    server = await startOsvServer({ records: ALL_RECORDS, hangOn: '/v1/querybatch' });
    const repo = branch('agent/hang', { 'package-lock.json': lockfile({ lodash: '4.17.11' }) });
    const r = await gate(repo, { 'osv-url': server.url, 'dep-audit-timeout-seconds': '2' });
    expect(r.verdict).toBe('PASS');
    expect(r.frontmatter.dep_audit).toBe('unavailable');
    expect(r.summary).toMatch(
      /^no secrets; dependency audit unavailable: 1 of 1 new package version not looked up \(time budget of 2 s ran out\); scanned/
    );
    // The whole gate: the 2 s budget, plus the secret scan and git beside it.
    expect(r.elapsed).toBeLessThan(2000 + 3000);
  });

  it('429 with Retry-After: 120 is not waited: unavailable within the budget', async () => {
    server = await startOsvServer({
      records: ALL_RECORDS,
      failFirst: { count: 100, status: 429, retryAfter: '120' }
    });
    const repo = branch('agent/limited', { 'package-lock.json': lockfile({ lodash: '4.17.11' }) });
    const r = await gate(repo, { 'osv-url': server.url, 'dep-audit-timeout-seconds': '2' });
    expect(r.verdict).toBe('PASS');
    expect(r.frontmatter.dep_audit).toBe('unavailable');
    expect(r.warnings.join('\n')).toMatch(
      /the server asks to wait 120 s before retrying, longer than the .* left of the audit's time budget/
    );
    expect(r.elapsed).toBeLessThan(2000 + 3000);
    expect(server.requests).toHaveLength(1);
  });

  it.each(['0', '3601', '1.5', 'soon'])(
    'dep-audit-timeout-seconds %s is a one-line configuration error naming the input',
    (value) => {
      const repo = makeRepo();
      let caught: unknown;
      try {
        buildSecurityConfig(mapInputSource({ 'dep-audit-timeout-seconds': value }), context(repo));
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ConfigurationError);
      expect((caught as Error).message).toBe(
        `input 'dep-audit-timeout-seconds': expected a whole number from 1 to 3600 (got "${value}")`
      );
    }
  );

  it('dep-audit-timeout-seconds defaults to 60', () => {
    const config = buildSecurityConfig(mapInputSource({}), context(makeRepo()));
    expect(config.depAuditTimeoutMs).toBe(60_000);
  });
});
