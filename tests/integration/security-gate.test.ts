// The security gate through runGate() on real repositories: the policy
// combinations a user would notice (secrets fail-closed whatever the inputs,
// dependency audit fail-open unless asked), and redaction across every output.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { runGate } from '../../packages/core/src/gate.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import type { GateResult } from '../../packages/core/src/verdict.ts';
import { securityGate } from '../../packages/security/src/gate.ts';
import { randomAwsAccessKeyId } from '../../packages/security/src/secrets/token-samples.ts';
import { FAKE_GITLEAKS, NODE_BIN_DIR } from '../fixtures/fake-gitleaks/helpers.ts';
import { LODASH_PROTO, REQUESTS_LOW, writeRecords } from '../fixtures/osv/records.ts';
import { refusedUrl, startOsvServer } from '../fixtures/osv/osv-server.ts';
import { makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

function lockfile(deps: Record<string, string>): string {
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0' } };
  for (const [n, v] of Object.entries(deps))
    packages[`node_modules/${n}`] = {
      version: v,
      resolved: `https://registry.npmjs.org/${n}/-/${n}-${v}.tgz`
    };
  return JSON.stringify(
    { name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages },
    null,
    2
  );
}

async function gate(
  repo: TestRepo,
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv = {}
): Promise<GateResult & { log: string }> {
  const logger = new RecordingLogger();
  const ctx: RunContext = {
    env: { ...process.env, ...env },
    workspace: repo.work,
    repository: 'acme/service',
    event: { name: '' },
    logger,
    now: () => new Date()
  };
  const r = await runGate(
    securityGate,
    mapInputSource({ 'base-ref': 'main', 'report-dir': join(tempDir(), 'reports'), ...inputs }),
    ctx
  );
  return { ...r, log: logger.text() };
}

function branch(name: string, files: Record<string, string>): TestRepo {
  const repo = makeRepo();
  repo.commit('package-lock.json', lockfile({ lodash: '4.17.21' }), 'lock on main');
  repo.git('push', '-q', 'origin', 'main');
  repo.git('checkout', '-q', '-b', name);
  for (const [p, c] of Object.entries(files)) repo.commit(p, c);
  return repo;
}

describe('security gate: dependency audit policy', () => {
  it('fails on a new vulnerability at or above fail-on-severity, from an offline OSV database', async () => {
    const repo = branch('agent/downgrade', {
      'package-lock.json': lockfile({ lodash: '4.17.11' })
    });
    const db = join(tempDir(), 'osv');
    writeRecords(join(db, 'npm'), [LODASH_PROTO]);
    const r = await gate(repo, { 'osv-db': db });
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toMatch(/^1 new vulnerability at or above high; scanned 1 commit/);
    expect(r.frontmatter.vulnerabilities_new).toBe(1);
    expect(r.body).toContain('GHSA-jf85-cpcp-j695');
    expect(r.body).toContain('4.17.12');
    // LODASH_PROTO scores critical (CVSS 3.1 vector), so the strictest threshold still blocks it.
    const critical = await gate(repo, { 'osv-db': db, 'fail-on-severity': 'critical' });
    expect(critical.verdict).toBe('FAIL');
  });

  it('an unreachable feed passes loudly by default and fails when dep-audit-fail-closed', async () => {
    const repo = branch('agent/bump', { 'package-lock.json': lockfile({ lodash: '4.17.11' }) });
    const url = await refusedUrl();
    const open = await gate(repo, { 'osv-url': url });
    expect(open.verdict).toBe('PASS');
    expect(open.frontmatter.dep_audit).toBe('unavailable');
    expect(open.frontmatter).toMatchObject({
      dep_audit_lockfiles: 1,
      dep_audit_unreadable: 0,
      dep_audit_looked_up: 0,
      dep_audit_not_looked_up: 1,
      dep_audit_failures: 1
    });
    expect(open.warnings.join('\n')).toMatch(/dependency audit unavailable: .*fail-open/);
    expect(open.warnings.join('\n')).toMatch(
      /dependency audit: OSV API POST \/v1\/querybatch: .*connection refused/
    );
    // Never "no new vulnerabilities" when nothing was looked up.
    expect(open.summary).toMatch(
      /^no secrets; dependency audit unavailable: 1 of 1 new package version not looked up \(OSV API unavailable\); scanned/
    );
    expect(open.body).toContain('Dependency audit unavailable');
    expect(open.log).toMatch(/warning: dependency audit unavailable/);
    const closed = await gate(repo, { 'osv-url': url, 'dep-audit-fail-closed': 'true' });
    expect(closed.verdict).toBe('FAIL');
    expect(closed.summary).toMatch(
      /^no secrets; dependency audit unavailable: .* \(fail-closed\); scanned/
    );
  });

  it('talks to the OSV API contract and reports only what HEAD introduces', async () => {
    const repo = branch('agent/py', { 'requirements.txt': 'requests==2.30.0\n' });
    const server = await startOsvServer({ records: [LODASH_PROTO, REQUESTS_LOW] });
    try {
      const r = await gate(repo, { 'osv-url': server.url, 'fail-on-severity': 'low' });
      expect(r.frontmatter.vulnerabilities_new).toBe(1);
      expect(r.verdict).toBe('FAIL');
      expect(server.requests.some((q) => q.path === '/v1/querybatch')).toBe(true);
      // A low-severity finding below the threshold is listed but does not block.
      const high = await gate(repo, { 'osv-url': server.url, 'fail-on-severity': 'high' });
      expect(high.verdict).toBe('PASS');
      expect(high.frontmatter.vulnerabilities_new).toBe(1);
      expect(high.frontmatter.vulnerabilities_blocking).toBe(0);
      expect(high.body).toContain('GHSA-j8r2-6x86-q33q');
    } finally {
      await server.close();
    }
  });

  it('a corrupt lockfile at HEAD is a loud warning under the fail-open policy, FAIL under fail-closed', async () => {
    const repo = branch('agent/broken-lock', {
      'package-lock.json': '{"lockfileVersion": 3, "packages": '
    });
    const open = await gate(repo, { 'osv-url': await refusedUrl() });
    expect(open.verdict).toBe('PASS');
    // The only lockfile is unreadable: nothing could be audited.
    expect(open.frontmatter.dep_audit).toBe('unavailable');
    expect(open.frontmatter.dep_audit_unreadable).toBe(1);
    expect(open.summary).toMatch(
      /^no secrets; dependency audit unavailable: 1 of 1 lockfile unreadable; /
    );
    expect(open.warnings[0]).toMatch(
      /^dependency audit unavailable: 1 of 1 lockfile unreadable \(fail-open/
    );
    expect(open.warnings[1]).toMatch(/^dependency audit: package-lock\.json: not valid JSON/);
    const closed = await gate(repo, {
      'osv-url': await refusedUrl(),
      'dep-audit-fail-closed': 'true'
    });
    expect(closed.verdict).toBe('FAIL');
  });
});

describe('security gate: secrets are fail-closed whatever the inputs say', () => {
  const env = { PATH: `${NODE_BIN_DIR}:${process.env.PATH}` };

  it('a crashing gitleaks is FAIL even with the dependency audit fail-open', async () => {
    const repo = branch('agent/x', { 'a.txt': 'hello\n' });
    const r = await gate(
      repo,
      {
        'secrets-engine': 'gitleaks',
        'gitleaks-path': FAKE_GITLEAKS,
        'dep-audit-fail-closed': 'false'
      },
      { ...env, FAKE_GITLEAKS_MODE: 'crash' }
    );
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toMatch(/^secrets tool error: .*\(fail-closed => FAIL\)$/);
  });

  it('a hanging gitleaks is killed at scan-timeout-seconds and FAILs', async () => {
    const repo = branch('agent/y', { 'a.txt': 'hello\n' });
    const started = Date.now();
    const r = await gate(
      repo,
      { 'secrets-engine': 'gitleaks', 'gitleaks-path': FAKE_GITLEAKS, 'scan-timeout-seconds': '2' },
      { ...env, FAKE_GITLEAKS_MODE: 'hang' }
    );
    expect(r.verdict).toBe('FAIL');
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.summary).toMatch(/timed out|timeout/i);
  });

  it('secrets-engine gitleaks with no gitleaks is FAIL naming what to set; auto falls back to embedded', async () => {
    const repo = branch('agent/z', { 'a.txt': `${randomAwsAccessKeyId()}\n` });
    const missing = await gate(repo, {
      'secrets-engine': 'gitleaks',
      'gitleaks-path': '/nonexistent/gitleaks'
    });
    expect(missing.verdict).toBe('FAIL');
    expect(missing.summary).toMatch(/gitleaks/);
    const auto = await gate(
      repo,
      { 'secrets-engine': 'auto', 'dep-audit': 'false' },
      { PATH: '/usr/bin:/bin' }
    );
    expect(auto.frontmatter.secrets_engine).toBe('embedded');
    expect(auto.verdict).toBe('FAIL');
  });

  it('with the gitleaks engine, a secret in a commit message or a file name is still found, and the name masked', async () => {
    const secret = randomAwsAccessKeyId();
    const clean = branch('agent/msg', { 'a.txt': 'hello\n' });
    clean.commit('b.txt', 'plain\n', `add b\n\ncredentials for the job: ${secret}`);
    const inMessage = await gate(
      clean,
      { 'secrets-engine': 'gitleaks', 'gitleaks-path': FAKE_GITLEAKS, 'dep-audit': 'false' },
      env
    );
    expect(inMessage.frontmatter.secrets_engine).toBe('gitleaks');
    expect(inMessage.verdict).toBe('FAIL');
    expect(inMessage.body).toMatch(/commit message/i);
    expect(JSON.stringify(inMessage)).not.toContain(secret);

    const named = branch('agent/name', { [`keys/${secret}.txt`]: 'nothing secret inside\n' });
    const inName = await gate(
      named,
      { 'secrets-engine': 'gitleaks', 'gitleaks-path': FAKE_GITLEAKS, 'dep-audit': 'false' },
      env
    );
    expect(inName.verdict).toBe('FAIL');
    expect(JSON.stringify(inName)).not.toContain(secret);
    expect(inName.log).not.toContain(secret);
  });

  it('a bad allowlist on main fails the gate with the file and line', async () => {
    const repo = makeRepo();
    repo.commit('.quality-gates/secrets-allowlist', 'path:docs/**\nbogus entry\n', 'allowlist');
    repo.git('push', '-q', 'origin', 'main');
    repo.git('checkout', '-q', '-b', 'agent/al');
    repo.commit('a.txt', 'hello\n');
    const r = await gate(repo, { 'dep-audit': 'false' });
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toMatch(/secrets allowlist \.quality-gates\/secrets-allowlist .*line 2/);
  });
});

describe('security gate: hostile names and big inputs', () => {
  it('finds a secret in files with hostile names, shows the names safely and never the secret', async () => {
    const secret = randomAwsAccessKeyId();
    const names = ['-rf.txt', 'a b.txt', 'it\'s "quoted".txt', '$(touch pwned).txt', 'x|y.txt'];
    const files = Object.fromEntries(names.map((n) => [n, `key = "${secret}"\n`]));
    const repo = branch('agent/$(id)-name', files);
    const r = await gate(repo, { 'dep-audit': 'false' });
    expect(r.verdict).toBe('FAIL');
    expect(r.frontmatter.secrets_found).toBe(names.length);
    for (const n of names) expect(r.body).toContain(n.replace(/\|/g, '\\|'));
    const everything = [
      r.summary,
      r.body,
      r.log,
      JSON.stringify(r.frontmatter),
      readFileSync(r.reportPath, 'utf8')
    ].join('\n');
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(secret.slice(4, 14));
  });

  it('scans a 50 MB file and a binary file, and says what it skipped', async () => {
    const secret = randomAwsAccessKeyId();
    const repo = makeRepo();
    repo.git('checkout', '-q', '-b', 'agent/big');
    const line = 'const filler = "abcdefghijklmnopqrstuvwxyz0123456789";\n';
    const big = line.repeat(Math.ceil((50 * 1024 * 1024) / line.length));
    repo.commit('big.js', `${big}const k = "${secret}";\n`);
    repo.commit(
      'image.png',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1, 2, 3]) as unknown as string
    );
    const r = await gate(repo, { 'dep-audit': 'false' });
    expect(r.verdict).toBe('FAIL');
    expect(r.frontmatter.secrets_found).toBe(1);
    expect(Number(r.frontmatter.bytes_scanned)).toBeGreaterThan(50 * 1024 * 1024);
    expect(r.body).toMatch(/image\.png/);
  }, 120_000);
});
