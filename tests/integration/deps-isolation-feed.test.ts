// Issue 13, a bounded feed: the whole dependency audit has one time budget.
// Against the OSV API stand-in, with the source's production defaults (30 s
// per request, 3 retries): a feed that never answers, or answers 429 with
// Retry-After: 120, ends the audit within the budget, partial and saying why;
// a Retry-After that fits in the budget is honoured; one failing batch leaves
// the other batches' answers alone.
import { Git } from '../../packages/git/src/git.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { auditDependencies } from '../../packages/security/src/deps/audit.ts';
import { OsvApiSource, type FetchLike } from '../../packages/security/src/deps/osv-api.ts';
import { GIT_ENV, makeLocalRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';
import { ALL_RECORDS, JINJA_GHSA, LODASH_PROTO } from '../fixtures/osv/records.ts';
import { startOsvServer, type OsvServer } from '../fixtures/osv/osv-server.ts';

afterAll(cleanupTempDirs);

let server: OsvServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The budget the tests give the audit, and what its end may overrun it by (git, scheduling). */
const BUDGET_MS = 2000;
const SLACK_MS = 1000;

function packageLock(deps: Record<string, string>): string {
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0' } };
  for (const [name, version] of Object.entries(deps))
    packages[`node_modules/${name}`] = { version };
  return `${JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 2)}\n`;
}

function branch(head: Record<string, string>) {
  const r = makeLocalRepo();
  const base = r.commitAll('base', {
    'README.md': 'x\n',
    'package-lock.json': packageLock({ lodash: '4.17.21' })
  });
  r.git('checkout', '-q', '-b', 'feature');
  return {
    git: new Git(r.work, { env: { ...process.env, ...GIT_ENV } }),
    base,
    head: r.commitAll('branch', head)
  };
}

/** The audit with the source's production defaults and a budget; resolves with its elapsed time. */
async function timedAudit(
  r: ReturnType<typeof branch>,
  source: OsvApiSource,
  timeBudgetMs = BUDGET_MS
) {
  const started = Date.now();
  const res = await auditDependencies({
    ...r,
    source,
    failOnSeverity: 'high',
    logger: new RecordingLogger(),
    timeBudgetMs
  });
  return { res, elapsed: Date.now() - started };
}

describe('one time budget for the whole audit', () => {
  it('a feed that never answers holds the audit no longer than the budget', async () => {
    server = await startOsvServer({ records: ALL_RECORDS, hangOn: '/v1/querybatch' });
    const r = branch({ 'package-lock.json': packageLock({ lodash: '4.17.11' }) });
    // Production defaults: 30 s per request and 3 retries would hold it 124 s.
    const { res, elapsed } = await timedAudit(r, new OsvApiSource({ baseUrl: server.url }));
    expect(elapsed).toBeLessThan(BUDGET_MS + SLACK_MS);
    expect(elapsed).toBeGreaterThanOrEqual(BUDGET_MS - 100);
    expect(server.requests.filter((q) => q.path === '/v1/querybatch')).toHaveLength(1);
    expect(res.completeness).toBe('unavailable');
    expect(res.packagesNotLookedUp).toBe(1);
    expect(res.gaps).toEqual([
      '1 of 1 new package version not looked up (time budget of 2 s ran out)'
    ]);
    expect(res.failures).toEqual([
      {
        kind: 'budget',
        what: 'OSV API POST /v1/querybatch',
        problem: expect.stringMatching(
          /^OSV API POST \/v1\/querybatch: no answer within the \d\.\d s left of the audit's time budget \(1 new package version\(s\) not looked up: npm:lodash@4\.17\.11; 1 base version\(s\) not looked up: npm:lodash@4\.17\.21\)$/
        )
      }
    ]);
  });

  it('a record fetch that never answers is bounded the same way', async () => {
    server = await startOsvServer({ records: ALL_RECORDS, hangOn: '/v1/vulns/' });
    const r = branch({ 'package-lock.json': packageLock({ lodash: '4.17.11' }) });
    const { res, elapsed } = await timedAudit(r, new OsvApiSource({ baseUrl: server.url }));
    expect(elapsed).toBeLessThan(BUDGET_MS + SLACK_MS);
    expect(res.completeness).toBe('unavailable');
    expect(res.failures.every((f) => f.kind === 'budget')).toBe(true);
    expect(res.failures[0].what).toMatch(/OSV record/);
  });

  it('429 with Retry-After: 120 is not waited past the budget: the packages are not looked up', async () => {
    server = await startOsvServer({
      records: ALL_RECORDS,
      failFirst: { count: 100, status: 429, retryAfter: '120' }
    });
    const r = branch({ 'package-lock.json': packageLock({ lodash: '4.17.11' }) });
    const { res, elapsed } = await timedAudit(r, new OsvApiSource({ baseUrl: server.url }));
    expect(elapsed).toBeLessThan(BUDGET_MS + SLACK_MS);
    // Asked once: waiting 120 s would overrun the budget, so there is no second attempt.
    expect(server.requests).toHaveLength(1);
    expect(res.completeness).toBe('unavailable');
    expect(res.failures[0]).toMatchObject({ kind: 'budget', what: 'OSV API POST /v1/querybatch' });
    expect(res.failures[0].problem).toMatch(
      /^OSV API POST \/v1\/querybatch: HTTP 429, and the server asks to wait 120 s before retrying, longer than the \d\.\d s left of the audit's time budget/
    );
  });

  it('a Retry-After within the budget is honoured, in full', async () => {
    server = await startOsvServer({
      records: ALL_RECORDS,
      failFirst: { count: 1, status: 429, retryAfter: '1' }
    });
    const r = branch({ 'package-lock.json': packageLock({ lodash: '4.17.11' }) });
    const { res, elapsed } = await timedAudit(r, new OsvApiSource({ baseUrl: server.url }), 5000);
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(5000);
    expect(res.completeness).toBe('ok');
    expect(res.blocking.map((f) => f.id)).toContain(LODASH_PROTO.id);
  });

  it('one failing batch leaves the other batches answered: partial, and the finding kept', async () => {
    const r = branch({
      'package-lock.json': packageLock({ lodash: '4.17.11' }),
      'requirements.txt': 'jinja2==2.10\n'
    });
    server = await startOsvServer({ records: ALL_RECORDS });
    const real = server.url;
    // One query per batch; the stand-in answers every batch except the one asking about jinja2.
    const fetchFn: FetchLike = async (url, init) => {
      if (init.body?.includes('"jinja2"'))
        return { status: 503, headers: { get: () => null }, text: async () => '' };
      const res = await fetch(url.replace('http://osv.invalid', real), init);
      return res;
    };
    const source = new OsvApiSource({
      baseUrl: 'http://osv.invalid',
      fetch: fetchFn,
      batchSize: 1,
      backoffMs: 5,
      maxBackoffMs: 10
    });
    const { res } = await timedAudit(r, source, 10_000);
    expect(res.blocking.map((f) => `${f.lockfile} ${f.id}`)).toContain(
      `package-lock.json ${LODASH_PROTO.id}`
    );
    expect(res.introduced.map((f) => f.id)).not.toContain(JINJA_GHSA.id);
    expect(res.completeness).toBe('partial');
    expect(res.packagesChecked).toBe(1);
    expect(res.packagesNotLookedUp).toBe(1);
    expect(res.failures).toEqual([
      {
        kind: 'lookup',
        what: expect.stringMatching(/^OSV API POST \/v1\/querybatch \(batch \d of 3\)$/),
        problem: expect.stringMatching(
          /failed 4 time\(s\), last: HTTP 503 \(1 new package version\(s\) not looked up: PyPI:jinja2@2\.10\)$/
        )
      }
    ]);
    expect(res.gaps).toEqual(['1 of 2 new package versions not looked up (OSV API unavailable)']);
  });
});
