// Reading and validating raw inputs. An InputSource hides where a value came
// from (action INPUT_* variables or CLI flags) so one typed config builder
// serves both; every parser names the input and what it expects.

import { ConfigurationError } from './errors.ts';

export interface InputSource {
  /** The raw value, trimmed; '' when unset. */
  get(name: string): string;
}

/** Inputs as a runner passes them: INPUT_<NAME> with spaces as '_', upper-cased (hyphens kept). */
export function envInputSource(env: NodeJS.ProcessEnv): InputSource {
  return {
    get(name: string): string {
      return (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
    }
  };
}

/** Inputs from a plain map (CLI flags), with defaults beneath. */
export function mapInputSource(values: Record<string, string | undefined>): InputSource {
  return {
    get(name: string): string {
      return (values[name] ?? '').trim();
    }
  };
}

export function readString(src: InputSource, name: string, fallback = ''): string {
  const v = src.get(name);
  return v === '' ? fallback : v;
}

export function readBoolean(src: InputSource, name: string, fallback: boolean): boolean {
  const v = src.get(name);
  if (v === '') return fallback;
  if (/^(true|yes|1|on)$/i.test(v)) return true;
  if (/^(false|no|0|off)$/i.test(v)) return false;
  throw new ConfigurationError(name, "'true' or 'false'", v);
}

export function readEnum<T extends string>(
  src: InputSource,
  name: string,
  allowed: readonly T[],
  fallback: T
): T {
  const v = src.get(name);
  if (v === '') return fallback;
  const hit = allowed.find((a) => a === v.toLowerCase());
  if (hit === undefined) throw new ConfigurationError(name, `one of ${allowed.join(' | ')}`, v);
  return hit;
}

/** A number in [min, max] whose text matches `shape`; '' gives the fallback. */
function readNumber(
  src: InputSource,
  name: string,
  fallback: number,
  range: { min: number; max: number; shape: RegExp; expected: string }
): number {
  const v = src.get(name);
  if (v === '') return fallback;
  const n = Number(v);
  if (!range.shape.test(v) || n < range.min || n > range.max) {
    throw new ConfigurationError(name, range.expected, v);
  }
  return n;
}

export function readInteger(
  src: InputSource,
  name: string,
  fallback: number,
  min: number,
  max: number
): number {
  return readNumber(src, name, fallback, {
    min,
    max,
    shape: /^\d+$/,
    expected: `a whole number from ${min} to ${max}`
  });
}

/** A plain decimal (percentages, epsilons): '80%' or '1e2' is refused, not guessed at. */
export function readDecimal(
  src: InputSource,
  name: string,
  fallback: number,
  min: number,
  max: number
): number {
  return readNumber(src, name, fallback, {
    min,
    max,
    shape: /^\d+(\.\d+)?$/,
    expected: `a number from ${min} to ${max}, such as 80 or 80.5`
  });
}

/** Comma- or newline-separated list, blanks dropped. */
export function readList(src: InputSource, name: string): string[] {
  return src
    .get(name)
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
