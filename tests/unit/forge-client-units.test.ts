// Pure parts of the forge client: flavour detection, permission hints for
// both forges, redaction, Retry-After and rate-limit parsing, configuration
// errors, and GitHub specifics through an injected fetch.
import { ActionsApi } from '../../packages/forge/src/actions-api.ts';
import { ForgeClient } from '../../packages/forge/src/client.ts';
import { ConfigurationError } from '../../packages/core/src/errors.ts';
import type { FetchInit, FetchLike } from '../../packages/forge/src/fetch-like.ts';
import { detectFlavor } from '../../packages/forge/src/flavor.ts';
import { ForgeError } from '../../packages/forge/src/forge-error.ts';
import { permissionHint } from '../../packages/forge/src/permission-hints.ts';
import { redact } from '../../packages/forge/src/redact.ts';
import { parseRetryAfter, rateLimitWait } from '../../packages/forge/src/retry-after.ts';

const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });

function reply(status: number, body: unknown, h: Record<string, string> = {}) {
  const bytes = Buffer.from(body === undefined ? '' : JSON.stringify(body));
  return {
    status,
    headers: headers(h),
    arrayBuffer: async () =>
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer
  };
}

test('flavour: /api/v1 is Gitea, anything else GitHub', () => {
  expect(detectFlavor('https://git.example/api/v1')).toBe('gitea');
  expect(detectFlavor('http://127.0.0.1:3000/api/v1/')).toBe('gitea');
  expect(detectFlavor('https://api.github.com')).toBe('github');
  expect(detectFlavor('https://ghe.example/api/v3')).toBe('github');
});

test('permission hints differ per forge and endpoint', () => {
  expect(permissionHint(403, 'GET', '/repos/o/r/actions/artifacts', 'github')).toBe(
    'the token lacks read access to actions (GitHub: give the job `permissions: actions: read`)'
  );
  expect(permissionHint(403, 'POST', '/repos/o/r/statuses/abc', 'gitea')).toMatch(
    /'write:repository' scope/
  );
  expect(permissionHint(403, 'POST', '/repos/o/r/statuses/abc', 'github')).toMatch(
    /statuses: write/
  );
  expect(permissionHint(403, 'POST', '/repos/o/r/issues/3/comments', 'gitea')).toMatch(
    /'write:issue' scope/
  );
  expect(permissionHint(403, 'GET', '/repos/o/r/issues/3/labels', 'gitea')).toMatch(
    /'read:issue' scope/
  );
  expect(permissionHint(403, 'GET', '/repos/o/r/actions/runs', 'gitea')).toMatch(/owner/);
  expect(permissionHint(403, 'GET', '/repos/o/r/actions/runs/5', 'gitea')).toMatch(
    /read access to actions/
  );
  expect(permissionHint(403, 'GET', '/user', 'gitea')).toBe(
    'the token lacks the permission GET /user needs'
  );
  expect(permissionHint(404, 'GET', '/repos/o/r/actions/artifacts/9', 'gitea')).toMatch(
    /^the repository o\/r was not found/
  );
});

test('redaction removes the token and Authorization values', () => {
  expect(redact('x secret-token-1 y', ['secret-token-1'])).toBe('x *** y');
  expect(redact('headers: {"authorization":"token abc123"}', [])).toBe(
    'headers: {"authorization":"[redacted]"}'
  );
  expect(redact('Authorization: Bearer xyz', [])).toBe('Authorization: [redacted]');
  expect(redact('keep abc', ['abc'])).toBe('keep abc'); // too short to be a token
});

test('Retry-After in seconds or as a date; GitHub rate-limit reset', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  expect(parseRetryAfter('7', now)).toBe(7000);
  expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
  expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
  expect(parseRetryAfter('soon', now)).toBeUndefined();
  expect(parseRetryAfter(null, now)).toBeUndefined();
  expect(
    rateLimitWait(
      headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 12) }),
      now
    )
  ).toBe(12_000);
  expect(rateLimitWait(headers({ 'x-ratelimit-remaining': '10' }), now)).toBeUndefined();
});

test('configuration errors name the input and never echo the token', () => {
  expect(() => new ForgeClient({ apiUrl: 'not a url', token: 't' })).toThrow(ConfigurationError);
  expect(() => new ForgeClient({ apiUrl: 'ftp://x/api/v1', token: 't' })).toThrow(/GITHUB_API_URL/);
  expect(() => new ForgeClient({ apiUrl: 'https://x/api/v1', token: ' ' })).toThrow(
    /input 'token'/
  );
  let msg = '';
  try {
    new ForgeClient({
      apiUrl: 'https://x/api/v1',
      token: 'abc\ndef-secret',
      tokenInput: 'state-token'
    });
  } catch (err) {
    msg = (err as Error).message;
  }
  expect(msg).toMatch(/input 'state-token'/);
  expect(msg).not.toContain('secret');
});

describe('GitHub through an injected fetch', () => {
  test('per_page paging, GitHub headers, and an exhausted rate limit (403) waited out', async () => {
    const seen: { url: string; init: FetchInit }[] = [];
    const sleeps: number[] = [];
    const now = 1_700_000_000_000;
    let n = 0;
    const fetchFn: FetchLike = async (url, init) => {
      seen.push({ url, init });
      if (n++ === 0) {
        return reply(
          403,
          { message: 'API rate limit exceeded' },
          {
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': String(now / 1000 + 3)
          }
        );
      }
      return reply(200, {
        total_count: 1,
        workflow_runs: [{ id: 9, head_branch: 'main', conclusion: 'success' }]
      });
    };
    const c = new ForgeClient({
      apiUrl: 'https://api.github.com',
      token: 'ghs_secret_value',
      fetch: fetchFn,
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
      }
    });
    const api = new ActionsApi(c, { owner: 'o', repo: 'r' });
    const runs = await api.listWorkflowRuns({ branch: 'main', status: 'success' }, 2, 20);
    expect(runs.items[0].id).toBe(9);
    expect(sleeps[0]).toBeGreaterThanOrEqual(3000);
    const u = new URL(seen[1].url);
    expect(u.pathname).toBe('/repos/o/r/actions/runs');
    expect(Object.fromEntries(u.searchParams)).toEqual({
      branch: 'main',
      status: 'success',
      page: '2',
      per_page: '20'
    });
    expect(seen[1].init.headers).toMatchObject({
      accept: 'application/vnd.github+json',
      authorization: 'token ghs_secret_value',
      'x-github-api-version': '2022-11-28'
    });
    expect(seen[1].init.redirect).toBe('manual');
  });

  test('an answer of the wrong shape is a ForgeError, not a TypeError', async () => {
    const c = new ForgeClient({
      apiUrl: 'https://api.github.com',
      token: 'ghs_secret_value',
      fetch: async () => reply(200, { workflow_runs: 'nope' })
    });
    await expect(new ActionsApi(c, { owner: 'o', repo: 'r' }).listWorkflowRuns({})).rejects.toThrow(
      ForgeError
    );
    const c2 = new ForgeClient({
      apiUrl: 'https://api.github.com',
      token: 'ghs_secret_value',
      fetch: async () => ({
        status: 200,
        headers: headers({}),
        arrayBuffer: async () => new TextEncoder().encode('<html>').buffer as ArrayBuffer
      })
    });
    await expect(c2.request('GET', '/x')).rejects.toThrow('200 from GET /x: the body is not JSON');
  });

  test('a network error from a custom fetch is redacted and retried', async () => {
    let calls = 0;
    const c = new ForgeClient({
      apiUrl: 'https://api.github.com',
      token: 'ghs_secret_value',
      retries: 1,
      sleep: async () => {},
      fetch: async () => {
        calls++;
        throw new TypeError('fetch failed', {
          cause: new Error('connect to host with authorization: token ghs_secret_value refused')
        });
      }
    });
    const err: Error = await c.request('GET', '/repos/o/r').then(
      () => new Error('expected a rejection'),
      (e: unknown) => e as Error
    );
    expect(calls).toBe(2);
    expect(err.message).toMatch(/^GET \/repos\/o\/r failed 2 time\(s\), last: network error: /);
    expect(err.message).not.toContain('ghs_secret_value');
  });
});
