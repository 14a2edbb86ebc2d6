// The keyword prefilter automaton against the plain reading of gitleaks'
// rule: lower-case the text, a keyword is present on a line where
// line.toLowerCase().includes(keyword).

import { describe, expect, it } from '@jest/globals';
import { DEFAULT_RULES } from '../../packages/security/src/secrets/ruleset/defaults.ts';
import { findSecrets } from '../../packages/security/src/secrets/ruleset/engine.ts';
import {
  KeywordAutomaton,
  type KeywordLines
} from '../../packages/security/src/secrets/ruleset/keywords.ts';

/** Per keyword, its lines and its first offset on each, the slow obvious way. */
function reference(
  keywords: readonly string[],
  text: string
): { lines: (number[] | undefined)[]; at: (number[] | undefined)[] } {
  const lines = text.split('\n');
  const starts: number[] = [];
  let offset = 0;
  for (const l of lines) {
    starts.push(offset);
    offset += l.length + 1;
  }
  const lower = lines.map((l) => l.toLowerCase());
  const per = keywords.map((k) => lower.flatMap((l, i) => (l.includes(k) ? [i] : [])));
  return {
    lines: per.map((ls) => (ls.length ? ls : undefined)),
    at: per.map((ls, ki) =>
      ls.length ? ls.map((i) => starts[i] + lower[i].indexOf(keywords[ki])) : undefined
    )
  };
}

/** The line of each offset scan() recorded for keyword `k` (from its line starts). */
function linesOf(got: KeywordLines, k: number): number[] | undefined {
  return got.at[k]?.map((pos) => {
    let line = 0;
    while (line + 1 < got.lineCount && got.lineStarts[line + 1] <= pos) line++;
    return line;
  });
}

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a / 2 ** 32;
  };
}

describe('keyword automaton', () => {
  const keywords = [...new Set(DEFAULT_RULES.flatMap((r) => r.keywords ?? []))].map((k) =>
    k.toLowerCase()
  );

  it('finds every default keyword on the lines a lower-cased search finds it, overlaps and case included', () => {
    const auto = new KeywordAutomaton(keywords);
    const rnd = random(7);
    // Texts built from keyword fragments, so keywords overlap, nest and straddle each other.
    const pieces = [...keywords, 'A', 'e', 'Y', ' ', '\n', '=', '.', 'S', 'K', 'x', '\u212a', 'é'];
    for (let round = 0; round < 40; round++) {
      const parts: string[] = [];
      for (let i = 0; i < 400; i++) {
        let p = pieces[Math.floor(rnd() * pieces.length)];
        if (rnd() < 0.3) p = p.toUpperCase();
        else if (rnd() < 0.3) p = p.slice(0, Math.max(1, Math.floor(p.length / 2)));
        parts.push(p);
      }
      const text = parts.join('');
      const got = auto.scan(text);
      const want = reference(keywords, text);
      expect(got.at.length).toBe(keywords.length);
      for (let k = 0; k < keywords.length; k++) {
        expect([keywords[k], linesOf(got, k)]).toEqual([keywords[k], want.lines[k]]);
        expect([keywords[k], got.at[k]]).toEqual([keywords[k], want.at[k]]);
      }
      const starts = [0];
      for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
      expect(got.lineCount).toBe(starts.length);
      expect([...got.lineStarts.subarray(0, got.lineCount + 1)]).toEqual([...starts, text.length]);
    }
  });

  it('on a long line, records an occurrence again once `spacing` characters have passed', () => {
    const auto = new KeywordAutomaton(['token']);
    const line = 'x'.repeat(50) + ('token' + 'y'.repeat(95)).repeat(100); // every 100 characters
    const got = auto.scan(`${line}\nTOKEN`, 1000);
    expect(got.at[0]).toEqual([
      ...Array.from({ length: 10 }, (_, i) => 50 + i * 1000),
      line.length + 1
    ]);
    expect(linesOf(got, 0)).toEqual([...Array<number>(10).fill(0), 1]);
  });

  it('reads the Kelvin sign as k, as Unicode lower-casing does', () => {
    const auto = new KeywordAutomaton(['key', 'token']);
    const got = auto.scan('a\n\u212aEY = 1\nTOKEN\n');
    expect([linesOf(got, 0), linesOf(got, 1)]).toEqual([[1], [2]]);
    expect(got.at).toEqual([[2], [10]]);
  });

  it('refuses a keyword it cannot read; the engine then runs that rule everywhere', () => {
    expect(() => new KeywordAutomaton(['clé'])).toThrow(/ASCII/);
    const rules = [
      { id: 'custom-cle', description: 'test', regex: 'cle_[a-z0-9]{12}', keywords: ['clé'] }
    ];
    // No "clé" in the text: a prefilter that cannot read the keyword must not hide the match.
    expect(findSecrets(rules, 'x = cle_ab12cd34ef56\n').map((h) => h.ruleId)).toEqual([
      'custom-cle'
    ]);
  });

  it('finds a rule whose keyword is on the line above or below the value (the value within two lines)', () => {
    const rules = [
      { id: 'near', description: 'test', regex: 'zz_[a-z0-9]{12}', keywords: ['marker'] }
    ];
    const text = (gap: number, first: string, second: string): string =>
      `${first}\n${'\n'.repeat(gap)}${second}\n`;
    for (const gap of [0, 1]) {
      expect(findSecrets(rules, text(gap, 'MARKER', 'zz_ab12cd34ef56'))).toHaveLength(1);
      expect(findSecrets(rules, text(gap, 'zz_ab12cd34ef56', 'Marker'))).toHaveLength(1);
    }
    // Three lines apart: outside the window.
    expect(findSecrets(rules, text(2, 'marker', 'zz_ab12cd34ef56'))).toHaveLength(0);
    expect(findSecrets(rules, text(2, 'zz_ab12cd34ef56', 'marker'))).toHaveLength(0);
  });

  it('on a megabyte line, looks around each keyword (at most 2,048 characters before, 4,096 after), not at the whole line', () => {
    const rules = [
      { id: 'near', description: 'test', regex: 'zz_[a-z0-9]{12}', keywords: ['marker'] }
    ];
    const pad = (n: number): string => ';a=b'.repeat(n / 4);
    const value = 'zz_ab12cd34ef56';
    // Minified code: a keyword, a value a few hundred characters on, on one long line.
    const near = `${pad(400_000)}marker${pad(400)}${value}${pad(400_000)}\n`;
    expect(findSecrets(rules, near).map((h) => h.secret)).toEqual([value]);
    // A value far from any keyword of its rule on such a line is not looked at (gitleaks reads the
    // whole line; on a megabyte line every rule over all of it is what makes a scan slow).
    const far = `${pad(400_000)}marker${pad(20_000)}${value}${pad(400_000)}\n`;
    expect(findSecrets(rules, far)).toEqual([]);
    // The 51st occurrence on the line counts as much as the first.
    const many = `${`marker${pad(10_000)}`.repeat(50)}marker;${value}${pad(400_000)}\n`;
    expect(findSecrets(rules, many).map((h) => h.secret)).toEqual([value]);
  });

  it.each([
    [
      'curl-auth-header',
      [
        'curl ',
        'curl=',
        'curl -X POST ',
        ' -H "Authorization: Bearer dGhpcyBpcyBub3QgYSByZWFsIHRva2Vu"',
        " --header='X-API-Key: k3y9f8e7d6c5b4a3f2e1d0c'",
        ' -H "Authorization: Basic Zm9vYmFyYmF6cXV4cXV1eA=="',
        ' -H "Authorization: Bearer ',
        ' -H ',
        '"',
        ' \\\n  ',
        '\n',
        'x',
        ' https://api.example.org/v1 '
      ]
    ],
    [
      'private-key',
      [
        '-----BEGIN PRIVATE KEY-----\n',
        '-----BEGIN RSA PRIVATE KEY-----\n',
        '-----END PRIVATE KEY-----\n',
        '-----END RSA PRIVATE KEY-----',
        'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n',
        'TWSY0bZAd4KNk3iyMfKsAh9XFpK8PZZ8cQMzM6SeDFBXQXqGnHk9y0z1lOc4dIyJ\n',
        'KEY-----',
        ' BLOCK-----',
        '\n',
        'x'
      ]
    ]
  ])('a rule with endsWith finds what it finds without it (%s), on random soup', (id, pieces) => {
    const rule = DEFAULT_RULES.find((r) => r.id === id)!;
    expect(rule.endsWith).toBeDefined();
    const withTail = [rule];
    const without = [{ ...rule, endsWith: undefined }];
    const rnd = random(11);
    let found = 0;
    for (let round = 0; round < 300; round++) {
      let text = '';
      for (let i = 0; i < 40; i++) text += pieces[Math.floor(rnd() * pieces.length)];
      const a = findSecrets(withTail, text);
      expect(a).toEqual(findSecrets(without, text));
      found += a.length;
    }
    expect(found).toBeGreaterThan(20);
  });
});
