// pnpm-lock.yaml, lockfile versions 5 to 9: package keys are `/name/version`
// (v5), `/name@version(peers)` (v6) or `name@version(peers)` (v9).

import { load, FAILSAFE_SCHEMA } from 'js-yaml';
import { valid as semverValid } from 'semver';
import { LockfileError, countedList, type ParsedLockfile } from './parsed-lockfile.ts';
import { isJsonObject } from './json-object.ts';
import type { LockedPackage } from './package-ref.ts';

export function parsePnpmLock(text: string, file: string): ParsedLockfile {
  let doc: unknown;
  try {
    // FAILSAFE keeps every scalar a string: `version: 1.10` must not become 1.1.
    doc = load(text, { schema: FAILSAFE_SCHEMA });
  } catch (err) {
    throw new LockfileError(file, `not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (!isJsonObject(doc)) throw new LockfileError(file, 'expected a YAML mapping at the top level');
  if (typeof doc.lockfileVersion !== 'string')
    throw new LockfileError(file, 'has no lockfileVersion');
  const major = Number.parseInt(doc.lockfileVersion.replace(/^'|'$/g, ''), 10);
  if (!Number.isFinite(major))
    throw new LockfileError(
      file,
      `lockfileVersion ${JSON.stringify(doc.lockfileVersion)} is not a number`
    );
  const map = doc.packages ?? {};
  if (!isJsonObject(map)) throw new LockfileError(file, "'packages' is not a mapping");
  const packages: LockedPackage[] = [];
  const unauditable: string[] = [];
  for (const [key, entry] of Object.entries(map)) {
    const fields = isJsonObject(entry) ? entry : {};
    const parsed =
      typeof fields.name === 'string' && typeof fields.version === 'string'
        ? { name: fields.name, version: fields.version }
        : splitKey(key, major);
    if (parsed && semverValid(parsed.version))
      packages.push({ ecosystem: 'npm', name: parsed.name, version: parsed.version });
    else unauditable.push(key);
  }
  const notes =
    unauditable.length > 0
      ? [
          `${unauditable.length} entr(ies) not from the npm registry are not auditable: ${countedList(unauditable)}`
        ]
      : [];
  return { packages, notes };
}

function splitKey(key: string, major: number): { name: string; version: string } | undefined {
  const k = key.replace(/^\//, '');
  if (major < 6) {
    const slash = k.lastIndexOf('/');
    if (slash <= 0) return undefined;
    // v5 appends peer resolutions after '_'.
    return { name: k.slice(0, slash), version: k.slice(slash + 1).split('_')[0] };
  }
  const bare = k.split('(')[0];
  const at = bare.lastIndexOf('@');
  if (at <= 0) return undefined;
  return { name: bare.slice(0, at), version: bare.slice(at + 1) };
}
