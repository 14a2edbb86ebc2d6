// A validator for the Swagger 2.0 schema subset the Gitea contract uses:
// type, properties, required, items, $ref to #/definitions, enum, format
// (date-time, int64, email), additionalProperties, uniqueItems, allOf.
// Unknown properties are refused unless the schema declares
// additionalProperties: Gitea ignores them, but in a test they are typos.
// `x-*` and documentation keys are ignored. Written here rather than taken
// from ajv because Swagger 2.0 is not a JSON Schema draft ajv implements
// (x-nullable, $ref siblings, no null type) and the subset is small.

export interface Schema {
  type?: string;
  format?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  $ref?: string;
  enum?: unknown[];
  additionalProperties?: boolean | Schema;
  uniqueItems?: boolean;
  allOf?: Schema[];
  'x-nullable'?: boolean;
}

export type Definitions = Record<string, Schema>;

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function isDateTime(s: string): boolean {
  return DATE_TIME.test(s) && !Number.isNaN(Date.parse(s));
}

/** Problems with `value` against `schema`, each prefixed with its JSON path; [] when valid. */
export function validate(value: unknown, schema: Schema, defs: Definitions, at = '$'): string[] {
  const out: string[] = [];
  check(value, schema, defs, at, out, 0);
  return out;
}

export function resolveRef(ref: string, defs: Definitions): Schema {
  const m = /^#\/definitions\/(.+)$/.exec(ref);
  if (!m || !(m[1] in defs)) throw new Error(`contract: unresolvable $ref ${ref}`);
  return defs[m[1]];
}

function check(
  value: unknown,
  schema: Schema,
  defs: Definitions,
  at: string,
  out: string[],
  depth: number
): void {
  if (depth > 64) throw new Error(`contract: schema nesting too deep at ${at}`);
  if (schema.$ref) {
    check(value, resolveRef(schema.$ref, defs), defs, at, out, depth + 1);
    return;
  }
  if (value === null) {
    if (!schema['x-nullable']) out.push(`${at}: null is not allowed`);
    return;
  }
  for (const part of schema.allOf ?? []) check(value, part, defs, at, out, depth + 1);
  if (schema.enum && !schema.enum.some((e) => e === value)) {
    out.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  const type = schema.type ?? (schema.properties ? 'object' : undefined);
  switch (type) {
    case undefined:
      return;
    case 'string':
      if (typeof value !== 'string') return void out.push(`${at}: expected a string`);
      if (schema.format === 'date-time' && !isDateTime(value)) {
        out.push(`${at}: ${JSON.stringify(value)} is not an RFC 3339 date-time`);
      }
      if (schema.format === 'email' && value !== '' && !/^[^@\s]+@[^@\s]+$/.test(value)) {
        out.push(`${at}: ${JSON.stringify(value)} is not an email address`);
      }
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
        out.push(`${at}: expected an integer`);
      }
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value))
        out.push(`${at}: expected a number`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.push(`${at}: expected a boolean`);
      return;
    case 'array': {
      if (!Array.isArray(value)) return void out.push(`${at}: expected an array`);
      value.forEach((v, i) => {
        if (schema.items) check(v, schema.items, defs, `${at}[${i}]`, out, depth + 1);
      });
      if (schema.uniqueItems) {
        const seen = new Set(value.map((v) => JSON.stringify(v)));
        if (seen.size !== value.length) out.push(`${at}: items are not unique`);
      }
      return;
    }
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) {
        return void out.push(`${at}: expected an object`);
      }
      const obj = value as Record<string, unknown>;
      for (const r of schema.required ?? []) {
        if (!(r in obj)) out.push(`${at}: required property '${r}' is missing`);
      }
      const props = schema.properties ?? {};
      for (const [k, v] of Object.entries(obj)) {
        if (k in props) check(v, props[k], defs, `${at}.${k}`, out, depth + 1);
        else if (typeof schema.additionalProperties === 'object') {
          check(v, schema.additionalProperties, defs, `${at}.${k}`, out, depth + 1);
        } else if (schema.additionalProperties !== true) {
          out.push(`${at}: unknown property '${k}'`);
        }
      }
      return;
    }
    default:
      throw new Error(
        `contract: schema type '${type}' at ${at} is not supported by this validator`
      );
  }
}
