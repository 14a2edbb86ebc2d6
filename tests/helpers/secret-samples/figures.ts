// Recall and false positives of a ruleset on the generated samples: every
// rule's tokens in every wrapping it can take, its whole texts, and its
// negatives. A sample counts as found when any rule reports a secret that
// covers the token (the gate blocks on any rule); a negative counts as a
// false positive when any rule reports anything in it.

import type { Ruleset } from '../../../packages/security/src/secrets/ruleset/engine.ts';
import { rng, wrappings, WRAPPING_PATHS, type RuleSamples, type WrappingName } from './kit.ts';
import { SAMPLES_A } from './samples-a.ts';
import { SAMPLES_B } from './samples-b.ts';
import { SAMPLES_C } from './samples-c.ts';

export const ALL_SAMPLES: readonly RuleSamples[] = [...SAMPLES_A, ...SAMPLES_B, ...SAMPLES_C];

export interface FamilyFigures {
  family: string;
  samples: number;
  found: number;
  negatives: number;
  falsePositives: number;
  /** rule id / wrapping of each miss and false positive (for the failure message; no secret). */
  misses: string[];
  fps: string[];
}

export interface Figures {
  families: FamilyFigures[];
  samples: number;
  found: number;
  negatives: number;
  falsePositives: number;
}

function detectIn(ruleset: Ruleset, text: string, path: string): { start: number; end: number }[] {
  const hits = ruleset.detect(text, { pathAt: () => path });
  const out = hits.map((h) => ({ start: h.start, end: h.end }));
  if (ruleset.matchPath(path).length) out.push({ start: 0, end: text.length });
  return out;
}

export function measure(ruleset: Ruleset, samples: readonly RuleSamples[] = ALL_SAMPLES): Figures {
  const fam = new Map<string, FamilyFigures>();
  const get = (f: string): FamilyFigures => {
    let x = fam.get(f);
    if (!x)
      fam.set(
        f,
        (x = {
          family: f,
          samples: 0,
          found: 0,
          negatives: 0,
          falsePositives: 0,
          misses: [],
          fps: []
        })
      );
    return x;
  };
  for (const s of samples) {
    const f = get(s.family);
    const r = rng(`recall:${s.id}`);
    for (const token of s.tokens(r)) {
      const all = wrappings(s.ident, token);
      for (const [w, text] of Object.entries(all) as [WrappingName, string][]) {
        if (s.skipWrappings?.includes(w)) continue;
        f.samples++;
        const at = text.indexOf(token);
        const hits = detectIn(ruleset, text, s.path ?? WRAPPING_PATHS[w]);
        if (hits.some((h) => h.start < at + token.length && h.end > at)) f.found++;
        else f.misses.push(`${s.id}/${w}`);
      }
    }
    for (const [i, text] of (s.raw?.(rng(`raw:${s.id}`)) ?? []).entries()) {
      f.samples++;
      if (detectIn(ruleset, text, s.path ?? 'config/app.txt').length) f.found++;
      else f.misses.push(`${s.id}/raw#${i}`);
    }
    // Placeholders of the same format in the same wrappings: what documentation and examples hold.
    const tokens = s.tokens(rng(`recall:${s.id}`));
    for (const [k, fake] of placeholders(tokens[0] ?? '').entries()) {
      for (const [w, text] of Object.entries(wrappings(s.ident, fake)) as [
        WrappingName,
        string
      ][]) {
        if (s.skipWrappings?.includes(w)) continue;
        f.negatives++;
        if (detectIn(ruleset, text, s.path ?? WRAPPING_PATHS[w]).length) {
          f.falsePositives++;
          f.fps.push(`${s.id}/placeholder#${k}/${w}`);
        }
      }
    }
  }
  const families = [...fam.values()].sort((a, b) => a.family.localeCompare(b.family));
  const sum = (k: 'samples' | 'found' | 'negatives' | 'falsePositives'): number =>
    families.reduce((a, f) => a + f[k], 0);
  return {
    families,
    samples: sum('samples'),
    found: sum('found'),
    negatives: sum('negatives'),
    falsePositives: sum('falsePositives')
  };
}

/**
 * Values that stand for a token without being one: the token's format with
 * its random part masked (ghp_xxxx…, AKIAXXXX…, xoxb-0000…), the usual
 * template references and "your key here" words, and keyboard sequences.
 */
export function placeholders(token: string): string[] {
  const cut = Math.max(token.slice(0, 12).search(/[_.-][^_.-]*$/) + 1, 0);
  const head = token.slice(0, cut);
  const tail = token.slice(cut);
  const mask = (c: string): string =>
    tail
      .replace(/[a-z]/g, c.toLowerCase())
      .replace(/[A-Z]/g, c.toUpperCase())
      .replace(/[0-9]/g, c === 'x' ? 'x' : '0');
  return [
    head + mask('x'),
    head + tail.replace(/[A-Za-z0-9]/g, '0'),
    head + tail.replace(/[A-Za-z0-9]/g, '*'),
    '<your-api-token>',
    '${API_TOKEN}',
    '{{ api_token }}',
    'your_api_key_here',
    'changeme',
    // Keyboard sequences, as documentation writes them.
    'abc123xyz456',
    'abcd1234efgh5678'
  ];
}

export const pct = (a: number, b: number): string =>
  b === 0 ? '-' : `${((100 * a) / b).toFixed(1)} %`;
