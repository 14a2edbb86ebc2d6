// The default ruleset: every rule of ./rules-a.ts, ./rules-b.ts and
// ./rules-c.ts (gitleaks' rule ids at ./release.ts, plus a few of our own)
// and the global allowlist below.

import { RULES_A } from './rules-a.ts';
import { RULES_B } from './rules-b.ts';
import { RULES_C } from './rules-c.ts';
import type { GitleaksAllowlist, GitleaksRule } from './schema.ts';

export const DEFAULT_RULES: readonly GitleaksRule[] = [...RULES_A, ...RULES_B, ...RULES_C];

/** Every run of 3 to 10 consecutive letters (one case) or digits, either way, as an RE2 alternation. */
const SEQUENCES = (() => {
  const runs = new Set<string>();
  for (const alphabet of ['abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789'])
    for (const a of [alphabet, [...alphabet].reverse().join('')])
      for (let len = 3; len <= 10; len++)
        for (let i = 0; i + len <= a.length; i++) runs.add(a.slice(i, i + len));
  // Longest first: RE2 takes the first alternative that matches.
  return [...runs].sort((x, y) => y.length - x.length).join('|');
})();

/**
 * Values that are plainly not secrets, whatever rule matched them, are not
 * findings: placeholders (xxxx…, ****, <token>, ${VAR}, {{ var }},
 * "your_api_key", changeme) and runs of one character. Documentation
 * examples (providers' published example keys, AWS's end in EXAMPLE;
 * RFC 2606 / 6761 names such as example.com in a credential URL) are
 * findings that do not block (nonBlocking).
 */
export const DEFAULT_GLOBAL_ALLOWLISTS: readonly GitleaksAllowlist[] = [
  {
    description: 'placeholders and template references',
    regexes: [
      String.raw`(?i)x{6,}|\*{4,}|#{6,}|\.{6,}|0{10,}|1{10,}|9{10,}`,
      // Nothing but one placeholder character (0, x, *) between the format's punctuation.
      String.raw`^[\W_]*[A-Za-z]*[_.-]?(?:[\W_0]{8,}|[\W_xX]{8,}|[\W_*]{8,})$`,
      String.raw`^["'\x60]?(?:<[^<>]{1,80}>|\$\{[^}]{1,80}\}|\{\{[^}]{1,80}\}\}|\$[A-Z_][A-Z0-9_]{2,}|%[A-Z_][A-Z0-9_]*%)["'\x60]?$`,
      String.raw`(?i)^["'\x60]?(?:your|my|the)[_-]?(?:[a-z]+[_-]?){0,3}(?:key|token|secret|password|passwd|pwd)(?:[_-]?here)?["'\x60]?$`,
      String.raw`(?i)^["'\x60]?(?:changeme|change[_-]?me|placeholder|redacted|dummy|sample|test|example|none|null|undefined|todo|fixme)["'\x60]?$`,
      String.raw`(?i)0123456789|123456789012|abcdefghijkl|qwertyuiop`,
      // Made of keyboard-sequence pieces only: abc123xyz456, abcd1234, 123abc (at least two pieces).
      `^["'\x60]?(?:${SEQUENCES})(?:${SEQUENCES})+["'\x60]?$`
    ]
  },
  {
    description: 'documentation examples',
    nonBlocking: true,
    regexes: [String.raw`(?i)EXAMPLE(?:KEY)?$|^AKIAIOSFODNN7|wJalrXUtnFEMI/K7MDENG`]
  },
  {
    description: 'credentials in URLs of RFC 2606 / 6761 reserved names',
    nonBlocking: true,
    regexTarget: 'match',
    regexes: [
      String.raw`(?i)@(?:[a-z0-9-]+\.)*(?:example\.(?:com|net|org)|[a-z0-9-]+\.(?:example|test|invalid|localhost))(?:[:/?#'"\s]|$)`
    ]
  }
];
