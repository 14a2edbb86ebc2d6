// The OSV record shape (https://ossf.github.io/osv-schema/) as far as the
// audit reads it, and a validator that turns untrusted JSON into it or says
// in one line what is wrong.

import { isJsonObject } from './json-object.ts';

export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvRange {
  type: string;
  repo?: string;
  events: OsvEvent[];
}

export interface OsvSeverity {
  type: string;
  score: string;
}

export interface OsvAffected {
  package?: { ecosystem: string; name: string; purl?: string };
  severity?: OsvSeverity[];
  ranges?: OsvRange[];
  versions?: string[];
  ecosystem_specific?: Record<string, unknown>;
  database_specific?: Record<string, unknown>;
}

export interface OsvVuln {
  id: string;
  modified?: string;
  published?: string;
  withdrawn?: string;
  aliases?: string[];
  summary?: string;
  details?: string;
  severity?: OsvSeverity[];
  affected?: OsvAffected[];
  database_specific?: Record<string, unknown>;
}

export class OsvRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OsvRecordError';
  }
}

/** Checks the fields the audit relies on; unknown fields pass through untouched. */
export function validateOsvRecord(value: unknown): OsvVuln {
  if (!isJsonObject(value)) throw new OsvRecordError('record is not a JSON object');
  if (typeof value.id !== 'string' || value.id === '')
    throw new OsvRecordError("record has no string 'id'");
  dropNulls(value);
  const where = value.id;
  optionalString(value, 'modified', where);
  optionalString(value, 'withdrawn', where);
  optionalString(value, 'summary', where);
  optionalString(value, 'details', where);
  stringArray(value.aliases, `${where}: aliases`);
  severities(value.severity, `${where}: severity`);
  optionalObject(value.database_specific, `${where}: database_specific`);
  if (value.affected !== undefined) {
    if (!Array.isArray(value.affected))
      throw new OsvRecordError(`${where}: affected is not an array`);
    value.affected.forEach((a, i) => affected(a, `${where}: affected[${i}]`));
  }
  return value as unknown as OsvVuln;
}

function affected(a: unknown, where: string): void {
  if (!isJsonObject(a)) throw new OsvRecordError(`${where} is not an object`);
  dropNulls(a);
  if (a.package !== undefined) {
    const p = a.package;
    if (!isJsonObject(p) || typeof p.ecosystem !== 'string' || typeof p.name !== 'string') {
      throw new OsvRecordError(`${where}.package needs string 'ecosystem' and 'name'`);
    }
  }
  stringArray(a.versions, `${where}.versions`);
  severities(a.severity, `${where}.severity`);
  optionalObject(a.ecosystem_specific, `${where}.ecosystem_specific`);
  optionalObject(a.database_specific, `${where}.database_specific`);
  if (a.ranges === undefined) return;
  if (!Array.isArray(a.ranges)) throw new OsvRecordError(`${where}.ranges is not an array`);
  a.ranges.forEach((r, i) => {
    const at = `${where}.ranges[${i}]`;
    if (!isJsonObject(r) || typeof r.type !== 'string')
      throw new OsvRecordError(`${at} needs a string 'type'`);
    if (!Array.isArray(r.events)) throw new OsvRecordError(`${at}.events is not an array`);
    r.events.forEach((e, j) => {
      const keys = isJsonObject(e)
        ? Object.keys(e).filter((k) =>
            ['introduced', 'fixed', 'last_affected', 'limit'].includes(k)
          )
        : [];
      // The schema allows exactly one kind per event object.
      if (!isJsonObject(e) || keys.length !== 1 || typeof e[keys[0]] !== 'string') {
        throw new OsvRecordError(
          `${at}.events[${j}] must have exactly one of introduced, fixed, last_affected, limit as a string`
        );
      }
    });
  });
}

function severities(v: unknown, where: string): void {
  if (v === undefined) return;
  if (
    !Array.isArray(v) ||
    !v.every((s) => isJsonObject(s) && typeof s.type === 'string' && typeof s.score === 'string')
  ) {
    throw new OsvRecordError(`${where} must be a list of {type, score} strings`);
  }
}

function stringArray(v: unknown, where: string): void {
  if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) {
    throw new OsvRecordError(`${where} must be a list of strings`);
  }
}

function optionalString(o: Record<string, unknown>, key: string, where: string): void {
  if (o[key] !== undefined && typeof o[key] !== 'string')
    throw new OsvRecordError(`${where}: ${key} is not a string`);
}

function optionalObject(v: unknown, where: string): void {
  if (v !== undefined && !isJsonObject(v)) throw new OsvRecordError(`${where} is not an object`);
}

/** Some exporters write absent optional fields as null; read them as absent. */
function dropNulls(o: Record<string, unknown>): void {
  for (const k of Object.keys(o)) if (o[k] === null) delete o[k];
}
