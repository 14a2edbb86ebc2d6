// package-lock.json / npm-shrinkwrap.json: the v2/v3 `packages` map, or the
// v1 `dependencies` tree when that is all the file has.
//
// Every entry under a node_modules/ path is an installed package: nested
// (`node_modules/a/node_modules/b`), aliased (`node_modules/alias` with the
// real `name`), bundled (`inBundle`), under a workspace or a file: package.
// Left out: the root and workspace folders (the project's own code), `link`
// entries (their target has its own entry), and entries that are not from a
// registry (git, local directories and tarballs), counted in a note. npm
// records a tarball URL dependency like a registry package (name and version
// from its package.json), so one is audited as that name@version.

import { Exclusions, LockfileError, isBlank, type ParsedLockfile } from './parsed-lockfile.ts';
import { isJsonObject as isObject } from './json-object.ts';
import { isNpmVersion, registryTarballPackage, type LockedPackage } from './package-ref.ts';

export function parsePackageLock(text: string, file: string): ParsedLockfile {
  if (isBlank(text)) return { packages: [], notes: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new LockfileError(file, `not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) throw new LockfileError(file, 'expected a JSON object at the top level');
  const version = doc.lockfileVersion;
  if (
    version !== undefined &&
    (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
  ) {
    throw new LockfileError(
      file,
      `lockfileVersion ${JSON.stringify(version)} is not a positive integer`
    );
  }
  const excluded = new Exclusions();
  // v2 carries both forms; `packages` is the complete one, so it wins.
  let packages: LockedPackage[] = [];
  if (doc.packages !== undefined && doc.packages !== null)
    packages = fromPackagesMap(doc.packages, file, excluded);
  else if (doc.dependencies !== undefined && doc.dependencies !== null)
    packages = fromDependencyTree(doc.dependencies, file, excluded);
  else if (typeof version === 'number' && version >= 2 && doc.packages === undefined)
    throw new LockfileError(file, `lockfileVersion ${version} without a 'packages' map`);
  return { packages, notes: excluded.note() };
}

/** Why a `resolved` value is not a registry's, or undefined when it may be one. */
function notFromRegistry(resolved: unknown): string | undefined {
  if (typeof resolved !== 'string') return undefined;
  if (/^(git\+|git:|github:|gitlab:|bitbucket:|gist:)/.test(resolved)) return 'git';
  if (/^(file|link):/.test(resolved) || /^\.{0,2}\//.test(resolved))
    return 'local directory or file';
  if (/^https:\/\/codeload\.github\.com\//.test(resolved)) return 'git';
  return undefined;
}

function fromPackagesMap(map: unknown, file: string, excluded: Exclusions): LockedPackage[] {
  if (!isObject(map)) throw new LockfileError(file, "'packages' is not an object");
  const out: LockedPackage[] = [];
  for (const [key, entry] of Object.entries(map)) {
    if (key === '') continue; // the root project itself
    if (!isObject(entry))
      throw new LockfileError(file, `packages[${JSON.stringify(key)}] is not an object`);
    if (entry.link === true) continue; // a symlink to a workspace or file: folder; its target has its own entry
    const at = key.lastIndexOf('node_modules/');
    // Keys without node_modules/ are workspace or file: folders: local code, not a registry package.
    if (at < 0) continue;
    const installedAs = key.slice(at + 'node_modules/'.length);
    const name = typeof entry.name === 'string' ? entry.name : installedAs;
    if (name === '' || !validNpmName(name))
      throw new LockfileError(file, `packages[${JSON.stringify(key)}] has an invalid package name`);
    const v = entry.version;
    if (v === undefined) {
      excluded.add('without a version', key);
      continue;
    }
    if (typeof v !== 'string')
      throw new LockfileError(file, `packages[${JSON.stringify(key)}].version is not a string`);
    const why = notFromRegistry(entry.resolved);
    if (why) {
      excluded.add(why, `${name}@${v}`);
      continue;
    }
    if (!isNpmVersion(v)) {
      excluded.add('without a registry version', `${name}@${v}`);
      continue;
    }
    out.push({ ecosystem: 'npm', name, version: v, path: key });
  }
  return out;
}

function fromDependencyTree(tree: unknown, file: string, excluded: Exclusions): LockedPackage[] {
  const out: LockedPackage[] = [];
  const walk = (deps: unknown, prefix: string, where: string): void => {
    if (!isObject(deps)) throw new LockfileError(file, `${where} is not an object`);
    for (const [installedAs, entry] of Object.entries(deps)) {
      const path = `${prefix}node_modules/${installedAs}`;
      const here = `${where}[${JSON.stringify(installedAs)}]`;
      if (!isObject(entry)) throw new LockfileError(file, `${here} is not an object`);
      if (typeof entry.version !== 'string')
        throw new LockfileError(file, `${here}.version is missing or not a string`);
      let name = installedAs;
      let version = entry.version;
      // v1 writes an alias as version "npm:<real-name>@<version>".
      const alias = /^npm:((?:@[^/@]+\/)?[^@]+)@(.+)$/.exec(version);
      if (alias) [, name, version] = alias;
      // ...and a URL dependency's version as the URL.
      const tarball = /^https?:/.test(version) ? registryTarballPackage(version) : undefined;
      if (tarball && tarball.name === name) version = tarball.version;
      const why = notFromRegistry(version) ?? notFromRegistry(entry.resolved);
      if (why) excluded.add(why, `${installedAs}@${entry.version}`);
      else if (isNpmVersion(version)) out.push({ ecosystem: 'npm', name, version, path });
      else
        excluded.add(
          /^https?:/.test(version) ? 'tarball URL' : 'without a registry version',
          `${installedAs}@${entry.version}`
        );
      if (entry.dependencies !== undefined)
        walk(entry.dependencies, `${path}/`, `${here}.dependencies`);
    }
  };
  walk(tree, '', 'dependencies');
  return out;
}

function validNpmName(name: string): boolean {
  return /^(@[^/\s]+\/)?[^/\s@][^/\s]*$/.test(name);
}
