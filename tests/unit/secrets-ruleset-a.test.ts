// Group A of the default ruleset (rules-a.ts): one rule per gitleaks id of
// the share, each regex valid RE2, and every rule finding its generated
// tokens in every wrapping (with exactly the token as the secret), its whole
// texts, and none of its negatives. Detection runs through the embedded
// engine (findSecrets); a small re2js matcher with gitleaks' semantics runs
// alongside, so a difference between the engine's RE2-to-JS translation and
// RE2 itself shows up here too.

import { RE2JS } from 're2js';
import { findSecrets } from '../../packages/security/src/secrets/ruleset/engine.ts';
import { RULES_A } from '../../packages/security/src/secrets/ruleset/rules-a.ts';
import type { GitleaksRule } from '../../packages/security/src/secrets/ruleset/schema.ts';
import {
  rng,
  wrappings,
  WRAPPING_PATHS,
  type WrappingName
} from '../helpers/secret-samples/kit.ts';
import { SAMPLES_A } from '../helpers/secret-samples/samples-a.ts';
import { ruleProblems } from '../helpers/secret-samples/rule-problems.ts';

const GITLEAKS_IDS =
  `1password-secret-key 1password-service-account-token adafruit-api-key adobe-client-id
adobe-client-secret age-secret-key airtable-api-key airtable-personnal-access-token algolia-api-key
alibaba-access-key-id alibaba-secret-key anthropic-admin-api-key anthropic-api-key artifactory-api-key
artifactory-reference-token asana-client-id asana-client-secret atlassian-api-token
authress-service-client-access-key aws-access-token aws-amazon-bedrock-api-key-long-lived
aws-amazon-bedrock-api-key-short-lived azure-ad-client-secret beamer-api-token bitbucket-client-id
bitbucket-client-secret bittrex-access-key bittrex-secret-key cisco-meraki-api-key
clickhouse-cloud-api-secret-key clojars-api-token cloudflare-api-key cloudflare-global-api-key
cloudflare-origin-ca-key codecov-access-token cohere-api-token coinbase-access-token confluent-access-token
confluent-secret-key contentful-delivery-api-token curl-auth-header curl-auth-user databricks-api-token
datadog-access-token defined-networking-api-token digitalocean-access-token digitalocean-pat
digitalocean-refresh-token discord-api-token discord-client-id discord-client-secret doppler-api-token
droneci-access-token dropbox-api-token dropbox-long-lived-api-token dropbox-short-lived-api-token
duffel-api-token dynatrace-api-token easypost-api-token easypost-test-api-token etsy-access-token
facebook-access-token facebook-page-access-token facebook-secret fastly-api-token finicity-api-token
finicity-client-secret finnhub-access-token flickr-access-token flutterwave-encryption-key
flutterwave-public-key flutterwave-secret-key flyio-access-token frameio-api-token`.split(/\s+/);

const EXTRA_IDS = [
  'aws-secret-access-key',
  'azure-storage-account-key',
  'basic-auth-url',
  'cloudflare-user-api-token',
  'cloudflare-account-api-token',
  'discord-bot-token',
  'discord-webhook-url',
  'docker-pat',
  'figma-pat'
];

const WRAPPING_NAMES = Object.keys(WRAPPING_PATHS) as WrappingName[];

// ---- RE2 reference: gitleaks' per-rule semantics with re2js ----

function entropy(s: string): number {
  const counts = new Map<string, number>();
  const chars = [...s];
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const v of counts.values()) {
    const p = v / chars.length;
    h -= p * Math.log2(p);
  }
  return h;
}

const re2Cache = new Map<string, RE2JS>();
function re2(p: string): RE2JS {
  let c = re2Cache.get(p);
  if (!c) re2Cache.set(p, (c = RE2JS.compile(p)));
  return c;
}

function lineAround(text: string, start: number, end: number): string {
  const s = text.lastIndexOf('\n', start - 1) + 1;
  const e = text.indexOf('\n', end);
  return text.slice(s, e < 0 ? text.length : e);
}

/** Secrets the rule reports in `text`, evaluated with re2js (no global allowlists). */
function re2Secrets(rule: GitleaksRule, text: string): string[] {
  const lower = text.toLowerCase();
  if (rule.keywords?.length && !rule.keywords.some((k) => lower.includes(k))) return [];
  const m = re2(rule.regex!).matcher(text);
  const out: string[] = [];
  while (m.find()) {
    const match = m.group(0)!.replace(/^\n+|\n+$/g, '');
    if (match === '') continue;
    // gitleaks takes the groups from the trimmed match, matched again.
    const g = re2(rule.regex!).matcher(match);
    let secret = match;
    if (g.find() && g.groupCount() > 0) {
      if (rule.secretGroup) secret = g.group(rule.secretGroup) ?? '';
      else
        for (let i = 1; i <= g.groupCount(); i++) {
          const v = g.group(i);
          if (v) {
            secret = v;
            break;
          }
        }
    }
    if (rule.entropy && entropy(secret) <= rule.entropy) continue;
    const line = lineAround(text, m.start(0), m.end(0));
    const allowed = (rule.allowlists ?? []).some((a) => {
      const target = a.regexTarget === 'match' ? match : a.regexTarget === 'line' ? line : secret;
      const byRegex = a.regexes
        ? target !== '' && a.regexes.some((x) => re2(x).matcher(target).find())
        : undefined;
      const byStop = a.stopwords
        ? a.stopwords.some((w) => secret.toLowerCase().includes(w.toLowerCase()))
        : undefined;
      const checks = [byRegex, byStop].filter((x) => x !== undefined);
      return a.condition === 'AND' ? checks.every(Boolean) : checks.some(Boolean);
    });
    if (!allowed) out.push(secret);
  }
  return out;
}

// ---- helpers ----

const single = new Map<string, GitleaksRule[]>(RULES_A.map((r) => [r.id, [r]]));

function ruleOf(id: string): GitleaksRule {
  const r = RULES_A.find((x) => x.id === id);
  if (!r) throw new Error(`no rule ${id}`);
  return r;
}

function hitsOf(
  id: string,
  text: string,
  path?: string
): { secret: string; start: number; end: number }[] {
  return findSecrets(single.get(id)!, text, path).filter((h) => h.ruleId === id);
}

function short(s: string): string {
  return s.length > 60 ? `${s.slice(0, 40)}…(${s.length} chars)` : s;
}

// ---- tests ----

describe('group A rules: ids and syntax', () => {
  test('one rule per id, in the brief order, extras last', () => {
    expect(RULES_A.map((r) => r.id)).toEqual([...GITLEAKS_IDS, ...EXTRA_IDS]);
    expect(GITLEAKS_IDS).toHaveLength(74);
  });

  test('every regex, path and allowlist regex is valid RE2; keywords are lower-case', () => {
    const problems = RULES_A.flatMap(ruleProblems);
    expect(problems).toEqual([]);
  });

  test('samples cover every rule, in the same order, with enough cases', () => {
    expect(SAMPLES_A.map((s) => s.id)).toEqual(RULES_A.map((r) => r.id));
    const thin: string[] = [];
    for (const s of SAMPLES_A) {
      const r = rng(`a:${s.id}`);
      const count = s.tokens(r).length + (s.raw?.(r).length ?? 0);
      if (count < 3) thin.push(`${s.id}: ${count} positive cases`);
      if ((s.negatives ?? []).length < 2) thin.push(`${s.id}: fewer than 2 negatives`);
    }
    expect(thin).toEqual([]);
  });
});

describe.each(SAMPLES_A.map((s) => [s.id, s] as const))('%s', (id, sample) => {
  const rule = ruleOf(id);

  test('finds every token, as the secret, in every wrapping', () => {
    const failures: string[] = [];
    const tokens = sample.tokens(rng(`a:${id}`));
    for (const token of tokens) {
      for (const name of WRAPPING_NAMES) {
        if (sample.skipWrappings?.includes(name)) continue;
        const text = wrappings(sample.ident, token)[name];
        const path = sample.path ?? WRAPPING_PATHS[name];
        const hits = hitsOf(id, text, path);
        if (!hits.some((h) => h.secret === token && text.slice(h.start, h.end) === token))
          failures.push(
            `${id} [${name}]: engine did not report ${short(token)} (got ${JSON.stringify(hits.map((h) => short(h.secret)))})`
          );
        if (!re2Secrets(rule, text).includes(token))
          failures.push(`${id} [${name}]: RE2 semantics do not report ${short(token)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  test('finds every whole text', () => {
    const failures: string[] = [];
    const r = rng(`a:${id}`);
    sample.tokens(r); // raw texts come after the tokens in the seeded sequence
    for (const [i, text] of (sample.raw?.(r) ?? []).entries()) {
      if (hitsOf(id, text, sample.path ?? 'src/example.txt').length === 0)
        failures.push(
          `${id} [raw ${i + 1}]: engine found nothing in ${JSON.stringify(short(text))}`
        );
      if (re2Secrets(rule, text).length === 0)
        failures.push(
          `${id} [raw ${i + 1}]: RE2 semantics find nothing in ${JSON.stringify(short(text))}`
        );
    }
    expect(failures).toEqual([]);
  });

  test('reports none of the negatives', () => {
    const failures: string[] = [];
    for (const [i, text] of (sample.negatives ?? []).entries()) {
      const hits = hitsOf(id, text, sample.path ?? 'src/example.txt');
      if (hits.length > 0)
        failures.push(
          `${id} [negative ${i + 1}]: engine reported ${JSON.stringify(hits.map((h) => short(h.secret)))}`
        );
      const ref = re2Secrets(rule, text);
      if (ref.length > 0)
        failures.push(
          `${id} [negative ${i + 1}]: RE2 semantics report ${JSON.stringify(ref.map(short))}`
        );
    }
    expect(failures).toEqual([]);
  });
});
