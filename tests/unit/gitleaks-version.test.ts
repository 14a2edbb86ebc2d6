import {
  commandFor,
  isSupportedVersion,
  parseGitleaksVersion
} from '../../packages/security/src/gitleaks/version.ts';

describe('gitleaks versions', () => {
  it('reads `gitleaks version` and `gitleaks --version` output', () => {
    expect(parseGitleaksVersion('8.30.1\n')).toEqual({ major: 8, minor: 30, patch: 1 });
    expect(parseGitleaksVersion('gitleaks version 8.19.0')).toEqual({
      major: 8,
      minor: 19,
      patch: 0
    });
    expect(parseGitleaksVersion('v8.18.4')).toEqual({ major: 8, minor: 18, patch: 4 });
    expect(parseGitleaksVersion('8.21.0-rc1')).toEqual({ major: 8, minor: 21, patch: 0 });
  });

  it('has no version for builds without release ldflags', () => {
    expect(parseGitleaksVersion('version is set by build process')).toBeUndefined();
    expect(parseGitleaksVersion('')).toBeUndefined();
  });

  it('supports 8.18.1 and later 8.x only', () => {
    expect(isSupportedVersion({ major: 8, minor: 18, patch: 0 })).toBe(false);
    expect(isSupportedVersion({ major: 8, minor: 18, patch: 1 })).toBe(true);
    expect(isSupportedVersion({ major: 8, minor: 30, patch: 1 })).toBe(true);
    expect(isSupportedVersion({ major: 9, minor: 0, patch: 0 })).toBe(false);
    expect(isSupportedVersion({ major: 7, minor: 6, patch: 1 })).toBe(false);
  });

  it('uses `git` from 8.19.0, `detect` before, and `git` when unknown', () => {
    expect(commandFor({ major: 8, minor: 18, patch: 4 })).toBe('detect');
    expect(commandFor({ major: 8, minor: 19, patch: 0 })).toBe('git');
    expect(commandFor(undefined)).toBe('git');
  });
});
