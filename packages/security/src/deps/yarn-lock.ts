// yarn.lock: the classic v1 format (its own line syntax) and Berry (v2+,
// YAML with a __metadata key).
//
// v1 entries start with a header of one or more descriptors, quoted or not
// (`"@babel/core@^7.0.0", "@babel/core@^7.1.0":`, `foo:` or `"foo@":` when
// the range is empty, `alias@npm:real@^1` for an alias); the descriptor's
// range says where the package comes from. Berry entries carry a resolution
// (`foo@npm:1.2.3`; `foo@patch:foo@npm%3A1.2.3#...` is that npm version with a
// patch applied). Workspaces are the project's own code and are skipped;
// git, tarball URL and local (file:, link:, portal:, exec:) entries are not
// auditable and are counted in a note, except a tarball URL in the registry's
// own layout, which is that registry package.

import { load, FAILSAFE_SCHEMA } from 'js-yaml';
import { validRange } from 'semver';
import {
  Exclusions,
  LockfileError,
  isBlank,
  uniquePackages,
  type ParsedLockfile
} from './parsed-lockfile.ts';
import { isJsonObject } from './json-object.ts';
import { isNpmVersion, registryTarballPackage, type LockedPackage } from './package-ref.ts';

const COMMENT = /^\s*#/;

export function parseYarnLock(text: string, file: string): ParsedLockfile {
  if (isBlank(text, COMMENT)) return { packages: [], notes: [] };
  return /^"?__metadata"?:/m.test(text) ? parseBerry(text, file) : parseClassic(text, file);
}

/** Splits `name@range` where a scoped name starts with '@'; `name` alone has an empty range. */
function splitDescriptor(descriptor: string): { name: string; range: string } | undefined {
  const at = descriptor.indexOf('@', descriptor.startsWith('@') ? 1 : 0);
  if (at < 0)
    return descriptor === '' || descriptor.startsWith('@')
      ? undefined
      : { name: descriptor, range: '' };
  if (at === 0) return undefined;
  return { name: descriptor.slice(0, at), range: descriptor.slice(at + 1) };
}

type Source =
  | { kind: 'registry'; name: string }
  | { kind: 'workspace' }
  | { kind: 'tarball'; url: string }
  | { kind: 'excluded'; why: string };

/** Where a v1 descriptor's range says the package comes from. */
function sourceOf(name: string, range: string): Source {
  // An alias (`alias@npm:real@^1`) installs the real package.
  const alias = /^npm:(.+)$/.exec(range);
  if (alias) {
    // `npm:real@^1`, `npm:@scope/real@^1`, `npm:@scope/real`; `npm:^1` keeps the name.
    const real = /^((?:@[^/@]+\/)?[^@]+)@(.*)$/.exec(alias[1]);
    if (real) return sourceOf(real[1], real[2]);
    const isName = /^(@[\w.~-]+\/)?[\w.~-]+$/.test(alias[1]) && validRange(alias[1]) === null;
    return { kind: 'registry', name: isName ? alias[1] : name };
  }
  if (/^workspace:/.test(range)) return { kind: 'workspace' };
  if (/^(file|link|portal|exec):/.test(range) || /^\.{0,2}\//.test(range))
    return { kind: 'excluded', why: 'local directory or file' };
  if (
    /^(git\+|git:|github:|gitlab:|bitbucket:|gist:)/.test(range) ||
    /\.git(#.*)?$/.test(range) ||
    /^[\w.-]+\/[\w.-]+(#.*)?$/.test(range)
  )
    return { kind: 'excluded', why: 'git' };
  if (/^https?:/.test(range)) return { kind: 'tarball', url: range };
  if (/\.(tgz|tar\.gz|tar)$/.test(range))
    return { kind: 'excluded', why: 'local directory or file' };
  return { kind: 'registry', name };
}

interface ClassicEntry {
  header: string;
  line: number;
  source: Source;
  version?: string;
  resolved?: string;
}

function parseClassic(text: string, file: string): ParsedLockfile {
  const packages: LockedPackage[] = [];
  const excluded = new Exclusions();
  let current: ClassicEntry | undefined;
  const close = (): void => {
    if (!current) return;
    const { source, header, version, resolved } = current;
    if (version === undefined)
      throw new LockfileError(file, `line ${current.line}: entry ${header} has no version`);
    if (source.kind === 'workspace') return;
    if (source.kind === 'excluded') {
      excluded.add(source.why, `${header} (${version})`);
      return;
    }
    if (source.kind === 'tarball') {
      const ref =
        registryTarballPackage(resolved ?? source.url) ?? registryTarballPackage(source.url);
      if (ref && ref.version === version) packages.push({ ecosystem: 'npm', ...ref });
      else
        excluded.add(
          /codeload\.github\.com|\.git(#|$)/.test(source.url) ? 'git' : 'tarball URL',
          `${header} (${version})`
        );
      return;
    }
    if (isNpmVersion(version)) packages.push({ ecosystem: 'npm', name: source.name, version });
    else excluded.add('without a registry version', `${header} (${version})`);
  };
  text.split(/\r\n|\r|\n/).forEach((line, i) => {
    if (line.trim() === '' || COMMENT.test(line)) return;
    if (!/^\s/.test(line)) {
      close();
      const header = line.replace(/\s+$/, '');
      if (!header.endsWith(':'))
        throw new LockfileError(file, `line ${i + 1}: expected an entry header ending in ':'`);
      const descriptors = splitHeader(header.slice(0, -1));
      const first = descriptors.length > 0 ? splitDescriptor(descriptors[0]) : undefined;
      if (!first)
        throw new LockfileError(
          file,
          `line ${i + 1}: cannot read a package name from ${JSON.stringify(header)}`
        );
      current = {
        header: header.slice(0, -1),
        line: i + 1,
        source: sourceOf(first.name, first.range)
      };
      return;
    }
    if (!current) throw new LockfileError(file, `line ${i + 1}: indented line outside any entry`);
    // Fields of the entry itself are indented two spaces; deeper lines are its
    // dependency maps.
    // (yarn writes keys bare; its parser takes quoted ones too.)
    const field = /^ {2}("?)(version|resolved)\1(?::\s*|\s+)(?:"((?:[^"\\]|\\.)*)"|(\S+))\s*$/.exec(
      line
    );
    if (field) current[field[2] as 'version' | 'resolved'] = field[3] ?? field[4];
  });
  close();
  return { packages: uniquePackages(packages), notes: excluded.note() };
}

/** The descriptors of a v1 header: comma-separated, each quoted or bare. */
function splitHeader(header: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|([^,"]+))\s*(?:,|$)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < header.length && (m = re.exec(header)) !== null) {
    const d = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2].trim();
    if (d !== '') out.push(d);
    if (m[0] === '') break;
  }
  return out;
}

function parseBerry(text: string, file: string): ParsedLockfile {
  let doc: unknown;
  try {
    doc = load(text, { schema: FAILSAFE_SCHEMA });
  } catch (err) {
    throw new LockfileError(file, `not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (!isJsonObject(doc)) throw new LockfileError(file, 'expected a YAML mapping at the top level');
  const packages: LockedPackage[] = [];
  const excluded = new Exclusions();
  for (const [key, entry] of Object.entries(doc)) {
    if (key === '__metadata') continue;
    if (!isJsonObject(entry) || typeof entry.resolution !== 'string') {
      throw new LockfileError(file, `entry ${JSON.stringify(key)} has no resolution`);
    }
    const found = berryResolution(entry.resolution);
    if (found === undefined)
      throw new LockfileError(
        file,
        `entry ${JSON.stringify(key)} has an unreadable resolution ${JSON.stringify(entry.resolution)}`
      );
    if ('why' in found) {
      if (found.why !== 'workspace') excluded.add(found.why, entry.resolution);
    } else packages.push({ ecosystem: 'npm', ...found });
  }
  return { packages: uniquePackages(packages), notes: excluded.note() };
}

/** What a Berry resolution (`name@protocol:reference`) names. */
function berryResolution(
  resolution: string
): { name: string; version: string } | { why: string } | undefined {
  const res = splitDescriptor(resolution);
  if (!res || res.range === '') return undefined;
  const { name, range } = res;
  if (range.startsWith('npm:')) {
    const version = range.slice(4);
    // `npm:` may also hold a full descriptor of another package (an alias
    // resolved elsewhere): `npm:real@1.2.3`.
    const inner = /^((?:@[^/@]+\/)?[^@]+)@(.+)$/.exec(version);
    if (inner && isNpmVersion(inner[2])) return { name: inner[1], version: inner[2] };
    return isNpmVersion(version) ? { name, version } : { why: 'without a registry version' };
  }
  if (range.startsWith('patch:')) {
    // patch:<name>@<url-encoded source>#<patch>: the patched package's own source.
    let source: string;
    try {
      source = decodeURIComponent(range.slice(6).split('#')[0]);
    } catch {
      return { why: 'patched, of an unknown source' };
    }
    return berryResolution(source) ?? { why: 'patched, of an unknown source' };
  }
  if (range.startsWith('workspace:')) return { why: 'workspace' };
  if (/^(file|link|portal|exec):/.test(range)) return { why: 'local directory or file' };
  if (/^(git\+|git:|github:|gitlab:|bitbucket:)/.test(range) || /#commit=|\.git(#|$)/.test(range))
    return { why: 'git' };
  if (/^https?:/.test(range)) {
    const ref = registryTarballPackage(range);
    if (ref && ref.name === name) return ref;
    return { why: /codeload\.github\.com|github\.com\//.test(range) ? 'git' : 'tarball URL' };
  }
  return { why: `an unknown protocol (${range.split(':')[0]})` };
}
