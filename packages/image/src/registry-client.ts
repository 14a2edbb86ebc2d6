// A small client for the OCI Distribution HTTP API over fetch: GET a manifest
// (OCI and Docker media types) and a blob, nothing else, never a layer.
// Auth: anonymous first; a 401 with a Bearer challenge gets a token from the
// realm (with basic credentials when given), a Basic challenge gets basic
// auth. Credentials go to the registry's origin and the token realm only,
// never across a redirect to another origin, and never into a message.
// Network failures, timeouts, 429 and 5xx are retried a bounded number of
// times; plain http is used only when the caller allows it.

import type { Logger } from '../../core/src/logger.ts';
import { redact } from '../../forge/src/redact.ts';
import { parseRetryAfter } from '../../forge/src/retry-after.ts';
import { parseChallenges, type Challenge } from './challenge.ts';
import { digestOf, verifyDigest } from './digest.ts';
import { MANIFEST_ACCEPT } from './media-types.ts';
import { RegistryError } from './registry-error.ts';

export interface Credentials {
  username: string;
  password: string;
}

export interface RegistryClientOptions {
  /** host[:port] of the Distribution API. */
  host: string;
  /** Use plain http (local and test registries). */
  insecure: boolean;
  credentials?: Credentials;
  /** Limit per HTTP request, body included. */
  timeoutMs: number;
  /** Further attempts after a network failure, timeout, 429 or 5xx. Default 2. */
  retries?: number;
  /** First backoff, doubled each retry. Default 500 ms. */
  backoffMs?: number;
  /** Longest Retry-After honoured; longer fails at once. Default 30 s. */
  maxRetryAfterMs?: number;
  /** Redirect hops followed for blobs. Default 5. */
  maxRedirects?: number;
  logger?: Logger;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export interface FetchedManifest {
  bytes: Buffer;
  contentType: string | null;
  /** sha256 digest of the bytes received (what `image@digest` pins). */
  digest: string;
}

interface RawResponse {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

/** The Distribution spec's 4 MiB manifest limit. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Image configs are small; a larger "config" is not one the gate should read. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class RegistryClient {
  readonly host: string;
  private readonly origin: string;
  private readonly opts: RegistryClientOptions;
  private readonly fetchFn: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Authorization header for the registry origin, once a challenge was answered. */
  private authorization: string | undefined;
  private token = '';

  constructor(opts: RegistryClientOptions) {
    this.opts = opts;
    this.host = opts.host;
    this.origin = new URL(`${opts.insecure ? 'http' : 'https'}://${opts.host}`).origin;
    this.fetchFn = opts.fetch ?? ((url, init) => fetch(url, init));
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** The manifest or index `reference` (tag or digest) names; undefined when the registry has none. */
  async manifest(repository: string, reference: string): Promise<FetchedManifest | undefined> {
    const what = `manifest ${this.host}/${repository}${reference.includes(':') ? '@' : ':'}${reference}`;
    const res = await this.get(
      `/v2/${repository}/manifests/${reference}`,
      MANIFEST_ACCEPT,
      repository,
      MAX_MANIFEST_BYTES,
      what
    );
    if (res.status === 404) return undefined;
    this.expectOk(res, what);
    const digest = digestOf(res.bytes);
    if (reference.includes(':')) verifyDigest(res.bytes, reference, what);
    const header = res.headers.get('docker-content-digest');
    if (header && header.startsWith('sha256:') && header !== digest) {
      throw new RegistryError(
        'protocol',
        `${what}: the body hashes to ${digest} but the registry says ${header}; refusing it`
      );
    }
    return { bytes: res.bytes, contentType: res.headers.get('content-type'), digest };
  }

  /** A blob by digest, verified against it and capped at `maxBytes`. */
  async blob(repository: string, digest: string, maxBytes: number, what: string): Promise<Buffer> {
    const res = await this.get(
      `/v2/${repository}/blobs/${digest}`,
      '*/*',
      repository,
      maxBytes,
      what
    );
    if (res.status === 404)
      throw new RegistryError('protocol', `${what}: the registry has no blob ${digest}`);
    this.expectOk(res, what);
    verifyDigest(res.bytes, digest, what);
    return res.bytes;
  }

  private expectOk(res: RawResponse, what: string): void {
    if (res.status >= 200 && res.status < 300) return;
    const kind = res.status === 401 || res.status === 403 ? 'auth' : 'protocol';
    throw new RegistryError(kind, `${what}: HTTP ${res.status}${this.serverMessage(res.bytes)}`);
  }

  /** GET with auth challenges answered once and redirects followed (credentials stay on the registry origin). */
  private async get(
    path: string,
    accept: string,
    repository: string,
    maxBytes: number,
    what: string
  ): Promise<RawResponse> {
    let url = this.origin + path;
    let answered = false;
    const maxRedirects = this.opts.maxRedirects ?? 5;
    for (let hop = 0; ;) {
      const onRegistry = new URL(url).origin === this.origin;
      const headers: Record<string, string> = { accept, 'user-agent': 'quality-gates' };
      if (onRegistry && this.authorization) headers.authorization = this.authorization;
      const res = await this.send(url, headers, maxBytes, what);
      if (res.status === 401 && onRegistry) {
        if (answered || this.authorization) throw this.refused(res, what);
        await this.answer(res.headers.get('www-authenticate'), repository, what);
        answered = true;
        continue;
      }
      if (REDIRECTS.has(res.status)) {
        const location = res.headers.get('location');
        if (!location)
          throw new RegistryError('protocol', `${what}: HTTP ${res.status} without a Location`);
        if (++hop > maxRedirects)
          throw new RegistryError('protocol', `${what}: more than ${maxRedirects} redirects`);
        const next = new URL(location, url);
        if (next.protocol !== 'https:' && !(next.protocol === 'http:' && this.opts.insecure)) {
          throw new RegistryError(
            'protocol',
            `${what}: redirected to ${next.protocol}//${next.host}, refused (only https, or http with registry-insecure: true)`
          );
        }
        url = next.toString();
        continue;
      }
      return res;
    }
  }

  private refused(res: RawResponse, what: string): RegistryError {
    const who = this.opts.credentials
      ? 'the credentials in registry-username/registry-password'
      : 'anonymous access (set registry-username and registry-password)';
    return new RegistryError(
      'auth',
      `${what}: the registry refused ${who} (HTTP ${res.status}${this.serverMessage(res.bytes)})`
    );
  }

  private async answer(header: string | null, repository: string, what: string): Promise<void> {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer) {
      this.token = await this.fetchToken(bearer, repository, what);
      this.authorization = `Bearer ${this.token}`;
      return;
    }
    if (basic) {
      const c = this.opts.credentials;
      if (!c) {
        throw new RegistryError(
          'auth',
          `${what}: the registry requires credentials (Basic auth): set registry-username and registry-password`
        );
      }
      this.authorization = basicAuth(c);
      return;
    }
    throw new RegistryError(
      'auth',
      `${what}: HTTP 401 without a Bearer or Basic challenge (WWW-Authenticate: ${JSON.stringify((header ?? '').slice(0, 80))})`
    );
  }

  /** The Distribution token flow: GET realm?service=..&scope=.. -> {token | access_token}. */
  private async fetchToken(ch: Challenge, repository: string, what: string): Promise<string> {
    let realm: URL;
    try {
      realm = new URL(ch.params.realm ?? '');
    } catch {
      throw new RegistryError('protocol', `${what}: the Bearer challenge has no valid realm URL`);
    }
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && this.opts.insecure)) {
      throw new RegistryError(
        'auth',
        `${what}: the token service ${realm.protocol}//${realm.host} is not https; refused (set registry-insecure: true for a plain-http test registry)`
      );
    }
    if (ch.params.service) realm.searchParams.set('service', ch.params.service);
    const scopes = (ch.params.scope || `repository:${repository}:pull`).split(' ').filter(Boolean);
    for (const s of scopes) realm.searchParams.append('scope', s);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'quality-gates'
    };
    if (this.opts.credentials) headers.authorization = basicAuth(this.opts.credentials);
    const shown = `token service ${realm.origin}${realm.pathname}`;
    const res = await this.send(realm.toString(), headers, MAX_ERROR_BYTES, `${what}: ${shown}`);
    if (res.status === 401 || res.status === 403) {
      const who = this.opts.credentials
        ? 'the credentials in registry-username/registry-password'
        : 'anonymous access (set registry-username and registry-password)';
      throw new RegistryError(
        'auth',
        `${what}: the ${shown} refused ${who} (HTTP ${res.status}${this.serverMessage(res.bytes)})`
      );
    }
    if (res.status < 200 || res.status >= 300) {
      throw new RegistryError(
        'auth',
        `${what}: the ${shown} answered HTTP ${res.status}${this.serverMessage(res.bytes)}`
      );
    }
    let token: unknown;
    try {
      const body = JSON.parse(res.bytes.toString('utf8')) as {
        token?: unknown;
        access_token?: unknown;
      };
      token = body.token || body.access_token;
    } catch {
      // reported below
    }
    if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) {
      throw new RegistryError('protocol', `${what}: the ${shown} sent no usable token`);
    }
    return token;
  }

  /** One request with bounded retries for network failures, timeouts, 429 and 5xx. */
  private async send(
    url: string,
    headers: Record<string, string>,
    maxBytes: number,
    what: string
  ): Promise<RawResponse> {
    const retries = this.opts.retries ?? 2;
    const backoffMs = this.opts.backoffMs ?? 500;
    const maxRetryAfterMs = this.opts.maxRetryAfterMs ?? 30_000;
    let last = '';
    let wait: number | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        const ours = backoffMs * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4);
        await this.sleep(Math.max(ours, wait ?? 0));
      }
      wait = undefined;
      let res: RawResponse;
      try {
        const r = await this.fetchFn(url, {
          headers,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.opts.timeoutMs)
        });
        const ok = r.status >= 200 && r.status < 300;
        res = {
          status: r.status,
          headers: r.headers,
          bytes: await readCapped(r, ok ? maxBytes : MAX_ERROR_BYTES, what)
        };
      } catch (err) {
        if (err instanceof RegistryError) throw err;
        last = this.networkProblem(err);
        this.opts.logger?.debug(`${what}: ${last} (attempt ${attempt + 1} of ${retries + 1})`);
        continue;
      }
      if (res.status !== 429 && res.status < 500) return res;
      wait = parseRetryAfter(res.headers.get('retry-after'), Date.now());
      last = `HTTP ${res.status}${this.serverMessage(res.bytes)}`;
      if (wait !== undefined && wait > maxRetryAfterMs) {
        throw new RegistryError(
          'unreachable',
          `${what}: ${last}, and the registry asks to wait ${Math.ceil(wait / 1000)} s, longer than ${maxRetryAfterMs / 1000} s`
        );
      }
      this.opts.logger?.debug(`${what}: ${last} (attempt ${attempt + 1} of ${retries + 1})`);
    }
    const n = retries + 1;
    throw new RegistryError('unreachable', `${what}: ${last} (${n} attempt${n === 1 ? '' : 's'})`);
  }

  private networkProblem(err: unknown): string {
    const e = err as {
      name?: string;
      message?: string;
      cause?: { code?: string; message?: string };
    };
    if (e?.name === 'TimeoutError' || e?.name === 'AbortError')
      return `no answer within ${this.opts.timeoutMs / 1000} s`;
    const code = e?.cause?.code ?? '';
    const detail = code || e?.cause?.message || e?.message || String(err);
    const tls = /SSL|TLS|CERT|EPROTO/i.test(`${code} ${e?.cause?.message ?? ''}`);
    const hint =
      tls && !this.opts.insecure ? '; a plain-http registry needs registry-insecure: true' : '';
    return this.clean(`cannot reach ${this.host} (${String(detail).split('\n')[0]})${hint}`);
  }

  /** ` (CODE: message)` from a Distribution error body, or ''. */
  private serverMessage(bytes: Buffer): string {
    if (bytes.length === 0) return '';
    const text = bytes.subarray(0, 4096).toString('utf8');
    let msg = '';
    try {
      const parsed = JSON.parse(text) as {
        errors?: { code?: unknown; message?: unknown }[];
        details?: unknown;
      };
      const first = parsed.errors?.[0];
      if (first)
        msg = [first.code, first.message].filter((x) => typeof x === 'string' && x).join(': ');
      else if (typeof parsed.details === 'string') msg = parsed.details;
    } catch {
      if (!/^\s*</.test(text)) msg = text.split('\n')[0];
    }
    msg = msg.replace(/\s+/g, ' ').trim();
    if (msg === '') return '';
    return `: ${this.clean(msg.length > 160 ? `${msg.slice(0, 157)}...` : msg)}`;
  }

  /** Neither the password nor a token may reach a message, even echoed by a server. */
  private clean(text: string): string {
    return redact(text, [this.opts.credentials?.password ?? '', this.token]);
  }
}

function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
}

/** Reads a body, refusing more than `max` bytes without reading the rest. */
async function readCapped(res: Response, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  const tooBig = (): RegistryError =>
    new RegistryError('protocol', `${what}: HTTP ${res.status} body exceeds the ${max}-byte limit`);
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => undefined);
    throw tooBig();
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body) {
    n += chunk.length;
    if (n > max) throw tooBig();
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
