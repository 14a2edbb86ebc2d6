// requirements*.txt read as pip reads it (pip's req_file.py):
//  1. lines split as Python's str.splitlines, a UTF-8 BOM dropped;
//  2. a line ending in '\' joined with the next, as written (backslashes cut
//     off, no space added). A whole-line comment is never continued and ends
//     a join in progress; a backslash ending a comment after a requirement
//     still joins the next line, which step 3 then strips with the comment;
//  3. comments stripped ('#' at the start or after whitespace), blank lines dropped;
//  4. `${NAME}` (NAME of A-Z, 0-9, _) replaced from the environment; an unset
//     or empty variable is left as written;
//  5. each line cut at the first space-separated token starting with '-': the
//     part before is the requirement, the rest pip's options (shlex-split).
// A line with a requirement takes only per-requirement options (--hash,
// -C/--config-settings, --global-option); a line without one may carry file
// options: -r/--requirement and -c/--constraint (an included file, followed
// when the caller loaded it: loadRequirementIncludes), -e/--editable (not
// auditable), and index, find-links and format options (skipped).
//
// Audited: requirements pinned to one version (== without a wildcard, ===),
// directly or by a constraint. As in pip, a constraints file installs
// nothing: its pins apply to packages that a requirement names. Environment
// markers are kept (the audit covers every platform). URL, path, VCS and
// editable requirements and unpinned ones are not auditable and are counted
// in notes; so are lines pip would refuse, which are skipped.

import { valid as pep440Valid } from '@renovatebot/pep440';
import {
  LockfileError,
  countedList,
  type ParseOptions,
  type ParsedLockfile
} from './parsed-lockfile.ts';
import { normalizePypiName, type LockedPackage } from './package-ref.ts';

/** How deep -r/-c includes are followed, and how many files at most. */
export const MAX_INCLUDE_DEPTH = 8;
export const MAX_INCLUDED_FILES = 64;
/** Total text read through includes, in UTF-16 code units. */
export const MAX_INCLUDED_CHARS = 16 * 1024 * 1024;

const COMMENT_RE = /(^|\s+)#.*$/;
const ENV_VAR_RE = /\$\{([A-Z0-9_]+)\}/g;
const NAME_RE = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)/;
const SPEC_RE = /^(~=|===|==|!=|<=|>=|<|>)\s*(\S+?)\s*$/;
const ARCHIVE_RE = /\.(whl|tar\.gz|tgz|tar|tar\.bz2|tbz|tar\.xz|txz|tlz|tar\.lz|tar\.lzma|zip)$/i;
const URL_SCHEME_RE = /^(https?|file|ftp|(git|hg|svn|bzr)(\+[a-z]+)?):/i;
const INCLUDE_SCHEME_RE = /^(http|https|file):/i;

interface LogicalLine {
  /** 1-based number of the physical line the logical line starts on. */
  line: number;
  /** After joining and comment stripping, before variable expansion: what notes show. */
  raw: string;
  /** As pip parses it: variables expanded. */
  text: string;
}

// ---------------------------------------------------------------- reading lines

const SPLITLINES = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

function preprocess(
  text: string,
  at: string,
  env: NodeJS.ProcessEnv,
  notes: string[]
): LogicalLine[] {
  const physical = text.replace(/^\uFEFF/, '').split(SPLITLINES);
  if (physical.length > 0 && physical[physical.length - 1] === '') physical.pop();
  // join_lines
  const joined: { line: number; text: string; parts: string[] }[] = [];
  let pending: { line: number; parts: string[] } | undefined;
  physical.forEach((l, i) => {
    const isComment = /^\s*#/.test(l);
    if (!l.endsWith('\\') || isComment) {
      const part = isComment ? ` ${l}` : l;
      if (pending) {
        pending.parts.push(part);
        joined.push({ line: pending.line, text: pending.parts.join(''), parts: pending.parts });
        pending = undefined;
      } else joined.push({ line: i + 1, text: part, parts: [part] });
    } else {
      pending ??= { line: i + 1, parts: [] };
      pending.parts.push(stripBackslashes(l));
    }
  });
  if (pending)
    joined.push({ line: pending.line, text: pending.parts.join(''), parts: pending.parts });
  const out: LogicalLine[] = [];
  for (const j of joined) {
    const m = COMMENT_RE.exec(j.text);
    if (m && j.parts.length > 1) {
      // Did the comment swallow text from a following physical line?
      const commentStart = m.index + m[1].length;
      let offset = 0;
      for (let k = 0; k < j.parts.length; k++) {
        const end = offset + j.parts[k].length;
        if (commentStart < end && k < j.parts.length - 1) {
          const swallowed = j.parts
            .slice(k + 1)
            .join('')
            .trim();
          if (swallowed !== '' && !/^#/.test(swallowed))
            notes.push(
              `${at}line ${j.line}: the backslash ending a comment joins the next line into it, so pip ignores ${JSON.stringify(clip(swallowed))}`
            );
          break;
        }
        offset = end;
      }
    }
    const raw = j.text.replace(COMMENT_RE, '').trim();
    if (raw === '') continue;
    const unset = new Set<string>();
    const text = raw.replace(ENV_VAR_RE, (whole, name: string) => {
      const value = env[name];
      if (value === undefined || value === '') {
        unset.add(name);
        return whole;
      }
      return value;
    });
    for (const name of unset)
      notes.push(
        `${at}line ${j.line}: \${${name}} is not set, so it stays as written (pip expands it from the environment)`
      );
    out.push({ line: j.line, raw, text });
  }
  return out;
}

/** Python's str.strip("\\"): backslashes off both ends. */
function stripBackslashes(s: string): string {
  return s.replace(/^\\+|\\+$/g, '');
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 59)}…` : s;
}

// ---------------------------------------------------------------- options

type OptionKind = 'value' | 'flag';
interface OptionSpec {
  dest: string;
  kind: OptionKind;
  short?: string;
}

/** pip's SUPPORTED_OPTIONS and SUPPORTED_OPTIONS_REQ, long name -> spec. */
const OPTIONS: Record<string, OptionSpec> = {
  '--index-url': { dest: 'index_url', kind: 'value', short: '-i' },
  '--pypi-url': { dest: 'index_url', kind: 'value' },
  '--extra-index-url': { dest: 'extra_index_urls', kind: 'value' },
  '--no-index': { dest: 'no_index', kind: 'flag' },
  '--constraint': { dest: 'constraints', kind: 'value', short: '-c' },
  '--requirement': { dest: 'requirements', kind: 'value', short: '-r' },
  '--editable': { dest: 'editables', kind: 'value', short: '-e' },
  '--find-links': { dest: 'find_links', kind: 'value', short: '-f' },
  '--no-binary': { dest: 'format_control', kind: 'value' },
  '--only-binary': { dest: 'format_control', kind: 'value' },
  '--prefer-binary': { dest: 'prefer_binary', kind: 'flag' },
  '--require-hashes': { dest: 'require_hashes', kind: 'flag' },
  '--pre': { dest: 'pre', kind: 'flag' },
  '--trusted-host': { dest: 'trusted_hosts', kind: 'value' },
  '--use-feature': { dest: 'features_enabled', kind: 'value' },
  '--global-option': { dest: 'global_options', kind: 'value' },
  '--hash': { dest: 'hashes', kind: 'value' },
  '--config-settings': { dest: 'config_settings', kind: 'value', short: '-C' }
};
const SHORT: Record<string, string> = Object.fromEntries(
  Object.entries(OPTIONS)
    .filter(([, o]) => o.short)
    .map(([long, o]) => [o.short!, long])
);

type Options = Map<string, string[]>;

/** optparse over shlex.split(options): dest -> values, or the reason pip would refuse it. */
function parseOptions(optionText: string): Options | { error: string } {
  const tokens = shlexSplit(optionText);
  if (tokens === undefined)
    return { error: `cannot split the options ${JSON.stringify(clip(optionText))}` };
  const opts: Options = new Map();
  const add = (dest: string, v: string): void => {
    opts.set(dest, [...(opts.get(dest) ?? []), v]);
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === '--') break; // the rest is positional
    if (t.startsWith('--')) {
      const eq = t.indexOf('=');
      const given = eq < 0 ? t : t.slice(0, eq);
      const long = matchLong(given);
      if (typeof long !== 'string') return long;
      const spec = OPTIONS[long];
      if (spec.kind === 'flag') {
        if (eq >= 0) return { error: `option ${long} takes no value` };
        add(spec.dest, '');
      } else if (eq >= 0) add(spec.dest, t.slice(eq + 1));
      else if (i + 1 < tokens.length) add(spec.dest, tokens[++i]);
      else return { error: `option ${long} requires a value` };
    } else if (t.startsWith('-') && t.length > 1) {
      const long = SHORT[t.slice(0, 2)];
      if (!long) return { error: `no such option: ${t.slice(0, 2)}` };
      const spec = OPTIONS[long];
      if (t.length > 2) add(spec.dest, t.slice(2));
      else if (i + 1 < tokens.length) add(spec.dest, tokens[++i]);
      else return { error: `option ${t} requires a value` };
    }
    // Positional leftovers are ignored, as pip ignores them.
  }
  return opts;
}

/** optparse's long-option matching: exact, else a unique prefix. */
function matchLong(given: string): string | { error: string } {
  if (Object.hasOwn(OPTIONS, given)) return given;
  const candidates = Object.keys(OPTIONS).filter((o) => o.startsWith(given));
  if (candidates.length === 1) return candidates[0];
  if (candidates.length === 0) return { error: `no such option: ${given}` };
  return { error: `ambiguous option: ${given} (${candidates.join(', ')})` };
}

/** Python's shlex.split (POSIX mode, no comments); undefined on an unclosed quote. */
function shlexSplit(s: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  let inToken = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (/\s/.test(c)) {
      if (inToken) out.push(cur);
      cur = '';
      inToken = false;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return undefined;
      cur += s.slice(i + 1, end);
      i = end;
      inToken = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === '\\' && j + 1 < s.length && '\\"$`\n'.includes(s[j + 1])) j++;
        cur += s[j];
      }
      if (j >= s.length) return undefined;
      i = j;
      inToken = true;
    } else if (c === '\\') {
      if (i + 1 >= s.length) return undefined;
      cur += s[++i];
      inToken = true;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (inToken) out.push(cur);
  return out;
}

/** pip's break_args_options: the requirement is every token before the first starting with '-'. */
function breakArgsOptions(line: string): { args: string; options: string } {
  const tokens = line.split(' ');
  const first = tokens.findIndex((t) => t.startsWith('-'));
  if (first < 0) return { args: line, options: '' };
  return { args: tokens.slice(0, first).join(' '), options: tokens.slice(first).join(' ') };
}

// ---------------------------------------------------------------- includes

export type IncludeTarget = { path: string } | { refused: string };

/**
 * Where `-r`/`-c` TARGET in the repository file FROM points: resolved from
 * FROM's directory and normalised, as pip joins it; never outside the
 * repository (absolute paths, '..' above the root and URLs are refused).
 */
export function resolveInclude(from: string, target: string): IncludeTarget {
  if (INCLUDE_SCHEME_RE.test(target)) return { refused: 'a URL' };
  // (pip does not expand '~': `~/x.txt` is a folder named '~', followed.)
  if (target.startsWith('/') || target.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(target))
    return { refused: 'an absolute path, outside the repository' };
  const dir = from.includes('/') ? from.slice(0, from.lastIndexOf('/')) : '';
  const parts: string[] = [];
  for (const seg of `${dir}/${target}`.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return { refused: 'outside the repository' };
      parts.pop();
    } else parts.push(seg);
  }
  if (parts.length === 0) return { refused: 'not a file' };
  return { path: parts.join('/') };
}

interface IncludeDirective {
  line: number;
  raw: string;
  target: string;
  constraint: boolean;
}

/** The -r/-c lines of a file, in order, as pip picks them (-r before -c on one line). */
function includeDirectives(lines: LogicalLine[]): IncludeDirective[] {
  const out: IncludeDirective[] = [];
  for (const l of lines) {
    const { args, options } = breakArgsOptions(l.text);
    if (args.trim() !== '' || options === '') continue;
    const opts = parseOptions(options);
    if ('error' in opts) continue;
    const req = opts.get('requirements');
    const con = opts.get('constraints');
    if (req) out.push({ line: l.line, raw: l.raw, target: req[0], constraint: false });
    else if (con) out.push({ line: l.line, raw: l.raw, target: con[0], constraint: true });
  }
  return out;
}

/**
 * Reads every file that the requirements file at PATH (repository-relative,
 * text TEXT) includes with -r/-c, transitively, through READ (undefined: no
 * such file). Follows what pip follows, within the repository only, depth-
 * and count-bounded, each file once (cycles end there). The map goes to
 * parseRequirementsTxt as opts.includes, which notes what was not followed.
 * Pass the same opts.env as to the parser: a `${VAR}` in an include path is
 * expanded first, as pip does.
 */
export async function loadRequirementIncludes(
  path: string,
  text: string,
  read: (repoPath: string) => Promise<string | undefined>,
  opts: { env?: NodeJS.ProcessEnv } = {}
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let chars = 0;
  const visit = async (file: string, body: string, depth: number): Promise<void> => {
    for (const inc of includeDirectives(preprocess(body, '', opts.env ?? {}, []))) {
      const target = resolveInclude(file, inc.target);
      if (!('path' in target)) continue;
      if (target.path === path || out.has(target.path)) continue;
      if (depth + 1 > MAX_INCLUDE_DEPTH || out.size >= MAX_INCLUDED_FILES) continue;
      const t = await read(target.path);
      if (t === undefined || chars + t.length > MAX_INCLUDED_CHARS) continue;
      chars += t.length;
      out.set(target.path, t);
      await visit(target.path, t, depth + 1);
    }
  };
  await visit(path, text, 0);
  return out;
}

// ---------------------------------------------------------------- requirements

interface Requirement {
  name: string;
  /** The exact version its own specifiers pin, if any. */
  pin?: string;
  display: string;
  where: string;
}

type Unauditable = { why: 'url' | 'editable'; display: string };

/** A requirement string (pip's args) read as pip's install_req_from_line would. */
function readRequirement(
  args: string,
  display: string
): { req: Omit<Requirement, 'where' | 'display'> } | Unauditable | { error: string } {
  const s = args.trim();
  const urlLike = URL_SCHEME_RE.test(s);
  // Markers follow ';' ('; ' after a URL, which may itself hold ';').
  const sep = urlLike ? s.indexOf('; ') : s.indexOf(';');
  const spec = (sep < 0 ? s : s.slice(0, sep)).trim();
  if (urlLike) return { why: 'url', display };
  const withoutExtras = spec.replace(/\[[^\]]*\]\s*$/, '').replace(/\[[^\]]*\]/, '');
  if (
    /[/\\]/.test(spec.split(/[\s;@<>=!~(]/)[0]) ||
    spec.startsWith('.') ||
    ARCHIVE_RE.test(withoutExtras.split(/\s/)[0])
  )
    return { why: 'url', display };
  const m = NAME_RE.exec(spec);
  if (!m) return { error: 'not a requirement' };
  let rest = spec.slice(m[0].length).trim();
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return { error: 'unclosed extras' };
    const extras = rest.slice(1, close).trim();
    if (extras !== '' && !/^[A-Za-z0-9][\w.-]*(\s*,\s*[A-Za-z0-9][\w.-]*)*$/.test(extras))
      return { error: `invalid extras [${extras}]` };
    rest = rest.slice(close + 1).trim();
  }
  if (rest.startsWith('@')) return { why: 'url', display }; // PEP 508: name @ url
  if (rest.startsWith('(') && rest.endsWith(')')) rest = rest.slice(1, -1).trim();
  if (rest === '') return { req: { name: m[1] } };
  let pin: string | undefined;
  for (const part of rest.split(',')) {
    const sm = SPEC_RE.exec(part.trim());
    if (!sm) return { error: `invalid version specifier ${JSON.stringify(part.trim())}` };
    const [, op, version] = sm;
    if (op === '===') {
      pin ??= version; // arbitrary equality: a string compare, any text
      continue;
    }
    const wildcard = version.endsWith('.*');
    if (wildcard && op !== '==' && op !== '!=')
      return { error: `${op} does not take a wildcard version` };
    const v = wildcard ? version.slice(0, -2) : version;
    if (pep440Valid(v) === null)
      return { error: `${JSON.stringify(version)} is not a PEP 440 version` };
    if (op === '==' && !wildcard) pin ??= version;
  }
  return { req: { name: m[1], pin } };
}

interface Walk {
  includes?: Map<string, string>;
  env: NodeJS.ProcessEnv;
  notes: string[];
  requirements: Requirement[];
  constraints: Requirement[];
  unauditable: Unauditable[];
  refused: string[];
  stack: string[];
  seen: Set<string>;
  included: number;
  chars: number;
}

function walkFile(
  w: Walk,
  file: string,
  text: string,
  depth: number,
  constraint: boolean,
  root: string
): void {
  const at = file === root ? '' : `${file} `;
  for (const l of preprocess(text, at, w.env, w.notes)) {
    const where = `${at}line ${l.line}`;
    // What a variable expanded to is never shown: messages about a line that
    // had one quote the line as written.
    const expanded = l.text !== l.raw;
    const { args, options } = breakArgsOptions(l.text);
    const written = breakArgsOptions(l.raw);
    if (args.trim() !== '') {
      // Options on a requirement line are per-requirement (--hash, -C, ...) or ignored.
      const display = written.args.trim() || l.raw;
      const r = readRequirement(args, display);
      if ('error' in r)
        w.refused.push(
          `${where}: ${expanded ? 'not a requirement once its variables are expanded' : r.error} in ${JSON.stringify(clip(display))}`
        );
      else if ('why' in r) {
        if (!constraint) w.unauditable.push(r);
      } else (constraint ? w.constraints : w.requirements).push({ ...r.req, display, where });
      continue;
    }
    const opts = parseOptions(options);
    if ('error' in opts) {
      w.refused.push(`${where}: ${expanded ? 'options pip would refuse' : opts.error}`);
      continue;
    }
    const req = opts.get('requirements')?.[0];
    const con = opts.get('constraints')?.[0];
    if (req !== undefined || con !== undefined) {
      const asWritten = parseOptions(written.options);
      const writtenTarget =
        'error' in asWritten
          ? undefined
          : (asWritten.get(req !== undefined ? 'requirements' : 'constraints')?.[0] ?? undefined);
      followInclude(w, {
        file,
        where,
        target: (req ?? con)!,
        shown: expanded ? (writtenTarget ?? '(a path from variables)') : (req ?? con)!,
        constraint: req === undefined,
        depth,
        root
      });
      continue;
    }
    const editable = opts.get('editables')?.[0];
    if (editable !== undefined && !constraint)
      w.unauditable.push({
        why: 'editable',
        display: `-e ${written.options.replace(/^(-e|--editable)[=\s]*/, '')}`
      });
    // Index, find-links, format and hash-mode options name no package.
  }
}

interface Include {
  file: string;
  where: string;
  target: string;
  /** The target as the file writes it, for messages. */
  shown: string;
  constraint: boolean;
  depth: number;
  root: string;
}

function followInclude(w: Walk, inc: Include): void {
  const { file, where, target, shown, constraint, depth, root } = inc;
  const what = `${constraint ? 'constraints' : 'requirements'} file`;
  const flag = constraint ? '-c' : '-r';
  if (w.includes === undefined) {
    w.notes.push(
      `${where}: ${what} ${shown} (${flag}) is not followed; it is audited only if it is itself a changed lockfile`
    );
    return;
  }
  const t = resolveInclude(file, target);
  const name = shown === target && 'path' in t ? t.path : shown;
  if ('refused' in t) {
    w.notes.push(`${where}: ${what} ${shown} (${flag}) is not followed: ${t.refused}`);
    return;
  }
  if (w.stack.includes(t.path)) {
    w.notes.push(
      `${where}: ${what} ${name} (${flag}) is already being read (${w.stack.join(' -> ')}); a cycle, read once`
    );
    return;
  }
  if (w.seen.has(t.path)) return; // already read through another include
  if (depth + 1 > MAX_INCLUDE_DEPTH) {
    w.notes.push(
      `${where}: ${what} ${name} (${flag}) is not followed: includes nest deeper than ${MAX_INCLUDE_DEPTH}`
    );
    return;
  }
  if (w.included >= MAX_INCLUDED_FILES) {
    w.notes.push(
      `${where}: ${what} ${name} (${flag}) is not followed: more than ${MAX_INCLUDED_FILES} included files`
    );
    return;
  }
  const body = w.includes.get(t.path);
  if (body === undefined || w.chars + body.length > MAX_INCLUDED_CHARS) {
    w.notes.push(
      `${where}: ${what} ${name} (${flag}) was not found in the repository (or is past the size bound); its packages are not audited`
    );
    return;
  }
  w.seen.add(t.path);
  w.included++;
  w.chars += body.length;
  w.stack.push(t.path);
  walkFile(w, t.path, body, depth + 1, constraint, root);
  w.stack.pop();
}

export function parseRequirementsTxt(
  text: string,
  file: string,
  opts: ParseOptions = {}
): ParsedLockfile {
  if (text.includes('\0'))
    throw new LockfileError(file, 'contains NUL bytes; not a text requirements file');
  const w: Walk = {
    includes: opts.includes,
    env: opts.env ?? {},
    notes: [],
    requirements: [],
    constraints: [],
    unauditable: [],
    refused: [],
    stack: [file],
    seen: new Set([file]),
    included: 0,
    chars: 0
  };
  walkFile(w, file, text, 0, false, file);

  // Constraints pin what the requirements leave open (pip installs the
  // constrained version of a package a requirement names).
  const pinnedBy = new Map<string, Requirement>();
  for (const c of w.constraints) {
    const key = normalizePypiName(c.name);
    if (c.pin !== undefined && !pinnedBy.has(key)) pinnedBy.set(key, c);
  }
  const packages: LockedPackage[] = [];
  const unpinned: string[] = [];
  const seen = new Set<string>();
  for (const r of w.requirements) {
    const name = normalizePypiName(r.name);
    const constraint = pinnedBy.get(name);
    const version = r.pin ?? constraint?.pin;
    if (r.pin !== undefined && constraint?.pin !== undefined && constraint.pin !== r.pin)
      w.notes.push(
        `${r.where}: ${r.display} conflicts with the constraint ${constraint.display} (${constraint.where}); pip would refuse to install`
      );
    if (version === undefined) {
      unpinned.push(r.display);
      continue;
    }
    if (seen.has(`${name}@${version}`)) continue;
    seen.add(`${name}@${version}`);
    packages.push({ ecosystem: 'PyPI', name, version });
  }
  const notes = w.notes;
  if (w.refused.length > 0)
    notes.push(
      `${w.refused.length} line(s) that pip would refuse are skipped: ${countedList(w.refused, 3)}`
    );
  if (unpinned.length > 0)
    notes.push(
      `${unpinned.length} requirement(s) not pinned with == are not auditable: ${countedList(unpinned)}`
    );
  if (w.unauditable.length > 0)
    notes.push(
      `${w.unauditable.length} URL, path or editable requirement(s) are not auditable: ${countedList(w.unauditable.map((u) => u.display))}`
    );
  return { packages, notes };
}
