// The forge client against the contract server: typed requests, retries with
// a bound on 5xx and 429, Retry-After, timeouts, dropped connections,
// 401/403/404 messages that name the permission, redirects that keep the
// token on the API's origin, and no token in any message.
import { ActionsApi } from '../../packages/forge/src/actions-api.ts';
import { ForgeClient, type ForgeClientOptions } from '../../packages/forge/src/client.ts';
import { ForgeError, FORGE_API } from '../../packages/forge/src/forge-error.ts';
import { makeZip } from '../helpers/contract-zip.ts';
import { GiteaContractServer, TEST_TOKEN } from '../helpers/gitea-contract-server.ts';

let server: GiteaContractServer;
let sleeps: number[];

beforeEach(async () => {
  server = await GiteaContractServer.start();
  sleeps = [];
});

afterEach(async () => {
  expect(server.violations).toEqual([]);
  await server.close();
});

function client(opts: Partial<ForgeClientOptions> = {}): ForgeClient {
  return new ForgeClient({
    apiUrl: server.apiUrl,
    token: TEST_TOKEN,
    backoffMs: 10,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...opts
  });
}

async function failure(p: Promise<unknown>): Promise<ForgeError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ForgeError);
    const e = err as ForgeError;
    expect(e.kind).toBe(FORGE_API);
    expect(e.message).not.toContain(TEST_TOKEN);
    expect(e.message).not.toContain('\n');
    return e;
  }
  throw new Error('expected a rejection');
}

const ARTIFACTS = '/repos/acme/service/actions/artifacts';

describe('requests', () => {
  test('GET with a query resolves with the parsed body, detected as Gitea', async () => {
    const c = client();
    expect(c.flavor).toBe('gitea');
    const body = await c.request<{ total_count: number }>('GET', ARTIFACTS, {
      query: { name: 'quality-gates-state', ignored: undefined }
    });
    expect(body.total_count).toBe(0);
    expect(server.requests[0].query).toEqual({ name: ['quality-gates-state'] });
  });

  test('POST sends a JSON body; 204 resolves with undefined', async () => {
    const c = client();
    const comment = await c.request<{ id: number; body: string }>(
      'POST',
      '/repos/acme/service/issues/3/comments',
      {
        body: { body: 'hello' }
      }
    );
    expect(comment.body).toBe('hello');
    await c.request('POST', '/repos/acme/service/issues/3/labels', { body: { labels: [1] } });
    expect(await c.request('DELETE', '/repos/acme/service/issues/3/labels/1')).toBeUndefined();
  });

  test('the typed actions helpers list runs and artefacts and download a zip', async () => {
    const zip = makeZip([{ name: 'state.sqlite', data: 'content' }]);
    const run = server.fake.addRun({ branch: 'main' });
    server.fake.addRun({ branch: 'main', state: 'failure' });
    const art = server.fake.addArtifact(run.id, 'quality-gates-state', zip);
    const api = new ActionsApi(client(), { owner: 'acme', repo: 'service' });
    const runs = await api.listWorkflowRuns({ branch: 'main', status: 'success' });
    expect(runs.items.map((r) => r.id)).toEqual([run.id]);
    expect(runs.items[0]).toMatchObject({
      head_branch: 'main',
      status: 'completed',
      conclusion: 'success'
    });
    expect((await api.getWorkflowRun(run.id)).head_sha).toBe(run.headSha);
    expect(
      (await api.listRunArtifacts(run.id, 'quality-gates-state')).items.map((a) => a.id)
    ).toEqual([art.id]);
    expect((await api.listArtifacts('quality-gates-state')).total).toBe(1);
    expect((await api.getArtifact(art.id)).workflow_run?.id).toBe(run.id);
    expect(await api.downloadArtifact(art.id)).toEqual(zip);
    expect(server.calls('getWorkflowRuns')[0].query).toEqual({
      branch: ['main'],
      status: ['success'],
      page: ['1'],
      limit: ['50']
    });
  });
});

describe('retries', () => {
  test('5xx is retried with growing backoff until it succeeds', async () => {
    server.fail('getArtifacts', { status: 503, times: 2 });
    await client().request('GET', ARTIFACTS);
    expect(server.calls('getArtifacts')).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[1]).toBeGreaterThan(sleeps[0]);
  });

  test('the number of attempts is bounded', async () => {
    server.fail('getArtifacts', { status: 502, times: 10, body: { message: 'bad gateway' } });
    const e = await failure(client({ retries: 2 }).request('GET', ARTIFACTS));
    expect(e.message).toBe(
      'GET /repos/acme/service/actions/artifacts failed 3 time(s), last: HTTP 502 (server: "bad gateway")'
    );
    expect(e.status).toBe(502);
    expect(server.calls('getArtifacts')).toHaveLength(3);
  });

  test('429 honours Retry-After in seconds', async () => {
    server.fail('getArtifacts', { status: 429, retryAfter: '2' });
    await client().request('GET', ARTIFACTS);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(2000);
  });

  test('Retry-After as an HTTP date is honoured too', async () => {
    const now = Date.parse('2025-06-01T12:00:00Z');
    server.fail('getArtifacts', { status: 503, retryAfter: new Date(now + 5000).toUTCString() });
    await client({ now: () => now }).request('GET', ARTIFACTS);
    expect(sleeps[0]).toBeGreaterThanOrEqual(5000);
  });

  test('a Retry-After longer than the client waits fails at once', async () => {
    server.fail('getArtifacts', { status: 429, retryAfter: '3600' });
    const e = await failure(client().request('GET', ARTIFACTS));
    expect(e.message).toMatch(
      /^429 from GET \/repos\/acme\/service\/actions\/artifacts: the server asks to wait 3600 s before retrying, longer than the 60 s this client waits/
    );
    expect(server.calls('getArtifacts')).toHaveLength(1);
  });

  test('POST is retried on 429 but not on 5xx (it may have been applied)', async () => {
    const c = client();
    server.fail('issueCreateComment', { status: 429 });
    await c.request('POST', '/repos/acme/service/issues/3/comments', { body: { body: 'once' } });
    expect(server.calls('issueCreateComment')).toHaveLength(2);
    server.fail('issueCreateComment', { status: 500 });
    const e = await failure(
      c.request('POST', '/repos/acme/service/issues/3/comments', { body: { body: 'x' } })
    );
    expect(e.message).toMatch(/^500 from POST \/repos\/acme\/service\/issues\/3\/comments/);
    expect(server.calls('issueCreateComment')).toHaveLength(3);
    expect(server.fake.comments).toHaveLength(1);
  });

  test('a request with no answer in time is a timeout, retried, then reported', async () => {
    server.delay('getArtifacts', 2000, 2);
    const e = await failure(client({ timeoutMs: 100, retries: 1 }).request('GET', ARTIFACTS));
    expect(e.message).toBe(
      'GET /repos/acme/service/actions/artifacts failed 2 time(s), last: no answer within 0.1 s'
    );
    expect(e.status).toBeUndefined();
  });

  test('a dropped connection is retried', async () => {
    server.fail('getArtifacts', { reset: true });
    await client().request('GET', ARTIFACTS);
    expect(server.calls('getArtifacts')).toHaveLength(2);
  });
});

describe('refusals name what is missing', () => {
  test('403 on an actions endpoint names read access to actions and the Gitea scope', async () => {
    server.fail('getArtifacts', {
      status: 403,
      body: {
        message: 'token does not have at least one of required scope(s), required=[read:repository]'
      }
    });
    const e = await failure(client().request('GET', ARTIFACTS, { query: { name: 'x' } }));
    expect(e.message).toBe(
      "403 from GET /repos/acme/service/actions/artifacts: the token lacks read access to actions (Gitea: a token with the 'read:repository' scope whose user can read the repository's Actions; the job token can) (server: \"token does not have at least one of required scope(s), required=[read:repository]\")"
    );
    expect(e.status).toBe(403);
    expect(server.calls('getArtifacts')).toHaveLength(1);
  });

  test("403 on the run list says Gitea reserves it to the repository's owner", async () => {
    server.fail('getWorkflowRuns', {
      status: 403,
      body: { message: 'user should be the owner of the repo' }
    });
    const e = await failure(client().request('GET', '/repos/acme/service/actions/runs'));
    expect(e.message).toMatch(
      /^403 from GET \/repos\/acme\/service\/actions\/runs: the token may not list this repository's workflow runs \(Gitea lists runs only for the repository owner/
    );
  });

  test('401 says the token was rejected', async () => {
    const e = await failure(client({ token: 'expired-token-value' }).request('GET', ARTIFACTS));
    expect(e.message).toBe(
      '401 from GET /repos/acme/service/actions/artifacts: the token was rejected (missing, malformed, expired or revoked); check the \'token\' input (server: "invalid token")'
    );
    expect(e.message).not.toContain('expired-token-value');
  });

  test('404 names the repository', async () => {
    const e = await failure(client().request('GET', '/repos/acme/other/actions/artifacts'));
    expect(e.message).toMatch(
      /^404 from GET \/repos\/acme\/other\/actions\/artifacts: the repository acme\/other was not found or the token cannot see it/
    );
  });

  test('the token never appears, even when the server echoes it', async () => {
    server.fail('getArtifacts', {
      status: 403,
      body: { message: `token ${TEST_TOKEN} refused; Authorization: token ${TEST_TOKEN}` }
    });
    const e = await failure(client().request('GET', ARTIFACTS));
    expect(e.message).toContain('token *** refused; Authorization: [redacted]');
    server.fail('getArtifacts', { status: 500, times: 4, body: { message: `bad ${TEST_TOKEN}` } });
    const e2 = await failure(client().request('GET', ARTIFACTS));
    expect(e2.message).toContain('bad ***');
  });
});

describe('downloads and redirects', () => {
  test("the signed URL on the API's own origin is followed", async () => {
    const zip = makeZip([{ name: 'f', data: 'x' }]);
    const art = server.fake.addArtifact(server.fake.addRun({ branch: 'main' }).id, 'n', zip);
    expect(await client().download(`${ARTIFACTS}/${art.id}/zip`)).toEqual(zip);
    expect(server.requests.map((r) => r.target)).toEqual(['api', 'raw']);
  });

  test('object storage on another origin never receives the token', async () => {
    server.fake.downloads = 'external';
    const zip = makeZip([{ name: 'f', data: 'y' }]);
    const art = server.fake.addArtifact(server.fake.addRun({ branch: 'main' }).id, 'n', zip);
    expect(await client().download(`${ARTIFACTS}/${art.id}/zip`)).toEqual(zip);
    const blob = server.requests.find((r) => r.target === 'blob')!;
    expect(blob.authorization).toBeUndefined();
  });

  test('a failing signed URL is reported without its signature', async () => {
    const art = server.fake.addArtifact(
      server.fake.addRun({ branch: 'main' }).id,
      'n',
      makeZip([{ name: 'f', data: 'z' }])
    );
    server.fail('downloadArtifactRaw', { status: 401, body: { message: 'Error link expired' } });
    const e = await failure(client().download(`${ARTIFACTS}/${art.id}/zip`));
    expect(e.message).toMatch(
      new RegExp(
        `^401 from GET /repos/acme/service/actions/artifacts/${art.id}/zip/raw: .*\\(server: "Error link expired"\\)$`
      )
    );
    expect(e.message).not.toMatch(/sig=/);
  });

  test('redirect loops are bounded', async () => {
    server.handle('downloadArtifact', (r) => ({
      status: 302,
      headers: { location: `${r.apiUrl}${ARTIFACTS}/1/zip` }
    }));
    const e = await failure(client({ maxRedirects: 3 }).download(`${ARTIFACTS}/1/zip`));
    expect(e.message).toBe(`GET ${ARTIFACTS}/1/zip: more than 3 redirects`);
    expect(server.calls('downloadArtifact')).toHaveLength(4);
  });
});
