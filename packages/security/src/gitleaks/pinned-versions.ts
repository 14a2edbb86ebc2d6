// Release tarballs the installer may fetch without an explicit checksum, and
// the naming of the official release assets (goreleaser: amd64 -> x64,
// 386 -> x32; Windows ships a .zip, which the installer does not take).

export type GitleaksAsset =
  'linux_x64' | 'linux_arm64' | 'linux_x32' | 'darwin_x64' | 'darwin_arm64';

export interface GitleaksPin {
  /** Without the leading 'v', e.g. '8.30.1'. */
  version: string;
  /** SHA-256 (hex) of gitleaks_<version>_<asset>.tar.gz, per asset. */
  sha256: Partial<Record<GitleaksAsset, string>>;
}

/**
 * Pinned releases. A version and its checksums are updated TOGETHER, copied
 * from the release's gitleaks_<version>_checksums.txt after checking it
 * against a download: a version bump without new checksums must not land.
 * Empty on purpose: no checksum could be verified where this was written, and
 * an invented one would either never match or, worse, lend trust it has not
 * earned. Until entries exist, the installer requires an explicit sha256.
 */
export const GITLEAKS_PINS: readonly GitleaksPin[] = [];

export const DEFAULT_RELEASE_BASE_URL = 'https://github.com/gitleaks/gitleaks/releases/download';

const ASSETS: Record<string, GitleaksAsset> = {
  'linux/x64': 'linux_x64',
  'linux/arm64': 'linux_arm64',
  'linux/ia32': 'linux_x32',
  'darwin/x64': 'darwin_x64',
  'darwin/arm64': 'darwin_arm64'
};

/** The release asset for a Node platform/arch pair, or undefined when there is no tarball for it. */
export function assetFor(platform: NodeJS.Platform, arch: string): GitleaksAsset | undefined {
  const key = `${platform}/${arch}`;
  return Object.hasOwn(ASSETS, key) ? ASSETS[key] : undefined;
}

export function assetFileName(version: string, asset: GitleaksAsset): string {
  return `gitleaks_${version}_${asset}.tar.gz`;
}

export function releaseUrl(baseUrl: string, version: string, asset: GitleaksAsset): string {
  return `${baseUrl.replace(/\/+$/, '')}/v${version}/${assetFileName(version, asset)}`;
}

export function pinnedSha256(
  version: string,
  asset: GitleaksAsset,
  pins: readonly GitleaksPin[] = GITLEAKS_PINS
): string | undefined {
  return pins.find((p) => p.version === version)?.sha256[asset];
}
