// Group C of the default ruleset (rules-c.ts): every rule compiles as RE2,
// finds each generated token of its format in every wrapping it can take
// (with exactly that secret), finds each raw text, and leaves its negatives
// alone. Detection goes through the embedded engine's findSecrets.

import { ruleProblems } from '../helpers/secret-samples/rule-problems.ts';
import { findSecrets } from '../../packages/security/src/secrets/ruleset/engine.ts';
import { RULES_C } from '../../packages/security/src/secrets/ruleset/rules-c.ts';
import type { GitleaksRule } from '../../packages/security/src/secrets/ruleset/schema.ts';
import {
  rng,
  WRAPPING_PATHS,
  wrappings,
  type WrappingName
} from '../helpers/secret-samples/kit.ts';
import {
  PKCS12_NEGATIVE_PATHS,
  PKCS12_POSITIVE_PATHS,
  SAMPLES_C
} from '../helpers/secret-samples/samples-c.ts';

const GITLEAKS_IDS =
  `nuget-config-password nytimes-access-token octopus-deploy-api-key okta-access-token
openai-api-key openshift-user-token perplexity-api-key pkcs12-file plaid-api-token plaid-client-id
plaid-secret-key planetscale-api-token planetscale-oauth-token planetscale-password postman-api-token
prefect-api-token private-key privateai-api-token pulumi-api-token pypi-upload-token rapidapi-access-token
readme-api-token rubygems-api-token scalingo-api-token sendbird-access-id sendbird-access-token
sendgrid-api-token sendinblue-api-token sentry-access-token sentry-org-token sentry-user-token
settlemint-application-access-token settlemint-personal-access-token settlemint-service-access-token
shippo-api-token shopify-access-token shopify-custom-access-token shopify-private-app-access-token
shopify-shared-secret sidekiq-secret sidekiq-sensitive-url slack-app-token slack-bot-token
slack-config-access-token slack-config-refresh-token slack-legacy-bot-token slack-legacy-token
slack-legacy-workspace-token slack-user-token slack-webhook-url snyk-api-token sonar-api-token
sourcegraph-access-token square-access-token squarespace-access-token stripe-access-token
sumologic-access-id sumologic-access-token telegram-bot-api-token travisci-access-token twilio-api-key
twitch-api-token twitter-access-secret twitter-access-token twitter-api-key twitter-api-secret
twitter-bearer-token typeform-api-token vault-batch-token vault-service-token yandex-access-token
yandex-api-key yandex-aws-access-token zendesk-secret-key`.split(/\s+/);

const EXTRA_IDS = `postgresql-connection-string square-secret tailscale-api-key tailscale-auth-key
tailscale-client-key tailscale-scim-key tailscale-webhook-key vault-recovery-token
vercel-personal-access-token vercel-integration-token vercel-app-access-token vercel-app-refresh-token
vercel-ai-gateway-api-key`.split(/\s+/);

const WRAPPING_NAMES = Object.keys(WRAPPING_PATHS) as WrappingName[];

/** One-rule rulesets, built once (findSecrets caches its compiled ruleset per array). */
const ALONE = new Map<string, GitleaksRule[]>(RULES_C.map((r) => [r.id, [r]]));
const ruleOf = (id: string): GitleaksRule => ALONE.get(id)![0]!;
const found = (id: string, text: string, path?: string) =>
  findSecrets(ALONE.get(id)!, text, path).filter((f) => f.ruleId === id);

describe('group C rules: ids', () => {
  test('one rule per id, in the listed order (gitleaks ids, then the extras)', () => {
    expect(RULES_C.map((r) => r.id)).toEqual([...GITLEAKS_IDS, ...EXTRA_IDS]);
  });

  test('one sample set per rule', () => {
    expect(SAMPLES_C.map((s) => s.id).sort()).toEqual(RULES_C.map((r) => r.id).sort());
  });

  test('keywords are lower-case literals', () => {
    const bad = RULES_C.flatMap((r) =>
      (r.keywords ?? []).filter((k) => k !== k.toLowerCase()).map((k) => `${r.id}: ${k}`)
    );
    expect(bad).toEqual([]);
  });
});

describe.each(RULES_C.map((r) => [r.id, r] as const))('%s', (id, rule) => {
  const samples = SAMPLES_C.find((s) => s.id === id)!;

  test('compiles as RE2 (regex, path, allowlist regexes)', () => {
    const problems = ruleProblems(rule);
    expect(problems).toEqual([]);
    expect(rule.regex ?? rule.path).toBeTruthy();
  });

  test('finds every token in every wrapping with exactly that secret', () => {
    const tokens = samples.tokens(rng(`${id}/tokens`));
    const skip = new Set(samples.skipWrappings ?? []);
    if (skip.size < WRAPPING_NAMES.length) expect(tokens.length).toBeGreaterThanOrEqual(3);
    const failures: string[] = [];
    tokens.forEach((token, i) => {
      const wrapped = wrappings(samples.ident, token);
      for (const w of WRAPPING_NAMES) {
        if (skip.has(w)) continue;
        const hits = found(id, wrapped[w], samples.path ?? WRAPPING_PATHS[w]);
        if (!hits.some((h) => h.secret === token))
          failures.push(
            `${id} in wrapping '${w}', token #${i + 1}: ` +
              (hits.length
                ? `found ${hits.length} with other secrets (${hits.map((h) => h.secret.length).join(',')} chars vs ${token.length})`
                : 'not found')
          );
      }
    });
    expect(failures).toEqual([]);
  });

  test('finds every raw text', () => {
    const failures: string[] = [];
    (samples.raw?.(rng(`${id}/raw`)) ?? []).forEach((text, i) => {
      if (found(id, text, samples.path ?? 'config/app.txt').length === 0)
        failures.push(`${id} raw text #${i + 1}: not found`);
    });
    expect(failures).toEqual([]);
  });

  test('leaves every negative alone', () => {
    const failures: string[] = [];
    (samples.negatives ?? []).forEach((text, i) => {
      const hits = found(id, text, samples.path ?? 'config/app.txt');
      if (hits.length)
        failures.push(`${id} negative #${i + 1} (${JSON.stringify(text.slice(0, 40))}…): found`);
    });
    expect(failures).toEqual([]);
  });
});

describe('path rules', () => {
  test('pkcs12-file: a .p12 / .pfx path is the finding, other paths are not', () => {
    for (const p of PKCS12_POSITIVE_PATHS)
      expect([p, found('pkcs12-file', '', p).length]).toEqual([p, 1]);
    for (const p of PKCS12_NEGATIVE_PATHS)
      expect([p, found('pkcs12-file', '', p).length]).toEqual([p, 0]);
  });

  test('nuget-config-password: only in a NuGet.Config file', () => {
    const line = '<add key="ClearTextPassword" value="Qm7vT2xRk9Lw" />';
    expect([
      'src/NuGet.Config',
      found('nuget-config-password', line, 'src/NuGet.Config').length
    ]).toEqual(['src/NuGet.Config', 1]);
    expect(['nuget.config', found('nuget-config-password', line, 'nuget.config').length]).toEqual([
      'nuget.config',
      1
    ]);
    expect(['some.xml', found('nuget-config-password', line, 'some.xml').length]).toEqual([
      'some.xml',
      0
    ]);
  });

  test('pkcs12-file has no regex: nothing but the path decides', () => {
    expect(ruleOf('pkcs12-file').regex).toBeUndefined();
  });
});

describe('multi-line and secret groups', () => {
  test('private-key spans lines and reports the whole block', () => {
    const body = Array.from(
      { length: 3 },
      (_, i) => 'Q'.repeat(10) + `line${i}`.padEnd(54, 'z')
    ).join('\n');
    const text = `before\n-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----\nafter`;
    const hits = found('private-key', text);
    expect(
      hits.map((h) => [
        h.secret.startsWith('-----BEGIN RSA'),
        h.secret.endsWith('END RSA PRIVATE KEY-----')
      ])
    ).toEqual([[true, true]]);
  });

  test('sonar-api-token reports the value, not the login|token group', () => {
    const hits = found(
      'sonar-api-token',
      'SONAR_LOGIN = "sqa_a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0"'
    );
    expect(hits.map((h) => h.secret)).toEqual(['sqa_a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0']);
  });

  test('slack-webhook-url longer than the format takes: found, cut at 56', () => {
    const [raw] = SAMPLES_C.find((s) => s.id === 'slack-webhook-url')!.raw!(
      rng('slack-webhook-url/raw')
    );
    const hits = found('slack-webhook-url', raw!);
    expect(hits.map((h) => h.secret.replace(/^.*?\/workflows\//, '').length)).toEqual([56]);
  });
});
