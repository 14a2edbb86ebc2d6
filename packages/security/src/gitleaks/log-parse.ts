// Reading gitleaks' own log (zerolog console format on stderr:
// "3:04PM INF 12 commits scanned."). Only counts are taken from it; an error
// line is passed on solely in sanitized, shortened form, because a log line
// can quote repository content and so, possibly, a secret.

const ANSI_RE = /\x1b\[[0-9;]*[A-Za-z]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI_RE, '');
}

function lines(log: string): string[] {
  return stripAnsi(log)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

/**
 * "N commits scanned." (info level, git scans only). The last occurrence
 * counts. gitleaks counts commits that added content, so a range of pure
 * deletions or merges legitimately reports fewer than `git rev-list`.
 */
export function parseCommitsScanned(log: string): number | undefined {
  let found: number | undefined;
  for (const l of lines(log)) {
    const m = /(?:^|\s)(\d+) commits scanned\.(?:\s|$)/.exec(l);
    if (m) found = Number(m[1]);
  }
  return found;
}

/** "scanned ~N bytes (…)" exists from 8.19 on; older releases do not log it. */
export function parseBytesScanned(log: string): number | undefined {
  let found: number | undefined;
  for (const l of lines(log)) {
    const m = /(?:^|\s)scanned ~(\d+) bytes\b/.exec(l);
    if (m) found = Number(m[1]);
  }
  return found;
}

/**
 * Masks anything token-like (long runs of key characters mixing letters and
 * digits) and caps the length, so a line quoting content cannot carry a
 * credential into a report or a build log.
 */
export function sanitizeLine(line: string, max = 160): string {
  const masked = stripAnsi(line)
    .replace(/[\x00-\x1f\x7f]/g, ' ')
    .replace(/[A-Za-z0-9+/=_\-.]{16,}/g, (tok) =>
      /[0-9]/.test(tok) && /[A-Za-z]/.test(tok) ? '[masked]' : tok
    )
    .replace(/\s+/g, ' ')
    .trim();
  return masked.length > max ? `${masked.slice(0, max - 1)}…` : masked;
}

/** The first ERR/FTL/panic line, sanitized; undefined when there is none. */
export function firstErrorLine(log: string): string | undefined {
  const all = lines(log);
  const pick =
    all.find((l) => /(?:^|\s)(?:ERR|FTL|PNC)\s/.test(l)) ??
    // cobra's "Error: unknown flag: …" and Go's "panic: …" bypass zerolog.
    all.find((l) => /^(?:fatal|error|panic)\b/i.test(l));
  if (pick === undefined) return undefined;
  // Drop the zerolog timestamp and level: the message is what helps a user.
  const msg = pick.replace(/^.*?(?:^|\s)(?:ERR|FTL|PNC)\s+/, '');
  return sanitizeLine(msg);
}
