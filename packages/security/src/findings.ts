// What the secret engines report, shared by the embedded engine and gitleaks.
// A finding never carries the secret, nor any part of it: only where it is,
// which rule matched and a fingerprint derived from the location.

import { createHash } from 'node:crypto';

export type SecretsEngineName = 'embedded' | 'gitleaks';

export interface SecretFinding {
  engine: SecretsEngineName;
  /** Rule id, e.g. 'aws-access-key-id' or a gitleaks rule id. */
  ruleId: string;
  /**
   * Path in the repository, as git prints it, with any secret inside it
   * masked (SECRET_MASK); for a commit message finding, COMMIT_MESSAGE_FILE;
   * for a branch name finding, the masked name.
   */
  file: string;
  /**
   * 1-based line number in the file at that commit (in the message for a
   * commit message finding); 0 for a secret in a file or branch name.
   */
  line: number;
  /** Full commit sha that added the line. */
  commit: string;
  /** Author date of that commit, ISO 8601. */
  authorDate: string;
  /** Stable, non-reversible id of this finding (see fingerprintOf). */
  fingerprint: string;
  /**
   * Where the secret is when it is not in a file's content: 'path' (the file
   * name, `file` masked), 'commit-message' (the message of `commit`, never
   * printed), 'branch-name' (the name of the branch under test, masked).
   */
  source?: 'path' | 'commit-message' | 'branch-name';
  /**
   * A documentation example (an RFC 2606 / 6761 host in a credential URL, a
   * provider's published example key): reported, never blocking.
   */
  example?: true;
}

/** What a secret inside a name (a path, a branch) is replaced by wherever the name is shown. */
export const SECRET_MASK = '[REDACTED]';
/** The `file` of a finding in a commit message. */
export const COMMIT_MESSAGE_FILE = 'commit message';

/** `text` with the [start, end) spans replaced by SECRET_MASK (overlapping spans merged). */
export function maskSpans(text: string, spans: readonly (readonly [number, number])[]): string {
  if (spans.length === 0) return text;
  const sorted = [...spans].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let out = '';
  let at = 0;
  let i = 0;
  while (i < sorted.length) {
    const start = Math.max(at, sorted[i][0]);
    let end = sorted[i][1];
    while (i + 1 < sorted.length && sorted[i + 1][0] <= end) end = Math.max(end, sorted[++i][1]);
    i++;
    if (end <= start) continue;
    out += text.slice(at, start) + SECRET_MASK;
    at = end;
  }
  return out + text.slice(at);
}

/**
 * A function that masks every occurrence of the given secrets in a text: the
 * last line of defence of whatever prints. Secrets shorter than 6 characters
 * are not taken (they would mask ordinary words).
 */
export function makeRedactor(secrets: Iterable<string>): (text: string) => string {
  const known = [...new Set(secrets)]
    .filter((s) => s.length >= 6)
    .sort((a, b) => b.length - a.length);
  if (known.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const k of known) if (out.includes(k)) out = out.split(k).join(SECRET_MASK);
    return out;
  };
}

/** A finding's place for one line of text: `path:12`, `file name path`, `commit message line 3 of <sha>`. */
export function describePlace(f: SecretFinding): string {
  switch (f.source) {
    case 'path':
      return `file name ${f.file}`;
    case 'commit-message':
      return `commit message line ${f.line}`;
    case 'branch-name':
      return `branch name ${f.file}`;
    default:
      return `${f.file}:${f.line}`;
  }
}

export interface SecretScanResult {
  engine: SecretsEngineName;
  commitsScanned: number;
  /** Bytes of added content examined (not the size of the repository). */
  bytesScanned: number;
  findings: SecretFinding[];
  /** Non-fatal notes (a binary file skipped, an allowlist change not yet in effect). */
  notes: string[];
  /**
   * Masks every secret the scan found inside a name (a path, the branch
   * name) wherever it still occurs in a text; findings and notes are masked
   * already. Not enumerable: never serialised with the result.
   */
  readonly redact?: (text: string) => string;
}

/** Attaches `redact` to a result without making it part of what is serialised or compared. */
export function withRedactor<T extends SecretScanResult>(
  result: T,
  redact: (text: string) => string
): T {
  Object.defineProperty(result, 'redact', { value: redact, enumerable: false });
  return result;
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
