// Sample secrets for the recall and false-positive figures: each rule of the
// embedded ruleset gets generated tokens of its format (seeded, so a run is
// reproducible), and each token is tried in several wrappings a leak really
// takes (env file, YAML, JSON, code assignment, URL, header).

export interface RuleSamples {
  /** The rule id (gitleaks' where it has one). */
  id: string;
  /** Family for the per-family figures (the provider, e.g. 'slack', 'aws', 'generic'). */
  family: string;
  /** Identifier a wrapping names the value by (e.g. 'sendgrid', 'twitter_api_secret'). */
  ident: string;
  /** Raw token values of the rule's format; each is tried in every wrapping. */
  tokens: (r: Rng) => string[];
  /** Whole texts that must be found as they are (multi-line keys, curl commands, URLs with credentials). */
  raw?: (r: Rng) => string[];
  /** Wrappings that cannot carry this token (e.g. 'url' for a value with spaces). */
  skipWrappings?: WrappingName[];
  /** Texts that must NOT be found by this rule (placeholders, documentation values, low entropy). */
  negatives?: string[];
  /** A file path for rules that need one (path-restricted rules), default 'config/app.env'-like per wrapping. */
  path?: string;
}

export type Rng = () => number;

/** Mulberry32 seeded by a string: the same samples on every run. */
export function rng(seed: string): Rng {
  let h = 1779033703 ^ seed.length;
  for (let i = 0; i < seed.length; i++) {
    h = Math.imul(h ^ seed.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const CHARS = {
  lower: 'abcdefghijklmnopqrstuvwxyz',
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  digits: '0123456789',
  hex: '0123456789abcdef',
  hexUpper: '0123456789ABCDEF',
  lowerAlnum: 'abcdefghijklmnopqrstuvwxyz0123456789',
  upperAlnum: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  alnum: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  /** alnum plus '_' and '-' */
  alnumExtended: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-',
  base64: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/',
  base64url: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-'
} as const;

/** `n` characters of `charset`; every class present in the charset appears at least once when n allows (high entropy, a digit). */
export function random(r: Rng, charset: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += charset[Math.floor(r() * charset.length)];
  // Make sure a digit shows up when the alphabet has digits (rules that want one).
  const digit = [...charset].find((c) => c >= '0' && c <= '9');
  if (n >= 8 && digit !== undefined && !/[0-9]/.test(s)) {
    const i = Math.floor(r() * n);
    s = s.slice(0, i) + String(Math.floor(r() * 10)) + s.slice(i + 1);
  }
  return s;
}

export type WrappingName =
  'env' | 'env-quoted' | 'yaml' | 'json' | 'code' | 'python' | 'go' | 'url' | 'header';

const camel = (ident: string): string =>
  ident.replace(/[_-]+([a-z0-9])/gi, (_, c: string) => c.toUpperCase());
const upper = (ident: string): string => ident.replace(/[-.]/g, '_').toUpperCase();

/** The token in each wrapping, named by `ident`. */
export function wrappings(ident: string, token: string): Record<WrappingName, string> {
  return {
    env: `${upper(ident)}=${token}`,
    'env-quoted': `export ${upper(ident)}="${token}"`,
    yaml: `config:\n  ${ident}: ${token}\n`,
    json: `{\n  "${camel(ident)}": "${token}",\n  "enabled": true\n}`,
    code: `const ${camel(ident)} = "${token}";`,
    python: `${ident.replace(/[-.]/g, '_')} = '${token}'`,
    go: `${camel(ident)} := "${token}"`,
    url: `https://api.example.net/v1/items?${ident}=${token}&page=2`,
    header: `X-${ident.replace(/[_.]/g, '-')}: ${token}`
  };
}

/** A file path that suits a wrapping, for rules without one of their own. */
export const WRAPPING_PATHS: Record<WrappingName, string> = {
  env: 'deploy/.env',
  'env-quoted': 'scripts/setup.sh',
  yaml: 'config/settings.yaml',
  json: 'config/settings.json',
  code: 'src/client.ts',
  python: 'app/settings.py',
  go: 'internal/client.go',
  url: 'docs/notes.txt',
  header: 'requests/call.http'
};

/** Every wrapping (for rules whose samples are all whole texts or paths). */
export const ALL_WRAPPINGS = Object.keys(WRAPPING_PATHS) as WrappingName[];
