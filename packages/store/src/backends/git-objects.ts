// Loose objects of a private git repository read and written directly, so
// the git-ref backend spends no process on what is a hash, a zlib stream and
// a file: the fetch of one state commit leaves its commit, tree and blob as
// loose objects (fewer than fetch.unpackLimit), and the commit it pushes is
// written here as three loose objects that `git push` packs. Only for the
// backend's own temporary repository, never a workspace: nothing else writes
// there, and an object that is not loose (a deeper fetch kept as a pack) is
// read by the caller with git instead (readLoose answers undefined).

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';

export type ObjectFormat = 'sha1' | 'sha256';
export type ObjectType = 'blob' | 'tree' | 'commit' | 'tag';

/** The id of an object of `type` with `body`, as git computes it. */
export function objectId(format: ObjectFormat, type: ObjectType, body: Uint8Array): string {
  return createHash(format).update(header(type, body)).update(body).digest('hex');
}

function header(type: ObjectType, body: Uint8Array): Buffer {
  return Buffer.from(`${type} ${body.length}\0`, 'latin1');
}

function objectPath(gitDir: string, id: string): string {
  return join(gitDir, 'objects', id.slice(0, 2), id.slice(2));
}

/**
 * A loose object's type and body; undefined when it is not a loose object
 * here. Throws when the file is there but is not the object its name says.
 */
export function readLoose(
  gitDir: string,
  format: ObjectFormat,
  id: string
): { type: ObjectType; body: Buffer } | undefined {
  let raw: Buffer;
  try {
    raw = readFileSync(objectPath(gitDir, id));
  } catch {
    return undefined;
  }
  const data = inflateSync(raw);
  const nul = data.indexOf(0);
  const m = /^(blob|tree|commit|tag) (\d+)$/.exec(data.subarray(0, nul).toString('latin1'));
  const body = data.subarray(nul + 1);
  if (!m || Number(m[2]) !== body.length)
    throw new Error(`git object ${id} is damaged (its header does not match its contents)`);
  const type = m[1] as ObjectType;
  if (objectId(format, type, body) !== id)
    throw new Error(`git object ${id} is damaged (its contents hash to another id)`);
  return { type, body };
}

/** Writes a loose object (level-1 zlib: the push compresses it again) and returns its id. */
export function writeLoose(
  gitDir: string,
  format: ObjectFormat,
  type: ObjectType,
  body: Uint8Array
): string {
  const id = objectId(format, type, body);
  const path = objectPath(gitDir, id);
  mkdirSync(join(gitDir, 'objects', id.slice(0, 2)), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, deflateSync(Buffer.concat([header(type, body), body]), { level: 1 }), {
    mode: 0o444
  });
  renameSync(tmp, path);
  return id;
}

export interface TreeEntry {
  mode: string;
  name: string;
  id: string;
}

/** The entries of a tree object's body. */
export function parseTree(body: Buffer, format: ObjectFormat): TreeEntry[] {
  const idLength = format === 'sha1' ? 20 : 32;
  const out: TreeEntry[] = [];
  let i = 0;
  while (i < body.length) {
    const space = body.indexOf(0x20, i);
    const nul = body.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 1 + idLength > body.length)
      throw new Error('a git tree object is damaged');
    out.push({
      mode: body.subarray(i, space).toString('latin1'),
      name: body.subarray(space + 1, nul).toString('utf8'),
      id: body.subarray(nul + 1, nul + 1 + idLength).toString('hex')
    });
    i = nul + 1 + idLength;
  }
  return out;
}

/** The body of a tree holding one regular file. */
export function oneFileTree(name: string, blob: string): Buffer {
  return Buffer.concat([Buffer.from(`100644 ${name}\0`, 'utf8'), Buffer.from(blob, 'hex')]);
}

export interface CommitInput {
  tree: string;
  parents: readonly string[];
  /** `Name <email>` */
  author: string;
  committer: string;
  /** Seconds since the epoch. */
  time: number;
  /** Paragraphs, joined by blank lines as `git commit-tree -m a -m b` joins them. */
  paragraphs: readonly string[];
}

/** The body of a commit object, byte for byte what `git commit-tree` writes (UTC, no signature). */
export function commitBody(c: CommitInput): Buffer {
  const lines = [
    `tree ${c.tree}`,
    ...c.parents.map((p) => `parent ${p}`),
    `author ${c.author} ${c.time} +0000`,
    `committer ${c.committer} ${c.time} +0000`,
    '',
    c.paragraphs.map((p) => p.replace(/\n+$/, '')).join('\n\n')
  ];
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}
