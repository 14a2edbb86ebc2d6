// package-lock.json / npm-shrinkwrap.json: the v2/v3 `packages` map, or the
// v1 `dependencies` tree when that is all the file has.

import { valid as semverValid } from 'semver';
import { LockfileError, countedList, type ParsedLockfile } from './parsed-lockfile.ts';
import { isJsonObject as isObject } from './json-object.ts';
import type { LockedPackage } from './package-ref.ts';

export function parsePackageLock(text: string, file: string): ParsedLockfile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
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
  const notes: string[] = [];
  // v2 carries both forms; `packages` is the complete one, so it wins.
  if (doc.packages !== undefined)
    return { packages: fromPackagesMap(doc.packages, file, notes), notes };
  if (doc.dependencies !== undefined)
    return { packages: fromDependencyTree(doc.dependencies, file, notes), notes };
  if (typeof version === 'number' && version >= 2)
    throw new LockfileError(file, `lockfileVersion ${version} without a 'packages' map`);
  return { packages: [], notes };
}

function fromPackagesMap(map: unknown, file: string, notes: string[]): LockedPackage[] {
  if (!isObject(map)) throw new LockfileError(file, "'packages' is not an object");
  const out: LockedPackage[] = [];
  const unauditable: string[] = [];
  for (const [key, entry] of Object.entries(map)) {
    if (key === '') continue; // the root project itself
    if (!isObject(entry))
      throw new LockfileError(file, `packages[${JSON.stringify(key)}] is not an object`);
    if (entry.link === true) continue; // a symlink to a workspace; its target has its own entry
    const at = key.lastIndexOf('node_modules/');
    // Keys without node_modules/ are workspace folders: local code, not a registry package.
    if (at < 0) continue;
    const installedAs = key.slice(at + 'node_modules/'.length);
    const name = typeof entry.name === 'string' ? entry.name : installedAs;
    if (name === '' || !validNpmName(name))
      throw new LockfileError(file, `packages[${JSON.stringify(key)}] has an invalid package name`);
    const v = entry.version;
    if (v === undefined) {
      unauditable.push(key);
      continue;
    }
    if (typeof v !== 'string')
      throw new LockfileError(file, `packages[${JSON.stringify(key)}].version is not a string`);
    if (!semverValid(v)) {
      unauditable.push(`${name}@${v}`);
      continue;
    }
    out.push({ ecosystem: 'npm', name, version: v, path: key });
  }
  noteUnauditable(unauditable, notes);
  return out;
}

function fromDependencyTree(tree: unknown, file: string, notes: string[]): LockedPackage[] {
  const out: LockedPackage[] = [];
  const unauditable: string[] = [];
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
      if (semverValid(version)) out.push({ ecosystem: 'npm', name, version, path });
      else unauditable.push(`${installedAs}@${entry.version}`);
      if (entry.dependencies !== undefined)
        walk(entry.dependencies, `${path}/`, `${here}.dependencies`);
    }
  };
  walk(tree, '', 'dependencies');
  noteUnauditable(unauditable, notes);
  return out;
}

function noteUnauditable(list: string[], notes: string[]): void {
  if (list.length === 0) return;
  notes.push(
    `${list.length} entr(ies) without a registry version (git, file or tarball dependencies) are not auditable: ${countedList(list)}`
  );
}

function validNpmName(name: string): boolean {
  return /^(@[^/\s]+\/)?[^/\s@][^/\s]*$/.test(name);
}
