// How long a server asks us to wait: Retry-After (seconds or an HTTP date,
// RFC 9110 10.2.3), or GitHub's x-ratelimit-reset (epoch seconds) when its
// primary rate limit is exhausted.

export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** GitHub answers an exhausted rate limit with 403 (or 429) and x-ratelimit-remaining: 0. */
export function rateLimitWait(
  headers: { get(name: string): string | null },
  now: number
): number | undefined {
  if (headers.get('x-ratelimit-remaining') !== '0') return undefined;
  const reset = headers.get('x-ratelimit-reset');
  if (reset === null || !/^\d+$/.test(reset.trim())) return undefined;
  return Math.max(0, Number(reset.trim()) * 1000 - now);
}
