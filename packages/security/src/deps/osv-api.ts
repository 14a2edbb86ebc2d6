// The OSV.dev API as a VulnSource: POST /v1/querybatch (at most 1000 queries
// a call, following each query's next_page_token), then GET /v1/vulns/{id}
// for the full records, deduplicated and with bounded concurrency. 5xx, 429,
// timeouts and network failures are retried with backoff a bounded number of
// times, and never past the audit's deadline: each request waits at most the
// time left, a Retry-After is honoured when it ends before the deadline and
// not waited otherwise. A batch that fails leaves its packages not looked up;
// a record that cannot be fetched leaves the packages it concerns not looked
// up; everything else is answered.

import { describeError } from '../../../core/src/errors.ts';
import type { Logger } from '../../../core/src/logger.ts';
import { isJsonObject } from './json-object.ts';
import { OsvRecordError, validateOsvRecord, type OsvVuln } from './osv-record.ts';
import { pkgKey, type PackageRef } from './package-ref.ts';
import { countedList } from './parsed-lockfile.ts';
import {
  FeedBudgetError,
  FeedDataError,
  FeedError,
  FeedUnavailableError,
  timeLeft,
  type LookupFailure,
  type QueryOptions,
  type QueryResult,
  type VulnSource
} from './vuln-source.ts';

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
  /** Limit per HTTP request, including reading the body (and never past the deadline). Default 30 s. */
  timeoutMs?: number;
  /** Further attempts after a retryable failure. Default 3. */
  retries?: number;
  /** First backoff; doubles each retry. Default 500 ms. */
  backoffMs?: number;
  /** Cap on our own backoff; a server's Retry-After is bounded by the deadline instead. Default 10 s. */
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

/** Package versions a failure left without an answer. */
interface Unanswered {
  err: unknown;
  keys: string[];
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

  async query(pkgs: readonly PackageRef[], opts: QueryOptions = {}): Promise<QueryResult> {
    const { deadline } = opts;
    const unique = new Map<string, PackageRef>();
    for (const p of pkgs)
      unique.set(pkgKey(p), { ecosystem: p.ecosystem, name: p.name, version: p.version });
    const idsByKey = new Map<string, Set<string>>();
    for (const k of unique.keys()) idsByKey.set(k, new Set());
    const failures: LookupFailure[] = [];
    const all = [...unique.values()];
    const batches = Math.ceil(all.length / this.batchSize);
    for (let i = 0; i < all.length; i += this.batchSize) {
      const n = i / this.batchSize + 1;
      const what = `OSV API POST /v1/querybatch${batches > 1 ? ` (batch ${n} of ${batches})` : ''}`;
      // One batch failing leaves its own packages unanswered, not the other batches'.
      for (const u of await this.queryBatch(all.slice(i, i + this.batchSize), idsByKey, deadline)) {
        for (const k of u.keys) idsByKey.delete(k);
        failures.push(lookupFailure(what, u));
      }
    }
    const wanted = new Set([...idsByKey.values()].flatMap((s) => [...s]));
    const missing = await this.fetchRecords(
      [...wanted].filter((id) => !this.records.has(id)),
      deadline
    );
    // A record that could not be fetched leaves every package it concerns without a full answer.
    const byProblem = new Map<string, { err: unknown; ids: string[] }>();
    for (const [id, err] of missing) {
      const problem = describeError(err);
      const group = byProblem.get(problem) ?? { err, ids: [] };
      group.ids.push(id);
      byProblem.set(problem, group);
    }
    const unanswered = new Set<string>();
    for (const { err, ids } of byProblem.values()) {
      const keys = [...idsByKey]
        .filter(([, found]) => ids.some((id) => found.has(id)))
        .map(([k]) => k);
      for (const k of keys) unanswered.add(k);
      const what =
        ids.length === 1
          ? `OSV record ${ids[0]} (GET /v1/vulns/{id})`
          : `${ids.length} OSV records (GET /v1/vulns/{id}: ${countedList(ids.sort())})`;
      failures.push(lookupFailure(what, { err, keys }));
    }
    for (const k of unanswered) idsByKey.delete(k);
    const answers = new Map<string, OsvVuln[]>();
    for (const [k, ids] of idsByKey)
      answers.set(
        k,
        [...ids].sort().map((id) => this.records.get(id)!)
      );
    return { answers, failures };
  }

  /** Looks `pkgs` up, page by page; returns the packages that could not be, and why. */
  private async queryBatch(
    pkgs: PackageRef[],
    idsByKey: Map<string, Set<string>>,
    deadline: number | undefined
  ): Promise<Unanswered[]> {
    const out: Unanswered[] = [];
    let pending: PendingQuery[] = pkgs.map((pkg) => ({ pkg }));
    const keysOf = (qs: PendingQuery[]): string[] => qs.map((q) => pkgKey(q.pkg));
    for (let page = 1; pending.length > 0; page++) {
      if (page > this.maxPages) {
        out.push({
          err: new FeedDataError(
            `OSV API at ${this.baseUrl} kept paginating after ${this.maxPages} pages; refusing a runaway answer`
          ),
          keys: keysOf(pending)
        });
        break;
      }
      const body = {
        queries: pending.map((q) => ({
          package: { name: q.pkg.name, ecosystem: q.pkg.ecosystem },
          version: q.pkg.version,
          ...(q.pageToken !== undefined ? { page_token: q.pageToken } : {})
        }))
      };
      let res: unknown;
      try {
        res = await this.request('POST', '/v1/querybatch', JSON.stringify(body), deadline);
      } catch (err) {
        out.push({ err, keys: keysOf(pending) });
        break;
      }
      const results = isJsonObject(res) ? res.results : undefined;
      if (!Array.isArray(results) || results.length !== pending.length) {
        out.push({
          err: new FeedDataError(
            `OSV API POST /v1/querybatch returned ${Array.isArray(results) ? results.length : 'no'} results for ${pending.length} queries`
          ),
          keys: keysOf(pending)
        });
        break;
      }
      const next: PendingQuery[] = [];
      const bad = new Map<string, string[]>();
      results.forEach((r, i) => {
        const q = pending[i];
        // An empty result is `{}`: no vulns key at all.
        const vulns = isJsonObject(r) ? (r.vulns ?? []) : undefined;
        const problem = !Array.isArray(vulns)
          ? 'OSV API POST /v1/querybatch returned a result without a vulns list'
          : vulns.some((v) => !isJsonObject(v) || typeof v.id !== 'string' || v.id === '')
            ? 'OSV API POST /v1/querybatch returned a vuln without an id'
            : undefined;
        if (problem !== undefined) {
          bad.set(problem, [...(bad.get(problem) ?? []), pkgKey(q.pkg)]);
          return;
        }
        const ids = idsByKey.get(pkgKey(q.pkg))!;
        for (const v of vulns as { id: string }[]) ids.add(v.id);
        const token = (r as Record<string, unknown>).next_page_token;
        if (typeof token === 'string' && token !== '') next.push({ pkg: q.pkg, pageToken: token });
      });
      for (const [problem, keys] of bad) out.push({ err: new FeedDataError(problem), keys });
      pending = next;
    }
    return out;
  }

  /**
   * Fetches each record once, `concurrency` at a time; returns the ids that
   * could not be fetched, and why. Each failure is its own record's; once the
   * feed is unavailable (retries spent) or the deadline has passed, what is
   * left is not asked for.
   */
  private async fetchRecords(
    ids: string[],
    deadline: number | undefined
  ): Promise<Map<string, unknown>> {
    const failed = new Map<string, unknown>();
    let stop: FeedError | undefined;
    let cursor = 0;
    const worker = async (): Promise<void> => {
      while (cursor < ids.length) {
        const id = ids[cursor++];
        const path = `/v1/vulns/${encodeURIComponent(id)}`;
        if (stop) {
          failed.set(id, stop);
          continue;
        }
        try {
          const body = await this.request('GET', path, undefined, deadline);
          const record = validateOsvRecord(body);
          if (record.id !== id) throw new OsvRecordError(`asked for ${id}, got ${record.id}`);
          this.records.set(id, record);
        } catch (err) {
          failed.set(
            id,
            err instanceof OsvRecordError
              ? new FeedDataError(`OSV API GET ${path} returned an invalid record: ${err.message}`)
              : err
          );
          if (err instanceof FeedBudgetError) {
            stop ??= new FeedBudgetError(
              "not fetched: the audit's time budget ran out before it was asked for"
            );
          } else if (err instanceof FeedUnavailableError) {
            stop ??= new FeedUnavailableError(
              `not fetched: the OSV API at ${this.baseUrl} stopped answering (${err.message})`
            );
          }
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.concurrency, ids.length) }, () => worker())
    );
    return failed;
  }

  /**
   * One JSON request with retries; resolves with the parsed body of a 2xx
   * answer. Never runs past `deadline`: each attempt waits at most the time
   * left, and a backoff or Retry-After that would end after it is not waited
   * (FeedBudgetError).
   */
  private async request(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    deadline: number | undefined
  ): Promise<unknown> {
    const url = `${this.baseUrl}${path}`;
    let last = '';
    let serverWait: number | undefined;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) {
        const pause = this.backoff(attempt, serverWait);
        const left = timeLeft(deadline);
        if (pause >= left) {
          throw new FeedBudgetError(
            serverWait !== undefined && serverWait >= left
              ? `OSV API ${method} ${path}: ${last}, and the server asks to wait ${seconds(serverWait)} before retrying, longer than the ${seconds(left)} left of the audit's time budget`
              : `OSV API ${method} ${path}: ${last}; the audit's time budget ran out before retry ${attempt}`
          );
        }
        await sleep(pause);
      }
      const left = timeLeft(deadline);
      if (left === 0) {
        throw new FeedBudgetError(
          `OSV API ${method} ${path}: the audit's time budget ran out${last ? ` (last: ${last})` : ' before it was asked'}`
        );
      }
      // Each attempt gets its own limit, but never more than the time left.
      const limit = Math.min(this.timeoutMs, left);
      let status: number;
      let text: string;
      serverWait = undefined;
      try {
        const res = await this.fetchFn(url, {
          method,
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            'user-agent': 'quality-gates'
          },
          body,
          signal: AbortSignal.timeout(limit)
        });
        status = res.status;
        serverWait = parseRetryAfter(res.headers.get('retry-after'));
        text = await res.text();
      } catch (err) {
        last = networkProblem(err, limit);
        if (limit < this.timeoutMs && (err as { name?: string })?.name === 'TimeoutError') {
          throw new FeedBudgetError(
            `OSV API ${method} ${path}: no answer within the ${seconds(limit)} left of the audit's time budget`
          );
        }
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

  /** Our own backoff is capped; a server's Retry-After is honoured in full (the deadline bounds it). */
  private backoff(attempt: number, serverWait: number | undefined): number {
    const exp = this.backoffMs * 2 ** (attempt - 1);
    // Jitter keeps many CI jobs from retrying in lockstep.
    const ours = Math.min(this.maxBackoffMs, exp * (0.8 + Math.random() * 0.4));
    return Math.max(ours, serverWait ?? 0);
  }
}

function lookupFailure(what: string, u: Unanswered): LookupFailure {
  const kind = u.err instanceof FeedBudgetError ? 'budget' : 'lookup';
  const short =
    kind === 'budget'
      ? 'time budget ran out'
      : u.err instanceof FeedUnavailableError
        ? 'OSV API unavailable'
        : u.err instanceof FeedDataError
          ? 'OSV API answered wrongly'
          : 'OSV API lookup failed';
  return { kind, what, problem: describeError(u.err), keys: u.keys, short };
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
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
