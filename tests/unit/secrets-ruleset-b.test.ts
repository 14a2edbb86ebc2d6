// Group B of the default ruleset (rules-b.ts): every rule compiles as RE2,
// finds each generated token of its format in every wrapping it can take
// (with exactly that secret), finds each raw text, and leaves its negatives
// alone. Detection goes through the embedded engine's findSecrets.

import { findSecrets } from '../../packages/security/src/secrets/ruleset/engine.ts';
import {
  GENERIC_STOPWORDS,
  PUBLIC_GOOGLE_KEYS,
  RULES_B
} from '../../packages/security/src/secrets/ruleset/rules-b.ts';
import type { GitleaksRule } from '../../packages/security/src/secrets/ruleset/schema.ts';
import {
  CHARS,
  random,
  rng,
  WRAPPING_PATHS,
  wrappings,
  type WrappingName
} from '../helpers/secret-samples/kit.ts';
import { SAMPLES_B } from '../helpers/secret-samples/samples-b.ts';
import { ruleProblems } from '../helpers/secret-samples/rule-problems.ts';

const GITLEAKS_IDS =
  `freemius-secret-key freshbooks-access-token gcp-api-key generic-api-key github-app-token
github-fine-grained-pat github-oauth github-pat github-refresh-token gitlab-cicd-job-token gitlab-deploy-token
gitlab-feature-flag-client-token gitlab-feed-token gitlab-incoming-mail-token gitlab-kubernetes-agent-token
gitlab-oauth-app-secret gitlab-pat gitlab-pat-routable gitlab-ptt gitlab-rrt gitlab-runner-authentication-token
gitlab-runner-authentication-token-routable gitlab-scim-token gitlab-session-cookie gitter-access-token
gocardless-api-token grafana-api-key grafana-cloud-api-token grafana-service-account-token harness-api-key
hashicorp-tf-api-token hashicorp-tf-password heroku-api-key heroku-api-key-v2 hubspot-api-key
huggingface-access-token huggingface-organization-api-token infracost-api-token intercom-api-key
intra42-client-secret jfrog-api-key jfrog-identity-token jwt jwt-base64 kraken-access-token
kubernetes-secret-yaml kucoin-access-token kucoin-secret-key launchdarkly-access-token linear-api-key
linear-client-secret linkedin-client-id linkedin-client-secret lob-api-key lob-pub-api-key looker-client-id
looker-client-secret mailchimp-api-key mailgun-private-api-token mailgun-pub-key mailgun-signing-key
mapbox-api-token mattermost-access-token maxmind-license-key messagebird-api-token messagebird-client-id
microsoft-teams-webhook netlify-access-token new-relic-browser-api-token new-relic-insert-key
new-relic-user-api-id new-relic-user-api-key notion-api-token npm-access-token`.split(/\s+/);

const EXTRA_IDS =
  `gcp-oauth-client-secret gcp-service-account-key github-x-oauth-basic-url groq-api-key
mongodb-connection-string mysql-connection-string npmrc-auth-token`.split(/\s+/);

const WRAPPING_NAMES = Object.keys(WRAPPING_PATHS) as WrappingName[];

/** One-rule rulesets, built once (findSecrets caches its compiled ruleset per array). */
const ALONE = new Map<string, GitleaksRule[]>(RULES_B.map((r) => [r.id, [r]]));
const found = (id: string, text: string, path?: string) =>
  findSecrets(ALONE.get(id)!, text, path).filter((f) => f.ruleId === id);
const secretsOf = (id: string, text: string, path?: string): string[] =>
  found(id, text, path).map((f) => f.secret);

describe('group B rules: ids', () => {
  test('one rule per id, in the listed order (gitleaks ids, then the extras)', () => {
    expect(RULES_B.map((r) => r.id)).toEqual([...GITLEAKS_IDS, ...EXTRA_IDS]);
  });

  test('one sample set per rule', () => {
    expect(SAMPLES_B.map((s) => s.id)).toEqual(RULES_B.map((r) => r.id));
  });

  test('keywords are lower-case literals', () => {
    const bad = RULES_B.flatMap((r) =>
      (r.keywords ?? []).filter((k) => k !== k.toLowerCase()).map((k) => `${r.id}: ${k}`)
    );
    expect(bad).toEqual([]);
  });
});

describe.each(RULES_B.map((r) => [r.id, r] as const))('%s', (id, rule) => {
  const samples = SAMPLES_B.find((s) => s.id === id)!;

  test('compiles as RE2 (regex, path, allowlist regexes)', () => {
    const problems = ruleProblems(rule);
    expect(problems).toEqual([]);
    expect(rule.regex ?? rule.path).toBeTruthy();
  });

  test('finds every token in every wrapping with exactly that secret', () => {
    const tokens = samples.tokens(rng(`${id}/tokens`));
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    const skip = new Set(samples.skipWrappings ?? []);
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
                ? `found with other secrets (${hits.map((h) => h.secret.length).join(',')} chars vs ${token.length})`
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

describe('path-restricted rules', () => {
  test('freemius-secret-key: only in PHP files', () => {
    const line = `"secret_key" => "sk_${random(rng('freemius/path'), CHARS.alnum, 29)}",`;
    expect(['plugin.php', found('freemius-secret-key', line, 'src/plugin.php').length]).toEqual([
      'plugin.php',
      1
    ]);
    expect(['page.html', found('freemius-secret-key', line, 'src/page.html').length]).toEqual([
      'page.html',
      0
    ]);
  });

  test('hashicorp-tf-password: only in .tf / .hcl files', () => {
    const line = `password       = "${random(rng('tf/path'), CHARS.lowerAlnum, 12)}"`;
    for (const p of ['infra/main.tf', 'infra/vars.HCL'])
      expect([p, found('hashicorp-tf-password', line, p).length]).toEqual([p, 1]);
    expect(['app.js', found('hashicorp-tf-password', line, 'src/app.js').length]).toEqual([
      'app.js',
      0
    ]);
  });

  test('kubernetes-secret-yaml: only in YAML files', () => {
    const [text] = SAMPLES_B.find((s) => s.id === 'kubernetes-secret-yaml')!.raw!(rng('k8s/path'));
    expect(found('kubernetes-secret-yaml', text!, 'k8s/secret.yml').length).toBeGreaterThan(0);
    expect(found('kubernetes-secret-yaml', text!, 'k8s/secret.json')).toEqual([]);
  });

  test('npmrc-auth-token: only in .npmrc files', () => {
    const line = `//registry.npmjs.org/:_authToken=${random(rng('npmrc/path'), CHARS.hex, 32)}`;
    expect(found('npmrc-auth-token', line, '.npmrc').length).toBe(1);
    expect(found('npmrc-auth-token', line, 'docs/setup.md')).toEqual([]);
  });

  test('github-pat / github-app-token: not in the @octokit/auth-token README', () => {
    const r = rng('octokit');
    const pat = `ghp_${random(r, CHARS.alnum, 36)}`;
    const app = `ghs_${random(r, CHARS.alnum, 36)}`;
    const readme = 'node_modules/@octokit/auth-token/README.md';
    expect(found('github-pat', pat, readme)).toEqual([]);
    expect(found('github-app-token', app, readme)).toEqual([]);
    expect(secretsOf('github-pat', pat, 'README.md')).toEqual([pat]);
  });
});

describe('secrets and allowlists in detail', () => {
  test('gcp-api-key: every key published with a Google SDK is allowed', () => {
    const hits = PUBLIC_GOOGLE_KEYS.filter(
      (k) => found('gcp-api-key', `apiKey: "${k}"`).length > 0
    );
    expect(hits).toEqual([]);
  });

  test('hashicorp-tf-password reports the value with its quotes', () => {
    expect(
      secretsOf('hashicorp-tf-password', 'administrator_login_password = "k3vq9xw2mz7p"', 'main.tf')
    ).toEqual(['"k3vq9xw2mz7p"']);
  });

  test('connection strings report the password only', () => {
    const pw = random(rng('conn'), CHARS.alnum, 18);
    expect(
      secretsOf('mongodb-connection-string', `mongodb+srv://svc:${pw}@c0.example.net/db`)
    ).toEqual([pw]);
    expect(secretsOf('mysql-connection-string', `jdbc:mysql://svc:${pw}@db:3306/app`)).toEqual([
      pw
    ]);
  });

  test('microsoft-teams-webhook reports the whole URL', () => {
    const [url] = SAMPLES_B.find((s) => s.id === 'microsoft-teams-webhook')!.tokens(rng('teams'));
    expect(secretsOf('microsoft-teams-webhook', `notify: ${url}`)).toEqual([url]);
  });

  test('gcp-service-account-key reports the private key', () => {
    const [json] = SAMPLES_B.find((s) => s.id === 'gcp-service-account-key')!.raw!(rng('sa'));
    const secrets = secretsOf('gcp-service-account-key', json!);
    expect(
      secrets.map((s) => [
        s.startsWith('-----BEGIN PRIVATE KEY-----'),
        s.includes('-----END PRIVATE KEY-----')
      ])
    ).toEqual([[true, true]]);
  });

  test('generic-api-key: no stopword is part of a generated token', () => {
    const tokens = SAMPLES_B.find((s) => s.id === 'generic-api-key')!.tokens(
      rng('generic-api-key/tokens')
    );
    const clashes = tokens.flatMap((t) =>
      GENERIC_STOPWORDS.filter((w) => t.toLowerCase().includes(w)).map(
        (w) => `${t.slice(0, 6)}…: ${w}`
      )
    );
    expect(clashes).toEqual([]);
  });

  test('generic-api-key: licence checksums are allowed in BitBake recipes only', () => {
    const line = `LICENSE_secret = "${random(rng('bb'), CHARS.alnum, 32)}"`;
    expect(found('generic-api-key', line, 'meta/recipes/app_1.0.bb')).toEqual([]);
    expect(found('generic-api-key', line, 'src/config.py').length).toBe(1);
  });

  test('generic-api-key: a stopword in the secret allows it, in the name it does not', () => {
    const v = random(rng('generic/stop'), CHARS.alnum, 24);
    expect(found('generic-api-key', `api_key = "${v}example"`)).toEqual([]);
    expect(secretsOf('generic-api-key', `example_api_key = "${v}"`)).toEqual([v]);
  });
});
