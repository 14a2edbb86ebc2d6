// One JSON POST with a time limit, for the notifiers. Redirects are not
// followed (a webhook that moved should be reconfigured, and the body must
// not travel to wherever a redirect points). Failures are NotifyErrors whose
// message never contains the URL: Telegram carries the bot token in the path
// and webhook URLs often carry their secret in the path or query, so a
// failure names only what went wrong.

import type { FetchLike } from '../../forge/src/fetch-like.ts';
import { redact } from '../../forge/src/redact.ts';

export class NotifyError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'NotifyError';
    this.status = status;
  }
}

export interface PostAnswer {
  status: number;
  headers: { get(name: string): string | null };
  text: string;
}

export interface PostOptions {
  timeoutMs: number;
  fetch?: FetchLike;
  /** Values that must never appear in a message (token, URL, secret). */
  secrets: readonly string[];
}

const MAX_ANSWER = 64 * 1024;

export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: PostOptions
): Promise<PostAnswer> {
  const fetchFn: FetchLike = opts.fetch ?? ((u, init) => fetch(u, init));
  try {
    const res = await fetchFn(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'quality-gates', ...headers },
      body,
      signal: AbortSignal.timeout(opts.timeoutMs),
      redirect: 'manual'
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status,
      headers: res.headers,
      text: bytes.subarray(0, MAX_ANSWER).toString('utf8')
    };
  } catch (err) {
    throw new NotifyError(networkProblem(err, opts));
  }
}

function networkProblem(err: unknown, opts: PostOptions): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return `no answer within ${opts.timeoutMs / 1000} s`;
  }
  // Node's own messages quote the URL ("Failed to parse URL from …"): prefer the error code.
  const detail = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return `network error: ${redact(String(detail).split('\n')[0], opts.secrets)}`;
}

/** Seconds from Retry-After (or a body field) as milliseconds, when within the bound. */
export function retryWait(seconds: unknown, maxMs: number): number | undefined {
  const n = typeof seconds === 'string' && /^\d+$/.test(seconds.trim()) ? Number(seconds) : seconds;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return undefined;
  const ms = n * 1000;
  return ms <= maxMs ? ms : undefined;
}
