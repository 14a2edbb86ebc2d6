// The dependency audit: read each lockfile the branch changed at base and at
// HEAD, look up only what HEAD adds, and report the vulnerabilities HEAD
// introduces. A (package, vulnerability) pair counts as introduced when some
// version of the package in that lockfile is affected at HEAD and no version
// of it was affected at base: an already-known vulnerability is not the
// branch's doing, an upgrade to a fixed version removes it, a downgrade into
// an affected range introduces it.

import type { Logger } from '../../../core/src/logger.ts';
import type { Git } from '../../../git/src/git.ts';
import { lockfileKindFor } from './lockfile-kinds.ts';
import { fixedVersionsFor } from './osv-match.ts';
import type { OsvVuln } from './osv-record.ts';
import {
  canonicalName,
  pkgKey,
  type Ecosystem,
  type LockedPackage,
  type PackageRef
} from './package-ref.ts';
import { LockfileError, countedList } from './parsed-lockfile.ts';
import {
  assessSeverity,
  blocks,
  severityRank,
  type SeverityLevel,
  type SeverityThreshold,
  type UnknownSeverityPolicy
} from './severity.ts';
import { FeedDataError, type VulnSource } from './vuln-source.ts';

export interface VulnFinding {
  /** The advisory id shown first (a GHSA id when the group has one). */
  id: string;
  /** Every other id for the same vulnerability: CVE, PYSEC, GHSA, ... */
  aliases: string[];
  ecosystem: Ecosystem;
  name: string;
  version: string;
  severity: SeverityLevel;
  score?: number;
  /** Where the severity came from, e.g. 'CVSS:3.1' or 'database_specific'. */
  severitySource: string;
  summary: string;
  /** Versions that fix it, above the installed one, lowest first; [] when unknown. */
  fixed: string[];
  /** The lockfile, as a path in the repository. */
  lockfile: string;
}

export interface AuditResult {
  lockfilesAudited: string[];
  /** Distinct package versions at HEAD that are new in their lockfile and were looked up. */
  packagesChecked: number;
  /** Distinct package versions at HEAD across the audited lockfiles (unchanged ones need no lookup). */
  packagesAtHead: number;
  introduced: VulnFinding[];
  /** The subset of `introduced` (same objects) at or above the threshold, or of unknown severity. */
  blocking: VulnFinding[];
  notes: string[];
}

export interface AuditOptions {
  git: Pick<Git, 'changedFiles' | 'showFile'>;
  base: string;
  head: string;
  source: VulnSource;
  failOnSeverity: SeverityThreshold;
  logger: Logger;
  /** Default 'block': a vulnerability nobody scored blocks at every threshold. */
  unknownSeverity?: UnknownSeverityPolicy;
}

interface LockfileSides {
  path: string;
  /** Distinct package versions HEAD adds to this lockfile. */
  added: LockedPackage[];
  /** Keys of every package version at HEAD. */
  atHead: Set<string>;
  /** Base package versions sharing a name with an added one. */
  baseSameName: LockedPackage[];
}

export async function auditDependencies(opts: AuditOptions): Promise<AuditResult> {
  const { git, base, head, source, logger } = opts;
  const notes: string[] = [];
  const changed = (await git.changedFiles(base, head))
    .filter((p) => lockfileKindFor(p) !== undefined)
    .sort();
  const texts = new Map<string, { base?: string; head?: string }>();
  for (const path of changed) {
    texts.set(path, { base: await git.showFile(base, path), head: await git.showFile(head, path) });
  }
  const moves = movedFrom(texts);
  const sides: LockfileSides[] = [];
  for (const path of changed) {
    const t = texts.get(path)!;
    if (t.head === undefined) {
      if (![...moves.values()].includes(path)) {
        notes.push(`${path}: removed by the branch; nothing to audit`);
      }
      continue;
    }
    const from = t.base === undefined ? moves.get(path) : undefined;
    if (from)
      notes.push(`${path}: new at HEAD, compared with ${from}, which the branch removes (a move)`);
    sides.push(readSides(path, t.head, from ? texts.get(from)!.base : t.base, notes, logger));
  }
  const lockfilesAudited = sides.map((s) => s.path);

  const lookups = new Map<string, PackageRef>();
  const added = new Set<string>();
  for (const s of sides) {
    for (const p of s.added) {
      lookups.set(pkgKey(p), p);
      added.add(pkgKey(p));
    }
    for (const p of s.baseSameName) lookups.set(pkgKey(p), p);
  }
  let answers = new Map<string, OsvVuln[]>();
  if (lookups.size > 0) {
    logger.info(
      `dependency audit: looking up ${lookups.size} package version(s) (${added.size} new at HEAD)`
    );
    answers = await source.query(
      [...lookups.values()].map(({ ecosystem, name, version }) => ({ ecosystem, name, version }))
    );
  }
  const answer = (p: PackageRef): OsvVuln[] => {
    const list = answers.get(pkgKey(p));
    if (!list) throw new FeedDataError(`the vulnerability source gave no answer for ${pkgKey(p)}`);
    return list.filter((v) => v.withdrawn === undefined);
  };

  const introduced: VulnFinding[] = [];
  let preexisting = 0;
  for (const s of sides) {
    const atBase = new Map<string, Set<string>>();
    for (const p of s.baseSameName) {
      const ids = atBase.get(canonicalName(p.ecosystem, p.name)) ?? new Set<string>();
      for (const v of answer(p)) for (const id of idsOf(v)) ids.add(id);
      atBase.set(canonicalName(p.ecosystem, p.name), ids);
    }
    for (const p of s.added) {
      const known = atBase.get(canonicalName(p.ecosystem, p.name));
      const fresh = answer(p).filter((v) => !(known && idsOf(v).some((id) => known.has(id))));
      preexisting += answer(p).length - fresh.length;
      introduced.push(...groupByAlias(fresh).map((group) => findingFor(group, p, s.path)));
    }
  }
  introduced.sort(byGravity);
  const blocking = introduced.filter((f) =>
    blocks(f.severity, opts.failOnSeverity, opts.unknownSeverity ?? 'block')
  );

  if (preexisting > 0)
    notes.push(
      `${preexisting} vulnerability match(es) were already present at base and are not counted against the branch`
    );
  const unknown = introduced.filter((f) => f.severity === 'unknown');
  if (unknown.length > 0) {
    const policy =
      (opts.unknownSeverity ?? 'block') === 'block'
        ? 'blocks at every threshold'
        : 'is reported but does not block';
    notes.push(
      `${unknown.length} vulnerabilit(ies) have no usable severity (no CVSS v3/v2 vector, no database or ecosystem label) and ${policy}: ${countedList(unknown.map((f) => `${f.id} in ${f.name}@${f.version}`))}`
    );
  }
  notes.push(...(source.notes?.() ?? []));
  logger.info(
    `dependency audit: ${lockfilesAudited.length} lockfile(s), ${added.size} new package version(s), ${introduced.length} vulnerabilit(ies) introduced, ${blocking.length} blocking`
  );
  const packagesAtHead = new Set(sides.flatMap((s) => [...s.atHead])).size;
  return {
    lockfilesAudited,
    packagesChecked: added.size,
    packagesAtHead,
    introduced,
    blocking,
    notes
  };
}

function readSides(
  path: string,
  headText: string,
  baseText: string | undefined,
  notes: string[],
  logger: Logger
): LockfileSides {
  const kind = lockfileKindFor(path)!;
  // A corrupt lockfile at HEAD throws: the gate decides what that means.
  const atHead = kind.parse(headText, path);
  notes.push(...atHead.notes.map((n) => `${path}: ${n}`));
  let atBase: LockedPackage[] = [];
  if (baseText !== undefined) {
    try {
      atBase = kind.parse(baseText, path).packages;
    } catch (err) {
      if (!(err instanceof LockfileError)) throw err;
      // The branch may be the fix for a broken lockfile; judge HEAD on its own.
      notes.push(
        `${path}: corrupt at base (${err.problem}); every package at HEAD is treated as new`
      );
    }
  }
  const baseKeys = new Set(atBase.map(pkgKey));
  const added = distinct(atHead.packages.filter((p) => !baseKeys.has(pkgKey(p))));
  const names = new Set(added.map((p) => canonicalName(p.ecosystem, p.name)));
  const baseSameName = distinct(
    atBase.filter((p) => names.has(canonicalName(p.ecosystem, p.name)))
  );
  logger.debug(
    `${path}: ${atHead.packages.length} entries at HEAD, ${added.length} new package version(s)`
  );
  return { path, added, baseSameName, atHead: new Set(atHead.packages.map(pkgKey)) };
}

/**
 * Lockfiles new at HEAD paired with the one lockfile of the same name the
 * branch removes: a moved lockfile is the same lockfile, and comparing it with
 * nothing would report every known vulnerability in it as new.
 */
function movedFrom(texts: Map<string, { base?: string; head?: string }>): Map<string, string> {
  const added = [...texts]
    .filter(([, t]) => t.base === undefined && t.head !== undefined)
    .map(([p]) => p);
  const removed = [...texts]
    .filter(([, t]) => t.base !== undefined && t.head === undefined)
    .map(([p]) => p);
  const out = new Map<string, string>();
  for (const p of added) {
    const sameName = (q: string): boolean => basename(q) === basename(p);
    const candidates = removed.filter(sameName);
    // Only an unambiguous pair (one removed, one added of that name) is a move.
    if (candidates.length === 1 && added.filter(sameName).length === 1) out.set(p, candidates[0]);
  }
  return out;
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function distinct(pkgs: LockedPackage[]): LockedPackage[] {
  const seen = new Map<string, LockedPackage>();
  for (const p of pkgs) if (!seen.has(pkgKey(p))) seen.set(pkgKey(p), p);
  return [...seen.values()];
}

function idsOf(v: OsvVuln): string[] {
  return [v.id, ...(v.aliases ?? [])];
}

/** Records that name each other (PYSEC-x aliasing GHSA-y, both CVE-z) are one vulnerability. */
function groupByAlias(vulns: OsvVuln[]): OsvVuln[][] {
  const groups: { ids: Set<string>; members: OsvVuln[] }[] = [];
  for (const v of vulns) {
    const ids = new Set(idsOf(v));
    const overlapping = groups.filter((g) => [...ids].some((id) => g.ids.has(id)));
    const merged = { ids, members: [v] };
    for (const g of overlapping) {
      for (const id of g.ids) merged.ids.add(id);
      merged.members.push(...g.members);
      groups.splice(groups.indexOf(g), 1);
    }
    groups.push(merged);
  }
  return groups.map((g) => g.members);
}

function findingFor(group: OsvVuln[], pkg: LockedPackage, lockfile: string): VulnFinding {
  const sorted = [...group].sort(
    (a, b) => primaryRank(a.id) - primaryRank(b.id) || a.id.localeCompare(b.id)
  );
  const primary = sorted[0];
  const assessed = sorted.map((v) => ({ v, s: assessSeverity(v, pkg) }));
  // The group is as severe as its most severe scored member; unknown only if none is scored.
  const best = assessed.reduce((m, x) => (rankOf(x.s.level) > rankOf(m.s.level) ? x : m));
  const ids = new Set(sorted.flatMap(idsOf));
  ids.delete(primary.id);
  const fixed = new Set(sorted.flatMap((v) => fixedVersionsFor(v, pkg)));
  const finding: VulnFinding = {
    id: primary.id,
    aliases: [...ids].sort(),
    ecosystem: pkg.ecosystem,
    name: pkg.name,
    version: pkg.version,
    severity: best.s.level,
    severitySource: best.s.source,
    summary: oneLine(
      sorted.map((v) => v.summary ?? '').find((s) => s.trim() !== '') ??
        firstLine(primary.details) ??
        ''
    ),
    fixed: [...fixed],
    lockfile
  };
  if (best.s.score !== undefined) finding.score = best.s.score;
  return finding;
}

/** GHSA ids first: they carry the richest severity data and are what users search for. */
function primaryRank(id: string): number {
  if (id.startsWith('GHSA-')) return 0;
  if (id.startsWith('MAL-')) return 1;
  if (id.startsWith('PYSEC-')) return 2;
  return 3;
}

function rankOf(level: SeverityLevel): number {
  return level === 'unknown' ? -1 : severityRank(level);
}

/** Blocking-relevant order: unknown and critical first, then by lockfile, package, id. */
function byGravity(a: VulnFinding, b: VulnFinding): number {
  const g = (f: VulnFinding): number => (f.severity === 'unknown' ? 4 : severityRank(f.severity));
  return (
    g(b) - g(a) ||
    a.lockfile.localeCompare(b.lockfile) ||
    a.name.localeCompare(b.name) ||
    a.id.localeCompare(b.id)
  );
}

function firstLine(text: string | undefined): string | undefined {
  return text?.split('\n').find((l) => l.trim() !== '');
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}
