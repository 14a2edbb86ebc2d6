// poetry.lock: TOML whose [[package]] tables carry the resolved name/version.
// A package from an index (PyPI or a `legacy` source) is audited; one from
// git, a URL, a file or a directory is not a PyPI release and is counted in a
// note (a directory is usually the project's own code).

import { Exclusions, isBlank, type ParsedLockfile } from './parsed-lockfile.ts';
import { isJsonObject } from './json-object.ts';
import { packageTables, requireNameVersion } from './toml-package-tables.ts';
import { normalizePypiName, type LockedPackage } from './package-ref.ts';

const NOT_AN_INDEX: Record<string, string> = {
  git: 'git',
  hg: 'VCS',
  url: 'URL',
  file: 'local file or directory',
  directory: 'local file or directory'
};

export function parsePoetryLock(text: string, file: string): ParsedLockfile {
  if (isBlank(text, /^\s*#/)) return { packages: [], notes: [] };
  const packages: LockedPackage[] = [];
  const excluded = new Exclusions();
  packageTables(text, file).forEach((t, i) => {
    const { name, version } = requireNameVersion(t, i, file);
    const type = isJsonObject(t.source) && typeof t.source.type === 'string' ? t.source.type : '';
    if (Object.hasOwn(NOT_AN_INDEX, type)) {
      excluded.add(NOT_AN_INDEX[type], `${name}@${version}`);
      return;
    }
    packages.push({ ecosystem: 'PyPI', name: normalizePypiName(name), version });
  });
  return { packages, notes: excluded.note('package(s) not from an index') };
}
