// Pipfile.lock: JSON with `default` and `develop` maps of name -> {version: "==x"}.

import { LockfileError, countedList, isBlank, type ParsedLockfile } from './parsed-lockfile.ts';
import { isJsonObject } from './json-object.ts';
import { normalizePypiName, type LockedPackage } from './package-ref.ts';

export function parsePipfileLock(text: string, file: string): ParsedLockfile {
  if (isBlank(text)) return { packages: [], notes: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new LockfileError(file, `not valid JSON (${(err as Error).message})`);
  }
  if (!isJsonObject(doc)) throw new LockfileError(file, 'expected a JSON object at the top level');
  const packages: LockedPackage[] = [];
  const unpinned: string[] = [];
  for (const section of ['default', 'develop']) {
    const deps = doc[section];
    if (deps === undefined) continue;
    if (!isJsonObject(deps)) throw new LockfileError(file, `'${section}' is not an object`);
    for (const [name, entry] of Object.entries(deps)) {
      if (!isJsonObject(entry))
        throw new LockfileError(file, `${section}[${JSON.stringify(name)}] is not an object`);
      const v = entry.version;
      // git, path, file and editable entries carry no version, or not one from an index.
      if (
        v === undefined ||
        ['git', 'hg', 'svn', 'bzr', 'path', 'file', 'editable'].some((k) => k in entry)
      ) {
        unpinned.push(name);
        continue;
      }
      if (typeof v !== 'string')
        throw new LockfileError(
          file,
          `${section}[${JSON.stringify(name)}].version is not a string`
        );
      const pin = /^===?\s*(\S+)$/.exec(v.trim());
      if (!pin) {
        unpinned.push(`${name}${v}`);
        continue;
      }
      packages.push({ ecosystem: 'PyPI', name: normalizePypiName(name), version: pin[1] });
    }
  }
  const notes =
    unpinned.length > 0
      ? [
          `${unpinned.length} entr(ies) without an exact version from an index (git, path, file or editable) are not auditable: ${countedList(unpinned)}`
        ]
      : [];
  return { packages, notes };
}
