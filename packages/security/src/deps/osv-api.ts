// The OSV.dev API as a VulnSource: POST /v1/querybatch (at most 1000 queries
// a call, following each query's next_page_token), then GET /v1/vulns/{id}
// for the full records, deduplicated and with bounded concurrency. 5xx, 429,
// timeouts and network failures are retried with backoff a bounded number of
// times; after that the feed is unavailable (FeedUnavailableError).

import type { Logger } from '../../../core/src/logger.ts';
import { isJsonObject } from './json-object.ts';
import { OsvRecordError, validateOsvRecord, type OsvVuln } from './osv-record.ts';
import { pkgKey, type PackageRef } from './package-ref.ts';
import { FeedDataError, FeedUnavailableError, type VulnSource } from './vuln-source.ts';

export const DEFAULT_OSV_API = 'https://api.osv.dev';
/** The API's documented limit on queries per querybatch call. */
export const OSV_BATCH_LIMIT = 1000;

export interface FetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** The subset of the global fetch this source uses; tests and proxies inject their own. */
export type FetchLike = (
  url: string,
  init: {
    method: 'GET' | 'POST';
    headers: Record<string, string>;
    body?: string;
    signal: AbortSignal;
  }
) => Promise<FetchResponse>;

export interface OsvApiOptions {
  baseUrl?: string;
  fetch?: FetchLike;
  /** Limit per HTTP request, including reading the body. Default 30 s. */
  timeoutMs?: number;
  /** Further attempts after a retryable failure. Default 3. */
  retries?: number;
  /** First backoff; doubles each retry. Default 500 ms. */
  backoffMs?: number;
  /** Cap on one backoff, including a server's Retry-After. Default 10 s. */
  maxBackoffMs?: number;
  /** Parallel GET /v1/vulns/{id} requests. Default 8. */
  concurrency?: number;
  /** Queries per querybatch call, at most 1000. */
  batchSize?: number;
  /** Pages followed for one query before the answer is deemed runaway. Default 50. */
  maxPages?: number;
  logger?: Logger;
}

interface PendingQuery {
  pkg: PackageRef;
  pageToken?: string;
}

export class OsvApiSource implements VulnSource {
  readonly baseUrl: string;
  private readonly fetchFn: FetchLike;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly concurrency: number;
  private readonly batchSize: number;
  private readonly maxPages: number;
  private readonly logger?: Logger;
  private readonly records = new Map<string, OsvVuln>();

  constructor(opts: OsvApiOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? DEFAULT_OSV_API).replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? ((url, init) => fetch(url, init));
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retries = opts.retries ?? 3;
    this.backoffMs = opts.backoffMs ?? 500;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
    this.batchSize = Math.min(OSV_BATCH_LIMIT, Math.max(1, opts.batchSize ?? OSV_BATCH_LIMIT));
    this.maxPages = opts.maxPages ?? 50;
    this.logger = opts.logger;
  }

  async query(pkgs: readonly PackageRef[]): Promise<Map<string, OsvVuln[]>> {
    const unique = new Map<string, PackageRef>();
    for (const p of pkgs)
      unique.set(pkgKey(p), { ecosystem: p.ecosystem, name: p.name, version: p.version });
    const idsByKey = new Map<string, Set<string>>();
    for (const k of unique.keys()) idsByKey.set(k, new Set());
    const all = [...unique.values()];
    for (let i = 0; i < all.length; i += this.batchSize) {
      await this.queryBatch(all.slice(i, i + this.batchSize), idsByKey);
    }
    const wanted = new Set([...idsByKey.values()].flatMap((s) => [...s]));
    await this.fetchRecords([...wanted].filter((id) => !this.records.has(id)));
    const out = new Map<string, OsvVuln[]>();
    for (const [k, ids] of idsByKey)
      out.set(
        k,
        [...ids].sort().map((id) => this.records.get(id)!)
      );
    return out;
  }

  private async queryBatch(pkgs: PackageRef[], idsByKey: Map<string, Set<string>>): Promise<void> {
    let pending: PendingQuery[] = pkgs.map((pkg) => ({ pkg }));
    for (let page = 1; pending.length > 0; page++) {
      if (page > this.maxPages) {
        throw new FeedDataError(
          `OSV API at ${this.baseUrl} kept paginating after ${this.maxPages} pages; refusing a runaway answer`
        );
      }
      const body = {
        queries: pending.map((q) => ({
          package: { name: q.pkg.name, ecosystem: q.pkg.ecosystem },
          version: q.pkg.version,
          ...(q.pageToken !== undefined ? { page_token: q.pageToken } : {})
        }))
      };
      const res = await this.request('POST', '/v1/querybatch', JSON.stringify(body));
      const results = isJsonObject(res) ? res.results : undefined;
      if (!Array.isArray(results) || results.length !== pending.length) {
        throw new FeedDataError(
          `OSV API POST /v1/querybatch returned ${Array.isArray(results) ? results.length : 'no'} results for ${pending.length} queries`
        );
      }
      const next: PendingQuery[] = [];
      results.forEach((r, i) => {
        const q = pending[i];
        // An empty result is `{}`: no vulns key at all.
        const vulns = isJsonObject(r) ? (r.vulns ?? []) : undefined;
        if (!Array.isArray(vulns))
          throw new FeedDataError(
            'OSV API POST /v1/querybatch returned a result without a vulns list'
          );
        const ids = idsByKey.get(pkgKey(q.pkg))!;
        for (const v of vulns) {
          if (!isJsonObject(v) || typeof v.id !== 'string' || v.id === '')
            throw new FeedDataError('OSV API POST /v1/querybatch returned a vuln without an id');
          ids.add(v.id);
        }
        const token = (r as Record<string, unknown>).next_page_token;
        if (typeof token === 'string' && token !== '') next.push({ pkg: q.pkg, pageToken: token });
      });
      pending = next;
    }
  }

  private async fetchRecords(ids: string[]): Promise<void> {
    const abort = new AbortController();
    let first: unknown;
    let cursor = 0;
    const worker = async (): Promise<void> => {
      while (cursor < ids.length && !abort.signal.aborted) {
        const id = ids[cursor++];
        const path = `/v1/vulns/${encodeURIComponent(id)}`;
        try {
          const body = await this.request('GET', path, undefined, abort.signal);
          const record = validateOsvRecord(body);
          if (record.id !== id) throw new OsvRecordError(`asked for ${id}, got ${record.id}`);
          this.records.set(id, record);
        } catch (err) {
          // The first failure decides; the others are only cancellations it caused.
          if (first === undefined) {
            first =
              err instanceof OsvRecordError
                ? new FeedDataError(
                    `OSV API GET ${path} returned an invalid record: ${err.message}`
                  )
                : err;
          }
          abort.abort();
          return;
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.concurrency, ids.length) }, () => worker())
    );
    if (first !== undefined) throw first;
  }

  /** One JSON request with retries; resolves with the parsed body of a 2xx answer. */
  private async request(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
    cancel?: AbortSignal
  ): Promise<unknown> {
    const url = `${this.baseUrl}${path}`;
    let last = '';
    let retryAfter: string | null = null;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await sleep(this.backoff(attempt, retryAfter));
      if (cancel?.aborted)
        throw new FeedUnavailableError(
          `OSV API ${method} ${path} cancelled after another request failed`
        );
      const signals = [AbortSignal.timeout(this.timeoutMs), ...(cancel ? [cancel] : [])];
      let status: number;
      let text: string;
      retryAfter = null;
      try {
        const res = await this.fetchFn(url, {
          method,
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            'user-agent': 'quality-gates'
          },
          body,
          signal: AbortSignal.any(signals)
        });
        status = res.status;
        retryAfter = res.headers.get('retry-after');
        text = await res.text();
      } catch (err) {
        last = networkProblem(err, this.timeoutMs);
        this.logger?.debug(
          `OSV API ${method} ${path}: ${last} (attempt ${attempt + 1} of ${this.retries + 1})`
        );
        continue;
      }
      if (status === 429 || status >= 500) {
        last = `HTTP ${status}`;
        this.logger?.debug(
          `OSV API ${method} ${path}: ${last} (attempt ${attempt + 1} of ${this.retries + 1})`
        );
        continue;
      }
      if (status < 200 || status >= 300) {
        throw new FeedDataError(
          `OSV API ${method} ${path} answered HTTP ${status}${apiMessage(text)}`
        );
      }
      try {
        return JSON.parse(text);
      } catch {
        throw new FeedDataError(
          `OSV API ${method} ${path} answered HTTP ${status} with a body that is not JSON`
        );
      }
    }
    throw new FeedUnavailableError(
      `OSV API at ${this.baseUrl} unavailable: ${method} ${path} failed ${this.retries + 1} time(s), last: ${last}`
    );
  }

  private backoff(attempt: number, retryAfter: string | null): number {
    const fromServer = parseRetryAfter(retryAfter);
    const exp = this.backoffMs * 2 ** (attempt - 1);
    // Jitter keeps many CI jobs from retrying in lockstep.
    const jittered = exp * (0.8 + Math.random() * 0.4);
    return Math.min(this.maxBackoffMs, Math.max(jittered, fromServer ?? 0));
  }
}

function parseRetryAfter(v: string | null): number | undefined {
  if (v === null) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function networkProblem(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (e?.name === 'AbortError') return 'cancelled';
  const code = e?.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host not found (${code})`;
  return (code ?? e?.cause?.message ?? e?.message ?? String(err)).split('\n')[0];
}

/** The API's error body is `{code, message}`; show the message when there is one. */
function apiMessage(text: string): string {
  try {
    const body = JSON.parse(text) as unknown;
    if (isJsonObject(body) && typeof body.message === 'string')
      return `: ${body.message.split('\n')[0].slice(0, 200)}`;
  } catch {
    // not JSON: the status says enough
  }
  return '';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
