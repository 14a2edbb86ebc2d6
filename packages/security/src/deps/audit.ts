// The dependency audit: read each lockfile the branch changed at base and at
// HEAD, look up only what HEAD adds, and report the vulnerabilities HEAD
// introduces. A (package, vulnerability) pair counts as introduced when some
// version of the package in that lockfile is affected at HEAD and no version
// of it was affected at base: an already-known vulnerability is not the
// branch's doing, an upgrade to a fixed version removes it, a downgrade into
// an affected range introduces it.
//
// Nothing one input does can blind the audit to the others: each lockfile is
// read on its own, the source answers each package it can, each record is
// evaluated on its own, and the whole audit has one deadline. What could not
// be audited is a failure ({what, problem}) beside what was found, and
// `completeness` says whether the audit saw everything (ok), part (partial)
// or nothing it was asked to (unavailable).

import { describeError } from '../../../core/src/errors.ts';
import type { Logger } from '../../../core/src/logger.ts';
import type { Git } from '../../../git/src/git.ts';
import { lockfileKindFor, type LockfileKind } from './lockfile-kinds.ts';
import { fixedVersionsFor } from './osv-match.ts';
import type { OsvVuln } from './osv-record.ts';
import {
  canonicalName,
  pkgKey,
  type Ecosystem,
  type LockedPackage,
  type PackageRef
} from './package-ref.ts';
import { LockfileError, countedList, type ParsedLockfile } from './parsed-lockfile.ts';
import { loadRequirementIncludes } from './requirements-txt.ts';
import {
  assessSeverity,
  blocks,
  severityRank,
  type SeverityLevel,
  type SeverityThreshold,
  type UnknownSeverityPolicy
} from './severity.ts';
import { loadCvss4 } from './cvss.ts';
import type { LookupFailure, QueryResult, VulnSource } from './vuln-source.ts';

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

/**
 * Something the audit could not look at, and why; one line each.
 * - lockfile: a lockfile at HEAD that could not be read (`what` is its path);
 * - ecosystem: an ecosystem the source does not hold (`what` is its name);
 * - lookup: a feed request that failed; budget: the time budget ran out
 *   (`what` is the request), their package versions were not looked up;
 * - record: one vulnerability record that could not be read or evaluated
 *   (`what` names its id or file); everything else was still matched.
 */
export interface AuditFailure {
  kind: 'lockfile' | LookupFailure['kind'];
  what: string;
  problem: string;
}

export type AuditCompleteness = 'ok' | 'partial' | 'unavailable';

export interface AuditResult {
  /** Lockfiles at HEAD that were read (and whose new packages were looked up as far as `failures` allow). */
  lockfilesAudited: string[];
  /** Lockfiles at HEAD that could not be read; each is also a failure. */
  lockfilesUnreadable: string[];
  /** Distinct package versions at HEAD that are new in their lockfile and were looked up. */
  packagesChecked: number;
  /** Distinct package versions at HEAD that are new in their lockfile and could not be looked up. */
  packagesNotLookedUp: number;
  /** Distinct package versions at HEAD across the audited lockfiles (unchanged ones need no lookup). */
  packagesAtHead: number;
  introduced: VulnFinding[];
  /** The subset of `introduced` (same objects) at or above the threshold, or of unknown severity. */
  blocking: VulnFinding[];
  notes: string[];
  /** Everything that could not be audited, in the order met. */
  failures: AuditFailure[];
  /**
   * ok: nothing failed; unavailable: lockfiles changed but none could be read,
   * or new package versions needed looking up and none could be; partial: the rest.
   */
  completeness: AuditCompleteness;
  /** Why the audit is not complete, in a few words each, for a one-line summary ([] when ok). */
  gaps: string[];
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
  /** One time budget for the whole audit, from its start; what is not looked up by then is a failure. Default: none. */
  timeBudgetMs?: number;
  /**
   * The environment a lockfile may refer to (requirements.txt `${VAR}`): the
   * allowlisted one the gate gives user commands, never the gate's own.
   */
  parseEnv?: NodeJS.ProcessEnv;
}

/** Options the lockfile parsers may take (requirements.txt includes and `${VAR}`s). */
interface ParseOptions {
  includes?: Map<string, string>;
  env?: NodeJS.ProcessEnv;
}
type ParserWithOptions = (text: string, file: string, opts?: ParseOptions) => ParsedLockfile;

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
  const deadline =
    opts.timeBudgetMs === undefined ? undefined : Date.now() + Math.max(0, opts.timeBudgetMs);
  const notes: string[] = [];
  const failures: AuditFailure[] = [];
  const changed = (await git.changedFiles(base, head))
    .filter((p) => lockfileKindFor(p) !== undefined)
    .sort();
  const texts = new Map<string, { base?: string; head?: string }>();
  const unreadable = new Map<string, string>();
  for (const path of changed) {
    try {
      texts.set(path, {
        base: await git.showFile(base, path),
        head: await git.showFile(head, path)
      });
    } catch (err) {
      unreadable.set(path, `could not be read from git (${describeError(err)})`);
    }
  }
  const moves = movedFrom(texts);
  const sides: LockfileSides[] = [];
  const lockfilesUnreadable: string[] = [];
  for (const path of changed) {
    const t = texts.get(path);
    if (t === undefined) {
      lockfilesUnreadable.push(path);
      failures.push({ kind: 'lockfile', what: path, problem: unreadable.get(path)! });
      continue;
    }
    if (t.head === undefined) {
      if (![...moves.values()].includes(path)) {
        notes.push(`${path}: removed by the branch; nothing to audit`);
      }
      continue;
    }
    const from = t.base === undefined ? moves.get(path) : undefined;
    if (from)
      notes.push(`${path}: new at HEAD, compared with ${from}, which the branch removes (a move)`);
    // Each lockfile on its own: one that cannot be read is its own failure, never the audit's.
    try {
      sides.push(
        await readSides(
          path,
          t.head,
          from ? texts.get(from)!.base : t.base,
          { git, base, head, env: opts.parseEnv ?? {} },
          notes,
          logger
        )
      );
    } catch (err) {
      const problem = err instanceof LockfileError ? err.problem : describeError(err);
      lockfilesUnreadable.push(path);
      failures.push({ kind: 'lockfile', what: path, problem });
    }
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
  let answered: QueryResult = { answers: new Map(), failures: [] };
  if (lookups.size > 0) {
    logger.info(
      `dependency audit: looking up ${lookups.size} package version(s) (${added.size} new at HEAD)`
    );
    const refs = [...lookups.values()].map(({ ecosystem, name, version }) => ({
      ecosystem,
      name,
      version
    }));
    try {
      answered = await source.query(refs, { deadline });
    } catch (err) {
      // A source is not supposed to reject; if one does, nothing it was asked is answered.
      answered = {
        answers: new Map(),
        failures: [
          {
            kind: 'lookup',
            what: 'the vulnerability source',
            problem: describeError(err),
            keys: [...lookups.keys()],
            short: 'lookup failed'
          }
        ]
      };
    }
  }
  const { answers } = answered;
  const notLookedUp = [...added].filter((k) => !answers.has(k));
  for (const f of answered.failures) {
    const skippedNew = f.kind === 'record' ? [] : f.keys.filter((k) => added.has(k));
    const skippedBase = f.kind === 'record' ? [] : f.keys.filter((k) => !added.has(k));
    const which = [
      skippedNew.length > 0
        ? `${skippedNew.length} new package version(s) not looked up: ${countedList(skippedNew)}`
        : '',
      skippedBase.length > 0
        ? `${skippedBase.length} base version(s) not looked up: ${countedList(skippedBase)}`
        : ''
    ].filter((x) => x !== '');
    failures.push({
      kind: f.kind,
      what: f.what,
      problem: which.length > 0 ? `${f.problem} (${which.join('; ')})` : f.problem
    });
  }
  const answer = (p: PackageRef): OsvVuln[] | undefined =>
    answers.get(pkgKey(p))?.filter((v) => v.withdrawn === undefined);

  const introduced: VulnFinding[] = [];
  const recordFailures: AuditFailure[] = [];
  let preexisting = 0;
  // The CVSS v4.0 calculator is loaded only when there is a vulnerability to score.
  if (sides.some((s) => s.added.some((p) => (answer(p)?.length ?? 0) > 0))) await loadCvss4();
  for (const s of sides) {
    const atBase = new Map<string, Set<string>>();
    const baseUnknown = new Set<string>();
    for (const p of s.baseSameName) {
      const name = canonicalName(p.ecosystem, p.name);
      const list = answer(p);
      if (!list) {
        baseUnknown.add(name);
        continue;
      }
      const ids = atBase.get(name) ?? new Set<string>();
      for (const v of list) for (const id of idsOf(v)) ids.add(id);
      atBase.set(name, ids);
    }
    for (const p of s.added) {
      const list = answer(p);
      if (!list) continue; // not looked up: a failure says so
      const name = canonicalName(p.ecosystem, p.name);
      const known = atBase.get(name);
      const fresh = list.filter((v) => !(known && idsOf(v).some((id) => known.has(id))));
      preexisting += list.length - fresh.length;
      if (baseUnknown.has(name) && fresh.length > 0)
        notes.push(
          `${s.path}: ${p.name} at base could not be looked up, so ${fresh.length} vulnerabilit(ies) of ${p.name}@${p.version} are reported as introduced without that comparison`
        );
      introduced.push(
        ...groupByAlias(fresh).map((group) => findingFor(group, p, s.path, recordFailures, notes))
      );
    }
  }
  failures.push(...recordFailures);
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
  const packagesAtHead = new Set(sides.flatMap((s) => [...s.atHead])).size;
  const packagesChecked = added.size - notLookedUp.length;
  const completeness: AuditCompleteness =
    failures.length === 0
      ? 'ok'
      : (changed.length > 0 && lockfilesAudited.length === 0 && lockfilesUnreadable.length > 0) ||
          (packagesChecked === 0 && notLookedUp.length > 0)
        ? 'unavailable'
        : 'partial';
  const gaps = gapsOf({
    lockfilesAudited,
    lockfilesUnreadable,
    added: added.size,
    notLookedUp,
    sourceFailures: answered.failures,
    recordFailures,
    timeBudgetMs: opts.timeBudgetMs
  });
  logger.info(
    `dependency audit: ${lockfilesAudited.length} lockfile(s), ${added.size} new package version(s), ${introduced.length} vulnerabilit(ies) introduced, ${blocking.length} blocking${completeness === 'ok' ? '' : `; ${completeness}: ${gaps.join(', ')}`}`
  );
  return {
    lockfilesAudited,
    lockfilesUnreadable,
    packagesChecked,
    packagesNotLookedUp: notLookedUp.length,
    packagesAtHead,
    introduced,
    blocking,
    notes,
    failures,
    completeness,
    gaps
  };
}

/** The few words each for "dependency audit incomplete: ..." */
function gapsOf(x: {
  lockfilesAudited: string[];
  lockfilesUnreadable: string[];
  added: number;
  notLookedUp: string[];
  sourceFailures: LookupFailure[];
  recordFailures: AuditFailure[];
  timeBudgetMs?: number;
}): string[] {
  const gaps: string[] = [];
  const lockfiles = x.lockfilesAudited.length + x.lockfilesUnreadable.length;
  if (x.lockfilesUnreadable.length > 0)
    gaps.push(
      `${x.lockfilesUnreadable.length} of ${lockfiles} lockfile${lockfiles === 1 ? '' : 's'} unreadable`
    );
  // A missing ecosystem says it all for its packages; the rest are counted.
  const byEcosystem = new Set<string>();
  for (const f of x.sourceFailures.filter((f) => f.kind === 'ecosystem')) {
    const gap = f.short ?? `${f.what} not looked up`;
    if (!gaps.includes(gap)) gaps.push(gap);
    for (const k of f.keys) byEcosystem.add(k);
  }
  const rest = x.notLookedUp.filter((k) => !byEcosystem.has(k));
  if (rest.length > 0) {
    const why = new Set<string>();
    for (const f of x.sourceFailures) {
      if (f.kind !== 'lookup' && f.kind !== 'budget') continue;
      if (!f.keys.some((k) => rest.includes(k))) continue;
      why.add(
        f.kind === 'budget' && x.timeBudgetMs !== undefined
          ? `time budget of ${Math.round(x.timeBudgetMs / 1000)} s ran out`
          : (f.short ?? 'lookup failed')
      );
    }
    gaps.push(
      `${rest.length} of ${x.added} new package version${x.added === 1 ? '' : 's'} not looked up${why.size > 0 ? ` (${[...why].join('; ')})` : ''}`
    );
  }
  const records = new Set([
    ...x.sourceFailures.filter((f) => f.kind === 'record').map((f) => f.what),
    ...x.recordFailures.map((f) => f.what)
  ]);
  if (records.size > 0)
    gaps.push(
      `${records.size} vulnerability record${records.size === 1 ? '' : 's'} unreadable or not evaluated`
    );
  return gaps;
}

interface ReadContext {
  git: Pick<Git, 'showFile'>;
  base: string;
  head: string;
  env: NodeJS.ProcessEnv;
}

/** Parses one side of a lockfile, with what the parser of its kind may take. */
async function parseSide(
  kind: LockfileKind,
  path: string,
  text: string,
  rev: string,
  ctx: ReadContext
): Promise<ParsedLockfile> {
  const parse = kind.parse as ParserWithOptions;
  if (kind.kind !== 'requirements-txt') return parse(text, path);
  // -r / -c are followed inside the repository, at the same commit, when the parser can.
  const includes = await loadRequirementIncludes(path, text, (p) => ctx.git.showFile(rev, p), {
    env: ctx.env
  });
  return parse(text, path, { includes, env: ctx.env });
}

async function readSides(
  path: string,
  headText: string,
  baseText: string | undefined,
  ctx: ReadContext,
  notes: string[],
  logger: Logger
): Promise<LockfileSides> {
  const kind = lockfileKindFor(path)!;
  // A corrupt lockfile at HEAD throws: the caller makes it this file's failure.
  const atHead = await parseSide(kind, path, headText, ctx.head, ctx);
  notes.push(...atHead.notes.map((n) => `${path}: ${n}`));
  let atBase: LockedPackage[] = [];
  if (baseText !== undefined) {
    try {
      atBase = (await parseSide(kind, path, baseText, ctx.base, ctx)).packages;
    } catch (err) {
      // The branch may be the fix for a broken lockfile; judge HEAD on its own.
      const problem = err instanceof LockfileError ? err.problem : describeError(err);
      notes.push(`${path}: corrupt at base (${problem}); every package at HEAD is treated as new`);
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

function findingFor(
  group: OsvVuln[],
  pkg: LockedPackage,
  lockfile: string,
  failures: AuditFailure[],
  notes: string[]
): VulnFinding {
  const sorted = [...group].sort(
    (a, b) => primaryRank(a.id) - primaryRank(b.id) || a.id.localeCompare(b.id)
  );
  const primary = sorted[0];
  // One record that cannot be evaluated is that record's failure: it counts as unscored
  // (which blocks by default) and without fixes, and the finding is still reported.
  const guarded = <T>(v: OsvVuln, what: string, fallback: T, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      failures.push({
        kind: 'record',
        what: `OSV record ${v.id}`,
        problem: `${what} could not be evaluated for ${pkg.name}@${pkg.version} (${describeError(err)})`
      });
      return fallback;
    }
  };
  const assessed = sorted.map((v) => ({
    v,
    s: guarded(v, 'its severity', { level: 'unknown' as SeverityLevel, source: 'none' }, () =>
      assessSeverity(v, pkg)
    )
  }));
  for (const { s } of assessed)
    for (const n of (s as { notes?: string[] }).notes ?? []) if (!notes.includes(n)) notes.push(n);
  // The group is as severe as its most severe scored member; unknown only if none is scored.
  const best = assessed.reduce((m, x) => (rankOf(x.s.level) > rankOf(m.s.level) ? x : m));
  const ids = new Set(sorted.flatMap(idsOf));
  ids.delete(primary.id);
  const fixed = new Set(
    sorted.flatMap((v) => guarded(v, 'its fixed versions', [], () => fixedVersionsFor(v, pkg)))
  );
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
