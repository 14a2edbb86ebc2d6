// Reads what an image says about its own source revision, without pulling a
// layer: the tag's manifest (an index or list is followed to the platform's
// manifest), then the config blob's Labels. When the label is absent, the
// same key as an OCI annotation on the manifest, then on the index, is
// accepted, and the inspection says which source it used.

import type { ImageReference } from './reference.ts';
import { parseManifest, type ManifestDocument, type Platform } from './media-types.ts';
import { formatPlatform, offeredPlatforms, samePlatform, selectManifest } from './platform.ts';
import { MAX_CONFIG_BYTES, type RegistryClient } from './registry-client.ts';
import { RegistryError } from './registry-error.ts';

export type RevisionSource = 'config-label' | 'manifest-annotation' | 'index-annotation';

export interface ImageInspection {
  /** false: the registry has no such tag (or repository). */
  present: boolean;
  /** Digest of what the reference resolves to (the index for a multi-platform tag). */
  digest: string | null;
  mediaType: string | null;
  /** Digest of the platform's image manifest (equals `digest` for a single manifest). */
  platformDigest: string | null;
  /** Platform of the image read, e.g. linux/arm64/v8. */
  platform: string | null;
  /** Set when an index lacks the wanted platform: the platforms it offers. */
  missingPlatform: string[] | null;
  revision: string | null;
  revisionSource: RevisionSource | null;
  /** Things worth a warning that do not change the answer. */
  notes: string[];
}

export interface InspectOptions {
  platform: Platform;
  /** Label (and annotation) key holding the revision. */
  label: string;
}

function absent(): ImageInspection {
  return {
    present: false,
    digest: null,
    mediaType: null,
    platformDigest: null,
    platform: null,
    missingPlatform: null,
    revision: null,
    revisionSource: null,
    notes: []
  };
}

interface ConfigFacts {
  labels: Record<string, string>;
  platform?: Platform;
}

function readConfig(bytes: Buffer, where: string): ConfigFacts {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not an object');
  } catch {
    throw new RegistryError('protocol', `${where}: the image config is not a JSON object`);
  }
  const cfg = (doc.config ?? {}) as { Labels?: unknown };
  const labels: Record<string, string> = {};
  if (cfg.Labels && typeof cfg.Labels === 'object') {
    for (const [k, v] of Object.entries(cfg.Labels as Record<string, unknown>))
      if (typeof v === 'string') labels[k] = v;
  }
  const platform =
    typeof doc.os === 'string' && typeof doc.architecture === 'string'
      ? {
          os: doc.os,
          architecture: doc.architecture,
          ...(typeof doc.variant === 'string' && doc.variant ? { variant: doc.variant } : {})
        }
      : undefined;
  return { labels, ...(platform ? { platform } : {}) };
}

export async function inspectImage(
  client: RegistryClient,
  ref: ImageReference,
  opts: InspectOptions
): Promise<ImageInspection> {
  const top = await client.manifest(ref.repository, ref.reference);
  if (!top) return absent();
  const doc = parseManifest(top.bytes, top.contentType, ref.canonical);
  const result: ImageInspection = {
    ...absent(),
    present: true,
    digest: top.digest,
    mediaType: doc.mediaType
  };
  let index: ManifestDocument | undefined;
  let image = doc;
  let platformDigest = top.digest;
  if (doc.kind === 'index') {
    index = doc;
    const pick = selectManifest(doc.manifests, opts.platform);
    if (!pick) return { ...result, missingPlatform: offeredPlatforms(doc.manifests) };
    const where = `${ref.canonical} (${formatPlatform(pick.platform!)})`;
    const child = await client.manifest(ref.repository, pick.digest);
    if (!child)
      throw new RegistryError(
        'protocol',
        `${where}: the index lists ${pick.digest} but the registry has no such manifest`
      );
    image = parseManifest(child.bytes, child.contentType, where);
    if (image.kind === 'index')
      throw new RegistryError('protocol', `${where}: an index inside an index is not supported`);
    platformDigest = child.digest;
    result.platform = formatPlatform(pick.platform!);
  }
  if (image.kind !== 'manifest') throw new Error('bug: expected an image manifest');
  const cfg = image.config;
  const where = `config of ${ref.repository}@${platformDigest}`;
  if (cfg.size > MAX_CONFIG_BYTES)
    throw new RegistryError(
      'protocol',
      `${where}: ${cfg.size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit for an image config`
    );
  const bytes = await client.blob(ref.repository, cfg.digest, MAX_CONFIG_BYTES, where);
  if (cfg.size >= 0 && bytes.length !== cfg.size)
    throw new RegistryError(
      'protocol',
      `${where}: ${bytes.length} bytes received, the manifest says ${cfg.size}`
    );
  const facts = readConfig(bytes, where);
  if (!index && facts.platform) {
    result.platform = formatPlatform(facts.platform);
    if (!samePlatform(facts.platform, opts.platform)) {
      result.notes.push(
        `${ref.canonical} is a single ${formatPlatform(facts.platform)} image, not ${formatPlatform(opts.platform)} (input 'platform'); its revision is read all the same`
      );
    }
  }
  result.platformDigest = platformDigest;
  const sources: [RevisionSource, Record<string, string>][] = [
    ['config-label', facts.labels],
    ['manifest-annotation', image.annotations],
    ['index-annotation', index?.annotations ?? {}]
  ];
  for (const [source, map] of sources) {
    if (Object.hasOwn(map, opts.label) && map[opts.label].trim() !== '') {
      return { ...result, revision: map[opts.label], revisionSource: source };
    }
  }
  return result;
}
