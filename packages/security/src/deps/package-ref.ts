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
