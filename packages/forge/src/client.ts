// A small REST client for Gitea's v1 API and GitHub's REST API over fetch:
// request(method, path, {query, body}) -> parsed JSON, plus download() for
// binary answers behind redirects. 429 and 5xx (and network failures and
// timeouts of idempotent requests) are retried with jittered exponential
// backoff, a bounded number of times, waiting at least what Retry-After asks;
// 401/403/404 become one line naming the missing permission. The token goes
// only to the API's own origin and never into a message.

import { ConfigurationError } from '../../core/src/errors.ts';
import type { Logger } from '../../core/src/logger.ts';
import type { FetchLike } from './fetch-like.ts';
import { detectFlavor, type ForgeFlavor } from './flavor.ts';
import { ForgeError } from './forge-error.ts';
import { permissionHint } from './permission-hints.ts';
import { redact } from './redact.ts';
import { parseRetryAfter, rateLimitWait } from './retry-after.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type QueryValue = string | number | boolean | undefined | readonly (string | number)[];

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** Serialised as JSON. */
  body?: unknown;
  /**
   * Whether a 5xx, a timeout or a network failure may be retried. Default:
   * every method but POST, because a POST the server applied before failing
   * (a comment, a status) would be applied twice. 429 is always retried: the
   * request was refused before it did anything.
   */
  idempotent?: boolean;
}

export interface ForgeClientOptions {
  /** Base URL of the API: https://gitea.example/api/v1, https://api.github.com (GITHUB_API_URL). */
  apiUrl: string;
  token: string;
  /** Default: detected from apiUrl (…/api/v1 is Gitea). */
  flavor?: ForgeFlavor;
  /** Default: the global fetch. */
  fetch?: FetchLike;
  /** Limit per attempt, including reading the body. Default 30 s. */
  timeoutMs?: number;
  /** Further attempts after a retryable failure. Default 3. */
  retries?: number;
  /** First backoff; doubles each retry. Default 500 ms. */
  backoffMs?: number;
  /** Cap on our own backoff. Default 10 s. */
  maxBackoffMs?: number;
  /** Longest Retry-After (or rate-limit reset) honoured; a longer one fails at once. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Redirect hops followed by download(). Default 5. */
  maxRedirects?: number;
  /** Largest body accepted. Default 512 MiB. */
  maxBodyBytes?: number;
  /** Input that supplied the token, for configuration messages. Default 'token'. */
  tokenInput?: string;
  logger?: Logger;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

interface RawResponse {
  status: number;
  headers: { get(name: string): string | null };
  bytes: Buffer;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class ForgeClient {
  readonly apiUrl: string;
  readonly flavor: ForgeFlavor;
  private readonly origin: string;
  private readonly token: string;
  private readonly fetchFn: FetchLike;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly maxRedirects: number;
  private readonly maxBodyBytes: number;
  private readonly logger?: Logger;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(opts: ForgeClientOptions) {
    const apiUrl = opts.apiUrl.trim().replace(/\/+$/, '');
    let parsed: URL;
    try {
      parsed = new URL(apiUrl);
    } catch {
      throw new ConfigurationError(
        'GITHUB_API_URL',
        'the forge API base URL, such as https://gitea.example/api/v1',
        apiUrl
      );
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new ConfigurationError('GITHUB_API_URL', 'an http(s) URL', apiUrl);
    }
    if (opts.token.trim() === '') {
      throw new ConfigurationError(
        opts.tokenInput ?? 'token',
        'a token for the forge API (in a workflow: ${{ github.token }} or a secret)'
      );
    }
    if (/[\r\n]/.test(opts.token)) {
      // Never echo the value: it is a credential.
      throw new ConfigurationError(opts.tokenInput ?? 'token', 'a token on a single line');
    }
    this.apiUrl = apiUrl;
    this.origin = parsed.origin;
    this.flavor = opts.flavor ?? detectFlavor(apiUrl);
    this.token = opts.token.trim();
    this.fetchFn = opts.fetch ?? ((url, init) => fetch(url, init));
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retries = opts.retries ?? 3;
    this.backoffMs = opts.backoffMs ?? 500;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.maxRedirects = opts.maxRedirects ?? 5;
    this.maxBodyBytes = opts.maxBodyBytes ?? 512 * 1024 * 1024;
    this.logger = opts.logger;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = opts.now ?? Date.now;
  }

  /** One JSON request; resolves with the parsed body of a 2xx answer (undefined when empty). */
  async request<T = unknown>(
    method: HttpMethod,
    path: string,
    opts: RequestOptions = {}
  ): Promise<T> {
    const shown = pathOnly(path);
    const url = this.url(path, opts.query);
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const res = await this.send(method, url, shown, {
      body,
      idempotent: opts.idempotent ?? method !== 'POST',
      accept: this.flavor === 'github' ? 'application/vnd.github+json' : 'application/json'
    });
    if (REDIRECTS.has(res.status)) {
      throw this.error(
        `${res.status} from ${method} ${shown}: unexpected redirect for a JSON endpoint`,
        method,
        shown,
        res.status
      );
    }
    if (res.status < 200 || res.status >= 300) throw this.failure(method, shown, res);
    if (res.status === 204 || res.bytes.length === 0) return undefined as T;
    try {
      return JSON.parse(res.bytes.toString('utf8')) as T;
    } catch {
      throw this.error(
        `${res.status} from ${method} ${shown}: the body is not JSON`,
        method,
        shown,
        res.status
      );
    }
  }

  /**
   * GET that answers bytes, following redirects itself: the token is sent on
   * hops to the API's origin only, so a signed storage URL (S3, Azure, the
   * forge's own /zip/raw?sig=) never sees it.
   */
  async download(path: string, opts: { query?: Record<string, QueryValue> } = {}): Promise<Buffer> {
    let url = this.url(path, opts.query);
    let shown = pathOnly(path);
    for (let hop = 0; ; hop++) {
      const res = await this.send('GET', url, shown, { idempotent: true, accept: '*/*' });
      if (REDIRECTS.has(res.status)) {
        const location = res.headers.get('location');
        if (!location) {
          throw this.error(
            `${res.status} from GET ${shown}: redirect without a Location`,
            'GET',
            shown,
            res.status
          );
        }
        if (hop >= this.maxRedirects) {
          throw this.error(
            `GET ${pathOnly(path)}: more than ${this.maxRedirects} redirects`,
            'GET',
            shown,
            res.status
          );
        }
        url = new URL(location, url).toString();
        shown = this.describeUrl(url);
        continue;
      }
      if (res.status < 200 || res.status >= 300) throw this.failure('GET', shown, res);
      return res.bytes;
    }
  }

  private url(path: string, query?: Record<string, QueryValue>): string {
    if (!path.startsWith('/')) throw new Error(`bug: API path '${path}' must start with '/'`);
    const u = new URL(this.apiUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const item of v) u.searchParams.append(k, String(item));
      else u.searchParams.set(k, String(v));
    }
    return u.toString();
  }

  /** An API path for hops on the API's origin; origin + path otherwise. Never the query: signed URLs carry their signature there. */
  private describeUrl(url: string): string {
    const u = new URL(url);
    const base = new URL(this.apiUrl);
    if (u.origin === this.origin && u.pathname.startsWith(base.pathname)) {
      return u.pathname.slice(base.pathname.replace(/\/$/, '').length) || '/';
    }
    return `${u.origin}${u.pathname}`;
  }

  private async send(
    method: HttpMethod,
    url: string,
    shown: string,
    opts: { body?: string; idempotent: boolean; accept: string }
  ): Promise<RawResponse> {
    const headers: Record<string, string> = {
      accept: opts.accept,
      'user-agent': 'quality-gates'
    };
    if (new URL(url).origin === this.origin) headers.authorization = `token ${this.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (this.flavor === 'github') headers['x-github-api-version'] = '2022-11-28';
    let last = '';
    let lastStatus: number | undefined;
    let wait: number | undefined;
    const attempts = this.retries + 1;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await this.sleep(this.backoff(attempt, wait));
      wait = undefined;
      let res: RawResponse;
      try {
        const r = await this.fetchFn(url, {
          method,
          headers,
          body: opts.body,
          signal: AbortSignal.timeout(this.timeoutMs),
          redirect: 'manual'
        });
        const declared = Number(r.headers.get('content-length') ?? '0');
        if (declared > this.maxBodyBytes) {
          throw this.error(
            `${r.status} from ${method} ${shown}: body of ${declared} bytes exceeds the ${this.maxBodyBytes}-byte limit`,
            method,
            shown,
            r.status
          );
        }
        const bytes = Buffer.from(await r.arrayBuffer());
        if (bytes.length > this.maxBodyBytes) {
          throw this.error(
            `${r.status} from ${method} ${shown}: body exceeds the ${this.maxBodyBytes}-byte limit`,
            method,
            shown,
            r.status
          );
        }
        res = { status: r.status, headers: r.headers, bytes };
      } catch (err) {
        if (err instanceof ForgeError) throw err;
        last = this.networkProblem(err);
        lastStatus = undefined;
        if (!opts.idempotent) {
          throw this.error(
            `${method} ${shown} failed (${last}); not retried: the server may have applied it`,
            method,
            shown
          );
        }
        this.logger?.debug(`${method} ${shown}: ${last} (attempt ${attempt + 1} of ${attempts})`);
        continue;
      }
      const now = this.now();
      const limited =
        res.status === 429 ||
        ((res.status === 403 || res.status === 429) &&
          rateLimitWait(res.headers, now) !== undefined);
      const retryable = limited || (res.status >= 500 && opts.idempotent);
      if (!retryable) return res;
      wait =
        parseRetryAfter(res.headers.get('retry-after'), now) ?? rateLimitWait(res.headers, now);
      if (wait !== undefined && wait > this.maxRetryAfterMs) {
        throw this.error(
          `${res.status} from ${method} ${shown}: the server asks to wait ${Math.ceil(wait / 1000)} s before retrying, longer than the ${Math.round(this.maxRetryAfterMs / 1000)} s this client waits${serverMessage(res.bytes)}`,
          method,
          shown,
          res.status
        );
      }
      last = `HTTP ${res.status}${serverMessage(res.bytes)}`;
      lastStatus = res.status;
      this.logger?.debug(`${method} ${shown}: ${last} (attempt ${attempt + 1} of ${attempts})`);
    }
    throw this.error(
      `${method} ${shown} failed ${attempts} time(s), last: ${last}`,
      method,
      shown,
      lastStatus
    );
  }

  private backoff(attempt: number, serverWait: number | undefined): number {
    const exp = this.backoffMs * 2 ** (attempt - 1);
    // Jitter keeps many CI jobs from retrying in lockstep.
    const ours = Math.min(this.maxBackoffMs, exp * (0.8 + Math.random() * 0.4));
    return Math.max(ours, serverWait ?? 0);
  }

  private failure(method: string, shown: string, res: RawResponse): ForgeError {
    const said = serverText(res.bytes);
    const msg = said === '' ? '' : ` (server: "${said}")`;
    if (res.status === 401 || res.status === 403 || res.status === 404) {
      const hint = permissionHint(res.status, method, shown, this.flavor);
      return this.error(
        `${res.status} from ${method} ${shown}: ${hint}${msg}`,
        method,
        shown,
        res.status,
        said
      );
    }
    return this.error(
      `${res.status} from ${method} ${shown}${msg}`,
      method,
      shown,
      res.status,
      said
    );
  }

  private error(
    message: string,
    method: string,
    path: string,
    status?: number,
    said?: string
  ): ForgeError {
    const safe = said === undefined ? {} : { said: redact(said, [this.token]) };
    return new ForgeError(redact(message, [this.token]), { method, path, status, ...safe });
  }

  private networkProblem(err: unknown): string {
    const e = err as {
      name?: string;
      message?: string;
      cause?: { code?: string; message?: string };
    };
    if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
      return `no answer within ${this.timeoutMs / 1000} s`;
    }
    const detail = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
    return `network error: ${redact(String(detail).split('\n')[0], [this.token])}`;
  }
}

function pathOnly(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}

/** ` (server: "…")` from a Gitea/GitHub error body, or ''. */
function serverMessage(bytes: Buffer): string {
  const one = serverText(bytes);
  return one === '' ? '' : ` (server: "${one}")`;
}

/** The message of a Gitea/GitHub error body on one line (at most 200 characters), or ''. */
function serverText(bytes: Buffer): string {
  if (bytes.length === 0) return '';
  const text = bytes.subarray(0, 4096).toString('utf8');
  let msg: string | undefined;
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed?.message === 'string') msg = parsed.message;
  } catch {
    // Not JSON (a proxy's HTML page): its first line is still a clue.
    if (!/^\s*</.test(text)) msg = text.split('\n')[0];
  }
  if (!msg || msg.trim() === '') return '';
  const one = msg.replace(/\s+/g, ' ').trim();
  return one.length > 200 ? `${one.slice(0, 197)}...` : one;
}
