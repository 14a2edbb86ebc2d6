import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConfigurationError, ToolError } from '../../packages/core/src/errors.ts';
import {
  defaultToolCacheDir,
  installGitleaks,
  installGitleaksRelease,
  type InstallGitleaksOptions
} from '../../packages/security/src/gitleaks/install.ts';
import { locateGitleaks } from '../../packages/security/src/gitleaks/locate.ts';
import {
  FAKE_GITLEAKS,
  buildTar,
  fakeEnv,
  type TarInput
} from '../fixtures/fake-gitleaks/helpers.ts';
import { rejection } from '../helpers/errors.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

const VERSION = '8.30.1';
const ASSET = `/v${VERSION}/gitleaks_${VERSION}_linux_x64.tar.gz`;

function tarball(entries: TarInput[]): Buffer {
  return gzipSync(buildTar(entries));
}
const fakeBinary = readFileSync(FAKE_GITLEAKS);
const GOOD = tarball([
  { name: 'LICENSE', data: 'MIT\n' },
  { name: 'README.md', data: '# gitleaks\n' },
  { name: 'gitleaks', data: fakeBinary, mode: 0o755 }
]);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let server: Server;
let base: string;
let requests: string[] = [];
const routes = new Map<string, Buffer>();

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = routes.get(req.url ?? '');
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length })
      .end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  cleanupTempDirs();
});
beforeEach(() => {
  requests = [];
  routes.clear();
  routes.set(ASSET, GOOD);
});

function opts(extra: Partial<InstallGitleaksOptions> = {}): InstallGitleaksOptions {
  return {
    version: VERSION,
    sha256: sha(GOOD),
    baseUrl: base,
    destDir: tempDir(),
    platform: 'linux',
    arch: 'x64',
    ...extra
  };
}

/** Every file under dir (recursively), relative. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1));
}

async function toolError(p: Promise<unknown>): Promise<string> {
  const err = (await rejection(p)) as ToolError;
  expect(err).toBeInstanceOf(ToolError);
  expect(err.kind).toBe('secrets');
  expect(err.message).not.toContain('\n');
  return err.message;
}

describe('installGitleaks', () => {
  it('downloads, verifies, extracts and caches the binary', async () => {
    const o = opts();
    const first = await installGitleaksRelease(o);
    expect(first).toEqual({
      path: expect.any(String),
      version: VERSION,
      sha256: sha(GOOD),
      cached: false
    });
    expect(first.path.startsWith(join(o.destDir, 'gitleaks', VERSION))).toBe(true);
    expect(readFileSync(first.path)).toEqual(fakeBinary);
    expect(statSync(first.path).mode & 0o777).toBe(0o755);
    // Only the binary (and the cache marker) is written, not LICENSE or README.
    expect(
      filesUnder(o.destDir)
        .map((f) => f.split('/').pop())
        .sort()
    ).toEqual(['.installed.json', 'gitleaks']);
    // It is a runnable gitleaks.
    expect(await locateGitleaks({ explicitPath: first.path, env: fakeEnv() })).toBe(first.path);

    const second = await installGitleaksRelease(o);
    expect(second).toEqual({ ...first, cached: true });
    expect(requests).toEqual([ASSET]);
  });

  it('reinstalls when the cached binary no longer matches', async () => {
    const o = opts();
    const path = await installGitleaks(o);
    writeFileSync(path, '#!/bin/sh\necho tampered\n');
    const again = await installGitleaksRelease(o);
    expect(again.cached).toBe(false);
    expect(readFileSync(path)).toEqual(fakeBinary);
    expect(requests).toEqual([ASSET, ASSET]);
  });

  it('a different checksum never reuses another install', async () => {
    const destDir = tempDir();
    await installGitleaks(opts({ destDir }));
    const other = tarball([{ name: 'gitleaks', data: '#!/bin/sh\necho other\n', mode: 0o755 }]);
    routes.set(ASSET, other);
    const r = await installGitleaksRelease(opts({ destDir, sha256: sha(other) }));
    expect(r.cached).toBe(false);
    expect(readFileSync(r.path, 'utf8')).toContain('other');
  });

  it('refuses a checksum mismatch before extracting anything', async () => {
    const o = opts({ sha256: 'a'.repeat(64) });
    const msg = await toolError(installGitleaks(o));
    expect(msg).toBe(
      `gitleaks_${VERSION}_linux_x64.tar.gz failed checksum verification: expected sha256 ${'a'.repeat(64)}, got ${sha(GOOD)}; nothing was installed`
    );
    expect(filesUnder(o.destDir)).toEqual([]);
  });

  it('a 404 is a one-line error', async () => {
    const msg = await toolError(installGitleaks(opts({ version: '8.99.0' })));
    expect(msg).toBe(
      `downloading ${base}/v8.99.0/gitleaks_8.99.0_linux_x64.tar.gz failed: HTTP 404`
    );
  });

  it('a refused connection is a one-line error', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const msg = await toolError(installGitleaks(opts({ baseUrl: `http://127.0.0.1:${port}` })));
    expect(msg).toBe(
      `downloading http://127.0.0.1:${port}/v${VERSION}/gitleaks_${VERSION}_linux_x64.tar.gz failed: ECONNREFUSED`
    );
  });

  it('refuses an archive with a path-traversal entry and writes nothing', async () => {
    const evil = tarball([
      { name: 'gitleaks', data: fakeBinary, mode: 0o755 },
      { name: '../../../escaped', data: 'pwned' }
    ]);
    routes.set(ASSET, evil);
    const root = tempDir();
    const destDir = join(root, 'cache');
    const msg = await toolError(installGitleaks(opts({ destDir, sha256: sha(evil) })));
    expect(msg).toBe(
      `gitleaks_${VERSION}_linux_x64.tar.gz refused: archive entry "../../../escaped" has an unsafe path`
    );
    expect(filesUnder(root)).toEqual([]);
  });

  it('refuses archives without a regular gitleaks file at the root', async () => {
    const cases: [TarInput[], RegExp][] = [
      [[{ name: 'bin/gitleaks', data: 'x' }], /has no gitleaks binary at its root/],
      [
        [{ name: 'gitleaks', type: '2', linkName: '/bin/sh' }],
        /its gitleaks entry is not a regular file/
      ]
    ];
    for (const [entries, why] of cases) {
      const t = tarball(entries);
      routes.set(ASSET, t);
      expect(await toolError(installGitleaks(opts({ sha256: sha(t) })))).toMatch(why);
    }
    const notGzip = Buffer.from('plain text, not gzip');
    routes.set(ASSET, notGzip);
    expect(await toolError(installGitleaks(opts({ sha256: sha(notGzip) })))).toMatch(
      /is not a readable gzip archive/
    );
  });

  it('refuses a download over the size limit', async () => {
    expect(await toolError(installGitleaks(opts({ maxBytes: 100 })))).toMatch(
      /refused: .*100-byte limit/
    );
  });

  it('requires a version and, without a pinned entry, an explicit sha256', async () => {
    await expect(installGitleaks(opts({ version: undefined }))).rejects.toThrow(
      new ConfigurationError('gitleaks-version', 'a gitleaks release version such as 8.30.1')
    );
    await expect(installGitleaks(opts({ sha256: undefined }))).rejects.toThrow(
      /input 'gitleaks-sha256': expected the SHA-256 of gitleaks_8\.30\.1_linux_x64\.tar\.gz \(gitleaks 8\.30\.1 has no pinned checksum\)/
    );
    await expect(installGitleaks(opts({ sha256: 'xyz' }))).rejects.toThrow(ConfigurationError);
    expect(requests).toEqual([]);
  });

  it('uses a pinned checksum when the input gives none', async () => {
    const pins = [{ version: VERSION, sha256: { linux_x64: sha(GOOD) } }];
    const r = await installGitleaksRelease(opts({ sha256: undefined, pins }));
    expect(r.sha256).toBe(sha(GOOD));
  });

  it('only downloads over https, except from this machine', async () => {
    await expect(
      installGitleaks(opts({ baseUrl: 'http://mirror.example.test/gitleaks' }))
    ).rejects.toThrow(/input 'gitleaks-download-url': expected an https:\/\/ URL/);
    expect(requests).toEqual([]);
  });

  it('fetches from the official release URL by default', async () => {
    let asked = '';
    const fetchImpl = (async (url: string | URL | Request) => {
      asked = String(url);
      return new Response('gone', { status: 410 });
    }) as typeof fetch;
    const msg = await toolError(installGitleaks(opts({ baseUrl: undefined, fetchImpl })));
    expect(asked).toBe(
      `https://github.com/gitleaks/gitleaks/releases/download/v${VERSION}/gitleaks_${VERSION}_linux_x64.tar.gz`
    );
    expect(msg).toMatch(/failed: HTTP 410$/);
  });

  it('has no tarball for Windows', async () => {
    expect(await toolError(installGitleaks(opts({ platform: 'win32' })))).toBe(
      'gitleaks publishes no tarball for win32/x64'
    );
  });

  it('caches under the runner tool cache when there is one', () => {
    expect(defaultToolCacheDir({ RUNNER_TOOL_CACHE: '/opt/hostedtoolcache' })).toBe(
      '/opt/hostedtoolcache'
    );
    expect(defaultToolCacheDir({})).toMatch(/quality-gates-tools$/);
  });
});
