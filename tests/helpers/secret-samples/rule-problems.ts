// What makes a default rule unusable, one line each: a regex, path or
// allowlist pattern that RE2 (re2js) refuses, neither regex nor path, a
// keyword that is not lower-case, no description. Shared by the ruleset
// group tests.

import { RE2JS } from 're2js';
import type { GitleaksRule } from '../../../packages/security/src/secrets/ruleset/schema.ts';

export function ruleProblems(r: GitleaksRule): string[] {
  const problems: string[] = [];
  const patterns: [string, string][] = [];
  if (r.regex) patterns.push(['regex', r.regex]);
  if (r.path) patterns.push(['path', r.path]);
  r.allowlists?.forEach((a, i) => {
    for (const x of a.regexes ?? []) patterns.push([`allowlist ${i + 1} regex`, x]);
    for (const x of a.paths ?? []) patterns.push([`allowlist ${i + 1} path`, x]);
  });
  for (const [where, p] of patterns) {
    try {
      RE2JS.compile(p);
    } catch (err) {
      problems.push(`${r.id} ${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (!r.regex && !r.path) problems.push(`${r.id}: neither regex nor path`);
  for (const k of r.keywords ?? [])
    if (k !== k.toLowerCase()) problems.push(`${r.id}: keyword '${k}' not lower-case`);
  if (!r.description) problems.push(`${r.id}: no description`);
  return problems;
}
