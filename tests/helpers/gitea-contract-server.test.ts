// The contract server's credentials: its token ('job') and its userTokens
// ('user') are accepted, anything else is a 401; each recorded request says
// which one it carried without the secret, and the fake forge tells its
// backend who made a merge or a dispatch.
import {
  GiteaContractServer,
  TEST_TOKEN,
  type ContractServerOptions
} from './gitea-contract-server.ts';
import type { ForgeBackend, ForgeCaller } from './contract-fake-forge.ts';

const BOT = 'qgbot_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const OTHER = 'qgbot_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

let server: GiteaContractServer;
afterEach(async () => {
  expect(server.violations).toEqual([]);
  await server.close();
});

const start = async (opts: ContractServerOptions = {}) => {
  server = await GiteaContractServer.start(opts);
  return server;
};

async function call(
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown
): Promise<number> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `token ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.apiUrl}/repos/acme/service${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body)
  });
  await res.text();
  return res.status;
}

describe('credentials', () => {
  it('the job token and each user token are accepted and told apart; others are a 401', async () => {
    await start({ userTokens: [BOT, OTHER] });
    expect(await call('GET', '/actions/artifacts', TEST_TOKEN)).toBe(200);
    expect(await call('GET', '/actions/artifacts', OTHER)).toBe(200);
    expect(await call('GET', '/actions/artifacts', BOT)).toBe(200);
    expect(await call('GET', '/actions/artifacts', 'wrong')).toBe(401);
    expect(
      server.requests.map((r) => [r.status, r.authorization, r.credential, r.userToken])
    ).toEqual([
      [200, 'token ***', 'job', undefined],
      [200, 'token ***', 'user', 1],
      [200, 'token ***', 'user', 0],
      [401, 'token ***', undefined, undefined]
    ]);
    const recorded = JSON.stringify(server.requests);
    for (const secret of [TEST_TOKEN, BOT, OTHER]) expect(recorded).not.toContain(secret);
    expect(server.credentialOf(OTHER)).toEqual({ credential: 'user', userToken: 1 });
    expect(server.credentialOf(undefined)).toBeUndefined();
  });

  it('without userTokens only the job token is accepted, as before', async () => {
    await start();
    expect(server.userTokens).toEqual([]);
    expect(await call('GET', '/actions/artifacts', BOT)).toBe(401);
    expect(await call('GET', '/actions/artifacts', TEST_TOKEN)).toBe(200);
    expect(server.requests.map((r) => r.credential)).toEqual([undefined, 'job']);
  });

  it('user tokens must be distinct, non-empty and not the job token', async () => {
    await expect(GiteaContractServer.start({ userTokens: [TEST_TOKEN] })).rejects.toThrow(/differ/);
    await expect(GiteaContractServer.start({ userTokens: [BOT, BOT] })).rejects.toThrow(/differ/);
    await expect(GiteaContractServer.start({ userTokens: [''] })).rejects.toThrow(/non-empty/);
    await start();
  });
});

describe('the fake forge tells its backend who called', () => {
  it('merge and dispatch carry the caller; a dispatch the backend starts no run for is 204 with startedRun false', async () => {
    await start({ userTokens: [BOT] });
    const callers: [string, ForgeCaller][] = [];
    const backend: ForgeBackend = {
      pull: async (index) =>
        index === 1
          ? {
              number: 1,
              title: 't',
              state: 'open',
              merged: false,
              head: 'agent/x',
              headSha: 'a'.repeat(40),
              base: 'main',
              baseSha: 'b'.repeat(40),
              labels: []
            }
          : undefined,
      mergeable: async () => true,
      merge: async (req) => {
        callers.push(['merge', req.caller]);
        return { kind: 'merged', sha: 'c'.repeat(40) };
      },
      markMerged: async (req) => {
        callers.push(['markMerged', req.caller]);
        return { kind: 'wrong-commit' };
      },
      dispatch: async (req) => {
        callers.push(['dispatch', req.caller]);
        return req.caller.credential === 'user'
          ? { kind: 'queued', runId: 42, inputs: {}, ignored: [] }
          : { kind: 'no-run', inputs: {}, ignored: [] };
      }
    };
    server.fake.backend = backend;
    const dispatch = { ref: 'main' };
    expect(await call('POST', '/actions/workflows/w.yml/dispatches', TEST_TOKEN, dispatch)).toBe(
      204
    );
    expect(await call('POST', '/actions/workflows/w.yml/dispatches', BOT, dispatch)).toBe(204);
    expect(await call('POST', '/pulls/1/merge', BOT, { Do: 'merge' })).toBe(200);
    expect(callers).toEqual([
      ['dispatch', { credential: 'job', token: TEST_TOKEN }],
      ['dispatch', { credential: 'user', token: BOT }],
      ['merge', { credential: 'user', token: BOT }]
    ]);
    expect(
      server.fake.dispatches.map((d) => [d.status, d.credential, d.startedRun, d.runId])
    ).toEqual([
      [204, 'job', false, undefined],
      [204, 'user', true, 42]
    ]);
    expect(server.fake.merges.map((m) => [m.status, m.credential])).toEqual([[200, 'user']]);
  });
});
