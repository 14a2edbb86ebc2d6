// poetry.lock: TOML whose [[package]] tables carry the resolved name/version.

import type { ParsedLockfile } from './parsed-lockfile.ts';
import { isJsonObject } from './json-object.ts';
import { packageTables, requireNameVersion } from './toml-package-tables.ts';
import { normalizePypiName, type LockedPackage } from './package-ref.ts';

export function parsePoetryLock(text: string, file: string): ParsedLockfile {
  const packages: LockedPackage[] = [];
  packageTables(text, file).forEach((t, i) => {
    const { name, version } = requireNameVersion(t, i, file);
    // A directory source is the project's own code, not something from an index.
    if (isJsonObject(t.source) && t.source.type === 'directory') return;
    packages.push({ ecosystem: 'PyPI', name: normalizePypiName(name), version });
  });
  return { packages, notes: [] };
}
