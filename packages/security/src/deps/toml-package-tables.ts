// The [[package]] array that TOML lockfiles (poetry.lock, uv.lock) share,
// read with its defects reported against the file.

import { parse as parseToml } from 'smol-toml';
import { LockfileError } from './parsed-lockfile.ts';
import { isJsonObject } from './json-object.ts';

export function packageTables(text: string, file: string): Record<string, unknown>[] {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text.replace(/^\uFEFF/, '')) as Record<string, unknown>;
  } catch (err) {
    throw new LockfileError(file, `not valid TOML (${(err as Error).message})`);
  }
  const list = doc.package;
  if (list === undefined) return [];
  if (!Array.isArray(list))
    throw new LockfileError(file, "'package' is not an array of tables ([[package]])");
  return list.map((t, i) => {
    if (!isJsonObject(t)) throw new LockfileError(file, `package #${i + 1} is not a table`);
    return t;
  });
}

export function requireNameVersion(
  t: Record<string, unknown>,
  i: number,
  file: string
): { name: string; version: string } {
  if (typeof t.name !== 'string' || t.name === '')
    throw new LockfileError(file, `package #${i + 1} has no name`);
  if (typeof t.version !== 'string' || t.version === '') {
    throw new LockfileError(file, `package #${i + 1} (${t.name}) has no version`);
  }
  return { name: t.name, version: t.version };
}
