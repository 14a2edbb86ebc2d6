// uv.lock: TOML [[package]] tables; the project itself and local sources
// (editable, virtual, directory) are not index packages and are skipped.

import type { ParsedLockfile } from './parsed-lockfile.ts';
import { isJsonObject } from './json-object.ts';
import { packageTables, requireNameVersion } from './toml-package-tables.ts';
import { normalizePypiName, type LockedPackage } from './package-ref.ts';

const LOCAL_SOURCES = ['editable', 'virtual', 'directory'];

export function parseUvLock(text: string, file: string): ParsedLockfile {
  const packages: LockedPackage[] = [];
  packageTables(text, file).forEach((t, i) => {
    const source = isJsonObject(t.source) ? t.source : {};
    // Local packages may have no version at all (dynamic metadata).
    if (LOCAL_SOURCES.some((k) => k in source)) return;
    const { name, version } = requireNameVersion(t, i, file);
    packages.push({ ecosystem: 'PyPI', name: normalizePypiName(name), version });
  });
  return { packages, notes: [] };
}
