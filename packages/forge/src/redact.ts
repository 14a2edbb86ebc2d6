// Keeps credentials out of every message the forge package produces: the
// token itself wherever it appears, and anything that looks like an
// Authorization header value (a server or a custom fetch may echo one).

const AUTH_HEADER = /(authorization["']?\s*[:=]\s*["']?)(?:(?:token|bearer|basic)\s+)?[^\s"',}]+/gi;

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    // Very short values would blank out ordinary words; tokens are never that short.
    if (s.length >= 4) out = out.split(s).join('***');
  }
  return out.replace(AUTH_HEADER, '$1[redacted]');
}
