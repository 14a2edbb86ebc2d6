// Which gitleaks releases the gate can drive, and with which subcommand.
// The floor is set by the flags the gate relies on to keep a branch from
// allowlisting its own leak: --gitleaks-ignore-path (8.16.4) and
// --ignore-gitleaks-allow (8.18.1); "N commits scanned." is logged at info
// level from 8.15.0 on. `gitleaks git` replaced `gitleaks detect` in 8.19.0.

export interface GitleaksVersion {
  major: number;
  minor: number;
  patch: number;
}

export type GitleaksCommand = 'git' | 'detect';

export const MIN_GITLEAKS_VERSION: GitleaksVersion = { major: 8, minor: 18, patch: 1 };
const GIT_SUBCOMMAND_SINCE: GitleaksVersion = { major: 8, minor: 19, patch: 0 };

/**
 * Reads `gitleaks version` ("8.30.1", release builds) or `gitleaks --version`
 * ("gitleaks version 8.30.1"); builds made by hand may print a leading 'v'.
 */
export function parseGitleaksVersion(text: string): GitleaksVersion | undefined {
  const m = /(?:^|\s)v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.-]*)?\s*$/.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

export function compareVersions(a: GitleaksVersion, b: GitleaksVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export function formatVersion(v: GitleaksVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

export function isSupportedVersion(v: GitleaksVersion): boolean {
  return v.major === 8 && compareVersions(v, MIN_GITLEAKS_VERSION) >= 0;
}

/** An unknown version (a build without ldflags) is taken to be current. */
export function commandFor(v: GitleaksVersion | undefined): GitleaksCommand {
  return v === undefined || compareVersions(v, GIT_SUBCOMMAND_SINCE) >= 0 ? 'git' : 'detect';
}
