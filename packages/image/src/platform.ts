// Platforms (os/architecture[/variant]) and picking one manifest out of an
// index, the way container runtimes normalise them: x86_64 is amd64, aarch64
// is arm64, arm64 without a variant is v8, arm without a variant is v7.

import { ConfigurationError } from '../../core/src/errors.ts';
import type { Descriptor, Platform } from './media-types.ts';

const PART = /^[a-z0-9][a-z0-9._-]{0,31}$/;
const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64'
};
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8', arm: 'v7', amd64: 'v1' };

export function parsePlatform(text: string, input = 'platform'): Platform {
  const parts = text.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || !parts.every((p) => PART.test(p))) {
    throw new ConfigurationError(
      input,
      'os/architecture[/variant], such as linux/amd64 or linux/arm64/v8',
      text
    );
  }
  return { os: parts[0], architecture: parts[1], ...(parts[2] ? { variant: parts[2] } : {}) };
}

function normalise(p: Platform): Required<Platform> {
  const architecture = ARCH_ALIASES[p.architecture.toLowerCase()] ?? p.architecture.toLowerCase();
  return {
    os: p.os.toLowerCase(),
    architecture,
    variant: (p.variant ?? DEFAULT_VARIANT[architecture] ?? '').toLowerCase()
  };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

export function samePlatform(a: Platform, b: Platform): boolean {
  const x = normalise(a);
  const y = normalise(b);
  return x.os === y.os && x.architecture === y.architecture && x.variant === y.variant;
}

/** The index entry for `want`, or undefined; entries without a platform (attestations) never match. */
export function selectManifest(
  manifests: readonly Descriptor[],
  want: Platform
): Descriptor | undefined {
  return manifests.find((m) => m.platform !== undefined && samePlatform(m.platform, want));
}

/** Platforms an index offers, for the message when the wanted one is missing. */
export function offeredPlatforms(manifests: readonly Descriptor[]): string[] {
  return manifests
    .filter((m) => m.platform && m.platform.os !== 'unknown')
    .map((m) => formatPlatform(m.platform!));
}
