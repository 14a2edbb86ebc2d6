// RE2 (Go regexp) syntax to a JavaScript RegExp with the same matches, for
// the syntax rules use. The flags are applied by the translation itself, not
// left to JavaScript: case-insensitivity becomes both cases spelled out
// (`a` -> `[aA]`, `[a-f]` -> `[a-fA-F]`), `.` becomes `[^\n]` or, under
// (?s), `[\s\S]`, and under (?m) `^`/`$` become line boundaries. So a flag
// in the middle of a group (`SG\.(?i)[a-z]`, scoped to the rest of the group
// and across its `|`, as in RE2), a `(?-i:...)` group and a leading `(?i)`
// all mean exactly what they mean in RE2 (V8's own `(?i:...)` modifier
// groups do not: a class in a later alternative stays case-sensitive on
// Node 24). Also: \z and \A, POSIX classes ([[:alnum:]]), \Q...\E, (?P<name>),
// Go's ASCII-only \s, \pL / \p{Greek} (with the u flag). Every pattern is
// compiled with re2js first, unless it is one of ours (tested), so a
// repository's config cannot slip in lookaround or backreferences;
// tests/unit/secrets-translate.test.ts checks the translation against re2js
// rule by rule on generated samples.
//
// Why translate rather than match with re2js: re2js (RE2/J in JavaScript)
// takes 70-720 ms per MiB per rule here against 0-35 ms for V8's engine, and
// the gate must keep up with `git log -p` (see npm run bench).

import { RE2JS } from 're2js';

export class RegexSyntaxError extends Error {}

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f'
};

/** Go's \s: ASCII whitespace only (JavaScript's also takes Unicode spaces). */
const GO_SPACE = '\\t\\n\\f\\r ';
/** Go's \S inside a class: JavaScript's \S plus the spaces Go does not count as space. */
const NOT_SPACE_IN_CLASS =
  '\\S\\v\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

export interface Translated {
  source: string;
  flags: string;
}

interface Flags {
  i: boolean;
  s: boolean;
  m: boolean;
}

/**
 * Throws RegexSyntaxError (one line) when `re2` is not a valid RE2 pattern or
 * uses what cannot be translated. `validate: false` skips the re2js check
 * (the default rules, checked by tests, so the bundle starts fast).
 */
export function translateRe2(re2: string, validate = true): Translated {
  if (validate) {
    try {
      RE2JS.compile(re2);
    } catch (err) {
      // re2js quotes the offending part of the pattern (all of it for a missing ')'): a
      // pattern may spell out a real value, so only the kind of error is kept.
      throw new RegexSyntaxError(
        `not a valid RE2 regex (${oneLine(err).replace(/:\s*`[\s\S]*$/, '')})`
      );
    }
  }
  const t = new Translator(re2);
  const source = t.run();
  return { source, flags: t.unicode ? 'u' : '' };
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/** What needs a backslash outside a class (valid with and without the u flag). */
const SPECIAL = /[.*+?^${}()|[\]\\/]/g;

function isLetter(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
function otherCase(c: string): string {
  return c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
}
function esc(c: string): string {
  return c.replace(SPECIAL, '\\$&');
}
/** A code point as a class member, escaped. */
function classChar(code: number): string {
  const c = String.fromCharCode(code);
  return /[A-Za-z0-9]/.test(c) ? c : `\\u${code.toString(16).padStart(4, '0')}`;
}

class Translator {
  private readonly src: string;
  private i = 0;
  unicode = false;

  constructor(src: string) {
    this.src = src;
  }

  run(): string {
    return this.sequence({ i: false, s: false, m: false }, false);
  }

  /** Translates up to the `)` that closes the current group (consumed by the caller) or the end. */
  private sequence(start: Flags, inGroup: boolean): string {
    const f: Flags = { ...start };
    let out = '';
    const src = this.src;
    while (this.i < src.length) {
      const c = src[this.i];
      if (c === ')') {
        if (!inGroup) throw new RegexSyntaxError('unbalanced )');
        return out;
      }
      if (c === '\\') {
        out += this.escape(f);
        continue;
      }
      if (c === '[') {
        out += this.charClass(f);
        continue;
      }
      if (c === '(') {
        out += this.group(f);
        continue;
      }
      this.i++;
      if (c === '.') out += f.s ? '[\\s\\S]' : '[^\\n]';
      else if (c === '^') out += f.m ? '(?:^|(?<=\\n))' : '^';
      else if (c === '$') out += f.m ? '(?:$|(?=\\n))' : '$';
      else if (f.i && isLetter(c)) out += `[${c}${otherCase(c)}]`;
      else if (c === '/') out += '\\/';
      else out += c;
    }
    if (inGroup) throw new RegexSyntaxError('missing )');
    return out;
  }

  private group(f: Flags): string {
    const src = this.src;
    const rest = src.slice(this.i);
    // (?flags) in the middle: the rest of this group.
    const set = /^\(\?([imsU-]*)\)/.exec(rest);
    if (set) {
      this.apply(f, set[1]);
      this.i += set[0].length;
      return '';
    }
    const scoped = /^\(\?([imsU-]*):/.exec(rest);
    let open: string;
    const inner: Flags = { ...f };
    if (scoped) {
      this.apply(inner, scoped[1]);
      open = '(?:';
      this.i += scoped[0].length;
    } else if (rest.startsWith('(?P<')) {
      open = '(?<';
      this.i += 4;
      open += this.name();
    } else if (rest.startsWith('(?<')) {
      open = '(?<';
      this.i += 3;
      open += this.name();
    } else if (rest.startsWith('(?')) {
      throw new RegexSyntaxError('unsupported group syntax (?...)');
    } else {
      open = '(';
      this.i++;
    }
    const body = this.sequence(inner, true);
    this.i++; // ')'
    return `${open}${body})`;
  }

  private name(): string {
    const end = this.src.indexOf('>', this.i);
    if (end < 0) throw new RegexSyntaxError('unterminated group name');
    const n = this.src.slice(this.i, end);
    this.i = end + 1;
    return `${n}>`;
  }

  private apply(f: Flags, spec: string): void {
    let on = true;
    for (const ch of spec) {
      if (ch === '-') on = false;
      else if (ch === 'U') throw new RegexSyntaxError('the U (ungreedy) flag is not supported');
      else f[ch as 'i' | 's' | 'm'] = on;
    }
  }

  private escape(f: Flags): string {
    const src = this.src;
    const n = src[this.i + 1];
    if (n === undefined) throw new RegexSyntaxError('trailing backslash');
    if (n === 'Q') {
      const end = src.indexOf('\\E', this.i + 2);
      const lit = src.slice(this.i + 2, end < 0 ? src.length : end);
      this.i = end < 0 ? src.length : end + 2;
      return [...lit].map((c) => (f.i && isLetter(c) ? `[${c}${otherCase(c)}]` : esc(c))).join('');
    }
    if (n === 'p' || n === 'P') return this.unicodeClass();
    this.i += 2;
    switch (n) {
      case 'z':
        return '(?![\\s\\S])';
      case 'A':
        return '(?<![\\s\\S])';
      case 's':
        return `[${GO_SPACE}]`;
      case 'S':
        return `[^${GO_SPACE}]`;
      case 'C':
        throw new RegexSyntaxError('\\C is not supported');
      case 'x': {
        const hex = this.hexEscape();
        return hex;
      }
      default:
        if ('dDwWbBfnrtv0123456789'.includes(n)) return `\\${n}`;
        if (f.i && isLetter(n)) return `[${n}${otherCase(n)}]`;
        // An escaped punctuation character is itself (no identity escapes: the u flag refuses them).
        return esc(n);
    }
  }

  /** After `\x`: \x41 or \x{41}. */
  private hexEscape(): string {
    const src = this.src;
    if (src[this.i] === '{') {
      const end = src.indexOf('}', this.i);
      const code = parseInt(src.slice(this.i + 1, end), 16);
      this.i = end + 1;
      if (code > 0xffff) {
        this.unicode = true;
        return `\\u{${code.toString(16)}}`;
      }
      return `\\u${code.toString(16).padStart(4, '0')}`;
    }
    const h = src.slice(this.i, this.i + 2);
    this.i += 2;
    return `\\x${h}`;
  }

  /** \pL, \p{Greek}, \PL (needs the u flag). */
  private unicodeClass(): string {
    const src = this.src;
    const n = src[this.i + 1];
    this.unicode = true;
    if (src[this.i + 2] === '{') {
      const end = src.indexOf('}', this.i + 3);
      const name = src.slice(this.i + 3, end);
      this.i = end + 1;
      return `\\${n}{${name}}`;
    }
    const name = src[this.i + 2];
    this.i += 3;
    return `\\${n}{${name}}`;
  }

  /** A character class from `[`: POSIX names expanded, \s made ASCII, both cases under (?i). */
  private charClass(f: Flags): string {
    const src = this.src;
    let j = this.i + 1;
    let neg = false;
    if (src[j] === '^') {
      neg = true;
      j++;
    }
    let out = '';
    const ranges: [number, number][] = [];
    let first = true;
    while (j < src.length && (src[j] !== ']' || first)) {
      first = false;
      let lo: number | undefined;
      if (src.startsWith('[:', j)) {
        const end = src.indexOf(':]', j + 2);
        const name = src.slice(j + 2, end);
        const cls = POSIX[name];
        if (end < 0 || cls === undefined)
          throw new RegexSyntaxError(`POSIX class [:${name}:] is not supported`);
        out += cls;
        j = end + 2;
        continue;
      }
      if (src[j] === '\\') {
        const n = src[j + 1];
        if ('dDwW'.includes(n)) {
          out += `\\${n}`;
          j += 2;
          continue;
        }
        if (n === 's') {
          out += GO_SPACE;
          j += 2;
          continue;
        }
        if (n === 'S') {
          out += NOT_SPACE_IN_CLASS;
          j += 2;
          continue;
        }
        if (n === 'p' || n === 'P') {
          const save = this.i;
          this.i = j;
          out += this.unicodeClass();
          j = this.i;
          this.i = save;
          continue;
        }
        const [code, next] = this.classEscape(j);
        lo = code;
        j = next;
      } else {
        lo = src.charCodeAt(j);
        j++;
      }
      let hi = lo;
      if (src[j] === '-' && src[j + 1] !== ']' && j + 1 < src.length) {
        if (src[j + 1] === '\\') {
          const [code, next] = this.classEscape(j + 1);
          hi = code;
          j = next;
        } else {
          hi = src.charCodeAt(j + 1);
          j += 2;
        }
      }
      ranges.push([lo, hi]);
    }
    if (j >= src.length) throw new RegexSyntaxError('missing ]');
    this.i = j + 1;
    const all = [...ranges];
    if (f.i) {
      for (const [lo, hi] of ranges) {
        for (const [a, z, shift] of [
          [97, 122, -32],
          [65, 90, 32]
        ]) {
          const s = Math.max(lo, a);
          const e = Math.min(hi, z);
          if (s <= e) all.push([s + shift, e + shift]);
        }
      }
    }
    for (const [lo, hi] of all)
      out += lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`;
    return `[${neg ? '^' : ''}${out}]`;
  }

  /** One escaped character inside a class: its code and the index after it. */
  private classEscape(j: number): [number, number] {
    const src = this.src;
    const n = src[j + 1];
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, a: 7 };
    if (n in simple) return [simple[n], j + 2];
    if (n === 'x') {
      if (src[j + 2] === '{') {
        const end = src.indexOf('}', j + 3);
        return [parseInt(src.slice(j + 3, end), 16), end + 1];
      }
      return [parseInt(src.slice(j + 2, j + 4), 16), j + 4];
    }
    return [src.charCodeAt(j + 1), j + 2];
  }
}
