// What a lockfile yields: one installed package version in an ecosystem the
// audit understands, and the key that identifies it across sources.

export const ECOSYSTEMS = ['npm', 'PyPI'] as const;
/** OSV ecosystem names, spelled exactly as OSV spells them. */
export type Ecosystem = (typeof ECOSYSTEMS)[number];

export interface LockedPackage {
  ecosystem: Ecosystem;
  /** npm: the registry name (an alias resolved); PyPI: PEP 503-normalised. */
  name: string;
  version: string;
  /** Where the lockfile installs it (npm: node_modules path), when it says. */
  path?: string;
}

export type PackageRef = Pick<LockedPackage, 'ecosystem' | 'name' | 'version'>;

/** Identity of a package version; sources key their answers by it. */
export function pkgKey(p: PackageRef): string {
  return `${p.ecosystem}:${p.name}@${p.version}`;
}

/** PEP 503: names compare lowercased with runs of '-', '_' and '.' folded to '-'. */
export function normalizePypiName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** The form under which an ecosystem compares names (npm names are case-sensitive). */
export function canonicalName(ecosystem: string, name: string): string {
  return ecosystem === 'PyPI' ? normalizePypiName(name) : name;
}

/**
 * The npm package a tarball URL names when it has a registry's layout,
 * `<registry>/<name>/-/<unscoped name>-<version>.tgz` (npm, Verdaccio, a
 * mirror) or `<registry>/@scope/name/-/@scope/name-<version>.tgz` (GitLab,
 * Artifactory), else undefined.
 */
export function registryTarballPackage(url: string): { name: string; version: string } | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const dash = path.lastIndexOf('/-/');
  if (dash < 0 || !path.endsWith('.tgz')) return undefined;
  const before = path.slice(0, dash).split('/').map(safeDecode);
  const file = safeDecode(path.slice(dash + 3, -'.tgz'.length));
  let name = before[before.length - 1] ?? '';
  if (name.includes('/')) {
    // an encoded scope: @scope%2fname
  } else if (before.length > 1 && before[before.length - 2].startsWith('@'))
    name = `${before[before.length - 2]}/${name}`;
  if (!/^(@[^/@]+\/)?[^/@]+$/.test(name)) return undefined;
  const unscoped = name.slice(name.indexOf('/') + 1);
  const base = file.startsWith(`${name}-`)
    ? file.slice(name.length + 1)
    : file.startsWith(`${unscoped}-`)
      ? file.slice(unscoped.length + 1)
      : undefined;
  if (base === undefined || !isNpmVersion(base)) return undefined;
  return { name, version: base };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** An exact npm (semver 2) version, build metadata allowed: what a registry serves. */
export function isNpmVersion(v: string): boolean {
  return /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/.test(
    v
  );
}
