// The contract server itself: valid requests pass, wrong paths, methods,
// parameters, credentials and bodies are recorded violations, fixtures that
// break the response schema throw, and the fakes behave like Gitea.
import { GiteaContractServer, TEST_TOKEN } from '../helpers/gitea-contract-server.ts';
import { makeZip } from '../helpers/contract-zip.ts';

let server: GiteaContractServer;

beforeEach(async () => {
  server = await GiteaContractServer.start();
});

afterEach(async () => {
  await server.close();
});

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

async function call(
  method: string,
  path: string,
  opts: { body?: unknown; rawBody?: string; auth?: string | null; contentType?: string } = {}
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.auth !== null) headers.authorization = opts.auth ?? `token ${TEST_TOKEN}`;
  let body: string | undefined;
  if (opts.body !== undefined || opts.rawBody !== undefined) {
    body = opts.rawBody ?? JSON.stringify(opts.body);
    headers['content-type'] = opts.contentType ?? 'application/json';
  }
  const res = await fetch(`${server.apiUrl}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // bytes
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

describe('requests the contract allows', () => {
  test('a valid request is answered from the fake and leaves no violation', async () => {
    const run = server.fake.addRun({ branch: 'main' });
    server.fake.addArtifact(run.id, 'quality-gates-state', makeZip([{ name: 'a', data: 'x' }]));
    const r = await call('GET', '/repos/acme/service/actions/artifacts?name=quality-gates-state');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ total_count: 1, artifacts: [{ name: 'quality-gates-state' }] });
    expect(server.violations).toEqual([]);
    expect(server.calls('getArtifacts')).toHaveLength(1);
    expect(server.requests[0].authorization).toBe('token ***');
  });

  test('runs are filtered by branch, status and event, newest first, paged like Gitea', async () => {
    for (let i = 0; i < 35; i++) server.fake.addRun({ branch: 'main' });
    server.fake.addRun({ branch: 'main', state: 'failure' });
    server.fake.addRun({ branch: 'feature', state: 'success' });
    server.fake.addRun({ branch: 'main', event: 'schedule' });
    const first = await call(
      'GET',
      '/repos/acme/service/actions/runs?branch=main&status=success&event=push'
    );
    const body = first.body as {
      total_count: number;
      workflow_runs: { id: number; conclusion: string }[];
    };
    expect(body.total_count).toBe(35);
    expect(body.workflow_runs).toHaveLength(30);
    const ids = body.workflow_runs.map((r) => r.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const second = await call(
      'GET',
      '/repos/acme/service/actions/runs?branch=main&status=success&event=push&page=2&limit=30'
    );
    expect((second.body as typeof body).workflow_runs).toHaveLength(5);
    const bad = await call('GET', '/repos/acme/service/actions/runs?status=bogus');
    expect(bad.status).toBe(400);
    expect(server.violations).toEqual([]);
  });

  test('downloadArtifact answers 302 to a signed URL that serves the zip without a token', async () => {
    const zip = makeZip([{ name: 'state.sqlite', data: 'bytes' }]);
    const run = server.fake.addRun({ branch: 'main' });
    const art = server.fake.addArtifact(run.id, 'quality-gates-state', zip);
    const r = await call('GET', `/repos/acme/service/actions/artifacts/${art.id}/zip`);
    expect(r.status).toBe(302);
    const location = r.headers.get('location')!;
    expect(location).toMatch(/\/zip\/raw\?sig=.+&expires=\d+$/);
    const blob = await fetch(location);
    expect(Buffer.from(await blob.arrayBuffer())).toEqual(zip);
    const forged = await fetch(location.replace(/sig=[^&]+/, 'sig=forged'));
    expect(forged.status).toBe(401);
    expect(server.violations).toEqual([]);
  });

  test('an expired artefact answers 404 on download', async () => {
    const run = server.fake.addRun({ branch: 'main' });
    const art = server.fake.addArtifact(run.id, 'x', makeZip([{ name: 'a', data: 'b' }]), {
      expired: true
    });
    const r = await call('GET', `/repos/acme/service/actions/artifacts/${art.id}/zip`);
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ message: 'Artifact has expired' });
  });

  test('comments, statuses and labels are stateful', async () => {
    const created = await call('POST', '/repos/acme/service/issues/7/comments', {
      body: { body: 'first' }
    });
    expect(created.status).toBe(201);
    const id = (created.body as { id: number }).id;
    const edited = await call('PATCH', `/repos/acme/service/issues/comments/${id}`, {
      body: { body: 'second' }
    });
    expect(edited.status).toBe(200);
    const list = await call('GET', '/repos/acme/service/issues/7/comments');
    expect(list.body).toMatchObject([{ id, body: 'second' }]);

    const sha = 'a'.repeat(40);
    const st = await call('POST', `/repos/acme/service/statuses/${sha}`, {
      body: { state: 'success', context: 'quality-gates/security', description: 'PASS' }
    });
    expect(st.status).toBe(201);
    expect((await call('GET', `/repos/acme/service/commits/${sha}/statuses`)).body).toMatchObject([
      { status: 'success', context: 'quality-gates/security' }
    ]);

    const added = await call('POST', '/repos/acme/service/issues/7/labels', {
      body: { labels: ['gate/security-pass', 4] }
    });
    expect((added.body as { name: string }[]).map((l) => l.name)).toEqual([
      'gate/security-pass',
      'gate/coverage-fail'
    ]);
    expect((await call('DELETE', '/repos/acme/service/issues/7/labels/4')).status).toBe(204);
    const replaced = await call('PUT', '/repos/acme/service/issues/7/labels', {
      body: { labels: [3] }
    });
    expect((replaced.body as { id: number }[]).map((l) => l.id)).toEqual([3]);
    expect(server.violations).toEqual([]);
  });

  test('a registered handler takes precedence over the fake', async () => {
    server.handle('getArtifact', { status: 200, body: { id: 5, name: 'fixed', expired: false } });
    const r = await call('GET', '/repos/acme/service/actions/artifacts/5');
    expect(r.body).toEqual({ id: 5, name: 'fixed', expired: false });
    expect(server.violations).toEqual([]);
  });
});

describe('contract violations', () => {
  test('an unknown path is 404 and a violation', async () => {
    const r = await call('GET', '/repos/acme/service/actions/artifact');
    expect(r.status).toBe(404);
    expect(server.violations).toEqual([
      'GET /api/v1/repos/acme/service/actions/artifact: no such path in the contract'
    ]);
    server.violations.length = 0;
  });

  test('a wrong method is 405 and a violation', async () => {
    const r = await call('POST', '/repos/acme/service/actions/artifacts');
    expect(r.status).toBe(405);
    expect(server.violations[0]).toMatch(
      /method not allowed on \/repos\/\{owner\}\/\{repo\}\/actions\/artifacts \(allowed: GET\)/
    );
    server.violations.length = 0;
  });

  test('a body with an unknown property (a typo) or a missing required field is 422 and violations', async () => {
    const r = await call('POST', '/repos/acme/service/issues/7/comments', {
      body: { bdy: 'typo' }
    });
    expect(r.status).toBe(422);
    expect(server.violations).toEqual([
      "POST /api/v1/repos/acme/service/issues/7/comments (issueCreateComment): body: required property 'body' is missing",
      "POST /api/v1/repos/acme/service/issues/7/comments (issueCreateComment): body: unknown property 'bdy'"
    ]);
    server.violations.length = 0;
  });

  test('an enum, a type and a content type are checked', async () => {
    await call('POST', `/repos/acme/service/statuses/${'b'.repeat(40)}`, {
      body: { state: 'passed' }
    });
    await call('POST', '/repos/acme/service/issues/7/comments', {
      rawBody: 'body=x',
      contentType: 'application/x-www-form-urlencoded'
    });
    await call('POST', '/repos/acme/service/issues/seven/comments', { body: { body: 'x' } });
    expect(server.violations.join('\n')).toMatch(/body\.state: "passed" is not one of/);
    expect(server.violations.join('\n')).toMatch(
      /content-type is "application\/x-www-form-urlencoded"/
    );
    expect(server.violations.join('\n')).toMatch(
      /path parameter 'index': "seven" is not an integer/
    );
    server.violations.length = 0;
  });

  test('query parameters: unknown names, wrong types and enums', async () => {
    await call('GET', '/repos/acme/service/actions/runs?per_page=50');
    await call('GET', '/repos/acme/service/actions/runs?limit=fifty');
    await call('GET', `/repos/acme/service/statuses/${'c'.repeat(40)}?state=green`);
    await call('GET', '/repos/acme/service/issues/7/comments?since=yesterday');
    expect(server.violations).toEqual([
      "GET /api/v1/repos/acme/service/actions/runs (getWorkflowRuns): unknown query parameter 'per_page'",
      `GET /api/v1/repos/acme/service/actions/runs (getWorkflowRuns): query parameter 'limit': "fifty" is not an integer`,
      `GET /api/v1/repos/acme/service/statuses/${'c'.repeat(40)} (repoListStatuses): query parameter 'state': "green" is not one of pending, success, error, failure, warning`,
      `GET /api/v1/repos/acme/service/issues/7/comments (issueGetComments): query parameter 'since': "yesterday" is not an RFC 3339 date-time`
    ]);
    server.violations.length = 0;
  });

  test('credentials: a missing header, another scheme and a query token are violations', async () => {
    expect(
      (await call('GET', '/repos/acme/service/actions/artifacts', { auth: null })).status
    ).toBe(401);
    expect(
      (await call('GET', '/repos/acme/service/actions/artifacts', { auth: `Bearer ${TEST_TOKEN}` }))
        .status
    ).toBe(401);
    await call('GET', `/repos/acme/service/actions/artifacts?access_token=${TEST_TOKEN}`);
    expect(server.violations).toHaveLength(3);
    expect(server.violations[0]).toMatch(/no 'Authorization: token <t>' header/);
    expect(server.violations[1]).toMatch(/scheme "Bearer"/);
    expect(server.violations[2]).toMatch(/credential in the query string \('access_token'\)/);
    server.violations.length = 0;
  });

  test('a wrong token is a 401 but not a violation', async () => {
    const r = await call('GET', '/repos/acme/service/actions/artifacts', { auth: 'token wrong' });
    expect(r.status).toBe(401);
    expect(server.violations).toEqual([]);
  });

  test('object storage that receives a token records a violation', async () => {
    const res = await fetch(`${server.blobOrigin}/blobs/1?sig=x&expires=1`, {
      headers: { authorization: `token ${TEST_TOKEN}` }
    });
    expect(res.status).toBe(401);
    expect(server.violations[0]).toMatch(/the token was sent to object storage on another origin/);
    server.violations.length = 0;
  });
});

describe('fixtures that break the contract are test bugs', () => {
  test('a static fixture is refused when registered', () => {
    expect(() =>
      server.handle('getArtifacts', {
        status: 200,
        body: { artifacts: [{ id: 'seven', name: 'x' }] }
      })
    ).toThrow(/getArtifacts 200 breaks the contract: \$\.artifacts\[0\]\.id: expected an integer/);
    expect(() =>
      server.handle('getWorkflowRuns', {
        status: 200,
        body: { workflow_runs: [{ id: 1, head_brach: 'main' }] }
      })
    ).toThrow(/unknown property 'head_brach'/);
    expect(() =>
      server.handle('getArtifact', { status: 200, body: { id: 1, created_at: 'today' } })
    ).toThrow(/not an RFC 3339 date-time/);
    expect(() => server.handle('getArtifacts', { status: 201, body: {} })).toThrow(
      /status 201 is not declared/
    );
    expect(() => server.handle('noSuchOperation', { status: 200 })).toThrow(
      /no operation 'noSuchOperation'/
    );
  });

  test('validateResponse throws directly', () => {
    expect(() => server.validateResponse('issueGetLabels', 200, [{ id: 1, name: 3 }])).toThrow(
      /\$\[0\]\.name: expected a string/
    );
    expect(() =>
      server.validateResponse('issueGetLabels', 200, [{ id: 1, name: 'ok' }])
    ).not.toThrow();
  });

  test("a handler's bad answer is a 500, a fixture error, and makes close() throw", async () => {
    const own = await GiteaContractServer.start();
    own.handle('getArtifact', () => ({ status: 200, body: { id: 1, name: 'x', expired: 'no' } }));
    const res = await fetch(`${own.apiUrl}/repos/acme/service/actions/artifacts/1`, {
      headers: { authorization: `token ${TEST_TOKEN}` }
    });
    expect(res.status).toBe(500);
    expect(own.fixtureErrors[0]).toMatch(/\$\.expired: expected a boolean/);
    await expect(own.close()).rejects.toThrow(/fixture errors/);
  });
});

describe('faults', () => {
  test('queued statuses, Retry-After and delays apply to the next requests only', async () => {
    server
      .fail('getArtifacts', { status: 503, times: 2 })
      .fail('getArtifacts', { status: 429, retryAfter: '3' });
    expect((await call('GET', '/repos/acme/service/actions/artifacts')).status).toBe(503);
    expect((await call('GET', '/repos/acme/service/actions/artifacts')).status).toBe(503);
    const limited = await call('GET', '/repos/acme/service/actions/artifacts');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect((await call('GET', '/repos/acme/service/actions/artifacts')).status).toBe(200);
    server.delay('*', 150);
    const t0 = Date.now();
    await call('GET', '/repos/acme/service/actions/artifacts');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(server.violations).toEqual([]);
  });
});
