// The Gitea contract as routes: loads the Swagger 2.0 subset, matches a
// request path against its templates (literal segments win over
// parameters), and checks path and query parameters and response bodies
// against the declared operation.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isDateTime, validate, type Definitions, type Schema } from './contract-schema.ts';

// A copy of the shared contract (../shared/contracts/) lives in the repo so a
// clean clone tests against it; tests/unit/contract-copy.test.ts keeps the
// copy identical to the shared one wherever that is present.
export const DEFAULT_CONTRACT_PATH =
  process.env.QG_GITEA_CONTRACT ??
  fileURLToPath(new URL('../fixtures/contracts/gitea-api-v1.subset.json', import.meta.url));

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'body' | 'formData';
  required?: boolean;
  type?: string;
  format?: string;
  enum?: unknown[];
  items?: { type?: string; format?: string; enum?: unknown[] };
  collectionFormat?: string;
  minimum?: number;
  schema?: Schema;
}

export interface ResponseSpec {
  description?: string;
  schema?: Schema;
}

export interface Operation {
  operationId: string;
  method: string;
  template: string;
  parameters: Parameter[];
  responses: Record<string, ResponseSpec & { $ref?: string }>;
}

export interface Contract {
  basePath: string;
  definitions: Definitions;
  responses: Record<string, ResponseSpec>;
  operations: Operation[];
  byId: Map<string, Operation>;
}

interface RawContract {
  basePath: string;
  definitions: Definitions;
  responses: Record<string, ResponseSpec>;
  paths: Record<string, Record<string, unknown>>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

export function loadContract(path = DEFAULT_CONTRACT_PATH): Contract {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as RawContract;
  const operations: Operation[] = [];
  for (const [template, item] of Object.entries(raw.paths)) {
    const shared = (item.parameters as Parameter[] | undefined) ?? [];
    for (const [m, op] of Object.entries(item)) {
      if (!METHODS.includes(m)) continue;
      const o = op as {
        operationId: string;
        parameters?: Parameter[];
        responses: Operation['responses'];
      };
      operations.push({
        operationId: o.operationId,
        method: m.toUpperCase(),
        template,
        parameters: [...shared, ...(o.parameters ?? [])],
        responses: o.responses
      });
    }
  }
  return {
    basePath: raw.basePath,
    definitions: raw.definitions,
    responses: raw.responses,
    operations,
    byId: new Map(operations.map((o) => [o.operationId, o]))
  };
}

export interface RouteMatch {
  /** Operations on the matched template, any method. */
  operations: Operation[];
  template: string;
  params: Record<string, string>;
}

/** `path` is relative to basePath and not yet decoded. */
export function matchPath(contract: Contract, path: string): RouteMatch | undefined {
  const segs = path.split('/').slice(1);
  let best: { match: RouteMatch; score: string } | undefined;
  const templates = new Map<string, Operation[]>();
  for (const op of contract.operations) {
    templates.set(op.template, [...(templates.get(op.template) ?? []), op]);
  }
  for (const [template, ops] of templates) {
    const tsegs = template.split('/').slice(1);
    if (tsegs.length !== segs.length) continue;
    const params: Record<string, string> = {};
    let score = '';
    let ok = true;
    for (let i = 0; i < tsegs.length && ok; i++) {
      const m = /^\{(.+)\}$/.exec(tsegs[i]);
      let seg: string;
      try {
        seg = decodeURIComponent(segs[i]);
      } catch {
        ok = false;
        break;
      }
      if (m) {
        if (seg === '') ok = false;
        params[m[1]] = seg;
        score += '0';
      } else {
        ok = seg === tsegs[i];
        score += '1';
      }
    }
    if (ok && (!best || score > best.score)) {
      best = { match: { operations: ops, template, params }, score };
    }
  }
  return best?.match;
}

/** Problems with one path or query parameter's raw string value(s). */
export function checkParamValue(p: Parameter, values: string[]): string[] {
  const out: string[] = [];
  if (p.type === 'array') {
    if (values.length > 1 && p.collectionFormat !== 'multi') {
      out.push(`${p.in} parameter '${p.name}' is repeated but not declared collectionFormat multi`);
    }
    const items = p.collectionFormat === 'multi' ? values : values.flatMap((v) => v.split(','));
    for (const v of items) out.push(...scalarProblems(p.name, p.in, p.items ?? {}, v));
    return out;
  }
  if (values.length > 1) out.push(`${p.in} parameter '${p.name}' is repeated`);
  for (const v of values) out.push(...scalarProblems(p.name, p.in, p, v));
  return out;
}

function scalarProblems(
  name: string,
  where: string,
  spec: { type?: string; format?: string; enum?: unknown[]; minimum?: number },
  v: string
): string[] {
  const out: string[] = [];
  const what = `${where} parameter '${name}'`;
  if (spec.type === 'integer') {
    if (!/^-?\d+$/.test(v)) out.push(`${what}: ${JSON.stringify(v)} is not an integer`);
    else if (spec.minimum !== undefined && Number(v) < spec.minimum) {
      out.push(`${what}: ${v} is below the minimum ${spec.minimum}`);
    }
  } else if (spec.type === 'boolean') {
    if (v !== 'true' && v !== 'false')
      out.push(`${what}: ${JSON.stringify(v)} is not true or false`);
  } else if (spec.type === 'string') {
    if (spec.format === 'date-time' && !isDateTime(v)) {
      out.push(`${what}: ${JSON.stringify(v)} is not an RFC 3339 date-time`);
    }
  }
  if (spec.enum && !spec.enum.map(String).includes(v)) {
    out.push(`${what}: ${JSON.stringify(v)} is not one of ${spec.enum.join(', ')}`);
  }
  return out;
}

/** The declared response for a status, with its $ref resolved; undefined when the status is not declared. */
export function responseSpec(
  contract: Contract,
  op: Operation,
  status: number
): ResponseSpec | undefined {
  const r = op.responses[String(status)] ?? op.responses.default;
  if (!r) return undefined;
  if (r.$ref) {
    const m = /^#\/responses\/(.+)$/.exec(r.$ref);
    if (!m || !(m[1] in contract.responses)) throw new Error(`contract: unresolvable ${r.$ref}`);
    return contract.responses[m[1]];
  }
  return r;
}

/** Throws when `body` is not what the contract declares for `status` of `op`: a fixture bug. */
export function assertResponse(
  contract: Contract,
  op: Operation,
  status: number,
  body: unknown
): void {
  const spec = responseSpec(contract, op, status);
  if (!spec) {
    throw new Error(
      `fixture for ${op.operationId}: status ${status} is not declared (declared: ${Object.keys(op.responses).join(', ')})`
    );
  }
  if (!spec.schema) return;
  if (body === undefined)
    throw new Error(`fixture for ${op.operationId} ${status}: the contract declares a body`);
  const problems = validate(body, spec.schema, contract.definitions);
  if (problems.length > 0) {
    throw new Error(
      `fixture for ${op.operationId} ${status} breaks the contract: ${problems.slice(0, 5).join('; ')}`
    );
  }
}
