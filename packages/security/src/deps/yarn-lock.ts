// yarn.lock: the classic v1 format (its own line syntax) and Berry (v2+,
// YAML with a __metadata key). Workspace, file, link and patch entries are
// local code or derived from another entry and are skipped.

import { load, FAILSAFE_SCHEMA } from 'js-yaml';
import { valid as semverValid } from 'semver';
import { LockfileError, countedList, type ParsedLockfile } from './parsed-lockfile.ts';
import { isJsonObject } from './json-object.ts';
import type { LockedPackage } from './package-ref.ts';

const LOCAL_PROTOCOLS = /^(file|link|portal|workspace|patch|exec):/;

export function parseYarnLock(text: string, file: string): ParsedLockfile {
  return /^__metadata:/m.test(text) ? parseBerry(text, file) : parseClassic(text, file);
}

/** Splits `name@range` where a scoped name starts with '@'. */
function splitDescriptor(descriptor: string): { name: string; range: string } | undefined {
  const at = descriptor.indexOf('@', descriptor.startsWith('@') ? 1 : 0);
  if (at <= 0) return undefined;
  return { name: descriptor.slice(0, at), range: descriptor.slice(at + 1) };
}

function parseClassic(text: string, file: string): ParsedLockfile {
  const packages: LockedPackage[] = [];
  const unauditable: string[] = [];
  let current:
    { header: string; line: number; name?: string; local: boolean; version?: string } | undefined;
  const close = (): void => {
    if (!current) return;
    if (current.version === undefined)
      throw new LockfileError(file, `line ${current.line}: entry ${current.header} has no version`);
    if (current.local) return;
    if (current.name !== undefined && semverValid(current.version)) {
      packages.push({ ecosystem: 'npm', name: current.name, version: current.version });
    } else {
      unauditable.push(`${current.header} (${current.version})`);
    }
  };
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || /^\s*#/.test(line)) return;
    if (!/^\s/.test(line)) {
      close();
      if (!line.endsWith(':'))
        throw new LockfileError(file, `line ${i + 1}: expected an entry header ending in ':'`);
      const header = line.slice(0, -1);
      const descriptors = [...header.matchAll(/"((?:[^"\\]|\\.)*)"|([^,\s][^,]*)/g)].map((m) =>
        (m[1] ?? m[2]).trim()
      );
      const first = descriptors.length > 0 ? splitDescriptor(descriptors[0]) : undefined;
      if (!first)
        throw new LockfileError(
          file,
          `line ${i + 1}: cannot read a package name from ${JSON.stringify(header)}`
        );
      let name = first.name;
      // An alias (`alias@npm:real@^1`) installs the real package.
      const alias = /^npm:((?:@[^/@]+\/)?[^@]+)@/.exec(first.range);
      if (alias) name = alias[1];
      current = { header, line: i + 1, name, local: LOCAL_PROTOCOLS.test(first.range) };
      return;
    }
    const v = /^ {2}version:?\s+"?([^"\s]+)"?\s*$/.exec(line);
    if (v && current) current.version = v[1];
    if (!current) throw new LockfileError(file, `line ${i + 1}: indented line outside any entry`);
  });
  close();
  const notes =
    unauditable.length > 0
      ? [
          `${unauditable.length} entr(ies) without a registry version are not auditable: ${countedList(unauditable)}`
        ]
      : [];
  return { packages, notes };
}

function parseBerry(text: string, file: string): ParsedLockfile {
  let doc: unknown;
  try {
    doc = load(text, { schema: FAILSAFE_SCHEMA });
  } catch (err) {
    throw new LockfileError(file, `not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (!isJsonObject(doc)) throw new LockfileError(file, 'expected a YAML mapping at the top level');
  const packages: LockedPackage[] = [];
  const unauditable: string[] = [];
  for (const [key, entry] of Object.entries(doc)) {
    if (key === '__metadata') continue;
    if (!isJsonObject(entry) || typeof entry.resolution !== 'string') {
      throw new LockfileError(file, `entry ${JSON.stringify(key)} has no resolution`);
    }
    const res = splitDescriptor(entry.resolution);
    if (!res)
      throw new LockfileError(
        file,
        `entry ${JSON.stringify(key)} has an unreadable resolution ${JSON.stringify(entry.resolution)}`
      );
    if (LOCAL_PROTOCOLS.test(res.range)) continue;
    const version = res.range.startsWith('npm:') ? res.range.slice(4) : undefined;
    if (version !== undefined && semverValid(version))
      packages.push({ ecosystem: 'npm', name: res.name, version });
    else unauditable.push(entry.resolution);
  }
  const notes =
    unauditable.length > 0
      ? [
          `${unauditable.length} entr(ies) not from the npm registry are not auditable: ${countedList(unauditable)}`
        ]
      : [];
  return { packages, notes };
}
