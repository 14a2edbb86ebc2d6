// Which changed file of the repository each file of a coverage report is.
// Reports name files every which way: relative to the repository or to the
// directory the tool ran in, absolute on this machine or on another one
// (a CI runner's /home/runner/work/x/x/..., a Windows C:\...), relative to a
// Cobertura <source> root, as a JaCoCo package path (com/acme/Foo.java) or
// as a Go import path (github.com/acme/svc/pkg/x.go). The rules, in order:
//
//  1. prefixMap (the user's word): the longest `from` that is a whole-segment
//     prefix is replaced by its `to`; the result must then be a repository
//     path (directly or absolute under the workspace), else nothing.
//  2. The path itself, after fileKey() and lexical `.`/`..` resolution.
//  3. An absolute path under the workspace (as given, or its realpath: the
//     workspace may sit behind a symlink, /tmp vs /private/tmp): the rest of
//     the path, else nothing (it names a file here that did not change).
//  4. Cobertura: each <source> root joined with the path, in the report's
//     order; a root under the workspace or relative to it is rule 2/3.
//  5. Go: a path under a module path of a go.mod is the module's directory
//     plus the rest, else nothing (a file of that module that did not change).
//  6. Suffix, on whole path segments: a relative report path that a changed
//     file's path ends with (com/acme/Foo.java is
//     src/main/java/com/acme/Foo.java), else the longest changed path that
//     the report path ends with (/home/runner/work/x/x/src/a.py is
//     src/a.py). Never a guess: a report path that several files end with,
//     or a changed file several report paths claim equally, maps to nothing
//     and gets a note naming them; a report path that an unchanged file fits
//     as well or better (its literal name, or a longer end of it, is a file
//     of the repository) means that file and maps to nothing. "Files of the
//     repository" are every file at head when the caller knows them
//     (repoFiles, which changedLines() provides), else the changed files
//     plus what is on disk in the workspace. Rules 1-5 take precedence over
//     suffix claims on the same file.
//
// Matching is case-sensitive. One pass over the report paths with Map and Set
// lookups per path segment: O(report paths + changed paths), so tens of
// thousands of report files against thousands of changed files take
// milliseconds; only suffix candidates touch the file system.

import { readdir, readFile } from 'node:fs/promises';
import { realpathSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileKey } from '../formats/file-key.ts';

export interface PathMapOptions {
  /** Absolute path of the checkout. */
  workspace: string;
  /** Cobertura <sources> roots (absolute or relative). */
  sources?: string[];
  /** Each go.mod in the repository: its directory (repo-relative, '' for root) and module path. */
  goModules?: { dir: string; module: string }[];
  /** User input: report prefix -> repository prefix, tried first. */
  prefixMap?: { from: string; to: string }[];
  /**
   * Every file of the repository at head (ChangedLines.repoFiles), changed or
   * not: a suffix match that an unchanged file fits as well is then refused.
   * Without it, the workspace's files on disk stand in for the longer ends
   * of a report path and its literal name only.
   */
  repoFiles?: readonly string[];
}

export interface PathMapping {
  /** Report path -> repository path. */
  map: Map<string, string>;
  /** Report paths matched to nothing in `repoPaths`. */
  unmatched: string[];
  notes: string[];
}

/** At most this many examples per kind of note. */
const NOTE_EXAMPLES = 3;

/** A normalised path: fileKey, lexical `.`/`..` resolution, no trailing slash. */
function norm(p: string): string {
  let k = fileKey(p.trim());
  if (k.includes('..') && /(^|\/)\.\.(\/|$)/.test(k)) {
    const lead = k.startsWith('//') ? '/' : '';
    const n = posix.normalize(k);
    // A relative path that climbs out of its root keeps its leading `..`.
    k = lead + n;
  }
  while (k.length > 1 && k.charCodeAt(k.length - 1) === 47 && !/^[A-Z]:\/$/.test(k))
    k = k.slice(0, -1);
  return k.charCodeAt(0) === 46 && k.startsWith('./') ? k.slice(2) : k;
}

function isAbsoluteKey(k: string): boolean {
  return k.startsWith('/') || /^[A-Z]:\//.test(k);
}

/** `k` below `root` (whole segments): the rest, else undefined. */
function under(k: string, root: string): string | undefined {
  if (root === '' || root === '/')
    return root === '/' && k.startsWith('/') ? k.slice(1) : undefined;
  if (k.length > root.length && k.startsWith(root) && k.charCodeAt(root.length) === 47)
    return k.slice(root.length + 1);
  return undefined;
}

function segments(p: string): number {
  let n = 1;
  for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) n++;
  return n;
}

function isFile(p: string): boolean {
  try {
    return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
}

type Claim = { report: string; repo: string; shared: number };

const AMBIGUOUS = Symbol('ambiguous');

/** Maps each report path to one of repoPaths (the changed files). */
export function mapReportPaths(
  reportPaths: readonly string[],
  repoPaths: readonly string[],
  opts: PathMapOptions
): PathMapping {
  const repo = new Set(repoPaths);
  const roots = workspaceRoots(opts.workspace);
  const prefixes = (opts.prefixMap ?? [])
    .map(({ from, to }) => ({ from: from.trim() === '' ? '' : norm(from), to: norm(to) }))
    .sort((a, b) => b.from.length - a.from.length);
  const sources = (opts.sources ?? []).map(norm).filter((s) => s !== '');
  const modules = (opts.goModules ?? [])
    .map(({ dir, module }) => ({
      dir: dir === '' || dir === '.' ? '' : norm(dir),
      module: module.trim()
    }))
    .filter((m) => m.module !== '')
    .sort((a, b) => b.module.length - a.module.length);

  // File names of the changed paths: a report path whose file name is none of them cannot match by suffix.
  const basenames = new Set<string>();
  for (const p of repo) basenames.add(p.slice(p.lastIndexOf('/') + 1));
  // The files a suffix may fit: every file of the repository when known, else the changed ones.
  let known: ReadonlySet<string> = repo;
  if (opts.repoFiles !== undefined) {
    const all = new Set<string>(repo);
    for (const f of opts.repoFiles) if (basenames.has(f.slice(f.lastIndexOf('/') + 1))) all.add(f);
    known = all;
  }
  // Every proper whole-segment suffix of those files -> the file, or AMBIGUOUS.
  const suffixes = new Map<string, string | typeof AMBIGUOUS>();
  const suffixOwners = new Map<string, string[]>();
  for (const p of known) {
    for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) {
      const s = p.slice(i + 1);
      if (s === '') continue;
      const prev = suffixes.get(s);
      if (prev === undefined) suffixes.set(s, p);
      else {
        if (prev !== AMBIGUOUS) suffixOwners.set(s, [prev]);
        suffixes.set(s, AMBIGUOUS);
        suffixOwners.get(s)!.push(p);
      }
    }
  }

  /** A candidate repository path: directly, or absolute under the workspace. */
  const literal = (k: string): string | null | undefined => {
    if (repo.has(k)) return k;
    if (isAbsoluteKey(k))
      for (const root of roots) {
        const rest = under(k, root);
        if (rest !== undefined) return repo.has(rest) ? rest : null;
      }
    return undefined;
  };

  const map = new Map<string, string>();
  const unmatched: string[] = [];
  const exactClaimed = new Set<string>();
  const claims = new Map<string, Claim[]>();
  const ambiguousReport: string[] = [];
  let ambiguousReportCount = 0;
  const existing = new Map<string, boolean>();
  const seen = new Set<string>();
  const order: string[] = [];

  for (const reportPath of reportPaths) {
    if (seen.has(reportPath)) continue;
    seen.add(reportPath);
    order.push(reportPath);
    const k = norm(reportPath);
    const exact = (target: string): void => {
      map.set(reportPath, target);
      exactClaimed.add(target);
    };
    if (repo.has(k)) {
      // The common case first: the report names the repository path itself.
      if (prefixes.length === 0) {
        exact(k);
        continue;
      }
    }

    // 1. The user's prefix map.
    const prefix = prefixes.find(
      (p) =>
        (p.from === '' && !isAbsoluteKey(k)) ||
        (p.from !== '' && (k === p.from || under(k, p.from) !== undefined))
    );
    if (prefix) {
      const rest =
        prefix.from === '' ? k : k === prefix.from ? '' : (under(k, prefix.from) as string);
      const target = norm(
        prefix.to === '' ? rest : rest === '' ? prefix.to : `${prefix.to}/${rest}`
      );
      const hit = literal(target);
      if (hit) exact(hit);
      continue;
    }

    // 2, 3. The path itself; absolute under the workspace.
    const lit = literal(k);
    if (lit) {
      exact(lit);
      continue;
    }
    if (lit === null) continue;

    // 4. Cobertura source roots. Local ones also say which file of the
    // workspace the path names literally (for the suffix guard below).
    const candidates: string[] = [];
    const alternatives: string[] = isAbsoluteKey(k) || k.startsWith('../') ? [] : [k];
    if (!isAbsoluteKey(k) && sources.length > 0) {
      let found: string | undefined;
      for (const s of sources) {
        const joined = norm(`${s}/${k}`);
        const hit = literal(joined);
        if (hit) {
          found = hit;
          break;
        }
        if (hit === null || !isAbsoluteKey(joined)) {
          const rel = hit === null ? localRel(joined) : joined;
          if (rel !== undefined && !rel.startsWith('../')) alternatives.push(rel);
        } else candidates.push(joined);
      }
      if (found !== undefined) {
        exact(found);
        continue;
      }
    }
    candidates.push(k);

    // 5. Go import paths.
    const mod = isAbsoluteKey(k)
      ? undefined
      : modules.find((m) => under(k, m.module) !== undefined);
    if (mod) {
      const rest = under(k, mod.module) as string;
      const target = mod.dir === '' ? rest : `${mod.dir}/${rest}`;
      if (repo.has(target)) exact(target);
      continue;
    }

    // 6. Suffix on whole segments.
    for (const c of candidates) {
      const claim = suffixClaim(reportPath, c, alternatives);
      if (claim === 'stop') break;
      if (claim) {
        const list = claims.get(claim.repo);
        if (list) list.push(claim);
        else claims.set(claim.repo, [claim]);
        break;
      }
    }
  }

  /** An absolute path under the workspace, relative to it. */
  function localRel(k: string): string | undefined {
    for (const root of roots) {
      const rest = under(k, root);
      if (rest !== undefined) return rest;
    }
    return undefined;
  }

  function suffixClaim(
    reportPath: string,
    k: string,
    alternatives: readonly string[]
  ): Claim | 'stop' | undefined {
    if (!basenames.has(k.slice(k.lastIndexOf('/') + 1))) return undefined;
    // The report path is the end of changed paths (JaCoCo package path, a subdirectory's run).
    if (!isAbsoluteKey(k) && !k.startsWith('../')) {
      const s = suffixes.get(k);
      if (s === AMBIGUOUS) {
        const owners = suffixOwners.get(k) as string[];
        // Only worth a note when a changed file is among them.
        if (owners.some((o) => repo.has(o))) {
          ambiguousReportCount++;
          if (ambiguousReport.length < NOTE_EXAMPLES) {
            const shown = [...owners].sort((a, b) => Number(repo.has(b)) - Number(repo.has(a)));
            ambiguousReport.push(
              `${JSON.stringify(reportPath)} (${shown.slice(0, 3).join(', ')}${owners.length > 3 ? ', ...' : ''})`
            );
          }
        }
        return 'stop';
      }
      if (s !== undefined) {
        // An unchanged file fits: the report path means it.
        if (!repo.has(s)) return 'stop';
        const shared = segments(k);
        if (namesOtherFile(k, shared, alternatives)) return 'stop';
        return { report: reportPath, repo: s, shared };
      }
    }
    // A changed path is the end of the report path (another machine's absolute path, an import path).
    for (let i = k.indexOf('/'); i >= 0; i = k.indexOf('/', i + 1)) {
      const s = k.slice(i + 1);
      if (s === '' || !known.has(s)) continue;
      // The longest end that is a file of the repository decides; an unchanged one means no match.
      if (!repo.has(s)) return 'stop';
      const shared = segments(s);
      if (namesOtherFile(k, shared, alternatives)) return 'stop';
      return { report: reportPath, repo: s, shared };
    }
    return undefined;
  }

  /**
   * Whether the report path rather means another file of the workspace: a
   * longer end of `k` than its last `shared` segments, or one of the paths
   * the report path names literally, is a file here.
   */
  function namesOtherFile(k: string, shared: number, alternatives: readonly string[]): boolean {
    const parts = k.split('/');
    for (let n = shared + 1; n <= parts.length; n++) {
      const first = parts[parts.length - n];
      if (first === '' || first === '..' || /^[A-Z]:$/.test(first)) continue;
      if (existsHere(parts.slice(parts.length - n).join('/'))) return true;
    }
    return alternatives.some(existsHere);
  }

  function existsHere(rel: string): boolean {
    // Every candidate ends in a changed file's name, so `known` holds it if the repository does.
    if (opts.repoFiles !== undefined) return known.has(rel);
    let found = existing.get(rel);
    if (found === undefined) {
      found = roots.some((root) => isFile(join(root, rel)));
      existing.set(rel, found);
    }
    return found;
  }

  // Suffix claims: none on a file that rules 1-5 gave; the longest shared end wins; ties map nothing.
  const ambiguousRepo: string[] = [];
  let ambiguousRepoCount = 0;
  for (const [target, list] of claims) {
    if (exactClaimed.has(target)) continue;
    const best = Math.max(...list.map((c) => c.shared));
    const top = list.filter((c) => c.shared === best);
    if (top.length === 1) {
      map.set(top[0].report, target);
      continue;
    }
    ambiguousRepoCount++;
    if (ambiguousRepo.length < NOTE_EXAMPLES)
      ambiguousRepo.push(
        `${JSON.stringify(target)} (${top
          .slice(0, 3)
          .map((c) => JSON.stringify(c.report))
          .join(', ')}${top.length > 3 ? ', ...' : ''})`
      );
  }

  for (const p of order) if (!map.has(p)) unmatched.push(p);

  const notes: string[] = [];
  if (ambiguousReportCount > 0)
    notes.push(
      `${ambiguousReportCount} report path${ambiguousReportCount === 1 ? '' : 's'} could be more than one file of the repository and ${ambiguousReportCount === 1 ? 'was' : 'were'} not matched: ${ambiguousReport.join('; ')}${ambiguousReportCount > NOTE_EXAMPLES ? '; ...' : ''} (a path prefix map settles it)`
    );
  if (ambiguousRepoCount > 0)
    notes.push(
      `${ambiguousRepoCount} changed file${ambiguousRepoCount === 1 ? '' : 's'} matched several report paths equally and ${ambiguousRepoCount === 1 ? 'was' : 'were'} not matched: ${ambiguousRepo.join('; ')}${ambiguousRepoCount > NOTE_EXAMPLES ? '; ...' : ''} (a path prefix map settles it)`
    );
  return { map, unmatched, notes };
}

/**
 * The workspace as given and as its realpath, normalised, without
 * duplicates; on macOS /private/tmp and /private/var are also reached as
 * /tmp and /var, so a realpath there gets its short form too.
 */
function workspaceRoots(workspace: string): string[] {
  const roots = [norm(workspace)];
  try {
    const real = norm(realpathSync(workspace));
    roots.push(real);
    if (/^\/private\/(tmp|var|etc)\//.test(real)) roots.push(real.slice('/private'.length));
  } catch {
    // A workspace that does not exist (a test, or a report read elsewhere): as given.
  }
  return [...new Set(roots)].filter((r) => r !== '' && r !== '/');
}

/** Directories a Go build never looks into for packages, nor we for modules. */
const SKIP_DIRS = new Set(['.git', 'node_modules', 'vendor', 'testdata']);
/** The walk stops after this many directories (a runaway tree). */
const MAX_DIRS = 100_000;

/** Reads go.mod files of the repository at `workspace` (module lines), for goModules. */
export async function findGoModules(workspace: string): Promise<{ dir: string; module: string }[]> {
  const found: { dir: string; module: string }[] = [];
  const queue: string[] = [''];
  for (let at = 0; at < queue.length && at < MAX_DIRS; at++) {
    const rel = queue[at];
    let entries;
    try {
      entries = await readdir(join(workspace, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        // Go ignores directories starting with '.' or '_' and testdata.
        if (SKIP_DIRS.has(e.name) || e.name.startsWith('.') || e.name.startsWith('_')) continue;
        queue.push(childRel);
      } else if (e.isFile() && e.name === 'go.mod') {
        let text: string;
        try {
          text = await readFile(join(workspace, childRel), 'utf8');
        } catch {
          continue;
        }
        const module = goModulePath(text);
        if (module !== undefined) found.push({ dir: rel, module });
      }
    }
  }
  return found.sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
}

/** The module path a go.mod declares (`module x`, `module "x"`, comments allowed). */
export function goModulePath(text: string): string | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    const m = /^module\s+(?:"([^"]+)"|`([^`]+)`|(\S+))$/.exec(line);
    if (m) return m[1] ?? m[2] ?? m[3];
  }
  return undefined;
}
