// requirements*.txt (pip, pip-compile): only `name==version` pins are
// auditable; everything else is reported in notes rather than guessed at.

import { valid as pep440Valid } from '@renovatebot/pep440';
import { LockfileError, countedList, type ParsedLockfile } from './parsed-lockfile.ts';
import { normalizePypiName, type LockedPackage } from './package-ref.ts';

const NAME_RE = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$/;
const SPEC_RE = /^(~=|===|==|!=|<=|>=|<|>)\s*([A-Za-z0-9.*+!_-]+)$/;
const NESTED_OPTS = /^(-r|--requirement|-c|--constraint)(?:\s+|=)(\S+)/;
const EDITABLE_OPTS = /^(-e|--editable)(?:\s+|=)(\S+)/;

interface LogicalLine {
  text: string;
  /** 1-based line number where the logical line starts. */
  line: number;
}

export function parseRequirementsTxt(text: string, file: string): ParsedLockfile {
  if (text.includes('\0'))
    throw new LockfileError(file, 'contains NUL bytes; not a text requirements file');
  const packages: LockedPackage[] = [];
  const notes: string[] = [];
  const unpinned: string[] = [];
  const notAuditable: string[] = [];
  for (const { text: raw, line } of logicalLines(text)) {
    const content = stripComment(raw).trim();
    if (content === '') continue;
    if (content.startsWith('-')) {
      const nested = NESTED_OPTS.exec(content);
      if (nested) {
        const what = nested[1].includes('c') ? 'constraints' : 'requirements';
        notes.push(
          `line ${line}: ${what} file ${nested[2]} (${nested[1]}) is not followed; it is audited only if it is itself a changed lockfile`
        );
        continue;
      }
      const editable = EDITABLE_OPTS.exec(content);
      if (editable) notAuditable.push(editable[2]);
      // Index, find-links, hash-mode and build options do not name packages.
      continue;
    }
    // Per-requirement options (--hash=..., --config-settings) follow the specifier.
    const beforeOptions = content.split(/\s--[A-Za-z]/)[0];
    const requirement = beforeOptions.split(';')[0].trim();
    if (isUrlOrPath(requirement)) {
      notAuditable.push(requirement);
      continue;
    }
    const m = NAME_RE.exec(requirement);
    if (!m)
      throw new LockfileError(
        file,
        `line ${line}: not a requirement: ${JSON.stringify(requirement)}`
      );
    const [, name, , rest] = m;
    if (rest.includes('@')) {
      notAuditable.push(requirement);
      continue;
    }
    const specs = rest.replace(/^\((.*)\)$/, '$1').trim();
    const pinned = pinnedVersion(specs, file, line);
    if (pinned === undefined) {
      unpinned.push(requirement);
      continue;
    }
    packages.push({ ecosystem: 'PyPI', name: normalizePypiName(name), version: pinned });
  }
  if (unpinned.length > 0) {
    notes.push(
      `${unpinned.length} requirement(s) not pinned with == are not auditable: ${countedList(unpinned)}`
    );
  }
  if (notAuditable.length > 0) {
    notes.push(
      `${notAuditable.length} URL, path or editable requirement(s) are not auditable: ${countedList(notAuditable)}`
    );
  }
  return { packages, notes };
}

/** The exact version a specifier set pins, or undefined when it allows a range. */
function pinnedVersion(specs: string, file: string, line: number): string | undefined {
  if (specs === '') return undefined;
  let pin: string | undefined;
  for (const part of specs.split(',')) {
    const m = SPEC_RE.exec(part.trim());
    if (!m)
      throw new LockfileError(
        file,
        `line ${line}: invalid version specifier ${JSON.stringify(part.trim())}`
      );
    const [, op, version] = m;
    if (op === '===') {
      pin = version; // arbitrary equality: compared as a string, so any text is allowed
    } else if (op === '==' && !version.includes('*')) {
      if (pep440Valid(version) === null)
        throw new LockfileError(
          file,
          `line ${line}: ${JSON.stringify(version)} is not a PEP 440 version`
        );
      pin = version;
    } else if (version !== '*' && !version.includes('*') && pep440Valid(version) === null) {
      throw new LockfileError(
        file,
        `line ${line}: ${JSON.stringify(version)} is not a PEP 440 version`
      );
    }
  }
  return pin;
}

function logicalLines(text: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  const physical = text.split(/\r?\n/);
  let buf = '';
  let start = 0;
  physical.forEach((l, i) => {
    if (buf === '') start = i + 1;
    // A trailing backslash joins the next line (pip-compile's --hash layout).
    if (/\\$/.test(l) && !/(^|\s)#/.test(l)) {
      buf += `${l.slice(0, -1)} `;
      return;
    }
    out.push({ text: buf + l, line: start });
    buf = '';
  });
  if (buf !== '') out.push({ text: buf, line: start });
  return out;
}

/** pip treats '#' as a comment at line start or after whitespace. */
function stripComment(line: string): string {
  return line.replace(/(^|\s)#.*$/, '');
}

function isUrlOrPath(req: string): boolean {
  return (
    /^(\.{0,2}\/|~|[A-Za-z][A-Za-z0-9+.-]*:\/\/|git\+|hg\+|svn\+|bzr\+)/.test(req) ||
    /\.(whl|zip|tar\.gz|tgz|tar\.bz2)$/i.test(req)
  );
}
