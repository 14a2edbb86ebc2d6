// Fake but well-formed credentials, one per kind the embedded engine should
// catch, built from random characters with each provider's prefix, length
// and alphabet. Tests plant them in throwaway repositories and the benchmark
// sprinkles them into generated history; none is or was ever a real secret.

import { randomInt } from 'node:crypto';

export interface TokenSample {
  /** What it imitates, e.g. 'github classic PAT'. */
  name: string;
  /** The rule id the embedded engine must report it under. */
  ruleId: string;
  /** Lines to add to a file (a key block spans several). */
  lines: string[];
  /** 0-based index in `lines` of the line the finding must point at. */
  reportLine: number;
  /** The secret itself, for leak checks. */
  secret: string;
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const HEX = '0123456789abcdef';
const B64 = ALNUM + '+/';
const B64URL = ALNUM + '-_';
const BASE32 = UPPER + '234567';

export function randomString(length: number, alphabet: string = ALNUM): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

function b64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}

/** A PEM-style block: header, 64-column base64 body starting with `magic`, footer. */
function keyBlock(label: string, magic: string, bodyChars: number, extra: string[] = []): string[] {
  const body = magic + randomString(bodyChars - magic.length, B64);
  const lines = [`-----BEGIN ${label}-----`, ...extra];
  for (let i = 0; i < body.length; i += 64) lines.push(body.slice(i, i + 64));
  lines.push(`-----END ${label}-----`);
  return lines;
}

function single(
  name: string,
  ruleId: string,
  secret: string,
  line = `token = "${secret}"`
): TokenSample {
  return { name, ruleId, lines: [line], reportLine: 0, secret };
}

/** A token whose format alone is not distinctive: gitleaks' rule wants the provider's name next to it. */
function named(name: string, ruleId: string, secret: string, variable: string): TokenSample {
  return single(name, ruleId, secret, `${variable}="${secret}"`);
}

function mailgun(name: string, ruleId: string, secret: string): TokenSample {
  return named(name, ruleId, secret, 'MAILGUN_API_KEY');
}

function multi(name: string, ruleId: string, lines: string[]): TokenSample {
  return { name, ruleId, lines, reportLine: 0, secret: lines.join('\n') };
}

/** A fresh set of samples (new random values on every call). */
export function tokenSamples(): TokenSample[] {
  const awsId = `AKIA${randomString(16, BASE32)}`;
  const awsSecret = randomString(40, B64);
  const slackBot = `xoxb-${randomString(12, DIGITS)}-${randomString(13, DIGITS)}-${randomString(24)}`;
  const uuid = `${randomString(8, HEX)}-${randomString(4, HEX)}-4${randomString(3, HEX)}-a${randomString(3, HEX)}-${randomString(12, HEX)}`;
  const jwt = [
    b64url('{"alg":"HS256","typ":"JWT"}'),
    b64url(
      `{"sub":"${randomString(10, DIGITS)}","name":"${randomString(8, LOWER)}","iat":${1_700_000_000 + randomInt(1_000_000)}}`
    ),
    randomString(43, B64URL)
  ].join('.');
  const azureKey = `${randomString(86, B64)}==`;
  const slackAppId = `A${randomString(10, UPPER + DIGITS)}`;
  const discordId = `1${randomString(17, DIGITS)}`;
  const discordBot = `${b64url(discordId)}.${randomString(6, B64URL)}.${randomString(38, B64URL)}`;
  const gcpKeyLines = keyBlock('PRIVATE KEY', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 1620);
  const serviceAccount = [
    '{',
    '  "type": "service_account",',
    `  "project_id": "demo-${randomString(6, LOWER)}",`,
    `  "private_key_id": "${randomString(40, HEX)}",`,
    `  "private_key": "${gcpKeyLines.join('\\n')}\\n",`,
    `  "client_email": "svc@demo-${randomString(6, LOWER)}.iam.gserviceaccount.com"`,
    '}'
  ];
  return [
    single('AWS access key id', 'aws-access-token', awsId, `aws_access_key_id = ${awsId}`),
    single('AWS temporary access key id', 'aws-access-token', `ASIA${randomString(16, BASE32)}`),
    single('AWS access key id (ABIA)', 'aws-access-token', `ABIA${randomString(16, BASE32)}`),
    single(
      'AWS secret access key',
      'aws-secret-access-key',
      awsSecret,
      `aws_secret_access_key = "${awsSecret}"`
    ),
    single('GCP API key', 'gcp-api-key', `AIza${randomString(35, B64URL)}`),
    single(
      'GCP OAuth client secret',
      'gcp-oauth-client-secret',
      `GOCSPX-${randomString(28, B64URL)}`
    ),
    {
      name: 'GCP service account key (JSON)',
      ruleId: 'private-key',
      lines: serviceAccount,
      reportLine: 4,
      secret: gcpKeyLines.slice(1, -1).join('')
    },
    single('GitHub classic PAT', 'github-pat', `ghp_${randomString(36)}`),
    single('GitHub OAuth token', 'github-oauth', `gho_${randomString(36)}`),
    single('GitHub user-to-server token', 'github-app-token', `ghu_${randomString(36)}`),
    single('GitHub server-to-server token', 'github-app-token', `ghs_${randomString(36)}`),
    single('GitHub refresh token', 'github-refresh-token', `ghr_${randomString(36)}`),
    single(
      'GitHub fine-grained PAT',
      'github-fine-grained-pat',
      `github_pat_${randomString(22)}_${randomString(59)}`
    ),
    single('GitLab PAT', 'gitlab-pat', `glpat-${randomString(20, B64URL.replace('-', ''))}`),
    single('GitLab deploy token', 'gitlab-deploy-token', `gldt-${randomString(20)}`),
    single('GitLab runner token', 'gitlab-runner-authentication-token', `glrt-${randomString(20)}`),
    single('GitLab pipeline trigger token', 'gitlab-ptt', `glptt-${randomString(40, HEX)}`),
    single('GitLab runner registration token', 'gitlab-rrt', `GR1348941${randomString(20)}`),
    single('GitLab feed token', 'gitlab-feed-token', `glft-${randomString(20)}`),
    single('GitLab OAuth app secret', 'gitlab-oauth-app-secret', `gloas-${randomString(64)}`),
    single('Slack bot token', 'slack-bot-token', slackBot),
    single(
      'Slack user token',
      'slack-user-token',
      `xoxp-${randomString(12, DIGITS)}-${randomString(12, DIGITS)}-${randomString(13, DIGITS)}-${randomString(32, HEX)}`
    ),
    single(
      'Slack app token',
      'slack-app-token',
      `xapp-1-${slackAppId}-${randomString(13, DIGITS)}-${randomString(64, HEX)}`
    ),
    single(
      'Slack incoming webhook',
      'slack-webhook-url',
      `https://hooks.slack.com/services/T${randomString(8, UPPER + DIGITS)}/B${randomString(8, UPPER + DIGITS)}/${randomString(24)}`
    ),
    single(
      'Slack workflow webhook',
      'slack-webhook-url',
      `https://hooks.slack.com/workflows/T${randomString(8, UPPER + DIGITS)}/A${randomString(10, UPPER + DIGITS)}/${randomString(18, DIGITS)}/${randomString(24)}`
    ),
    single('Stripe live secret key', 'stripe-access-token', `sk_live_${randomString(24)}`),
    single('Stripe restricted key', 'stripe-access-token', `rk_live_${randomString(24)}`),
    single('npm access token', 'npm-access-token', `npm_${randomString(36)}`),
    multi('RSA private key', 'private-key', keyBlock('RSA PRIVATE KEY', 'MIIEpAIBAAKCAQEA', 1588)),
    multi('EC private key', 'private-key', keyBlock('EC PRIVATE KEY', 'MHcCAQEEI', 160)),
    multi(
      'OpenSSH private key',
      'private-key',
      keyBlock('OPENSSH PRIVATE KEY', 'b3BlbnNzaC1rZXktdjEAAAAA', 400)
    ),
    multi('DSA private key', 'private-key', keyBlock('DSA PRIVATE KEY', 'MIIBuwIBAAKBgQ', 600)),
    multi(
      'PKCS#8 private key',
      'private-key',
      keyBlock('PRIVATE KEY', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 1620)
    ),
    multi(
      'encrypted PKCS#8 private key',
      'private-key',
      keyBlock('ENCRYPTED PRIVATE KEY', 'MIIFHzBJBgkqhkiG9w0BBQ0w', 1700)
    ),
    multi('PGP private key block', 'private-key', [
      ...keyBlock('PGP PRIVATE KEY BLOCK', 'lQOYBF', 1400, ['Comment: demo', '']).slice(0, -1),
      `=${randomString(4, B64)}`,
      '-----END PGP PRIVATE KEY BLOCK-----'
    ]),
    single('SendGrid API key', 'sendgrid-api-token', `SG.${randomString(22)}.${randomString(43)}`),
    single('Twilio API key', 'twilio-api-key', `SK${randomString(32, HEX)}`),
    mailgun('Mailgun private key', 'mailgun-private-api-token', `key-${randomString(32, HEX)}`),
    named(
      'Mailchimp API key',
      'mailchimp-api-key',
      `${randomString(32, HEX)}-us${10 + randomInt(12)}`,
      'MAILCHIMP_API_KEY'
    ),
    single('Shopify access token', 'shopify-access-token', `shpat_${randomString(32, HEX)}`),
    single('Shopify shared secret', 'shopify-shared-secret', `shpss_${randomString(32, HEX)}`),
    single(
      'Azure storage connection string',
      'azure-storage-account-key',
      azureKey,
      `conn = "DefaultEndpointsProtocol=https;AccountName=demo${randomString(6, LOWER)};AccountKey=${azureKey};EndpointSuffix=core.windows.net"`
    ),
    single(
      'Azure AD client secret',
      'azure-ad-client-secret',
      `${randomString(3)}${randomInt(10)}Q~${randomString(34, ALNUM + '_~.')}`
    ),
    single('DigitalOcean PAT', 'digitalocean-pat', `dop_v1_${randomString(64, HEX)}`),
    single(
      'DigitalOcean OAuth token',
      'digitalocean-access-token',
      `doo_v1_${randomString(64, HEX)}`
    ),
    single('Heroku API key (v2)', 'heroku-api-key-v2', `HRKU-AA${randomString(58, B64URL)}`),
    single('Heroku API key (UUID)', 'heroku-api-key', uuid, `HEROKU_API_KEY=${uuid}`),
    single(
      'OpenAI project key',
      'openai-api-key',
      `sk-proj-${randomString(74, B64URL)}T3BlbkFJ${randomString(74, B64URL)}`
    ),
    single(
      'OpenAI legacy key',
      'openai-api-key',
      `sk-${randomString(20)}T3BlbkFJ${randomString(20)}`
    ),
    single('Anthropic API key', 'anthropic-api-key', `sk-ant-api03-${randomString(93, B64URL)}AA`),
    single(
      'Anthropic admin key',
      'anthropic-admin-api-key',
      `sk-ant-admin01-${randomString(93, B64URL)}AA`
    ),
    single('JWT', 'jwt', jwt),
    named(
      'Telegram bot token',
      'telegram-bot-api-token',
      `${randomString(10, DIGITS).replace(/^0/, '7')}:AA${randomString(33, B64URL)}`,
      'TELEGRAM_BOT_TOKEN'
    ),
    single('Discord bot token', 'discord-bot-token', discordBot),
    single(
      'Discord webhook',
      'discord-webhook-url',
      `https://discord.com/api/webhooks/${randomString(18, DIGITS)}/${randomString(68, B64URL)}`
    ),
    single(
      'PyPI upload token',
      'pypi-upload-token',
      `pypi-AgEIcHlwaS5vcmc${randomString(70, B64URL)}`
    ),
    single(
      'Postman API key',
      'postman-api-token',
      `PMAK-${randomString(24, HEX)}-${randomString(34, HEX)}`
    ),
    single('Doppler token', 'doppler-api-token', `dp.pt.${randomString(43)}`),
    single(
      'age secret key',
      'age-secret-key',
      `AGE-SECRET-KEY-1${randomString(58, 'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L')}`
    ),
    single('Sentry user token', 'sentry-user-token', `sntryu_${randomString(64, HEX)}`),
    single(
      'Terraform Cloud token',
      'hashicorp-tf-api-token',
      `${randomString(14, LOWER + DIGITS)}.atlasv1.${randomString(67, B64URL)}`
    ),
    single(
      'Brevo API key',
      'sendinblue-api-token',
      `xkeysib-${randomString(64, HEX)}-${randomString(16)}`
    ),
    single('GitLab incoming mail token', 'gitlab-incoming-mail-token', `glimt-${randomString(25)}`),
    single('GitLab SCIM token', 'gitlab-scim-token', `glsoat-${randomString(20)}`),
    single(
      'GitLab CI/CD job token',
      'gitlab-cicd-job-token',
      `glcbt-${randomString(2, HEX)}_${randomString(20)}`
    ),
    single(
      'GitLab Kubernetes agent token',
      'gitlab-kubernetes-agent-token',
      `glagent-${randomString(50)}`
    ),
    single(
      'GitLab feature flag client token',
      'gitlab-feature-flag-client-token',
      `glffct-${randomString(20)}`
    ),
    single(
      'Slack configuration access token',
      'slack-config-access-token',
      `xoxe.xoxp-1-${randomString(163)}`
    ),
    single(
      'Slack configuration refresh token',
      'slack-config-refresh-token',
      `xoxe-1-${randomString(146)}`
    ),
    single('Stripe prod key', 'stripe-access-token', `sk_prod_${randomString(24)}`),
    mailgun('Mailgun public key', 'mailgun-pub-key', `pubkey-${randomString(32, HEX)}`),
    single(
      'DigitalOcean refresh token',
      'digitalocean-refresh-token',
      `dor_v1_${randomString(64, HEX)}`
    ),
    named(
      'New Relic user key',
      'new-relic-user-api-key',
      `NRAK-${randomString(27, UPPER + DIGITS)}`,
      'NEW_RELIC_API_KEY'
    ),
    single('Pulumi token', 'pulumi-api-token', `pul-${randomString(40, HEX)}`),
    single('Square access token', 'square-access-token', `sq0atp-${randomString(22, B64URL)}`),
    single('Square OAuth secret', 'square-secret', `sq0csp-${randomString(43, B64URL)}`),
    single(
      'Dynatrace token',
      'dynatrace-api-token',
      `dt0c01.${randomString(24, UPPER + DIGITS)}.${randomString(64, UPPER + DIGITS)}`
    ),
    single(
      'Sentry org token',
      'sentry-org-token',
      `sntrys_${Buffer.from(
        `{"iat":${1e9 + randomInt(1e9)},"url":"https://sentry.io","region_url":"https://us.sentry.io","org":"${randomString(8, LOWER)}"}`
      )
        .toString('base64')
        .replace(/=+$/, '')}_${randomString(43, B64URL.replace(/[-_]/g, '') + '+/')}`
    ),
    single(
      'Atlassian API token',
      'atlassian-api-token',
      `ATATT3${randomString(186, ALNUM + '_=-')}`
    ),
    single('Fly.io token', 'flyio-access-token', `fo1_${randomString(43, B64URL)}`),
    single('Alibaba AccessKey id', 'alibaba-access-key-id', `LTAI${randomString(20)}`),
    single('PlanetScale token', 'planetscale-api-token', `pscale_tkn_${randomString(43, B64URL)}`),
    single('Facebook access token', 'facebook-page-access-token', `EAAC${randomString(150)}`),
    single(
      'Grafana service account token',
      'grafana-service-account-token',
      `glsa_${randomString(32)}_${randomString(8, HEX)}`
    ),
    single(
      'HashiCorp Vault service token',
      'vault-service-token',
      `hvs.${randomString(95, B64URL)}`
    ),
    single('Docker PAT', 'docker-pat', `dckr_pat_${randomString(27, B64URL)}`),
    single(
      'Hugging Face token',
      'huggingface-access-token',
      `hf_${randomString(34, UPPER + LOWER)}`
    )
  ];
}

/** A fresh AWS access key id (the most common single-token case in tests). */
export function randomAwsAccessKeyId(): string {
  return `AKIA${randomString(16, BASE32)}`;
}
