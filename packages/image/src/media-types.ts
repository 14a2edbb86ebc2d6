// Manifest media types the gate reads (OCI and Docker, indexes and single
// manifests), what it refuses (Docker schema 1, non-image artefacts), and the
// parsing of a manifest document into the few fields the gate needs.

import { RegistryError } from './registry-error.ts';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json'
} as const;

/** Accept header of a manifest request: indexes first, so a multi-arch tag answers with its index. */
export const MANIFEST_ACCEPT = [
  MEDIA.ociIndex,
  MEDIA.dockerList,
  MEDIA.ociManifest,
  MEDIA.dockerManifest
].join(', ');

const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA.ociIndex, MEDIA.dockerList]);
const MANIFEST_TYPES: ReadonlySet<string> = new Set([MEDIA.ociManifest, MEDIA.dockerManifest]);
const SCHEMA1_TYPES: ReadonlySet<string> = new Set([
  MEDIA.dockerSchema1,
  MEDIA.dockerSchema1Signed
]);
const CONFIG_TYPES: ReadonlySet<string> = new Set([MEDIA.ociConfig, MEDIA.dockerConfig]);
/** Content types that say nothing; the document's own mediaType decides. */
const GENERIC_TYPES: ReadonlySet<string> = new Set([
  '',
  'application/json',
  'text/plain',
  'application/octet-stream'
]);

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations: Record<string, string>;
}

export type ManifestDocument =
  | {
      kind: 'index';
      mediaType: string;
      manifests: Descriptor[];
      annotations: Record<string, string>;
    }
  | {
      kind: 'manifest';
      mediaType: string;
      config: Descriptor;
      annotations: Record<string, string>;
    };

export function isImageConfigType(mediaType: string): boolean {
  return CONFIG_TYPES.has(mediaType);
}

function bare(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, val] of Object.entries(v as Record<string, unknown>))
      if (typeof val === 'string') out[k] = val;
  }
  return out;
}

function descriptor(v: unknown, what: string, where: string): Descriptor {
  const d = (v ?? {}) as Record<string, unknown>;
  if (
    typeof d.digest !== 'string' ||
    !/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(d.digest)
  )
    throw new RegistryError('protocol', `${where}: ${what} has no valid digest`);
  const p = d.platform as Record<string, unknown> | undefined;
  const platform =
    p && typeof p.os === 'string' && typeof p.architecture === 'string'
      ? {
          os: p.os,
          architecture: p.architecture,
          ...(typeof p.variant === 'string' && p.variant !== '' ? { variant: p.variant } : {})
        }
      : undefined;
  return {
    mediaType: typeof d.mediaType === 'string' ? d.mediaType : '',
    digest: d.digest,
    size: typeof d.size === 'number' && Number.isSafeInteger(d.size) && d.size >= 0 ? d.size : -1,
    ...(platform ? { platform } : {}),
    annotations: stringMap(d.annotations)
  };
}

/** The document's kind from its Content-Type, falling back to its own mediaType and shape. */
export function manifestKind(
  contentType: string | null | undefined,
  doc: Record<string, unknown>
): 'index' | 'manifest' | 'schema1' | 'unknown' {
  let type = bare(contentType);
  if (GENERIC_TYPES.has(type)) type = typeof doc.mediaType === 'string' ? doc.mediaType : '';
  if (INDEX_TYPES.has(type)) return 'index';
  if (MANIFEST_TYPES.has(type)) return 'manifest';
  if (SCHEMA1_TYPES.has(type) || doc.schemaVersion === 1) return 'schema1';
  if (type === '') {
    // OCI lets mediaType be absent: the shape tells.
    if (Array.isArray(doc.manifests)) return 'index';
    if (doc.config && typeof doc.config === 'object') return 'manifest';
  }
  return 'unknown';
}

/** Parses a manifest or index; `where` (e.g. acme/app:1.0) prefixes every error. */
export function parseManifest(
  bytes: Buffer,
  contentType: string | null,
  where: string
): ManifestDocument {
  let doc: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('not an object');
    doc = parsed as Record<string, unknown>;
  } catch {
    throw new RegistryError('protocol', `${where}: the manifest is not a JSON object`);
  }
  const kind = manifestKind(contentType, doc);
  const mediaType =
    typeof doc.mediaType === 'string' && doc.mediaType !== '' ? doc.mediaType : bare(contentType);
  const annotations = stringMap(doc.annotations);
  if (kind === 'schema1') {
    throw new RegistryError(
      'protocol',
      `${where} is a Docker schema 1 manifest, which has no image config to read the revision from; push it again with a current builder (docker buildx, buildah, kaniko or skopeo --format v2s2)`
    );
  }
  if (kind === 'unknown') {
    throw new RegistryError(
      'protocol',
      `${where}: unsupported manifest media type ${JSON.stringify(mediaType || '(none)')}; expected an OCI or Docker v2 manifest or index`
    );
  }
  if (kind === 'index') {
    if (!Array.isArray(doc.manifests))
      throw new RegistryError('protocol', `${where}: the index has no manifests list`);
    const manifests = doc.manifests.map((m, n) => descriptor(m, `manifests[${n}]`, where));
    return { kind, mediaType, manifests, annotations };
  }
  const config = descriptor(doc.config, 'config', where);
  if (!isImageConfigType(config.mediaType)) {
    throw new RegistryError(
      'protocol',
      `${where} is not a container image (config media type ${JSON.stringify(config.mediaType)})`
    );
  }
  return { kind, mediaType, config, annotations };
}
