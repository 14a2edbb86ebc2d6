// A local Gitea API that holds code to the contract
// (/work/shared/contracts/gitea-api-v1.subset.json, Swagger 2.0, basePath
// /api/v1). Every request is recorded and checked: path template and method
// (unknown: 404/405), path and query parameters (declared, typed, enums),
// `Authorization: token <t>`, and the JSON body against the operation's
// schema, unknown properties refused (Gitea ignores them; here they are
// typos). Each problem is a recorded violation; tests assert `violations` is
// empty. Answers come from handlers registered per operationId, else from
// the stateful FakeForge; every answer is checked against the operation's
// response schema, and one that breaks it is a test bug: a static fixture
// throws when registered, a handler's answer is recorded in fixtureErrors
// (answered 500) and close() throws.
//
// Beyond the contract, the server also serves what /zip redirects to:
// Gitea's signed .../zip/raw?sig=&expires= route on the same origin, and a
// second origin standing for object storage (ServeDirect), where a request
// carrying a token is a violation. Faults (status, Retry-After, delay,
// dropped connection) can be queued per operation.
//
// Credentials: the server accepts its `token` (the one the workflow harness
// hands jobs as github.token: 'job') and any of `userTokens` (real users'
// tokens, e.g. a bot account's personal access token: 'user'); any other
// token is a 401. Each recorded request says which one it carried
// (`credential`, `userToken`) without the secret, and the fake forge's
// backend hears who made a merge or a dispatch (ForgeCaller), so the
// harness can apply the forge's rule on who starts workflow runs.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ContractRequest, ContractResponse, Handler } from './contract-exchange.ts';
import { FakeForge } from './contract-fake-forge.ts';
import {
  assertResponse,
  checkParamValue,
  loadContract,
  matchPath,
  type Contract,
  type Operation
} from './contract-routes.ts';
import { validate } from './contract-schema.ts';
import { closeServer, listenLocal } from './local-http.ts';

export const TEST_TOKEN = 'qgtok_0123456789abcdef0123456789abcdef';

export interface ContractServerOptions {
  contractPath?: string;
  /** The token requests must present (the job token: credential 'job'). Default TEST_TOKEN. */
  token?: string;
  /**
   * More tokens the server accepts, each a real user's (e.g. a bot
   * account's personal access token): credential 'user'. Default none.
   */
  userTokens?: string[];
}

/** Which accepted token a request carried: the server's `token`, or one of its `userTokens`. */
export type Credential = 'job' | 'user';

export interface RecordedRequest {
  /** 'api': a contract route; 'raw': Gitea's signed zip route; 'blob': the object-storage origin. */
  target: 'api' | 'raw' | 'blob';
  method: string;
  path: string;
  query: Record<string, string[]>;
  operationId?: string;
  /** The Authorization scheme with the credential masked ('token ***'), if a header was sent. */
  authorization?: string;
  /** The accepted token it carried; undefined: none, or one the server does not know (401). */
  credential?: Credential;
  /** credential 'user': the index of the token in `userTokens`. */
  userToken?: number;
  body?: unknown;
  status?: number;
}

export interface Fault {
  /** HTTP status to answer instead of the handler; omit with `reset` or a pure delay. */
  status?: number;
  /** How many requests the fault applies to. Default 1. */
  times?: number;
  retryAfter?: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Wait before answering (or before the handler runs). */
  delayMs?: number;
  /** Drop the connection without an answer. */
  reset?: boolean;
}

type FaultKey = string; // operationId, 'downloadArtifactRaw', 'blob' or '*'

export class GiteaContractServer {
  readonly contract: Contract;
  readonly fake = new FakeForge();
  readonly token: string;
  readonly userTokens: readonly string[];
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  readonly fixtureErrors: string[] = [];
  private readonly handlers = new Map<string, Handler>();
  private readonly faults = new Map<FaultKey, Fault[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: Server;
  private readonly blobServer: Server;
  private port = 0;
  private blobPort = 0;

  private constructor(opts: ContractServerOptions) {
    this.contract = loadContract(opts.contractPath);
    this.token = opts.token ?? TEST_TOKEN;
    this.userTokens = [...(opts.userTokens ?? [])];
    if (this.userTokens.some((t) => t === '' || /\s/.test(t)))
      throw new Error('a user token must be non-empty and without whitespace');
    if (
      this.userTokens.includes(this.token) ||
      new Set(this.userTokens).size !== this.userTokens.length
    )
      throw new Error('the user tokens must differ from each other and from the job token');
    this.server = createServer((req, res) => void this.serve(req, res, 'api'));
    this.blobServer = createServer((req, res) => void this.serve(req, res, 'blob'));
  }

  static async start(opts: ContractServerOptions = {}): Promise<GiteaContractServer> {
    const s = new GiteaContractServer(opts);
    s.port = await listenLocal(s.server);
    s.blobPort = await listenLocal(s.blobServer);
    s.fake.externalOrigin = s.blobOrigin;
    s.fake.credentialOf = (t) => s.credentialOf(t)?.credential;
    return s;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get apiUrl(): string {
    return `${this.origin}${this.contract.basePath}`;
  }

  /** A different origin (another port): where object storage would serve signed downloads. */
  get blobOrigin(): string {
    return `http://127.0.0.1:${this.blobPort}`;
  }

  /** Answers an operation; a static response is checked against the contract now (throws on a bad fixture). */
  handle(operationId: string, handler: Handler | ContractResponse): this {
    const op = this.operation(operationId);
    if (typeof handler === 'function') {
      this.handlers.set(operationId, handler);
    } else {
      if (handler.raw === undefined)
        assertResponse(this.contract, op, handler.status, handler.body);
      this.handlers.set(operationId, () => handler);
    }
    return this;
  }

  /** Queues a fault for the next `times` requests to an operation ('*': any). */
  fail(key: FaultKey, fault: Fault): this {
    if (key !== '*' && key !== 'downloadArtifactRaw' && key !== 'blob') this.operation(key);
    const list = this.faults.get(key) ?? [];
    list.push({ ...fault, times: fault.times ?? 1 });
    this.faults.set(key, list);
    return this;
  }

  delay(key: FaultKey, ms: number, times = 1): this {
    return this.fail(key, { delayMs: ms, times });
  }

  /** Throws when `body` is not what the contract declares for `status` of the operation. */
  validateResponse(operationId: string, status: number, body: unknown): void {
    assertResponse(this.contract, this.operation(operationId), status, body);
  }

  /** Which accepted token `token` is: 'job' (the server's token), 'user' (index in userTokens), or undefined. */
  credentialOf(
    token: string | undefined
  ): { credential: Credential; userToken?: number } | undefined {
    if (token === undefined) return undefined;
    if (token === this.token) return { credential: 'job' };
    const i = this.userTokens.indexOf(token);
    return i === -1 ? undefined : { credential: 'user', userToken: i };
  }

  calls(operationId: string): RecordedRequest[] {
    return this.requests.filter((r) => r.operationId === operationId);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([this.server, this.blobServer].map((s) => closeServer(s)));
    if (this.fixtureErrors.length > 0) {
      throw new Error(`contract server fixture errors:\n${this.fixtureErrors.join('\n')}`);
    }
  }

  private operation(operationId: string): Operation {
    const op = this.contract.byId.get(operationId);
    if (!op) throw new Error(`the contract has no operation '${operationId}'`);
    return op;
  }

  private async serve(
    req: IncomingMessage,
    res: ServerResponse,
    server: 'api' | 'blob'
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query: Record<string, string[]> = {};
    for (const [k, v] of url.searchParams) query[k] = [...(query[k] ?? []), v];
    const auth = req.headers.authorization;
    const token = auth?.startsWith('token ') ? auth.slice(6) : undefined;
    const known = this.credentialOf(token);
    const rec: RecordedRequest = {
      target: server,
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      authorization: auth === undefined ? undefined : `${auth.split(' ')[0]} ***`,
      ...(known ? { credential: known.credential } : {}),
      ...(known?.userToken === undefined ? {} : { userToken: known.userToken })
    };
    this.requests.push(rec);
    const violation = (problem: string): void => {
      this.violations.push(
        `${rec.method} ${rec.path}${rec.operationId ? ` (${rec.operationId})` : ''}: ${problem}`
      );
    };
    try {
      const raw = await readBody(req);
      if (server === 'blob') {
        if (auth !== undefined) violation('the token was sent to object storage on another origin');
        const m = /^\/blobs\/(\d+)$/.exec(url.pathname);
        if (await this.applyFault('blob', res, rec)) return;
        const answer = m
          ? this.fake.serveBlob(Number(m[1]), query.sig?.[0], query.expires?.[0])
          : { status: 404, body: { message: 'no such blob' } };
        return this.send(res, rec, answer);
      }
      const base = this.contract.basePath;
      if (!url.pathname.startsWith(`${base}/`)) {
        violation(`path is outside the API base path ${base}`);
        return this.send(res, rec, { status: 404, body: { message: 'not found' } });
      }
      const rel = url.pathname.slice(base.length);
      const rawZip = /^\/repos\/[^/]+\/[^/]+\/actions\/artifacts\/(\d+)\/zip\/raw$/.exec(rel);
      if (rawZip) {
        // Gitea's DownloadArtifactRaw: not in the swagger, authorised by the signature alone.
        rec.target = 'raw';
        rec.operationId = 'downloadArtifactRaw';
        if (await this.applyFault('downloadArtifactRaw', res, rec)) return;
        return this.send(
          res,
          rec,
          this.fake.serveBlob(Number(rawZip[1]), query.sig?.[0], query.expires?.[0])
        );
      }
      const match = matchPath(this.contract, rel);
      if (!match) {
        violation('no such path in the contract');
        return this.send(res, rec, { status: 404, body: { message: 'not found' } });
      }
      const op = match.operations.find((o) => o.method === rec.method);
      if (!op) {
        violation(
          `method not allowed on ${match.template} (allowed: ${match.operations.map((o) => o.method).join(', ')})`
        );
        return this.send(res, rec, { status: 405, body: { message: 'method not allowed' } });
      }
      rec.operationId = op.operationId;
      const problems = this.checkRequest(op, match.params, query, req, raw, rec);
      for (const p of problems.list) violation(p);
      if (problems.authStatus) {
        return this.send(res, rec, {
          status: problems.authStatus,
          body: { message: 'token is required' }
        });
      }
      if (problems.list.length > 0) {
        return this.send(res, rec, {
          status: problems.bodyProblem ? 422 : 400,
          body: { message: `contract violation: ${problems.list[0]}` }
        });
      }
      if (rec.authorization && !known) {
        return this.send(res, rec, { status: 401, body: { message: 'invalid token' } });
      }
      if (await this.applyFault(op.operationId, res, rec)) return;
      const handler = this.handlers.get(op.operationId) ?? this.fake.handlers()[op.operationId];
      if (!handler) {
        this.fixtureErrors.push(`no handler registered for ${op.operationId}`);
        return this.send(res, rec, {
          status: 501,
          body: { message: `no handler for ${op.operationId}` }
        });
      }
      const request: ContractRequest = {
        operationId: op.operationId,
        method: rec.method,
        path: url.pathname,
        params: match.params,
        query,
        body: rec.body,
        token,
        origin: this.origin,
        apiUrl: this.apiUrl
      };
      const answer = await handler(request);
      try {
        if (answer.raw === undefined) assertResponse(this.contract, op, answer.status, answer.body);
      } catch (err) {
        this.fixtureErrors.push((err as Error).message);
        return this.send(res, rec, { status: 500, body: { message: (err as Error).message } });
      }
      this.send(res, rec, answer);
    } catch (err) {
      this.fixtureErrors.push(
        `handler for ${rec.operationId ?? rec.path} threw: ${(err as Error).message}`
      );
      if (!res.headersSent)
        this.send(res, rec, { status: 500, body: { message: 'handler threw' } });
    }
  }

  private checkRequest(
    op: Operation,
    params: Record<string, string>,
    query: Record<string, string[]>,
    req: IncomingMessage,
    raw: Buffer,
    rec: RecordedRequest
  ): { list: string[]; authStatus?: number; bodyProblem: boolean } {
    const list: string[] = [];
    let bodyProblem = false;
    let authStatus: number | undefined;
    const auth = req.headers.authorization;
    if (auth === undefined) {
      list.push("no 'Authorization: token <t>' header");
      authStatus = 401;
    } else if (!/^token \S+$/.test(auth)) {
      list.push(
        `Authorization header is not 'token <t>' (scheme ${JSON.stringify(auth.split(' ')[0])})`
      );
      authStatus = 401;
    }
    for (const k of ['token', 'access_token', 'sudo']) {
      if (k in query)
        list.push(`credential in the query string ('${k}'); use the Authorization header`);
    }
    for (const p of op.parameters.filter((x) => x.in === 'path')) {
      if (params[p.name] === undefined) list.push(`path parameter '${p.name}' is missing`);
      else list.push(...checkParamValue(p, [params[p.name]]));
    }
    const declared = op.parameters.filter((x) => x.in === 'query');
    for (const [k, values] of Object.entries(query)) {
      const p = declared.find((x) => x.name === k);
      if (!p) {
        if (!['token', 'access_token', 'sudo'].includes(k))
          list.push(`unknown query parameter '${k}'`);
        continue;
      }
      list.push(...checkParamValue(p, values));
    }
    for (const p of declared) {
      if (p.required && !(p.name in query))
        list.push(`required query parameter '${p.name}' is missing`);
    }
    const bodyParam = op.parameters.find((x) => x.in === 'body');
    if (raw.length > 0) {
      if (!bodyParam) {
        list.push('a body was sent to an operation that takes none');
        bodyProblem = true;
      } else if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
        list.push(
          `body content-type is ${JSON.stringify(req.headers['content-type'] ?? '')}, not application/json`
        );
        bodyProblem = true;
      } else {
        try {
          rec.body = JSON.parse(raw.toString('utf8'));
        } catch {
          list.push('body is not JSON');
          bodyProblem = true;
        }
        if (rec.body !== undefined && bodyParam.schema) {
          const problems = validate(rec.body, bodyParam.schema, this.contract.definitions, 'body');
          if (problems.length > 0) bodyProblem = true;
          list.push(...problems);
        }
      }
    } else if (bodyParam?.required) {
      list.push('the required body is missing');
      bodyProblem = true;
    } else if (bodyParam?.schema?.$ref) {
      // Gitea binds an absent body as an empty object; required fields then fail validation.
      const problems = validate({}, bodyParam.schema, this.contract.definitions, 'body');
      if (problems.some((p) => p.includes('required'))) {
        list.push('the body is missing and the operation requires fields');
        bodyProblem = true;
      }
    }
    return { list, authStatus, bodyProblem };
  }

  /** Applies the next queued fault for `key` (or '*'); true when it answered the request. */
  private async applyFault(
    key: FaultKey,
    res: ServerResponse,
    rec: RecordedRequest
  ): Promise<boolean> {
    const fault = this.takeFault(key) ?? this.takeFault('*');
    if (!fault) return false;
    if (fault.delayMs) await this.wait(fault.delayMs);
    if (res.destroyed || res.socket?.destroyed) return true;
    if (fault.reset) {
      rec.status = 0;
      res.socket?.destroy();
      return true;
    }
    if (fault.status === undefined) return false;
    const headers = { ...(fault.headers ?? {}) };
    if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
    this.send(res, rec, {
      status: fault.status,
      headers,
      body: fault.body ?? { message: `injected ${fault.status}` }
    });
    return true;
  }

  private takeFault(key: FaultKey): Fault | undefined {
    const list = this.faults.get(key);
    if (!list || list.length === 0) return undefined;
    const f = list[0];
    f.times = (f.times ?? 1) - 1;
    if (f.times <= 0) list.shift();
    return f;
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private send(res: ServerResponse, rec: RecordedRequest, answer: ContractResponse): void {
    rec.status = answer.status;
    if (res.destroyed) return;
    const headers: Record<string, string> = { ...(answer.headers ?? {}) };
    let payload: Buffer | undefined;
    if (answer.raw !== undefined) payload = answer.raw;
    else if (answer.body !== undefined) {
      payload = Buffer.from(JSON.stringify(answer.body));
      headers['content-type'] ??= 'application/json;charset=utf-8';
    }
    if (payload) headers['content-length'] = String(payload.length);
    res.writeHead(answer.status, headers);
    res.end(payload);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
