// Image references: Docker Hub defaults, registries with ports, tags and
// digests, and hostile or malformed values refused with one line naming 'image'.
import { ConfigurationError } from '../../packages/core/src/errors.ts';
import { parseImageReference } from '../../packages/image/src/reference.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('parseImageReference', () => {
  it.each([
    ['nginx', 'docker.io', 'registry-1.docker.io', 'library/nginx', 'latest', undefined],
    ['acme/app:1.2', 'docker.io', 'registry-1.docker.io', 'acme/app', '1.2', undefined],
    [
      'index.docker.io/acme/app',
      'docker.io',
      'registry-1.docker.io',
      'acme/app',
      'latest',
      undefined
    ],
    ['ghcr.io/acme/app:v1', 'ghcr.io', 'ghcr.io', 'acme/app', 'v1', undefined],
    [
      '127.0.0.1:5000/acme/app',
      '127.0.0.1:5000',
      '127.0.0.1:5000',
      'acme/app',
      'latest',
      undefined
    ],
    ['localhost/app:dev', 'localhost', 'localhost', 'app', 'dev', undefined],
    [
      'reg.example:443/a/b/c@' + DIGEST,
      'reg.example:443',
      'reg.example:443',
      'a/b/c',
      undefined,
      DIGEST
    ],
    ['reg.example/team/app:1.0@' + DIGEST, 'reg.example', 'reg.example', 'team/app', '1.0', DIGEST],
    ['[::1]:5000/app:x', '[::1]:5000', '[::1]:5000', 'app', 'x', undefined],
    [
      'my.registry/a__b/c-d.e_f:T_1.2-rc',
      'my.registry',
      'my.registry',
      'a__b/c-d.e_f',
      'T_1.2-rc',
      undefined
    ]
  ])('%s', (text, registry, apiHost, repository, tag, digest) => {
    const r = parseImageReference(text);
    expect(r.registry).toBe(registry);
    expect(r.apiHost).toBe(apiHost);
    expect(r.repository).toBe(repository);
    expect(r.tag).toBe(tag);
    expect(r.digest).toBe(digest);
    // A pinned digest is what the manifest request asks for, even beside a tag.
    expect(r.reference).toBe(digest ?? tag);
  });

  it('prints a normalised canonical form', () => {
    expect(parseImageReference('nginx').canonical).toBe('docker.io/library/nginx:latest');
    expect(parseImageReference(`h.io/a@${DIGEST}`).canonical).toBe(`h.io/a@${DIGEST}`);
  });

  it.each([
    ['../../x', 'is not a registry host'],
    ['https://ghcr.io/acme/app', 'drop the scheme'],
    ['acme/App', 'lower-case'],
    ['acme//app', 'lower-case'],
    ['acme/app:', 'a tag is'],
    ['acme/app:-x', 'a tag is'],
    ['acme/app@sha256:1234', 'a digest is'],
    ['acme/app@md5:' + 'a'.repeat(32), 'a digest is'],
    ['acme/app tag', 'spaces and control characters'],
    ['acme/app\n:tag', 'spaces and control characters'],
    ['reg.example:99999/app', 'the port must be'],
    ['-bad.host/app', 'is not a registry host'],
    ['reg.example/app/..', 'lower-case'],
    ['/app', 'lower-case'],
    ['a'.repeat(600), 'longer than 512']
  ])('refuses %j with one line naming the input', (text, why) => {
    let err: unknown;
    try {
      parseImageReference(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigurationError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^input 'image': expected an image reference/);
    expect(msg).toContain(why);
    expect(msg).not.toContain('\n');
  });

  it('asks for a value when empty', () => {
    expect(() => parseImageReference('  ')).toThrow(/^input 'image': expected an image reference/);
  });
});
