// What the secret engines report, shared by the embedded engine and gitleaks.
// A finding never carries the secret, nor any part of it: only where it is,
// which rule matched and a fingerprint derived from the location.

import { createHash } from 'node:crypto';

export type SecretsEngineName = 'embedded' | 'gitleaks';

export interface SecretFinding {
  engine: SecretsEngineName;
  /** Rule id, e.g. 'aws-access-key-id' or a gitleaks rule id. */
  ruleId: string;
  /** Path in the repository, as git prints it. */
  file: string;
  /** 1-based line number in the file at that commit. */
  line: number;
  /** Full commit sha that added the line. */
  commit: string;
  /** Author date of that commit, ISO 8601. */
  authorDate: string;
  /** Stable, non-reversible id of this finding (see fingerprintOf). */
  fingerprint: string;
}

export interface SecretScanResult {
  engine: SecretsEngineName;
  commitsScanned: number;
  /** Bytes of added content examined (not the size of the repository). */
  bytesScanned: number;
  findings: SecretFinding[];
  /** Non-fatal notes (a binary file skipped, an allowlist change not yet in effect). */
  notes: string[];
}

/**
 * Derived from the location, never from the secret: a hash of a low-entropy
 * password would be brute-forceable, a hash of where it sits is not. The same
 * string form as gitleaks' fingerprint (commit:file:rule:line) is hashed so an
 * allowlist can name either.
 */
export function locationKey(f: Pick<SecretFinding, 'commit' | 'file' | 'ruleId' | 'line'>): string {
  return `${f.commit}:${f.file}:${f.ruleId}:${f.line}`;
}

export function fingerprintOf(
  f: Pick<SecretFinding, 'commit' | 'file' | 'ruleId' | 'line'>
): string {
  return createHash('sha256').update(locationKey(f)).digest('hex').slice(0, 16);
}
