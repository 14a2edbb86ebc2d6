// Whether an OSV record affects one package version, evaluated exactly as the
// schema's IsVulnerable pseudocode says: listed in `versions`, or inside a
// SEMVER/ECOSYSTEM range whose sorted events leave it vulnerable and below
// any `limit`. The schema's two special values are honoured where it puts
// them and nowhere else: "0" in `introduced` sorts before every version, and
// a `limit` containing "*" is infinity. Every other event value, a
// `last_affected`, `fixed` or `limit` of "0" included, is a version of the
// range's type ("0" is 0 in PEP 440, 0.0.0 in SemVer as osv.dev reads it):
// `last_affected: "0"` leaves only version 0 (and its pre-releases) affected,
// `limit: "0"` caps the range below version 0: neither covers 0.0.1 or above.
//
// Events are sorted by version before evaluation (records need not be
// sorted); equal versions keep the record's order. Each range of the entry
// is evaluated on its own, and any one that includes the version is enough.
// GIT ranges need the repository's commit graph and are skipped; the schema
// requires such entries to enumerate `versions`, which are matched.
// `database_specific` (GHSA's `last_known_affected_version_range`) is never
// read: the schema says it has no effect on evaluation.
//
// A range we cannot evaluate (a bound that is not a version of its type, or
// anything else that stops the evaluation) counts as affecting, with a note
// naming the record and the event: an unreadable bound is not evidence of
// safety. Evaluation never throws.

import type { OsvAffected, OsvEvent, OsvRange, OsvVuln } from './osv-record.ts';
import { canonicalName, type PackageRef } from './package-ref.ts';
import { orderFor, sameVersion, type VersionOrder } from './version-order.ts';

export interface MatchResult {
  affected: boolean;
  /** Why a range could not be evaluated (and was counted as affecting). */
  problems: string[];
}

/** The record's `affected` entries that name this package. */
export function affectedEntriesFor(
  vuln: OsvVuln,
  pkg: Pick<PackageRef, 'ecosystem' | 'name'>
): OsvAffected[] {
  const want = canonicalName(pkg.ecosystem, pkg.name);
  return (vuln.affected ?? []).filter(
    (a) =>
      a.package !== undefined &&
      a.package.ecosystem === pkg.ecosystem &&
      canonicalName(pkg.ecosystem, a.package.name) === want
  );
}

export function matchVuln(vuln: OsvVuln, pkg: PackageRef): MatchResult {
  const problems: string[] = [];
  if (vuln.withdrawn !== undefined) return { affected: false, problems };
  for (const a of affectedEntriesFor(vuln, pkg)) {
    if ((a.versions ?? []).some((v) => sameVersion(pkg.ecosystem, v, pkg.version)))
      return { affected: true, problems };
    for (const range of a.ranges ?? []) {
      let r: boolean | string | undefined;
      try {
        r = rangeIncludes(range, pkg.ecosystem, pkg.version);
      } catch (e) {
        // Not expected: rangeIncludes checks every bound before comparing.
        r = `${range.type} range could not be evaluated (${e instanceof Error ? e.message : String(e)})`;
      }
      if (r === true) return { affected: true, problems };
      if (typeof r === 'string') {
        problems.push(`${vuln.id}: ${r}; counted as affecting ${pkg.name}@${pkg.version}`);
        return { affected: true, problems };
      }
    }
  }
  return { affected: false, problems };
}

type EventKind = 'introduced' | 'fixed' | 'last_affected' | 'limit';

/** One event as evaluated: its kind, and its bound as the order reads it. */
interface Bound {
  kind: EventKind;
  /** The version text compared; undefined for the sentinels. */
  version?: string;
  /** `introduced: "0"`, before every version. */
  beforeAll?: true;
  /** A `limit` containing "*", after every version. */
  infinite?: true;
}

/** true / false, or a string saying why the range cannot be evaluated; undefined for GIT and unknown types. */
export function rangeIncludes(
  range: OsvRange,
  ecosystem: string,
  version: string
): boolean | string | undefined {
  const order = orderFor(ecosystem, range.type);
  if (!order) return undefined;
  if (order.parse(version) === undefined) return `${version} is not a ${order.name} version`;
  const bounds: Bound[] = [];
  for (const e of range.events) {
    const b = boundOf(e, order);
    if (typeof b === 'string') return `${range.type} range ${b}`;
    bounds.push(b);
  }
  if (!beforeLimits(bounds, order, version)) return false;
  let vulnerable = false;
  for (const b of sortBounds(bounds, order)) {
    if (b.kind === 'introduced' && (b.beforeAll || order.compare(version, b.version!) >= 0))
      vulnerable = true;
    else if (b.kind === 'fixed' && order.compare(version, b.version!) >= 0) vulnerable = false;
    else if (b.kind === 'last_affected' && order.compare(version, b.version!) > 0)
      vulnerable = false;
  }
  return vulnerable;
}

/** The event's bound, or a string saying why it is not one (naming the event). */
function boundOf(e: OsvEvent, order: VersionOrder): Bound | string {
  const kinds = (['introduced', 'fixed', 'last_affected', 'limit'] as const).filter(
    (k) => e[k] !== undefined
  );
  if (kinds.length !== 1 || typeof e[kinds[0]] !== 'string')
    return `event ${JSON.stringify(e)} must have exactly one of introduced, fixed, last_affected, limit`;
  const kind = kinds[0];
  const raw = e[kind]!;
  if (kind === 'introduced' && raw === '0') return { kind, beforeAll: true };
  if (kind === 'limit' && raw.includes('*')) return { kind, infinite: true };
  const v = raw === '0' ? order.zero : raw;
  if (order.parse(v) === undefined)
    return `bound ${JSON.stringify(raw)} (${kind}) is not a ${order.name} version`;
  return { kind, version: v };
}

/** `fixed` versions above the installed one, lowest first: the upgrade targets. */
export function fixedVersionsFor(vuln: OsvVuln, pkg: PackageRef): string[] {
  const out: string[] = [];
  for (const a of affectedEntriesFor(vuln, pkg)) {
    for (const range of a.ranges ?? []) {
      const order = orderFor(pkg.ecosystem, range.type);
      for (const e of range.events) {
        if (typeof e.fixed !== 'string' || out.includes(e.fixed)) continue;
        const fixed = e.fixed === '0' && order ? order.zero : e.fixed;
        const comparable =
          order && order.parse(fixed) !== undefined && order.parse(pkg.version) !== undefined;
        if (!comparable || order.compare(fixed, pkg.version) > 0) out.push(e.fixed);
      }
    }
  }
  const order = orderFor(pkg.ecosystem, 'ECOSYSTEM');
  return out.sort((x, y) =>
    order && order.parse(x) !== undefined && order.parse(y) !== undefined
      ? order.compare(x, y)
      : x.localeCompare(y)
  );
}

/** Sorted by version, `introduced: "0"` first; limits are not part of the timeline. */
function sortBounds(bounds: Bound[], order: VersionOrder): Bound[] {
  // Array.prototype.sort is stable: equal versions keep the record's order.
  return bounds
    .filter((b) => b.kind !== 'limit')
    .sort((a, b) => {
      if (a.beforeAll || b.beforeAll) return (a.beforeAll ? -1 : 0) - (b.beforeAll ? -1 : 0);
      return order.compare(a.version!, b.version!);
    });
}

/** Below at least one limit; with no limits, below the implicit "*". */
function beforeLimits(bounds: Bound[], order: VersionOrder, v: string): boolean {
  const limits = bounds.filter((b) => b.kind === 'limit');
  if (limits.length === 0) return true;
  return limits.some((l) => l.infinite || order.compare(v, l.version!) < 0);
}
