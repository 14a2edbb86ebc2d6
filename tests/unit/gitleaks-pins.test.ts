import {
  DEFAULT_RELEASE_BASE_URL,
  GITLEAKS_PINS,
  assetFor,
  pinnedSha256,
  releaseUrl
} from '../../packages/security/src/gitleaks/pinned-versions.ts';

describe('gitleaks release assets and pins', () => {
  it('names the official release tarballs', () => {
    expect(releaseUrl(DEFAULT_RELEASE_BASE_URL, '8.30.1', 'linux_x64')).toBe(
      'https://github.com/gitleaks/gitleaks/releases/download/v8.30.1/gitleaks_8.30.1_linux_x64.tar.gz'
    );
    expect(releaseUrl('http://127.0.0.1:9/mirror/', '8.30.1', 'darwin_arm64')).toBe(
      'http://127.0.0.1:9/mirror/v8.30.1/gitleaks_8.30.1_darwin_arm64.tar.gz'
    );
  });

  it('maps Node platforms to assets', () => {
    expect(assetFor('linux', 'x64')).toBe('linux_x64');
    expect(assetFor('linux', 'arm64')).toBe('linux_arm64');
    expect(assetFor('linux', 'ia32')).toBe('linux_x32');
    expect(assetFor('darwin', 'arm64')).toBe('darwin_arm64');
    expect(assetFor('win32', 'x64')).toBeUndefined(); // a .zip, not taken
    expect(assetFor('linux', 'toString')).toBeUndefined();
  });

  it('finds a pinned checksum only for the exact version and asset', () => {
    const pins = [{ version: '8.30.1', sha256: { linux_x64: 'f'.repeat(64) } }];
    expect(pinnedSha256('8.30.1', 'linux_x64', pins)).toBe('f'.repeat(64));
    expect(pinnedSha256('8.30.1', 'linux_arm64', pins)).toBeUndefined();
    expect(pinnedSha256('8.30.0', 'linux_x64', pins)).toBeUndefined();
  });

  it('every pinned entry has a version and 64-hex checksums', () => {
    for (const pin of GITLEAKS_PINS) {
      expect(pin.version).toMatch(/^\d+\.\d+\.\d+$/);
      for (const sha of Object.values(pin.sha256)) expect(sha).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});
