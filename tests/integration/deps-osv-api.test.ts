import { OsvApiSource, type FetchLike } from '../../packages/security/src/deps/osv-api.ts';
import type { PackageRef } from '../../packages/security/src/deps/package-ref.ts';
import type { LookupFailure, QueryResult } from '../../packages/security/src/deps/vuln-source.ts';
import {
  ALL_RECORDS,
  JINJA_GHSA,
  JINJA_PYSEC,
  LODASH_PROTO,
  LODASH_TEMPLATE,
  record
} from '../fixtures/osv/records.ts';
import { refusedUrl, startOsvServer, type OsvServer } from '../fixtures/osv/osv-server.ts';

const lodash = (version: string): PackageRef => ({ ecosystem: 'npm', name: 'lodash', version });
const fast = { retries: 2, backoffMs: 5, maxBackoffMs: 20 };

/** The one failure of a query that answered nothing: a feed problem never rejects. */
async function onlyFailure(q: Promise<QueryResult>): Promise<LookupFailure> {
  const res = await q;
  expect(res.answers.size).toBe(0);
  expect(res.failures).toHaveLength(1);
  return res.failures[0];
}

let server: OsvServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('OsvApiSource against a local OSV API', () => {
  it('queries in a batch, fetches each record once, keys answers by package', async () => {
    server = await startOsvServer({ records: ALL_RECORDS });
    const src = new OsvApiSource({ baseUrl: server.url, ...fast });
    const res = await src.query([
      lodash('4.17.11'),
      lodash('4.17.21'),
      { ecosystem: 'PyPI', name: 'jinja2', version: '2.10' },
      lodash('4.17.11')
    ]);
    expect([...res.answers.keys()]).toEqual([
      'npm:lodash@4.17.11',
      'npm:lodash@4.17.21',
      'PyPI:jinja2@2.10'
    ]);
    expect(res.answers.get('npm:lodash@4.17.11')!.map((v) => v.id)).toEqual(
      [LODASH_TEMPLATE.id, LODASH_PROTO.id].sort()
    );
    expect(res.answers.get('npm:lodash@4.17.21')).toEqual([]);
    expect(
      res.answers
        .get('PyPI:jinja2@2.10')!
        .map((v) => v.id)
        .sort()
    ).toEqual([JINJA_GHSA.id, JINJA_PYSEC.id].sort());
    // full records, not the {id, modified} stubs of the batch answer
    expect(res.answers.get('npm:lodash@4.17.11')![0].affected).toBeDefined();
    const batches = server.requests.filter((r) => r.path === '/v1/querybatch');
    expect(batches).toHaveLength(1);
    expect((batches[0].body as { queries: unknown[] }).queries).toHaveLength(3);
    const gets = server.requests
      .filter((r) => r.method === 'GET')
      .map((r) => r.path)
      .sort();
    expect(gets).toEqual([...new Set(gets)]);
    expect(gets).toHaveLength(4);
  });

  it('sends bodies the real API accepts (the server rejects anything else with 400)', async () => {
    server = await startOsvServer({ records: ALL_RECORDS });
    const src = new OsvApiSource({ baseUrl: server.url, ...fast });
    await src.query([lodash('4.17.11')]);
    expect(server.requests.every((r) => r.status === 200)).toBe(true);
    const res = await fetch(`${server.url}/v1/querybatch`, {
      method: 'POST',
      body: JSON.stringify({ queries: [{ package: { name: 'x' }, version: '1', extra: 1 }] })
    });
    expect(res.status).toBe(400);
  });

  it('splits more than 1000 queries into several batches', async () => {
    server = await startOsvServer({ records: ALL_RECORDS });
    const src = new OsvApiSource({ baseUrl: server.url, ...fast });
    const pkgs: PackageRef[] = Array.from({ length: 2345 }, (_, i) => ({
      ecosystem: 'npm',
      name: `pkg-${i}`,
      version: '1.0.0'
    }));
    pkgs.push(lodash('4.17.20'));
    const res = await src.query(pkgs);
    expect(res.answers.size).toBe(2346);
    const sizes = server.requests
      .filter((r) => r.path === '/v1/querybatch')
      .map((r) => (r.body as { queries: unknown[] }).queries.length);
    expect(sizes).toEqual([1000, 1000, 346]);
    expect(res.answers.get('npm:lodash@4.17.20')!.map((v) => v.id)).toEqual([LODASH_TEMPLATE.id]);
  });

  it('honours a smaller batch size', async () => {
    server = await startOsvServer({ records: ALL_RECORDS });
    const src = new OsvApiSource({ baseUrl: server.url, batchSize: 2, ...fast });
    await src.query([lodash('1.0.0'), lodash('2.0.0'), lodash('3.0.0')]);
    expect(server.requests.filter((r) => r.path === '/v1/querybatch')).toHaveLength(2);
  });

  it('follows next_page_token per query until every page is read', async () => {
    const many = Array.from({ length: 5 }, (_, i) =>
      record(`GHSA-page-${i}`, 'npm', 'paged', [{ introduced: '0' }], { versions: ['1.0.0'] })
    );
    server = await startOsvServer({ records: [...many, ...ALL_RECORDS], pageSize: 2 });
    const src = new OsvApiSource({ baseUrl: server.url, ...fast });
    const res = await src.query([
      { ecosystem: 'npm', name: 'paged', version: '1.0.0' },
      lodash('4.17.11'),
      lodash('9.9.9')
    ]);
    expect(res.answers.get('npm:paged@1.0.0')!.map((v) => v.id)).toEqual(many.map((m) => m.id));
    expect(res.answers.get('npm:lodash@4.17.11')).toHaveLength(2);
    const bodies = server.requests
      .filter((r) => r.path === '/v1/querybatch')
      .map((r) => r.body as { queries: { page_token?: string; package: { name: string } }[] });
    expect(bodies.map((b) => b.queries.length)).toEqual([3, 1, 1]);
    expect(bodies[1].queries[0].package.name).toBe('paged');
    expect(typeof bodies[1].queries[0].page_token).toBe('string');
  });

  it('retries a 500 and then succeeds', async () => {
    server = await startOsvServer({ records: ALL_RECORDS, failFirst: { count: 2, status: 500 } });
    const src = new OsvApiSource({ baseUrl: server.url, ...fast });
    const res = await src.query([lodash('4.17.11')]);
    expect(res.answers.get('npm:lodash@4.17.11')).toHaveLength(2);
    expect(server.requests.slice(0, 3).map((r) => r.status)).toEqual([500, 500, 200]);
  });

  it('retries a 429, waiting what Retry-After asks even beyond its own backoff cap', async () => {
    server = await startOsvServer({
      records: ALL_RECORDS,
      failFirst: { count: 1, status: 429, retryAfter: '1' }
    });
    const src = new OsvApiSource({
      baseUrl: server.url,
      retries: 1,
      backoffMs: 1,
      maxBackoffMs: 300
    });
    const started = Date.now();
    const res = await src.query([lodash('4.17.11')], { deadline: Date.now() + 10_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(res.failures).toEqual([]);
    expect(res.answers.get('npm:lodash@4.17.11')).toHaveLength(2);
  });

  it('gives up after the bounded retries: the packages are not looked up, and it says why', async () => {
    server = await startOsvServer({ records: ALL_RECORDS, failFirst: { count: 100, status: 503 } });
    const src = new OsvApiSource({ baseUrl: server.url, ...fast });
    const f = await onlyFailure(src.query([lodash('4.17.11')]));
    expect(f).toMatchObject({
      kind: 'lookup',
      what: 'OSV API POST /v1/querybatch',
      keys: ['npm:lodash@4.17.11'],
      short: 'OSV API unavailable'
    });
    expect(f.problem).toMatch(/failed 3 time\(s\), last: HTTP 503/);
    expect(server.requests).toHaveLength(3);
  });

  it('times out a server that never answers', async () => {
    server = await startOsvServer({ records: ALL_RECORDS, hangOn: '/v1/querybatch' });
    const src = new OsvApiSource({ baseUrl: server.url, timeoutMs: 150, retries: 1, backoffMs: 5 });
    const started = Date.now();
    const f = await onlyFailure(src.query([lodash('4.17.11')]));
    expect(f.kind).toBe('lookup');
    expect(f.problem).toMatch(/no answer within 150 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a record fetch that hangs leaves the packages it concerns not looked up', async () => {
    server = await startOsvServer({ records: ALL_RECORDS, hangOn: '/v1/vulns/' });
    const src = new OsvApiSource({ baseUrl: server.url, timeoutMs: 150, retries: 0 });
    const res = await src.query([lodash('4.17.11'), lodash('4.17.21')]);
    // 4.17.21 is affected by nothing: it needs no record and is answered.
    expect([...res.answers.keys()]).toEqual(['npm:lodash@4.17.21']);
    expect(res.failures.length).toBeGreaterThanOrEqual(1);
    for (const f of res.failures) {
      expect(f.what).toMatch(/^OSV record GHSA-.* \(GET \/v1\/vulns\/\{id\}\)$/);
      expect(f.problem).toMatch(/failed 1 time\(s\), last: no answer within 150 ms/);
      expect(f.keys).toEqual(['npm:lodash@4.17.11']);
    }
  });

  it('a refused connection is one line naming the feed and the cause', async () => {
    const src = new OsvApiSource({ baseUrl: await refusedUrl(), ...fast });
    const f = await onlyFailure(src.query([lodash('4.17.11')]));
    expect(f.problem).toMatch(
      /unavailable: POST \/v1\/querybatch failed 3 time\(s\), last: connection refused$/
    );
    expect(f.problem).not.toContain('\n');
  });

  it('asks nothing when there is nothing to ask', async () => {
    const calls: string[] = [];
    const fetchSpy: FetchLike = async (url) => {
      calls.push(url);
      throw new Error('unexpected');
    };
    const res = await new OsvApiSource({ fetch: fetchSpy }).query([]);
    expect(res.answers.size).toBe(0);
    expect(res.failures).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('a contract breach is a failure of its packages, not retried', async () => {
    const respond =
      (status: number, body: string): FetchLike =>
      async () => ({ status, headers: { get: () => null }, text: async () => body });
    const q = [lodash('1.0.0')];
    expect(
      (await onlyFailure(new OsvApiSource({ fetch: respond(200, '{"results": []}') }).query(q)))
        .problem
    ).toMatch(/returned 0 results for 1 queries/);
    const notJson = await onlyFailure(
      new OsvApiSource({ fetch: respond(200, 'not json') }).query(q)
    );
    expect(notJson).toMatchObject({ kind: 'lookup', short: 'OSV API answered wrongly' });
    expect(
      (
        await onlyFailure(
          new OsvApiSource({ fetch: respond(400, '{"code":3,"message":"Invalid query."}') }).query(
            q
          )
        )
      ).problem
    ).toMatch(/HTTP 400: Invalid query\./);
    let n = 0;
    const paging: FetchLike = async () => {
      n++;
      return {
        status: 200,
        headers: { get: () => null },
        text: async () => JSON.stringify({ results: [{ next_page_token: 'again' }] })
      };
    };
    expect(
      (await onlyFailure(new OsvApiSource({ fetch: paging, maxPages: 4 }).query(q))).problem
    ).toMatch(/kept paginating after 4 pages/);
    expect(n).toBe(4);
  });

  it('a 404 for a listed record and an invalid record are failures naming the record', async () => {
    const stub: FetchLike = async (url) => ({
      status: url.endsWith('querybatch') ? 200 : 404,
      headers: { get: () => null },
      text: async () =>
        url.endsWith('querybatch')
          ? JSON.stringify({
              results: [{ vulns: [{ id: 'GHSA-gone', modified: '2024-01-01T00:00:00Z' }] }]
            })
          : JSON.stringify({ code: 5, message: 'Bug not found.' })
    });
    const gone = await onlyFailure(new OsvApiSource({ fetch: stub }).query([lodash('1.0.0')]));
    expect(gone.what).toBe('OSV record GHSA-gone (GET /v1/vulns/{id})');
    expect(gone.problem).toMatch(/GET \/v1\/vulns\/GHSA-gone answered HTTP 404: Bug not found\./);
    const invalid: FetchLike = async (url) => ({
      status: 200,
      headers: { get: () => null },
      text: async () =>
        url.endsWith('querybatch')
          ? JSON.stringify({ results: [{ vulns: [{ id: 'GHSA-1' }] }] })
          : JSON.stringify({ id: 'GHSA-1', affected: 'x' })
    });
    const bad = await onlyFailure(new OsvApiSource({ fetch: invalid }).query([lodash('1.0.0')]));
    expect(bad).toMatchObject({ kind: 'lookup', keys: ['npm:lodash@1.0.0'] });
    expect(bad.problem).toMatch(/invalid record: GHSA-1: affected is not an array/);
  });
});
