// The embedded engine's allowlist: parsing, matching, and loading it from the
// target branch. It is read at the base commit, never from the branch under
// test, because a branch could otherwise allowlist its own leak; a branch
// that edits it gets a note that the edit applies once it lands.
//
// File format (default path .quality-gates/secrets-allowlist), one entry per
// line; blank lines and lines starting with '#' are ignored ('#' elsewhere is
// part of the entry, since regexes and paths may contain it):
//
//   fingerprint:<16 hex>          a finding's fingerprint, as shown in the report
//   <commit>:<file>:<rule>:<line> a gitleaks-style location key (full sha)
//   path:<glob>                   files never scanned; '*' stays within a path
//                                 segment, '**' crosses them, '?' is one
//                                 character; a leading '**/' also matches at
//                                 the top level (path:**/*.min.js)
//   rule:<rule-id>                a rule that is switched off
//   regex:<pattern>               findings whose matched text contains a match
//                                 of this JavaScript regex are allowed
//                                 (e.g. regex:^sk_live_DOCUMENTATION)
//
// Built in, whatever the file says: AWS's documentation example keys
// (AKIAIOSFODNN7EXAMPLE and friends end in EXAMPLE / EXAMPLEKEY).
// Any malformed line fails the scan with an AllowlistError naming the line.

import { ConfigurationError } from '../../../core/src/errors.ts';
import { globToRegExp } from '../../../core/src/glob.ts';
import { Git, GitError } from '../../../git/src/git.ts';
import { fingerprintOf, locationKey, type SecretFinding } from '../findings.ts';

export const DEFAULT_ALLOWLIST_PATH = '.quality-gates/secrets-allowlist';

export interface Allowlist {
  fingerprints: ReadonlySet<string>;
  locations: ReadonlySet<string>;
  paths: readonly RegExp[];
  rules: ReadonlySet<string>;
  regexes: readonly RegExp[];
}

export const EMPTY_ALLOWLIST: Allowlist = {
  fingerprints: new Set(),
  locations: new Set(),
  paths: [],
  rules: new Set(),
  regexes: []
};

/**
 * A bad allowlist line (line 0: the file as a whole). One line of text; never
 * echoes the entry, since a regex entry may spell out a real value.
 */
export class AllowlistError extends ConfigurationError {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, problem: string) {
    super(file, problem);
    this.name = 'AllowlistError';
    this.file = file;
    this.line = line;
    this.message = `secrets allowlist ${file}${line > 0 ? ` line ${line}` : ''}: ${problem}`;
  }
}

const RULE_ID = /^[a-z0-9][a-z0-9-]*$/;
const LOCATION_KEY = /^([0-9a-f]{40}|[0-9a-f]{64}):(.+):([a-z0-9][a-z0-9-]*):([1-9][0-9]*)$/;

/** Parses allowlist text; `file` names it in errors (e.g. "path at base 1a2b3c4d"). */
export function parseAllowlist(text: string, file: string): Allowlist {
  const fingerprints = new Set<string>();
  const locations = new Set<string>();
  const paths: RegExp[] = [];
  const rules = new Set<string>();
  const regexes: RegExp[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const entry = lines[i].trim();
    if (entry === '' || entry.startsWith('#')) continue;
    const bad = (problem: string): AllowlistError => new AllowlistError(file, i + 1, problem);
    const colon = entry.indexOf(':');
    const kind = colon > 0 ? entry.slice(0, colon) : '';
    const value = entry.slice(colon + 1).trim();
    switch (kind) {
      case 'fingerprint':
        if (!/^[0-9a-f]{16}$/i.test(value)) throw bad('a fingerprint is 16 hexadecimal digits');
        fingerprints.add(value.toLowerCase());
        break;
      case 'path': {
        const glob = value.replace(/^\.\//, '').replace(/^\/+/, '');
        if (glob === '') throw bad('path: needs a glob');
        paths.push(globToRegExp(glob));
        // '**/x' should also match x at the top level.
        if (glob.startsWith('**/')) paths.push(globToRegExp(glob.slice(3)));
        break;
      }
      case 'rule':
        if (!RULE_ID.test(value))
          throw bad('rule: needs a rule id (lower-case letters, digits and dashes)');
        rules.add(value);
        break;
      case 'regex':
        if (value === '') throw bad('regex: needs a pattern');
        try {
          regexes.push(new RegExp(value));
        } catch {
          throw bad('regex: the pattern is not a valid JavaScript regular expression');
        }
        break;
      default: {
        const m = LOCATION_KEY.exec(entry);
        if (!m) {
          throw bad(
            'expected fingerprint:<16 hex>, path:<glob>, rule:<id>, regex:<pattern> or a <commit>:<file>:<rule>:<line> key'
          );
        }
        locations.add(entry);
      }
    }
  }
  return { fingerprints, locations, paths, rules, regexes };
}

export function isPathAllowlisted(list: Allowlist, path: string): boolean {
  return list.paths.some((re) => re.test(path));
}

type Location = Pick<SecretFinding, 'commit' | 'file' | 'ruleId' | 'line'>;

/** Documentation values no scan should report (AWS's published examples). */
export function isBuiltinAllowed(ruleId: string, secret: string): boolean {
  return ruleId.startsWith('aws-') && /EXAMPLE(?:KEY)?$/.test(secret);
}

/**
 * Whether a finding is allowed. `secret` is the matched text: it is only
 * tested here, never stored.
 */
export function isAllowed(list: Allowlist, loc: Location, secret: string): boolean {
  if (isBuiltinAllowed(loc.ruleId, secret)) return true;
  if (list.rules.has(loc.ruleId)) return true;
  if (isPathAllowlisted(list, loc.file)) return true;
  if (list.locations.has(locationKey(loc))) return true;
  if (list.fingerprints.size > 0 && list.fingerprints.has(fingerprintOf(loc))) return true;
  return list.regexes.some((re) => re.test(secret));
}

export interface LoadedAllowlist {
  allowlist: Allowlist;
  /** False when the file does not exist at that commit (an empty allowlist is used). */
  found: boolean;
}

/** Reads and parses the allowlist as it is at `ref` (the target branch's commit). */
export async function loadAllowlist(opts: {
  repoDir: string;
  ref: string;
  path: string;
  timeoutMs: number;
}): Promise<LoadedAllowlist> {
  const path = normaliseRepoPath(opts.path);
  const git = new Git(opts.repoDir, { timeoutMs: opts.timeoutMs });
  const [commit, file] = await git.readObjects(allowlistObjects(opts.ref, path));
  return allowlistFrom(opts.ref, path, commit, file);
}

/** The objects loadAllowlist reads: the commit itself, then the file in it. */
export function allowlistObjects(ref: string, path: string): [string, string] {
  return [`${ref}^{commit}`, `${ref}:${normaliseRepoPath(path)}`];
}

/** The allowlist from the objects allowlistObjects names (as Git.readObjects gives them). */
export function allowlistFrom(
  ref: string,
  path: string,
  commit: { type: string } | undefined,
  file: { type: string; content: Buffer } | undefined
): LoadedAllowlist {
  // The commit must exist: a missing base is an error, not "no allowlist".
  if (!commit)
    throw new GitError(
      `git cat-file failed: ${ref.slice(0, 12)}, the target branch's commit the allowlist is read from, is not a commit of this repository`,
      ['cat-file', '--batch']
    );
  if (!file) return { allowlist: EMPTY_ALLOWLIST, found: false };
  if (file.type !== 'blob') {
    throw new AllowlistError(path, 0, `is a ${file.type} at ${ref.slice(0, 12)}, not a file`);
  }
  const text = file.content.toString('utf8');
  return { allowlist: parseAllowlist(text, `${path} (at ${ref.slice(0, 12)})`), found: true };
}

/** A repository-relative path: no leading './' or '/', no '..' component. */
export function normaliseRepoPath(p: string): string {
  const path = p
    .trim()
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '');
  if (path === '' || path.split('/').some((seg) => seg === '..' || seg === '')) {
    throw new AllowlistError(
      p,
      0,
      'the allowlist path must be a file path relative to the repository root'
    );
  }
  return path;
}
