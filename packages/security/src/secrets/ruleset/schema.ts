// The embedded engine's rules, in gitleaks' configuration schema (the
// fields of its TOML: id, description, regex, secretGroup, entropy,
// keywords, path, tags, allowlists with condition / commits / paths /
// regexTarget / regexes / stopwords, and a config's [extend] and global
// allowlists). Regexes are RE2 syntax (Go's regexp), evaluated with re2js,
// so a repository's .gitleaks.toml means the same here as with the binary.
//
// Our default rules are written in this shape in ./rules-*.ts; each rule id
// follows gitleaks' default configuration at the release named in
// ./release.ts.

export interface GitleaksAllowlist {
  description?: string;
  /** How the criteria combine: OR (default, any of them) or AND (all that are set). */
  condition?: 'OR' | 'AND';
  /** Commit shas whose findings are allowed. */
  commits?: string[];
  /** RE2 regexes on the file path. */
  paths?: string[];
  /** What `regexes` are matched against: the secret (default), the whole match, or the line. */
  regexTarget?: 'secret' | 'match' | 'line';
  /** RE2 regexes; a finding whose target matches one is allowed. */
  regexes?: string[];
  /** A finding whose secret contains one of these (case-insensitive) is allowed. */
  stopwords?: string[];
  /** Global allowlists only: the rules it applies to (default: all). */
  targetRules?: string[];
  /**
   * quality-gates' own (not gitleaks'): a finding this allowlist matches is
   * kept but does not block, as a documentation example (RFC 2606 names,
   * providers' published example keys). Only the default ruleset sets it.
   */
  nonBlocking?: boolean;
}

export interface GitleaksRequired {
  id: string;
  withinLines?: number;
  withinColumns?: number;
}

export interface GitleaksRule {
  /** Stable kebab-case id (gitleaks' own where it has one). */
  id: string;
  description: string;
  /** RE2 regex over the text; the secret is `secretGroup`, else the first non-empty group, else the match. */
  regex?: string;
  /** RE2 regex over the file path: with a regex both must match; alone, the file itself is the finding. */
  path?: string;
  secretGroup?: number;
  /** Shannon entropy (bits per character) the secret must exceed; 0 or unset: no check. */
  entropy?: number;
  /** Lower-case literals; a text containing none of them (case-insensitively) is not searched. */
  keywords?: string[];
  tags?: string[];
  allowlists?: GitleaksAllowlist[];
  required?: GitleaksRequired[];
  skipReport?: boolean;
  /**
   * quality-gates' own (not gitleaks'): an RE2 pattern every match of `regex`
   * ends with. Where it does not match, the rule does not run; where it does,
   * the rule's search stops one character after its last match. For a regex
   * with an open gap after its keyword (curl ... -H "..."), whose search
   * would otherwise scan to the end of the line from every keyword: linear
   * instead of quadratic, the same matches. Only the default ruleset sets it.
   */
  endsWith?: string;
}

export interface GitleaksExtend {
  useDefault?: boolean;
  path?: string;
  disabledRules?: string[];
}

export interface GitleaksConfig {
  title?: string;
  description?: string;
  extend?: GitleaksExtend;
  rules: GitleaksRule[];
  allowlists: GitleaksAllowlist[];
}

// Building blocks shared by the default rules. Written here, in RE2 syntax.

/** Characters that may end a token: quote, backtick, whitespace, semicolon, an escaped newline, or the end. */
export const TOKEN_END = String.raw`(?:[\x60'"\s;]|\\[nr]|$)`;

/** A token recognisable by its own shape (a fixed prefix, a checksum), anywhere on a word boundary. */
export function uniqueToken(secret: string, caseInsensitive = false): string {
  return `${caseInsensitive ? '(?i)' : ''}\\b(${secret})${TOKEN_END}`;
}

/**
 * A value that is only a secret next to a name that says so: an identifier
 * containing one of `names`, an assignment operator (=, :, :=, =>, ||, ?=,
 * >, a comma), optional quotes, then the value, then the end of the token.
 * The names match in any case; the value too unless `caseInsensitive` is
 * false (then the value's own letters must be as written).
 */
export function namedValue(
  names: readonly string[],
  secret: string,
  caseInsensitive = true
): string {
  const value = caseInsensitive ? secret : `(?-i:${secret})`;
  return (
    `(?i)[\\w.-]{0,50}?(?:${names.join('|')})(?:[ \\t\\w.-]{0,20})[\\s'"]{0,3}` +
    `(?:=|>|:{1,3}=|\\|\\||:|=>|\\?=|,)[\\x60'"\\s=]{0,5}(${value})${TOKEN_END}`
  );
}

/** Character classes of token alphabets. */
export const ALNUM = 'a-zA-Z0-9';
