// secretlint's recommended preset, wired for scanning added lines: the AWS
// rule also reports a bare access key id, the noisy account-id message is
// dropped, and the comment-directive rule is left out so a branch cannot
// silence detection with a `secretlint-disable` comment (exemptions come from
// the base-side allowlist only). Messages are reduced to a stable rule id and
// a range at once: their text embeds the secret and is never kept.

import { lintSource } from '@secretlint/core';
import { creator as recommendedPreset } from '@secretlint/secretlint-rule-preset-recommend';
import type { RuleHit } from './supplementary-rules.ts';

// Types taken from lintSource itself: @secretlint/types is not a direct dependency.
type LintOptions = Parameters<typeof lintSource>[0]['options'];
type SecretLintCoreConfig = LintOptions['config'];
type SecretLintCoreResultMessage = Awaited<ReturnType<typeof lintSource>>['messages'][number];

const PRESET_ID = '@secretlint/secretlint-rule-preset-recommend';
const AWS_RULE = '@secretlint/secretlint-rule-aws';
const FILTER_COMMENTS_RULE = '@secretlint/secretlint-rule-filter-comments';

/**
 * The preset minus the comment-directive rule. secretlint 13 ignores
 * `disabled: true` on a rule inside a preset (RulePresetContext passes it on,
 * RunningEvents never reads it), so the rule is removed from the list instead.
 */
const preset = {
  ...recommendedPreset,
  rules: recommendedPreset.rules.filter((r) => r.meta.id !== FILTER_COMMENTS_RULE),
  create(context: Parameters<typeof recommendedPreset.create>[0]): void {
    for (const rule of preset.rules) context.registerRule(rule);
  }
} satisfies typeof recommendedPreset;

const CONFIG: SecretLintCoreConfig = {
  rules: [
    {
      id: PRESET_ID,
      rule: preset,
      rules: [
        {
          id: AWS_RULE,
          options: { enableIDScanRule: true },
          // enableIDScanRule also turns on the 12-digit account id check, which
          // is not a secret and matches any "account: 1234-5678-9012".
          allowMessageIds: ['AWSAccountID']
        }
      ]
    }
  ]
};

/** secretlint rule ids of the preset that actually run. */
export const SECRETLINT_RULE_IDS: readonly string[] = preset.rules.map((r) => r.meta.id);

/** Message ids that never become findings. */
const SUPPRESSED_MESSAGES = new Set(['AWSAccountID']);

/** secretlint rule + message id -> our stable id, named like gitleaks' rules where one exists. */
const MESSAGE_IDS: Record<string, string> = {
  AWSAccessKeyID: 'aws-access-token',
  AWSSecretAccessKey: 'aws-secret-access-key',
  PrivateKeyP12: 'gcp-service-account-key',
  PrivateKeyJSON: 'gcp-service-account-key',
  PackageJSON_xOauthToken: 'github-x-oauth-basic-url',
  Npmrc_authToken: 'npmrc-auth-token',
  NPM_ACCESS_TOKEN: 'npm-access-token',
  IncomingWebhook: 'slack-webhook-url',
  BasicAuth: 'basic-auth-url',
  OPENAI_TOKEN: 'openai-api-key',
  ANTHROPIC_API_KEY: 'anthropic-api-key',
  GROQ_API_KEY: 'groq-api-key',
  HUGGINGFACE_USER_ACCESS_TOKEN: 'huggingface-access-token',
  LINEAR_API_TOKEN: 'linear-api-key',
  NOTION_INTEGRATION_TOKEN: 'notion-api-token',
  PrivateKey: 'private-key',
  SENDGRID_KEY: 'sendgrid-api-token',
  STRIPE_SECRET_KEY_LIVE: 'stripe-access-token',
  STRIPE_SECRET_KEY_TEST: 'stripe-access-token',
  STRIPE_RESTRICTED_KEY_LIVE: 'stripe-access-token',
  STRIPE_RESTRICTED_KEY_TEST: 'stripe-access-token',
  GITLAB_PERSONAL_ACCESS_TOKEN: 'gitlab-pat',
  GRAFANA_CLOUD_API_TOKEN: 'grafana-cloud-api-token',
  GRAFANA_SERVICE_ACCOUNT_TOKEN: 'grafana-service-account-token',
  OPS_TOKEN: '1password-service-account-token',
  MongoDBConnection: 'mongodb-connection-string',
  MySQLConnection: 'mysql-connection-string',
  PostgreSQLConnection: 'postgresql-connection-string',
  HASHICORP_VAULT_SERVICE_TOKEN: 'vault-service-token',
  HASHICORP_VAULT_BATCH_TOKEN: 'vault-batch-token',
  HASHICORP_VAULT_RECOVERY_TOKEN: 'vault-recovery-token',
  DATABRICKS_PERSONAL_ACCESS_TOKEN: 'databricks-api-token',
  DOCKER_PERSONAL_ACCESS_TOKEN: 'docker-pat',
  FIGMA_PERSONAL_ACCESS_TOKEN: 'figma-pat'
};

/** Rules with one message id for several token kinds: the kind is in the token's prefix. */
const BY_PREFIX: Record<string, readonly (readonly [string, string])[]> = {
  '@secretlint/secretlint-rule-github': [
    ['github_pat_', 'github-fine-grained-pat'],
    ['ghp_', 'github-pat'],
    ['gho_', 'github-oauth'],
    ['ghu_', 'github-app-token'],
    ['ghs_', 'github-app-token'],
    ['ghr_', 'github-refresh-token']
  ],
  '@secretlint/secretlint-rule-slack': [
    ['xoxb-', 'slack-bot-token'],
    ['xoxp-', 'slack-user-token'],
    ['xapp-', 'slack-app-token'],
    ['xoxa-', 'slack-legacy-workspace-token'],
    ['xoxr-', 'slack-legacy-workspace-token'],
    ['xoxo-', 'slack-legacy-token']
  ],
  '@secretlint/secretlint-rule-shopify': [
    ['shpat_', 'shopify-access-token'],
    ['shpca_', 'shopify-custom-access-token'],
    ['shppa_', 'shopify-private-app-access-token'],
    ['shpss_', 'shopify-shared-secret']
  ]
};

/** 'VERCEL_AI_GATEWAY_API_KEY' -> 'vercel-ai-gateway-api-key', 'fooBar' -> 'foo-bar'. */
export function kebabMessageId(id: string): string {
  return id
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[_\s]+/g, '-')
    .toLowerCase();
}

// The AWS secret rule reports a range that starts at the variable name but is
// as long as the key; re-finding the key gives the true span (for `regex:`
// allowlist entries and the line number when the value sits on the next line).
const AWS_SECRET_AT =
  /["']?(?:AWS|aws|Aws)?_?(?:SECRET|secret|Secret)_?(?:ACCESS|access|Access)_?(?:KEY|key|Key)["']?\s*(?::|=>|=)\s*["']?([A-Za-z0-9/+=]{40})/dy;

function refine(msg: SecretLintCoreResultMessage, text: string): readonly [number, number] {
  const [start, end] = msg.range;
  if (msg.messageId === 'AWSSecretAccessKey') {
    AWS_SECRET_AT.lastIndex = start;
    const m = AWS_SECRET_AT.exec(text);
    if (m?.indices?.[1]) return m.indices[1];
  }
  return [start, end];
}

/** Every stable id a secretlint message can be reported under. */
export function secretlintStableIds(): Set<string> {
  const ids = new Set<string>();
  for (const rule of preset.rules) {
    const byPrefix = BY_PREFIX[rule.meta.id];
    if (byPrefix) for (const [, id] of byPrefix) ids.add(id);
    for (const messageId of Object.keys(rule.messages)) {
      if (SUPPRESSED_MESSAGES.has(messageId)) continue;
      ids.add(MESSAGE_IDS[messageId] ?? kebabMessageId(messageId));
    }
  }
  return ids;
}

export function stableRuleId(
  msg: SecretLintCoreResultMessage,
  text: string,
  start: number
): string {
  const prefixes = BY_PREFIX[msg.ruleId];
  if (prefixes) {
    for (const [prefix, id] of prefixes) if (text.startsWith(prefix, start)) return id;
  }
  return MESSAGE_IDS[msg.messageId] ?? kebabMessageId(msg.messageId);
}

/**
 * Which secretlint rules look at file names: the chunk's `filePath` must
 * match the kind of file its lines come from for them to apply.
 */
export type SecretlintFileKind = 'package-json' | 'npmrc' | 'other';

export function fileKindOf(path: string): SecretlintFileKind {
  if (path.endsWith('package.json') || path.endsWith('package-lock.json')) return 'package-json';
  if (path.endsWith('.npmrc')) return 'npmrc';
  return 'other';
}

const VIRTUAL_PATH: Record<SecretlintFileKind, string> = {
  'package-json': 'added-lines/package.json',
  npmrc: 'added-lines/.npmrc',
  other: 'added-lines/added.txt'
};

/** Runs the preset over `text`; hits carry offsets and stable ids only. */
export async function runSecretlint(
  text: string,
  kind: SecretlintFileKind = 'other'
): Promise<RuleHit[]> {
  const result = await lintSource({
    source: { content: text, filePath: VIRTUAL_PATH[kind], ext: '.txt', contentType: 'text' },
    // ext '.txt' on purpose: the GCP rule would JSON.parse or read a '.json'/'.p12' path.
    options: { config: CONFIG, maskSecrets: true, noPhysicFilePath: true }
  });
  // secretlint drops a leading BOM before matching, so its offsets are one short.
  const shift = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const hits: RuleHit[] = [];
  for (const raw of result.messages) {
    const msg = shift
      ? { ...raw, range: [raw.range[0] + shift, raw.range[1] + shift] as const }
      : raw;
    const [start, end] = refine(msg, text);
    hits.push({ ruleId: stableRuleId(msg, text, start), start, end });
  }
  return hits;
}
