// The embedded engine: gitleaks' detection semantics over a text, with rules
// in gitleaks' configuration schema (schema.ts).
//
// Per rule, as gitleaks does it: keywords prefilter the text (lower-cased,
// any one present); a path-only rule matches the file path; a rule with a
// path matches only in files whose path it matches; each regex match gives
// the secret (secretGroup, else the first non-empty group, else the match);
// a secret whose Shannon entropy is not above the rule's entropy is dropped;
// then the global allowlists (those targeting the rule) and the rule's own
// allowlists decide (OR: commit, path, regex on the target or a stopword in
// the secret; AND: every criterion set). `gitleaks:allow` comments are NOT
// honoured: a branch cannot allowlist its own leak.
//
// Speed: one pass over the text (keywords.ts) finds every keyword and the
// line it is on; a single-line rule then runs only around its keywords (the
// keyword's line with two lines before and after it, so a name on the line
// above, a value on the next line of a YAML key and a token's end still
// match; at most NEAR characters before the keyword and 2 * NEAR after, so a
// megabyte line of minified code costs a few kilobytes per keyword); a
// multi-line rule runs over the whole text where its keyword occurs at all.

import type { GitleaksAllowlist, GitleaksRule } from './schema.ts';
import { BASE64_RUN } from './decode.ts';
import { KeywordAutomaton, type KeywordLines } from './keywords.ts';
import { translateRe2 } from './translate.ts';

export interface SecretHit {
  ruleId: string;
  /** [start, end) of the secret in the text. */
  start: number;
  end: number;
  /** [start, end) of the whole match. */
  matchStart: number;
  matchEnd: number;
  /** A documentation example (a nonBlocking allowlist matched it): reported, never blocking. */
  example?: true;
}

export interface DetectContext {
  /** The file path of the text at an offset (virtual sources hold many files). */
  pathAt?: (offset: number) => string | undefined;
  /** The commit of the text at an offset. */
  commitAt?: (offset: number) => string | undefined;
}

interface CompiledAllowlist {
  and: boolean;
  commits?: Set<string>;
  paths?: RegExp[];
  target: 'secret' | 'match' | 'line';
  regexes?: RegExp[];
  stopwords?: string[];
  targetRules?: Set<string>;
  nonBlocking: boolean;
}

export interface CompiledRule {
  id: string;
  rule: GitleaksRule;
  re?: RegExp;
  path?: RegExp;
  secretGroup: number;
  entropy: number;
  keywords: string[];
  multiLine: boolean;
  allowlists: CompiledAllowlist[];
  /** The regex was compiled without its leading `[\w.-]{0,50}?`: a match extends back over that many identifier characters. */
  backOver?: number;
  /** GitleaksRule.endsWith, compiled. */
  endsWith?: RegExp;
  /** A trusted rule's patterns are compiled when the rule is first used: ready() does it. */
  pending?: () => void;
}

/** `r` with its patterns compiled (a trusted rule's are compiled on first use). */
export function ready(r: CompiledRule): CompiledRule {
  r.pending?.();
  return r;
}

export class RuleError extends Error {
  readonly ruleId: string;
  readonly field: string;
  constructor(ruleId: string, field: string, message: string) {
    super(`rule '${ruleId}' ${field}: ${message}`);
    this.ruleId = ruleId;
    this.field = field;
  }
}

/** Compiles an RE2 pattern to a JS RegExp; `extra` flags are added. */
export function compileRe2(pattern: string, extra = '', validate = true): RegExp {
  const t = translateRe2(pattern, validate);
  return new RegExp(t.source, [...new Set(t.flags + extra)].join(''));
}

/** Any of the patterns; each compiled alone, so their flags stay their own. */
function anyOf(
  patterns: string[] | undefined,
  where: string,
  id: string,
  validate: boolean
): RegExp[] | undefined {
  if (!patterns || patterns.length === 0) return undefined;
  try {
    return patterns.map((p) => compileRe2(p, '', validate));
  } catch (err) {
    throw new RuleError(id, where, err instanceof Error ? err.message : String(err));
  }
}

const testAny = (res: RegExp[], s: string): boolean => res.some((re) => re.test(s));

function compileAllowlist(
  a: GitleaksAllowlist,
  id: string,
  i: number,
  validate: boolean
): CompiledAllowlist {
  const where = `allowlist ${i + 1}`;
  const target = a.regexTarget ?? 'secret';
  if (!['secret', 'match', 'line'].includes(target))
    throw new RuleError(
      id,
      `${where} regexTarget`,
      `expected secret, match or line, got '${target}'`
    );
  const c: CompiledAllowlist = {
    and: (a.condition ?? 'OR').toUpperCase() === 'AND',
    nonBlocking: a.nonBlocking === true,
    target,
    paths: anyOf(a.paths, `${where} paths`, id, validate),
    regexes: anyOf(a.regexes, `${where} regexes`, id, validate)
  };
  if (a.commits?.length) c.commits = new Set(a.commits.map((s) => s.trim().toLowerCase()));
  if (a.stopwords?.length) c.stopwords = [...new Set(a.stopwords.map((s) => s.toLowerCase()))];
  if (a.targetRules?.length) c.targetRules = new Set(a.targetRules);
  if (!c.commits && !c.paths && !c.regexes && !c.stopwords)
    throw new RuleError(
      id,
      where,
      'must contain at least one of commits, paths, regexes, stopwords'
    );
  return c;
}

const MULTILINE_HINT =
  /\(\?[a-z]*s[a-z]*[:)]|\[\\s\\S\]|\[\\S\\s\]|\\n|\\s[*+]|\\s\{\d*,\d{2,}\}|\[\^[^\]]*\][*+]/;

export function compileRule(rule: GitleaksRule, validate = true): CompiledRule {
  const id = rule.id;
  if (!id || !/^[A-Za-z0-9][\w.-]*$/.test(id))
    throw new RuleError(
      String(id),
      'id',
      'expected a rule id of letters, digits, dot, dash or underscore'
    );
  if (!rule.regex && !rule.path)
    throw new RuleError(id, 'regex', 'a rule needs a regex, a path, or both');
  const c: CompiledRule = {
    id,
    rule,
    secretGroup: rule.secretGroup ?? 0,
    entropy: rule.entropy ?? 0,
    keywords: [...new Set((rule.keywords ?? []).map((k) => k.toLowerCase()).filter(Boolean))],
    multiLine: rule.regex ? MULTILINE_HINT.test(rule.regex) : false,
    allowlists: []
  };
  // A named value's regex opens with up to 50 identifier characters before the name
  // (`[\w.-]{0,50}?`): tried lazily at every position, that prefix is most of the
  // engine's time. The match is found without it, then extended back over the
  // identifier characters before it (at most 50): the same match, leftmost-first.
  const named = rule.regex?.startsWith(NAMED_PREFIX)
    ? rule.regex.slice(NAMED_PREFIX.length)
    : undefined;
  if (named !== undefined) c.backOver = 50;
  const compile = (): void => {
    c.allowlists = (rule.allowlists ?? []).map((a, i) => compileAllowlist(a, id, i, validate));
    try {
      if (rule.regex) {
        c.re = compileRe2(named !== undefined ? `(?i)${named}` : rule.regex, 'gd', validate);
        if (named !== undefined && validate) compileRe2(rule.regex, '', true);
      }
    } catch (err) {
      throw new RuleError(id, 'regex', err instanceof Error ? err.message : String(err));
    }
    try {
      if (rule.path) c.path = compileRe2(rule.path, '', validate);
    } catch (err) {
      throw new RuleError(id, 'path', err instanceof Error ? err.message : String(err));
    }
    try {
      if (rule.endsWith) c.endsWith = compileRe2(rule.endsWith, 'g', validate);
    } catch (err) {
      throw new RuleError(id, 'endsWith', err instanceof Error ? err.message : String(err));
    }
    // The group count is a check of the rule (a trusted rule passed it in this project's tests).
    if (validate && c.re && c.secretGroup > 0) {
      const groups =
        new RegExp(`${c.re.source}|`, c.re.flags.replace(/[gd]/g, '')).exec('')!.length - 1;
      if (c.secretGroup > groups)
        throw new RuleError(
          id,
          'secretGroup',
          `${c.secretGroup} is more than the regex's ${groups} groups`
        );
    }
  };
  // A rule given by a repository is checked whole now (a bad pattern is a configuration error
  // before anything is scanned); a trusted one is compiled when a text first needs it.
  if (validate) compile();
  else
    c.pending = (): void => {
      c.pending = undefined;
      compile();
    };
  return c;
}

export class Ruleset {
  readonly rules: CompiledRule[];
  readonly global: CompiledAllowlist[];
  private readonly automaton: KeywordAutomaton | undefined;
  /** For each keyword of the automaton, the rules it lets run. */
  private readonly byKeyword: CompiledRule[][] = [];
  private readonly always: CompiledRule[] = [];

  /** `trusted`: rules and global allowlists this project ships (validated by its tests), compiled without the re2js check. */
  constructor(
    rules: readonly GitleaksRule[],
    globalAllowlists: readonly GitleaksAllowlist[] = [],
    trusted: ReadonlySet<GitleaksRule | GitleaksAllowlist> = new Set()
  ) {
    this.rules = rules.map((r) => compileRule(r, !trusted.has(r)));
    this.global = globalAllowlists.map((a, i) =>
      compileAllowlist(a, '(global)', i, !trusted.has(a))
    );
    const index = new Map<string, number>();
    for (const r of this.rules) {
      if (!r.rule.regex) continue;
      // A keyword the automaton cannot read (not ASCII): the rule runs everywhere, a superset.
      if (r.keywords.length === 0 || r.keywords.some((k) => !ASCII_KEYWORD.test(k))) {
        this.always.push(r);
        continue;
      }
      for (const k of r.keywords) {
        let ki = index.get(k);
        if (ki === undefined) {
          index.set(k, (ki = index.size));
          this.byKeyword.push([]);
        }
        this.byKeyword[ki].push(r);
      }
    }
    this.automaton = index.size > 0 ? new KeywordAutomaton([...index.keys()]) : undefined;
  }

  /** Path-only rules matching `path` (the file itself is the finding). */
  matchPath(path: string, commit?: string): string[] {
    const out: string[] = [];
    for (const r of this.rules) {
      if (r.rule.regex || !r.rule.path || !ready(r).path!.test(path)) continue;
      if (this.pathOrCommitAllowed(r, path, commit)) continue;
      out.push(r.id);
    }
    return out;
  }

  private pathOrCommitAllowed(r: CompiledRule, path?: string, commit?: string): boolean {
    for (const a of [
      ...this.global.filter((g) => !g.targetRules || g.targetRules.has(r.id)),
      ...r.allowlists
    ]) {
      if (a.and) continue;
      if (a.commits && commit && a.commits.has(commit.toLowerCase())) return true;
      if (a.paths && path && testAny(a.paths, path)) return true;
    }
    return false;
  }

  /**
   * One pass over `text` for detect() (where each keyword is, where lines
   * start) and for decoding (the runs it starts from); undefined without keywords.
   */
  survey(text: string): KeywordLines | undefined {
    return this.automaton?.scan(text, NEAR, BASE64_RUN);
  }

  /** The hits of `text`; `found`: survey(text), when the caller has it already. */
  detect(
    text: string,
    ctx: DetectContext = {},
    found: KeywordLines | undefined = this.automaton?.scan(text, NEAR)
  ): SecretHit[] {
    const hits: SecretHit[] = [];
    // Which rules run, and where: everywhere, or over the lines holding one of their keywords.
    const jobs: [CompiledRule, [number, number][] | 'all'][] = this.always.map((r) => [
      ready(r),
      'all'
    ]);
    if (this.automaton && found) {
      const seen = new Set<CompiledRule>();
      found.at.forEach((positions, ki) => {
        if (positions === undefined) return;
        for (const r of this.byKeyword[ki]) {
          if (seen.has(r)) continue;
          seen.add(ready(r));
          if (r.multiLine) {
            jobs.push([r, 'all']);
            continue;
          }
          // Where all the rule's keywords are, in order.
          const lists: number[][] = [];
          for (const k of r.keywords) {
            const kl = found.at[this.automaton!.indexOf(k)];
            if (kl !== undefined) lists.push(kl);
          }
          const merged: ArrayLike<number> =
            lists.length === 1 ? lists[0] : Float64Array.from(lists.flat()).sort();
          const w = windows(found.lineStarts, found.lineCount, merged);
          let covered = 0;
          for (const [a, b] of w) covered += b - a;
          jobs.push([r, covered * 2 > text.length ? 'all' : w]);
        }
      });
    }
    if (jobs.length === 0) return hits;
    // Where the NULs are, once: no match may span one.
    const nuls: number[] = [];
    for (let i = text.indexOf('\0'); i >= 0; i = text.indexOf('\0', i + 1)) nuls.push(i);
    for (const [r, where] of jobs) {
      if (where === 'all') this.run(r, text, 0, text.length, ctx, hits, nuls);
      else for (const [s, e] of where) this.run(r, text, s, e, ctx, hits, nuls);
    }
    return dropGenericDuplicates(hits, text);
  }

  /** Runs `r` over [from, to), piece by piece between NUL characters: no match spans one (unrelated texts are kept apart by a NUL line). */
  private run(
    r: CompiledRule,
    text: string,
    from: number,
    to: number,
    ctx: DetectContext,
    hits: SecretHit[],
    nuls: readonly number[]
  ): void {
    let at = from;
    // The first NUL at or after `from` (binary search), then those before `to`.
    let lo = 0;
    let hi = nuls.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (nuls[mid] < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < nuls.length && nuls[i] < to; i++) {
      if (nuls[i] > at) this.runPiece(r, text, at, nuls[i], ctx, hits);
      at = nuls[i] + 1;
    }
    if (to > at) this.runPiece(r, text, at, to, ctx, hits);
  }

  private runPiece(
    r: CompiledRule,
    text: string,
    from: number,
    to: number,
    ctx: DetectContext,
    hits: SecretHit[]
  ): void {
    const re = r.re!;
    if (r.endsWith) {
      // Every match ends with `endsWith`: none of it here, no match; else none past its last one.
      const tail = r.endsWith;
      const piece = text.slice(from, to);
      tail.lastIndex = 0;
      let last = -1;
      for (let m = tail.exec(piece); m !== null; m = tail.exec(piece)) {
        last = m.index + m[0].length;
        if (m[0].length === 0) tail.lastIndex++;
      }
      if (last < 0) return;
      to = Math.min(to, from + last + 1);
    }
    const sub = from === 0 && to === text.length ? text : text.slice(from, to);
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    let prevEnd = 0;
    while ((m = re.exec(sub)) !== null) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      // gitleaks trims newlines off the match (a regex ending in \n must not take the next line).
      let mStart = m.index;
      if (r.backOver) {
        // Not back into the previous match: the search went on from its end.
        const floor = Math.max(prevEnd, mStart - r.backOver);
        while (mStart > floor && isIdentChar(sub.charCodeAt(mStart - 1))) mStart--;
      }
      prevEnd = m.index + m[0].length;
      let mEnd = m.index + m[0].length;
      while (mEnd > mStart && sub[mEnd - 1] === '\n') mEnd--;
      while (mStart < mEnd && sub[mStart] === '\n') mStart++;
      let sStart = mStart;
      let sEnd = mEnd;
      const ind = m.indices!;
      if (m.length >= 2) {
        if (r.secretGroup > 0) {
          const g = ind[r.secretGroup];
          if (!g) continue;
          [sStart, sEnd] = g;
        } else {
          for (let gi = 1; gi < m.length; gi++) {
            const g = ind[gi];
            if (g && g[1] > g[0]) {
              [sStart, sEnd] = g;
              break;
            }
          }
        }
      }
      const secret = sub.slice(sStart, sEnd);
      if (r.entropy > 0 && shannonEntropy(secret) <= r.entropy) continue;
      const abs = (n: number): number => n + from;
      const path = ctx.pathAt?.(abs(mStart));
      if (r.path && (path === undefined || !r.path.test(path))) continue;
      const commit = ctx.commitAt?.(abs(mStart));
      const verdict = this.allowed(r, {
        secret,
        match: sub.slice(mStart, mEnd),
        line: lineOf(text, abs(mStart), abs(mEnd)),
        path,
        commit
      });
      if (verdict === 'allowed') continue;
      hits.push({
        ruleId: r.id,
        start: abs(sStart),
        end: abs(sEnd),
        matchStart: abs(mStart),
        matchEnd: abs(mEnd),
        ...(verdict === 'example' ? { example: true as const } : {})
      });
    }
  }

  /** 'allowed': dropped; 'example': kept as a non-blocking documentation example; undefined: a finding. */
  private allowed(
    r: CompiledRule,
    f: { secret: string; match: string; line: string; path?: string; commit?: string }
  ): 'allowed' | 'example' | undefined {
    let example = false;
    for (const a of [
      ...this.global.filter((g) => !g.targetRules || g.targetRules.has(r.id)),
      ...r.allowlists
    ]) {
      if (!allowedBy(a, f)) continue;
      if (!a.nonBlocking) return 'allowed';
      example = true;
    }
    return example ? 'example' : undefined;
  }
}

/**
 * As gitleaks does: a finding of a generic rule (an id containing
 * "generic") is dropped when a specific rule found, on the same line, a
 * secret that contains it.
 */
function dropGenericDuplicates(hits: SecretHit[], text: string): SecretHit[] {
  const generic = (h: SecretHit): boolean => h.ruleId.toLowerCase().includes('generic');
  if (!hits.some(generic)) return hits;
  const lineOfHit = (h: SecretHit): number => text.lastIndexOf('\n', h.matchStart - 1);
  return hits.filter((h) => {
    if (!generic(h)) return true;
    const secret = text.slice(h.start, h.end);
    const line = lineOfHit(h);
    return !hits.some(
      (o) =>
        o !== h &&
        !generic(o) &&
        o.ruleId !== h.ruleId &&
        lineOfHit(o) === line &&
        text.slice(o.start, o.end).includes(secret)
    );
  });
}

function allowedBy(
  a: CompiledAllowlist,
  f: { secret: string; match: string; line: string; path?: string; commit?: string }
): boolean {
  const whole = a.target === 'match' ? f.match : a.target === 'line' ? f.line : f.secret;
  const target = whole.length > MAX_ALLOW_TARGET ? whole.slice(0, MAX_ALLOW_TARGET) : whole;
  const regex = a.regexes ? target !== '' && testAny(a.regexes, target) : undefined;
  const stop = a.stopwords ? hasStopword(f.secret, a.stopwords) : undefined;
  const commit = a.commits
    ? f.commit !== undefined && a.commits.has(f.commit.toLowerCase())
    : undefined;
  const path = a.paths ? f.path !== undefined && testAny(a.paths, f.path) : undefined;
  const checks = [commit, path, regex, stop].filter((x) => x !== undefined);
  return a.and ? checks.every(Boolean) : checks.some(Boolean);
}

function hasStopword(secret: string, words: string[]): boolean {
  const s = secret.toLowerCase();
  for (const w of words) if (s.includes(w)) return true;
  return false;
}

/**
 * The line of a match, for allowlists with regexTarget line: at most
 * LINE_CONTEXT characters on each side of the match (a minified line can be
 * megabytes long; an allowlist regex over all of it for every match would be
 * quadratic). A cut line can only allow less, never more.
 */
function lineOf(text: string, start: number, end: number): string {
  const floor = Math.max(0, start - LINE_CONTEXT);
  const ceil = Math.min(text.length, end + LINE_CONTEXT);
  let s = start;
  while (s > floor && text.charCodeAt(s - 1) !== 10) s--;
  let e = end;
  while (e < ceil && text.charCodeAt(e) !== 10) e++;
  return text.slice(s, e);
}

const LINE_CONTEXT = 2048;
/** Allowlist regexes see at most this much of a target: backtracking on a megabyte would take minutes; a cut target only allows less. */
const MAX_ALLOW_TARGET = 8192;

/** Keywords the prefilter automaton reads: printable ASCII. */
const ASCII_KEYWORD = /^[\x20-\x7e]+$/;

/** How namedValue() regexes open (schema.ts). */
const NAMED_PREFIX = String.raw`(?i)[\w.-]{0,50}?`;

/** [\w.-]: the characters of the optional identifier before a name. */
function isIdentChar(c: number): boolean {
  return (
    (c >= 48 && c <= 57) ||
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    c === 95 ||
    c === 46 ||
    c === 45
  );
}

/**
 * Merged [start, end) windows around keyword occurrences (ascending offsets):
 * the occurrence's line with the two lines before and the two after, but at
 * most NEAR characters before it and 2 * NEAR after (a minified line can be
 * megabytes long; scan() records an occurrence at least every NEAR characters
 * of a line, so every occurrence has that much around it).
 */
function windows(
  lineStarts: Int32Array,
  lineCount: number,
  positions: ArrayLike<number>
): [number, number][] {
  const out: [number, number][] = [];
  let line = 0;
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i];
    while (line + 1 < lineCount && lineStarts[line + 1] <= p) line++;
    const b = Math.max(lineStarts[Math.max(0, line - 2)], p - NEAR);
    const end = Math.min(lineStarts[Math.min(lineCount, line + 3)], p + 2 * NEAR);
    const last = out[out.length - 1];
    if (last && b <= last[1]) last[1] = Math.max(last[1], end);
    else out.push([b, end]);
  }
  return out;
}

/** How far around a keyword a single-line rule looks, at most (characters; far more than any match of one). */
export const NEAR = 2048;

/** Shannon entropy in bits per character, as gitleaks computes it. */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let n = 0;
  for (const v of counts.values()) n += v;
  let h = 0;
  for (const v of counts.values()) {
    const p = v / n;
    h -= p * Math.log2(p);
  }
  return h;
}

const cache = new WeakMap<readonly GitleaksRule[], Ruleset>();

/** Convenience for tests: detection with `rules` alone, the secret text included. */
export function findSecrets(
  rules: readonly GitleaksRule[],
  text: string,
  path?: string
): { ruleId: string; secret: string; start: number; end: number }[] {
  let rs = cache.get(rules);
  if (!rs) cache.set(rules, (rs = new Ruleset(rules)));
  const hits = rs.detect(text, path === undefined ? {} : { pathAt: () => path });
  const out = hits.map((h) => ({
    ruleId: h.ruleId,
    secret: text.slice(h.start, h.end),
    start: h.start,
    end: h.end
  }));
  if (path !== undefined)
    for (const id of rs.matchPath(path)) out.push({ ruleId: id, secret: '', start: 0, end: 0 });
  return out;
}
