// pnpm-lock.yaml, lockfile versions 5 to 9. A package's key names it:
//   5.x  /name/version[_peers]            host/name/version[_peers]
//   6.x  /name@version[(peers)]           host/name@version[(peers)]
//   9.x  name@version[(peers)]            (snapshots: as packages, with peers)
// where host is a registry other than the one pnpm then took for the name
// ("registry.npmjs.org/ms/2.1.1", "127.0.0.1+4873/ms/2.1.1", as
// encode-registry writes host:port). Patched packages carry the patch hash as
// a peer suffix (`_hash`, `(patch_hash=...)`). Keys that name no version are
// tarball, git or local directory dependencies: a tarball in the registry's
// own layout (<registry>/<name>/-/<name>-<version>.tgz) is that registry
// package; the others are not auditable and are counted in a note.

import { load, FAILSAFE_SCHEMA } from 'js-yaml';
import {
  Exclusions,
  LockfileError,
  isBlank,
  uniquePackages,
  type ParsedLockfile
} from './parsed-lockfile.ts';
import { isJsonObject } from './json-object.ts';
import { isNpmVersion, registryTarballPackage, type LockedPackage } from './package-ref.ts';

interface NameVersion {
  name: string;
  version: string;
}

/** YAML's spellings of an empty value, as the failsafe schema leaves them. */
const EMPTY_VALUES = new Set(['', '~', 'null', 'Null', 'NULL']);

export function parsePnpmLock(text: string, file: string): ParsedLockfile {
  if (isBlank(text, /^\s*#/)) return { packages: [], notes: [] };
  let doc: unknown;
  try {
    // FAILSAFE keeps every scalar a string: `version: 1.10` must not become 1.1.
    doc = load(text, { schema: FAILSAFE_SCHEMA });
  } catch (err) {
    throw new LockfileError(file, `not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined) return { packages: [], notes: [] };
  if (!isJsonObject(doc)) throw new LockfileError(file, 'expected a YAML mapping at the top level');
  if (typeof doc.lockfileVersion !== 'string')
    throw new LockfileError(file, 'has no lockfileVersion');
  const major = Number.parseInt(doc.lockfileVersion.replace(/^'|'$/g, ''), 10);
  if (!Number.isFinite(major))
    throw new LockfileError(
      file,
      `lockfileVersion ${JSON.stringify(doc.lockfileVersion)} is not a number`
    );
  const packages: LockedPackage[] = [];
  const excluded = new Exclusions();
  // v9 splits each package into `packages` (what it is) and `snapshots` (each
  // peer/patch variant of it); a snapshot is read only when its package is
  // missing from `packages`.
  const map = sectionMap(doc.packages, 'packages', file);
  const entries = Object.entries(map);
  for (const [key, entry] of Object.entries(sectionMap(doc.snapshots, 'snapshots', file))) {
    const base = key.indexOf('(') > 0 ? key.slice(0, key.indexOf('(')) : key;
    if (!Object.hasOwn(map, base)) entries.push([key, entry]);
  }
  for (const [key, entry] of entries) {
    const fields = isJsonObject(entry) ? entry : {};
    const found = readEntry(key, fields, major);
    if ('why' in found) excluded.add(found.why, key);
    else packages.push({ ecosystem: 'npm', ...found });
  }
  return { packages: uniquePackages(packages), notes: excluded.note() };
}

function sectionMap(value: unknown, section: string, file: string): Record<string, unknown> {
  if (value === undefined || (typeof value === 'string' && EMPTY_VALUES.has(value.trim())))
    return {};
  if (!isJsonObject(value)) throw new LockfileError(file, `'${section}' is not a mapping`);
  return value;
}

function readEntry(
  key: string,
  fields: Record<string, unknown>,
  major: number
): NameVersion | { why: string } {
  const fromKey = splitKey(key, major);
  if (fromKey) return fromKey;
  const resolution = isJsonObject(fields.resolution) ? fields.resolution : {};
  const tarball = typeof resolution.tarball === 'string' ? resolution.tarball : undefined;
  if (tarball && !tarball.startsWith('file:')) {
    const ref = registryTarballPackage(tarball);
    if (ref && (typeof fields.name !== 'string' || fields.name === ref.name)) return ref;
  }
  if (
    resolution.type === 'directory' ||
    (tarball !== undefined && tarball.startsWith('file:')) ||
    /(^|@)(file|link):/.test(key)
  )
    return { why: 'local directory or file' };
  if (
    resolution.type === 'git' ||
    typeof resolution.commit === 'string' ||
    /codeload\.github\.com|^github\.com\/|@(git\+|github:)|\.git(#|$)/.test(tarball ?? key)
  )
    return { why: 'git' };
  if (tarball) return { why: 'tarball URL' };
  return { why: 'unrecognised key' };
}

/** name@version from a key in any of pnpm's spellings, or undefined when it names none. */
function splitKey(key: string, major: number): NameVersion | undefined {
  let k = key;
  if (k.startsWith('/')) k = k.slice(1);
  else if (major < 9 && k.includes('/') && !/^@[^/]+\/[^/]+@[^/]+$/.test(k)) {
    // An absolute key: the first segment is the registry host. (A key with
    // no host and no leading '/', `name@version`, is read as v9 writes it.)
    k = k.slice(k.indexOf('/') + 1);
  }
  const forms = major < 6 ? [slashForm, atForm] : [atForm, slashForm];
  for (const form of forms) {
    const nv = form(k);
    if (nv && validName(nv.name) && isNpmVersion(nv.version)) return nv;
  }
  return undefined;
}

/** `name/version[_peers]`, `@scope/name/version[_peers]` (v5). */
function slashForm(k: string): NameVersion | undefined {
  const parts = k.split('/');
  const nameParts = parts[0].startsWith('@') ? 2 : 1;
  if (parts.length < nameParts + 1) return undefined;
  const rest = parts.slice(nameParts);
  // A peer suffix may itself hold a '/' (an unhashed scoped peer); only then
  // may more segments follow the version.
  if (rest.length > 1 && !rest[0].includes('_')) return undefined;
  return { name: parts.slice(0, nameParts).join('/'), version: rest[0].split('_')[0] };
}

/** `name@version[(peers)]`, `@scope/name@version[(peers)][_peers]` (v6, v9). */
function atForm(k: string): NameVersion | undefined {
  const paren = k.indexOf('(');
  const bare = paren < 0 ? k : k.slice(0, paren);
  const at = bare.lastIndexOf('@');
  if (at <= 0) return undefined;
  return { name: bare.slice(0, at), version: bare.slice(at + 1).split('_')[0] };
}

/** npm's rules for a name (old names may hold capitals): URL-safe, scoped or not. */
function validName(name: string): boolean {
  return /^(@[A-Za-z0-9~-][\w.~-]*\/)?[A-Za-z0-9~-][\w.~-]*$/.test(name);
}
