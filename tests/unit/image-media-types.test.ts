// Manifest documents: OCI and Docker indexes and manifests recognised from the
// Content-Type or the body, schema 1 and non-image artefacts refused with a
// clear line; platform selection from an index, variant aware.
import {
  MANIFEST_ACCEPT,
  MEDIA,
  manifestKind,
  parseManifest
} from '../../packages/image/src/media-types.ts';
import { parsePlatform, selectManifest } from '../../packages/image/src/platform.ts';
import { RegistryError } from '../../packages/image/src/registry-error.ts';

const D = (c: string): string => `sha256:${c.repeat(64)}`;
const doc = (o: object): Buffer => Buffer.from(JSON.stringify(o));
const manifest = (mediaType: string | undefined, configType: string): object => ({
  schemaVersion: 2,
  ...(mediaType ? { mediaType } : {}),
  config: { mediaType: configType, digest: D('c'), size: 10 },
  layers: [],
  annotations: { 'org.opencontainers.image.revision': 'x' }
});

function refusal(bytes: Buffer, type: string | null): string {
  try {
    parseManifest(bytes, type, 'reg/acme/app:1');
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).problem).toBe('protocol');
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('manifest media types', () => {
  it('asks for indexes before single manifests, OCI and Docker alike', () => {
    expect(MANIFEST_ACCEPT.split(', ')).toEqual([
      MEDIA.ociIndex,
      MEDIA.dockerList,
      MEDIA.ociManifest,
      MEDIA.dockerManifest
    ]);
  });

  it.each([
    [MEDIA.ociManifest, MEDIA.ociConfig],
    [MEDIA.dockerManifest, MEDIA.dockerConfig]
  ])('reads a %s with its config descriptor and annotations', (type, configType) => {
    const m = parseManifest(doc(manifest(type, configType)), `${type}; charset=utf-8`, 'x');
    expect(m.kind).toBe('manifest');
    expect(m.mediaType).toBe(type);
    if (m.kind !== 'manifest') throw new Error('kind');
    expect(m.config).toMatchObject({ digest: D('c'), size: 10, mediaType: configType });
    expect(m.annotations['org.opencontainers.image.revision']).toBe('x');
  });

  it('reads OCI indexes and Docker manifest lists with their platforms', () => {
    for (const type of [MEDIA.ociIndex, MEDIA.dockerList]) {
      const m = parseManifest(
        doc({
          schemaVersion: 2,
          mediaType: type,
          manifests: [
            {
              mediaType: MEDIA.ociManifest,
              digest: D('a'),
              size: 1,
              platform: { os: 'linux', architecture: 'amd64' }
            },
            {
              mediaType: MEDIA.ociManifest,
              digest: D('b'),
              size: 1,
              platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }
            }
          ]
        }),
        type,
        'x'
      );
      if (m.kind !== 'index') throw new Error('kind');
      expect(m.manifests.map((d) => d.platform)).toEqual([
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' }
      ]);
    }
  });

  it('falls back to the body when the Content-Type says nothing, and to the shape when mediaType is absent', () => {
    expect(manifestKind('application/json', { mediaType: MEDIA.dockerList })).toBe('index');
    expect(manifestKind(null, { schemaVersion: 2, manifests: [] })).toBe('index');
    expect(manifestKind('', { schemaVersion: 2, config: {} })).toBe('manifest');
    expect(manifestKind('text/html', {})).toBe('unknown');
  });

  it('refuses Docker schema 1 with a clear line, by Content-Type or by schemaVersion', () => {
    const s1 = doc({ schemaVersion: 1, name: 'acme/app', tag: '1', fsLayers: [] });
    for (const type of [MEDIA.dockerSchema1Signed, MEDIA.dockerSchema1, 'application/json']) {
      expect(refusal(s1, type)).toBe(
        'reg/acme/app:1 is a Docker schema 1 manifest, which has no image config to read the revision from; push it again with a current builder (docker buildx, buildah, kaniko or skopeo --format v2s2)'
      );
    }
  });

  it('refuses artefacts that are not container images, unknown types and non-JSON', () => {
    expect(
      refusal(
        doc(manifest(MEDIA.ociManifest, 'application/vnd.cncf.helm.config.v1+json')),
        MEDIA.ociManifest
      )
    ).toBe(
      'reg/acme/app:1 is not a container image (config media type "application/vnd.cncf.helm.config.v1+json")'
    );
    expect(
      refusal(doc({ schemaVersion: 2, mediaType: 'application/vnd.example+json' }), null)
    ).toMatch(
      /unsupported manifest media type "application\/vnd.example\+json"; expected an OCI or Docker v2 manifest or index$/
    );
    expect(refusal(Buffer.from('<html>'), MEDIA.ociManifest)).toBe(
      'reg/acme/app:1: the manifest is not a JSON object'
    );
    expect(
      refusal(
        doc({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { digest: '../x' } }),
        null
      )
    ).toBe('reg/acme/app:1: config has no valid digest');
  });
});

describe('platform selection', () => {
  const entry = (c: string, platform?: object): object => ({
    mediaType: MEDIA.ociManifest,
    digest: D(c),
    size: 1,
    ...(platform ? { platform } : {})
  });
  const index = parseManifest(
    doc({
      schemaVersion: 2,
      mediaType: MEDIA.ociIndex,
      manifests: [
        entry('0', { os: 'unknown', architecture: 'unknown' }),
        entry('1', { os: 'linux', architecture: 'amd64' }),
        entry('2', { os: 'linux', architecture: 'arm', variant: 'v6' }),
        entry('3', { os: 'linux', architecture: 'arm', variant: 'v7' }),
        entry('4', { os: 'linux', architecture: 'arm64' }),
        entry('5')
      ]
    }),
    MEDIA.ociIndex,
    'x'
  );
  if (index.kind !== 'index') throw new Error('kind');
  const pick = (p: string): string | undefined =>
    selectManifest(index.manifests, parsePlatform(p))?.digest;

  it.each([
    ['linux/amd64', D('1')],
    ['linux/x86_64', D('1')],
    ['linux/arm/v6', D('2')],
    ['linux/arm', D('3')],
    ['linux/arm/v7', D('3')],
    ['linux/arm64', D('4')],
    ['linux/arm64/v8', D('4')],
    ['linux/aarch64', D('4')],
    ['linux/s390x', undefined],
    ['windows/amd64', undefined],
    ['linux/arm/v5', undefined]
  ])('%s', (p, digest) => {
    expect(pick(p)).toBe(digest);
  });

  it.each(['linux', 'linux/amd64/v2/x', 'Linux AMD64', 'linux/../x', ''])(
    'refuses platform %j naming the input',
    (p) => {
      expect(() => parsePlatform(p)).toThrow(
        /^input 'platform': expected os\/architecture\[\/variant\], such as linux\/amd64/
      );
    }
  );
});
