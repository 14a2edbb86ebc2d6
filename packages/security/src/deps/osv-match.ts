// Whether an OSV record affects one package version, evaluated exactly as the
// schema's IsVulnerable pseudocode says: listed in `versions`, or inside a
// SEMVER/ECOSYSTEM range whose sorted events leave it vulnerable and below
// any `limit`. A range we cannot evaluate counts as affecting, with a note:
// an unreadable bound is not evidence of safety.

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
      const r = rangeIncludes(range, pkg.ecosystem, pkg.version);
      if (r === true) return { affected: true, problems };
      if (typeof r === 'string') {
        problems.push(`${vuln.id}: ${r}; counted as affecting ${pkg.name}@${pkg.version}`);
        return { affected: true, problems };
      }
    }
  }
  return { affected: false, problems };
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
  const bad = range.events
    .map(eventVersion)
    .find((v) => !isInfinity(v) && v !== '0' && order.parse(v) === undefined);
  if (bad !== undefined)
    return `${range.type} range bound ${JSON.stringify(bad)} is not a ${order.name} version`;
  if (!beforeLimits(range.events, order, version)) return false;
  let vulnerable = false;
  for (const evt of sortEvents(range.events, order)) {
    if (evt.introduced !== undefined && atLeast(order, version, evt.introduced)) vulnerable = true;
    else if (evt.fixed !== undefined && atLeast(order, version, evt.fixed)) vulnerable = false;
    else if (evt.last_affected !== undefined && order.compare(version, evt.last_affected) > 0)
      vulnerable = false;
  }
  return vulnerable;
}

/** `fixed` versions above the installed one, lowest first: the upgrade targets. */
export function fixedVersionsFor(vuln: OsvVuln, pkg: PackageRef): string[] {
  const out: string[] = [];
  for (const a of affectedEntriesFor(vuln, pkg)) {
    for (const range of a.ranges ?? []) {
      const order = orderFor(pkg.ecosystem, range.type);
      for (const e of range.events) {
        if (e.fixed === undefined || out.includes(e.fixed)) continue;
        const comparable =
          order && order.parse(e.fixed) !== undefined && order.parse(pkg.version) !== undefined;
        if (!comparable || order.compare(e.fixed, pkg.version) > 0) out.push(e.fixed);
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

function eventVersion(e: OsvEvent): string {
  return e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? '';
}

function isInfinity(v: string): boolean {
  return v.includes('*');
}

/** `introduced: "0"` sorts before, and is at or below, every version. */
function atLeast(order: VersionOrder, v: string, bound: string): boolean {
  return bound === '0' || order.compare(v, bound) >= 0;
}

function sortEvents(events: OsvEvent[], order: VersionOrder): OsvEvent[] {
  const rank = (v: string): number => (v === '0' ? -1 : isInfinity(v) ? 1 : 0);
  // Array.prototype.sort is stable: equal versions keep the record's order.
  return [...events]
    .filter((e) => e.limit === undefined)
    .sort((a, b) => {
      const va = eventVersion(a);
      const vb = eventVersion(b);
      const ra = rank(va);
      const rb = rank(vb);
      if (ra !== 0 || rb !== 0) return ra - rb;
      return order.compare(va, vb);
    });
}

function beforeLimits(events: OsvEvent[], order: VersionOrder, v: string): boolean {
  const limits = events.filter((e) => e.limit !== undefined).map((e) => e.limit!);
  if (limits.length === 0) return true; // an implicit limit of "*"
  return limits.some((l) => isInfinity(l) || order.compare(v, l) < 0);
}
