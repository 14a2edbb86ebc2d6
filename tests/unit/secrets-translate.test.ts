// The embedded engine matches with V8's regex engine on a translation of
// each RE2 pattern (translate.ts); RE2 (re2js, RE2/J in JavaScript) is the
// reference. For every default rule, on its own samples (each token in
// every wrapping, whole texts, placeholders), both must give the same
// matches and the same secret spans. Plus the translation's own cases.

import { RE2JS } from 're2js';
import { compileRe2 } from '../../packages/security/src/secrets/ruleset/engine.ts';
import { DEFAULT_RULES } from '../../packages/security/src/secrets/ruleset/defaults.ts';
import {
  RegexSyntaxError,
  translateRe2
} from '../../packages/security/src/secrets/ruleset/translate.ts';
import { rng, wrappings } from '../helpers/secret-samples/kit.ts';
import { ALL_SAMPLES, placeholders } from '../helpers/secret-samples/figures.ts';

type Span = [number, number, number, number];

function re2Matches(pattern: string, text: string): Span[] {
  const m = RE2JS.compile(pattern).matcher(text);
  const out: Span[] = [];
  while (m.find()) {
    let g = [m.start(), m.end()];
    for (let i = 1; i <= m.groupCount(); i++) {
      if (m.start(i) >= 0 && m.end(i) > m.start(i)) {
        g = [m.start(i), m.end(i)];
        break;
      }
    }
    out.push([m.start(), m.end(), g[0], g[1]]);
  }
  return out;
}

function jsMatches(pattern: string, text: string): Span[] {
  const re = compileRe2(pattern, 'gd');
  const out: Span[] = [];
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    let g: [number, number] = [m.index, m.index + m[0].length];
    for (let i = 1; i < m.length; i++) {
      const x = m.indices![i];
      if (x && x[1] > x[0]) {
        g = x;
        break;
      }
    }
    out.push([m.index, m.index + m[0].length, g[0], g[1]]);
  }
  return out;
}

describe('every default rule: the JS translation matches what RE2 matches', () => {
  const byId = new Map(ALL_SAMPLES.map((s) => [s.id, s]));
  it.each(DEFAULT_RULES.filter((r) => r.regex).map((r) => [r.id, r] as const))(
    '%s',
    (_id, rule) => {
      const s = byId.get(rule.id);
      const texts: string[] = [];
      if (s) {
        const tokens = s.tokens(rng(`recall:${s.id}`));
        for (const t of tokens) texts.push(...Object.values(wrappings(s.ident, t)));
        texts.push(...(s.raw?.(rng(`raw:${s.id}`)) ?? []), ...(s.negatives ?? []));
        for (const p of placeholders(tokens[0] ?? ''))
          texts.push(...Object.values(wrappings(s.ident, p)));
      }
      texts.push('nothing to see here\nconst a = 1;\n');
      for (const [i, text] of texts.entries()) {
        expect([rule.id, i, jsMatches(rule.regex!, text)]).toEqual([
          rule.id,
          i,
          re2Matches(rule.regex!, text)
        ]);
      }
    }
  );
});

describe('translateRe2', () => {
  const same = (p: string, text: string): void =>
    expect(jsMatches(p, text)).toEqual(re2Matches(p, text));

  it('a leading flag group becomes JS flags; one in the middle applies to the rest of its group', () => {
    same('(?i)abc', 'ABC abc aBc');
    same(String.raw`(?i)[a-f]+x`, 'AbCx FFX');
    same(String.raw`(?i)a(?-i:b)c`, 'aBc AbC abc');
    same(String.raw`(?:a(?i)b|c)`, 'C c aB Ab');
    same(String.raw`(?i:A|X[a-z]+)`, 'XOctopus');
    same(String.raw`SG\.(?i)[a-z]{4}x`, 'SG.AbCdX SG.abcdx sg.abcdx');
    same(String.raw`(a(?i)b|c)d`, 'aBd abd ABd cd Cd');
    same(String.raw`(?s)a.b`, 'a\nb');
  });
  it("Go's \\s is ASCII whitespace only; \\S inside a class keeps the other spaces", () => {
    same(String.raw`a\sb`, 'a\u00a0b a b a\tb');
    same(String.raw`a[\S]b`, 'a\u00a0b axb');
    same(String.raw`a\Sb`, 'a\u00a0b a b');
  });
  it('POSIX classes, \\z, \\A, \\Q…\\E and (?P<name>…)', () => {
    same(String.raw`[[:alnum:]]{3}`, 'ab1 a_b');
    same(String.raw`[[:xdigit:]]+\z`, 'zz 0fA9');
    same(String.raw`\Aab`, 'abab');
    same(String.raw`\Qa.b\E`, 'a.b axb');
    same(String.raw`(?P<k>ab)c`, 'abc');
  });
  it('refuses what RE2 refuses, in one line', () => {
    for (const p of ['(?=a)b', String.raw`(a)\1`, '(?<!a)b', '[a-'])
      expect(() => translateRe2(p)).toThrow(RegexSyntaxError);
    expect(() => translateRe2('(a')).toThrow(/^not a valid RE2 regex \([^\n]*\)$/);
  });
});
