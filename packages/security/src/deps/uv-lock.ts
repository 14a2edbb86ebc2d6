// uv.lock: TOML [[package]] tables. A package from a registry is audited; the
// project itself and local sources (editable, virtual, directory) are not
// index packages and are skipped; git, URL and path sources are not PyPI
// releases and are counted in a note.

import { Exclusions, isBlank, type ParsedLockfile } from './parsed-lockfile.ts';
import { isJsonObject } from './json-object.ts';
import { packageTables, requireNameVersion } from './toml-package-tables.ts';
import { normalizePypiName, type LockedPackage } from './package-ref.ts';

const LOCAL_SOURCES = ['editable', 'virtual', 'directory'];
const NOT_AN_INDEX: Record<string, string> = { git: 'git', url: 'URL', path: 'local file' };

export function parseUvLock(text: string, file: string): ParsedLockfile {
  if (isBlank(text, /^\s*#/)) return { packages: [], notes: [] };
  const packages: LockedPackage[] = [];
  const excluded = new Exclusions();
  packageTables(text, file).forEach((t, i) => {
    const source = isJsonObject(t.source) ? t.source : {};
    // Local packages may have no version at all (dynamic metadata).
    if (LOCAL_SOURCES.some((k) => k in source)) return;
    const { name, version } = requireNameVersion(t, i, file);
    const other = Object.keys(NOT_AN_INDEX).find((k) => k in source);
    if (other) {
      excluded.add(NOT_AN_INDEX[other], `${name}@${version}`);
      return;
    }
    packages.push({ ecosystem: 'PyPI', name: normalizePypiName(name), version });
  });
  return { packages, notes: excluded.note('package(s) not from an index') };
}
