// One severity per OSV record, from the most precise evidence it carries:
// a score computed from a CVSS v3 or v4 vector, then the database's label
// (GHSA's LOW/MODERATE/HIGH/CRITICAL), then ecosystem-specific labels, then
// CVSS v2.
// With none of these the level is 'unknown', which blocks at every threshold
// by default: a record nobody scored (a malicious-package MAL-* entry, for
// one) is not evidence of a harmless one.
//
// A record with both v3 and v4 vectors is as severe as the higher of the
// two scores, as osv-scanner rates it (the maximum over every vector it can
// score); on a tie the newer version is named as the source. A record's
// vectors describe one vulnerability, the score is what blocks, and a gate
// should not be softened by whichever version happens to rate it lower.
// A vector that does not parse is skipped with a note, and the next source
// decides.

import { cvss2BaseScore, cvss3BaseScore, cvss4Score, type CvssScore } from './cvss.ts';
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
  /** The score when computed from a CVSS vector (v3/v2: base score; v4: the vector's score). */
  score?: number;
  /** Where the level came from, e.g. 'CVSS:3.1', 'CVSS:4.0', 'database_specific', 'none'. */
  source: string;
  /** Severity data of the record that could not be used (a malformed vector), naming the record; absent when none. */
  notes?: string[];
}

export function severityRank(level: SeverityThreshold): number {
  return SEVERITY_THRESHOLDS.indexOf(level);
}

/**
 * FIRST's qualitative scale, the same for v3.x and v4.0 (None 0.0, Low 0.1-3.9,
 * Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0). None folds into low: there
 * is no lower level to report.
 */
export function levelFromCvss(score: number): SeverityThreshold {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'moderate';
  return 'low';
}

/** The v3 scale (kept under its old name). */
export const levelFromCvss3 = levelFromCvss;

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
  const notes: string[] = [];
  const withNotes = (a: SeverityAssessment): SeverityAssessment =>
    notes.length > 0 ? { ...a, notes } : a;

  const computed: CvssScore[] = [];
  for (const s of scored) {
    const scorer =
      s.type === 'CVSS_V3' ? cvss3BaseScore : s.type === 'CVSS_V4' ? cvss4Score : undefined;
    if (!scorer) continue;
    const r = scorer(s.score);
    if (r) computed.push(r);
    else
      notes.push(
        `${vuln.id}: ${s.type} vector ${JSON.stringify(s.score)} is malformed; not used for its severity`
      );
  }
  if (computed.length > 0) {
    const best = computed.reduce((m, s) =>
      s.score > m.score || (s.score === m.score && s.version > m.version) ? s : m
    );
    return withNotes({
      level: levelFromCvss(best.score),
      score: best.score,
      source: `CVSS:${best.version}`
    });
  }
  const db = levelFromLabel(vuln.database_specific?.severity);
  if (db) return withNotes({ level: db, source: 'database_specific' });
  const eco = maxLevel(
    entries
      .flatMap((a) => [
        levelFromLabel(a.ecosystem_specific?.severity),
        levelFromLabel(a.database_specific?.severity)
      ])
      .filter((l) => l !== undefined)
  );
  if (eco) return withNotes({ level: eco, source: 'ecosystem_specific' });
  const v2 = scored
    .filter((s) => s.type === 'CVSS_V2')
    .map((s) => cvss2BaseScore(s.score))
    .filter((s) => s !== undefined);
  if (v2.length > 0) {
    const best = v2.reduce((m, s) => (s.score > m.score ? s : m));
    return withNotes({ level: levelFromCvss2(best.score), score: best.score, source: 'CVSS:2.0' });
  }
  const ubuntu = maxLevel(
    scored
      .filter((s) => s.type === 'Ubuntu')
      .map((s) => levelFromLabel(s.score))
      .filter((l) => l !== undefined)
  );
  if (ubuntu) return withNotes({ level: ubuntu, source: 'Ubuntu' });
  // Only a vector we could not read (counted in the notes) or nothing at all.
  const v4 = scored.some((s) => s.type === 'CVSS_V4');
  return withNotes({ level: 'unknown', source: v4 ? 'CVSS_V4 (not scored)' : 'none' });
}

export function blocks(
  level: SeverityLevel,
  threshold: SeverityThreshold,
  unknown: UnknownSeverityPolicy = 'block'
): boolean {
  if (level === 'unknown') return unknown === 'block';
  return severityRank(level) >= severityRank(threshold);
}
