// The Distribution client against small servers on 127.0.0.1 that produce
// what a real registry rarely does on demand: 429 and 5xx, slow answers,
// blob redirects to another origin, wrong digests, oversize bodies, and a
// token service following the Distribution token contract.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MEDIA } from '../../packages/image/src/media-types.ts';
import {
  RegistryClient,
  type RegistryClientOptions
} from '../../packages/image/src/registry-client.ts';
import { RegistryError } from '../../packages/image/src/registry-error.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
interface Seen {
  url: string;
  authorization?: string;
}

const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: Handler): Promise<{ host: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const s = createServer((req, res) => {
    seen.push({
      url: req.url ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {})
    });
    handler(req, res);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { host: `127.0.0.1:${(s.address() as AddressInfo).port}`, seen };
}

const sha = (b: Buffer | string): string =>
  `sha256:${createHash('sha256').update(b).digest('hex')}`;
const CONFIG = Buffer.from(
  JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { a: 'b' } } })
);
const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: sha(CONFIG), size: CONFIG.length },
    layers: []
  })
);

function client(host: string, extra: Partial<RegistryClientOptions> = {}): RegistryClient {
  return new RegistryClient({ host, insecure: true, timeoutMs: 2000, backoffMs: 10, ...extra });
}

async function failure(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as Error).message).not.toContain('\n');
    return err as RegistryError;
  }
  throw new Error('expected a RegistryError');
}

describe('registry client: retries and limits', () => {
  it('retries a 429 (honouring Retry-After) and a 503, then reads the manifest', async () => {
    let n = 0;
    const { host, seen } = await serve((_req, res) => {
      n++;
      if (n === 1) res.writeHead(429, { 'retry-after': '0' }).end();
      else if (n === 2)
        res.writeHead(503).end('{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}');
      else res.writeHead(200, { 'content-type': MEDIA.ociManifest }).end(MANIFEST);
    });
    const m = await client(host).manifest('acme/app', 'v1');
    expect(m?.digest).toBe(sha(MANIFEST));
    expect(seen).toHaveLength(3);
  });

  it('gives up after the bounded retries as unreachable, with the last answer', async () => {
    const { host, seen } = await serve((_req, res) => {
      res.writeHead(502).end('{"errors":[{"code":"BAD_GATEWAY","message":"upstream down"}]}');
    });
    const e = await failure(client(host).manifest('acme/app', 'v1'));
    expect(e.problem).toBe('unreachable');
    expect(e.reachable).toBe(false);
    expect(e.message).toBe(
      `manifest ${host}/acme/app:v1: HTTP 502: BAD_GATEWAY: upstream down (3 attempts)`
    );
    expect(seen).toHaveLength(3);
  });

  it('refuses a Retry-After longer than it waits, at once', async () => {
    const { host, seen } = await serve((_req, res) =>
      res.writeHead(429, { 'retry-after': '3600' }).end()
    );
    const e = await failure(client(host).manifest('acme/app', 'v1'));
    expect(e.message).toMatch(/asks to wait 3600 s, longer than 30 s$/);
    expect(seen).toHaveLength(1);
  });

  it('times out a registry that does not answer', async () => {
    const { host } = await serve(() => undefined);
    const e = await failure(
      client(host, { timeoutMs: 300, retries: 1 }).manifest('acme/app', 'v1')
    );
    expect(e.message).toBe(`manifest ${host}/acme/app:v1: no answer within 0.3 s (2 attempts)`);
  });

  it('reports a refused connection as unreachable', async () => {
    const { host } = await serve(() => undefined);
    const port = Number(host.split(':')[1]);
    const s = servers.pop()!;
    await new Promise((r) => s.close(r));
    const e = await failure(client(`127.0.0.1:${port}`, { retries: 0 }).manifest('acme/app', 'v1'));
    expect(e.problem).toBe('unreachable');
    expect(e.message).toBe(
      `manifest 127.0.0.1:${port}/acme/app:v1: cannot reach 127.0.0.1:${port} (ECONNREFUSED) (1 attempt)`
    );
  });

  it('answers undefined for an absent tag (404), which is not an error', async () => {
    const { host } = await serve((_req, res) =>
      res
        .writeHead(404)
        .end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
    );
    expect(await client(host).manifest('acme/app', 'nope')).toBeUndefined();
  });

  it('refuses an oversize body by its Content-Length, and a manifest whose digest header disagrees', async () => {
    const { host } = await serve((req, res) => {
      if (req.url?.includes('/blobs/'))
        res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) }).end();
      else
        res
          .writeHead(200, {
            'content-type': MEDIA.ociManifest,
            'docker-content-digest': sha('other')
          })
          .end(MANIFEST);
    });
    const big = await failure(client(host).blob('acme/app', sha(CONFIG), 1024, 'config'));
    expect(big.message).toBe('config: HTTP 200 body exceeds the 1024-byte limit');
    const m = await failure(client(host).manifest('acme/app', 'v1'));
    expect(m.message).toBe(
      `manifest ${host}/acme/app:v1: the body hashes to ${sha(MANIFEST)} but the registry says ${sha('other')}; refusing it`
    );
  });

  it('refuses a blob or a pinned manifest that does not hash to its digest', async () => {
    const { host } = await serve((req, res) =>
      res
        .writeHead(200, { 'content-type': MEDIA.ociManifest })
        .end(req.url?.includes('/blobs/') ? 'tampered' : MANIFEST)
    );
    const b = await failure(client(host).blob('acme/app', sha(CONFIG), 1024, 'config'));
    expect(b.message).toBe(
      `config: content hashes to ${sha('tampered')}, not ${sha(CONFIG)}; refusing it`
    );
    const pinned = `sha256:${'0'.repeat(64)}`;
    const m = await failure(client(host).manifest('acme/app', pinned));
    expect(m.message).toMatch(
      new RegExp(`^manifest ${host}/acme/app@${pinned}: content hashes to`)
    );
  });
});

describe('registry client: auth and redirects', () => {
  it('follows the Distribution token flow: anonymous first, then a token fetched with basic credentials', async () => {
    const token = `tok-${'x'.repeat(30)}`;
    const auth = await serve((req, res) => {
      const ok =
        req.headers.authorization === `Basic ${Buffer.from('bob:pa55word').toString('base64')}`;
      if (!ok) res.writeHead(401).end('{"details":"incorrect username or password"}');
      else
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ access_token: token }));
    });
    const reg = await serve((req, res) => {
      if (req.headers.authorization !== `Bearer ${token}`) {
        res
          .writeHead(401, {
            'www-authenticate': `Bearer realm="http://${auth.host}/token",service="reg.test",scope="repository:acme/app:pull"`
          })
          .end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      } else res.writeHead(200, { 'content-type': MEDIA.ociManifest }).end(MANIFEST);
    });
    const c = client(reg.host, { credentials: { username: 'bob', password: 'pa55word' } });
    expect((await c.manifest('acme/app', 'v1'))?.digest).toBe(sha(MANIFEST));
    expect(reg.seen[0].authorization).toBeUndefined();
    expect(reg.seen[1].authorization).toBe(`Bearer ${token}`);
    const q = new URL(auth.seen[0].url, 'http://x').searchParams;
    expect(q.get('service')).toBe('reg.test');
    expect(q.getAll('scope')).toEqual(['repository:acme/app:pull']);
    // The token is reused for the next request: no second token round trip.
    await c.manifest('acme/app', 'v1');
    expect(auth.seen).toHaveLength(1);

    const wrong = client(reg.host, { credentials: { username: 'bob', password: 'wrong-pass' } });
    const e = await failure(wrong.manifest('acme/app', 'v1'));
    expect(e.problem).toBe('auth');
    expect(e.message).toBe(
      `manifest ${reg.host}/acme/app:v1: the token service http://${auth.host}/token refused the credentials in registry-username/registry-password (HTTP 401: incorrect username or password)`
    );
  });

  it('refuses a plain-http token realm unless insecure is allowed', async () => {
    const reg = await serve((_req, res) =>
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://127.0.0.1:9/token"' }).end()
    );
    // https to the registry, carried over plain http by the fetch the client is given.
    const c = new RegistryClient({
      host: reg.host,
      insecure: false,
      timeoutMs: 1000,
      fetch: (url, init) => fetch(String(url).replace(/^https:/, 'http:'), init)
    });
    const e = await failure(c.manifest('acme/app', 'v1'));
    expect(e.message).toMatch(
      /the token service http:\/\/127.0.0.1:9 is not https; refused \(set registry-insecure: true/
    );
  });

  it('sends no credentials on a blob redirect to another origin, and still verifies the blob', async () => {
    const storage = await serve((_req, res) => res.writeHead(200).end(CONFIG));
    const reg = await serve((req, res) => {
      if (!req.headers.authorization)
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
      else
        res
          .writeHead(307, { location: `http://${storage.host}/bucket/blob?X-Signature=s3cr3t-sig` })
          .end();
    });
    const c = client(reg.host, { credentials: { username: 'u', password: 'p4ssw0rd' } });
    expect((await c.blob('acme/app', sha(CONFIG), 1024, 'config')).equals(CONFIG)).toBe(true);
    expect(reg.seen[1].authorization).toBe(`Basic ${Buffer.from('u:p4ssw0rd').toString('base64')}`);
    expect(storage.seen).toEqual([{ url: '/bucket/blob?X-Signature=s3cr3t-sig' }]);
  });

  it('asks for credentials on a Basic challenge without them, and never echoes a password a server repeats', async () => {
    const reg = await serve((_req, res) =>
      res
        .writeHead(401, { 'www-authenticate': 'Basic realm="r"' })
        .end(
          '{"errors":[{"code":"UNAUTHORIZED","message":"bad password hunter22-secret for alice"}]}'
        )
    );
    const anon = await failure(client(reg.host).manifest('acme/app', 'v1'));
    expect(anon.message).toBe(
      `manifest ${reg.host}/acme/app:v1: the registry requires credentials (Basic auth): set registry-username and registry-password`
    );
    const e = await failure(
      client(reg.host, {
        credentials: { username: 'alice', password: 'hunter22-secret' }
      }).manifest('acme/app', 'v1')
    );
    expect(e.problem).toBe('auth');
    expect(e.message).toBe(
      `manifest ${reg.host}/acme/app:v1: the registry refused the credentials in registry-username/registry-password (HTTP 401: UNAUTHORIZED: bad password *** for alice)`
    );
  });
});
