// One severity per OSV record, from the most precise evidence it carries:
// a computed CVSS v3 base score, then the database's label (GHSA's
// LOW/MODERATE/HIGH/CRITICAL, which also covers records scored only with
// CVSS v4), then ecosystem-specific labels, then CVSS v2. With none of these
// the level is 'unknown', which blocks at every threshold by default: a
// record nobody scored (a malicious-package MAL-* entry, for one) is not
// evidence of a harmless one.

import { cvss2BaseScore, cvss3BaseScore } from './cvss.ts';
import { affectedEntriesFor } from './osv-match.ts';
import type { OsvSeverity, OsvVuln } from './osv-record.ts';
import type { PackageRef } from './package-ref.ts';

export const SEVERITY_THRESHOLDS = ['low', 'moderate', 'high', 'critical'] as const;
export type SeverityThreshold = (typeof SEVERITY_THRESHOLDS)[number];
export type SeverityLevel = SeverityThreshold | 'unknown';

/** Whether a finding of unknown severity blocks ('block', the default) or is only reported. */
export type UnknownSeverityPolicy = 'block' | 'report';

export interface SeverityAssessment {
  level: SeverityLevel;
  /** Base score when computed from a CVSS vector. */
  score?: number;
  /** Where the level came from, e.g. 'CVSS:3.1', 'database_specific', 'none'. */
  source: string;
}

export function severityRank(level: SeverityThreshold): number {
  return SEVERITY_THRESHOLDS.indexOf(level);
}

/** FIRST's qualitative scale for v3 (None folds into low: there is no lower level to report). */
export function levelFromCvss3(score: number): SeverityThreshold {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'moderate';
  return 'low';
}

/** NVD's v2 scale has no critical. */
export function levelFromCvss2(score: number): SeverityThreshold {
  if (score >= 7) return 'high';
  if (score >= 4) return 'moderate';
  return 'low';
}

/** Text labels used across databases (GHSA, OSS-Fuzz, Go, Ubuntu priorities). */
export function levelFromLabel(label: unknown): SeverityThreshold | undefined {
  if (typeof label !== 'string') return undefined;
  switch (label.trim().toLowerCase()) {
    case 'negligible':
    case 'low':
      return 'low';
    case 'medium':
    case 'moderate':
      return 'moderate';
    case 'high':
    case 'important':
      return 'high';
    case 'critical':
      return 'critical';
    default:
      return undefined;
  }
}

function maxLevel(levels: SeverityThreshold[]): SeverityThreshold | undefined {
  return levels.reduce<SeverityThreshold | undefined>(
    (m, l) => (m === undefined || severityRank(l) > severityRank(m) ? l : m),
    undefined
  );
}

export function assessSeverity(
  vuln: OsvVuln,
  pkg?: Pick<PackageRef, 'ecosystem' | 'name'>
): SeverityAssessment {
  const entries = pkg ? affectedEntriesFor(vuln, pkg) : (vuln.affected ?? []);
  const scored: OsvSeverity[] = [
    ...(vuln.severity ?? []),
    ...entries.flatMap((a) => a.severity ?? [])
  ];

  const v3 = scored
    .filter((s) => s.type === 'CVSS_V3')
    .map((s) => cvss3BaseScore(s.score))
    .filter((s) => s !== undefined);
  if (v3.length > 0) {
    const best = v3.reduce((m, s) => (s.score > m.score ? s : m));
    return { level: levelFromCvss3(best.score), score: best.score, source: `CVSS:${best.version}` };
  }
  const db = levelFromLabel(vuln.database_specific?.severity);
  if (db) return { level: db, source: 'database_specific' };
  const eco = maxLevel(
    entries
      .flatMap((a) => [
        levelFromLabel(a.ecosystem_specific?.severity),
        levelFromLabel(a.database_specific?.severity)
      ])
      .filter((l) => l !== undefined)
  );
  if (eco) return { level: eco, source: 'ecosystem_specific' };
  const v2 = scored
    .filter((s) => s.type === 'CVSS_V2')
    .map((s) => cvss2BaseScore(s.score))
    .filter((s) => s !== undefined);
  if (v2.length > 0) {
    const best = v2.reduce((m, s) => (s.score > m.score ? s : m));
    return { level: levelFromCvss2(best.score), score: best.score, source: 'CVSS:2.0' };
  }
  const ubuntu = maxLevel(
    scored
      .filter((s) => s.type === 'Ubuntu')
      .map((s) => levelFromLabel(s.score))
      .filter((l) => l !== undefined)
  );
  if (ubuntu) return { level: ubuntu, source: 'Ubuntu' };
  const v4 = scored.some((s) => s.type === 'CVSS_V4');
  return { level: 'unknown', source: v4 ? 'CVSS_V4 (not scored)' : 'none' };
}

export function blocks(
  level: SeverityLevel,
  threshold: SeverityThreshold,
  unknown: UnknownSeverityPolicy = 'block'
): boolean {
  if (level === 'unknown') return unknown === 'block';
  return severityRank(level) >= severityRank(threshold);
}
