// Default rules, group C (nuget … zendesk, then our own extras): one rule per
// gitleaks default rule id of the release in ./release.ts, written in our
// schema. Token alphabets, lengths, keywords, entropy thresholds and rule
// allowlists follow gitleaks' rules; regexes are RE2 (re2js).

import { namedValue, TOKEN_END, uniqueToken, type GitleaksRule } from './schema.ts';

const HEX_UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** Start of a token in the extras taken over from secretlint: not glued to a letter. */
const NOT_AFTER_LETTER = String.raw`(?:^|[^\p{L}])`;

export const RULES_C: GitleaksRule[] = [
  {
    // Only in NuGet.Config files; %VAR% values are environment references.
    id: 'nuget-config-password',
    description: 'Password in a NuGet configuration file',
    regex: String.raw`(?i)<add key="(?:(?:ClearText)?Password)"\s*value="(.{8,})"\s*/>`,
    path: String.raw`(?i)nuget\.config$`,
    entropy: 1,
    keywords: ['<add key='],
    allowlists: [
      {
        description: 'well-known sample passwords of the NuGet docs, environment references',
        regexes: [String.raw`33f!!lloppa`, String.raw`hal\+9ooo_da!sY`, String.raw`^%\S.*%$`]
      }
    ]
  },
  {
    // gitleaks' name list has 'new-york-times,' (a stray comma): the plain name is used here.
    id: 'nytimes-access-token',
    description: 'New York Times API access token',
    regex: namedValue(['nytimes', 'new-york-times', 'newyorktimes'], '[a-z0-9=_-]{32}'),
    keywords: ['nytimes', 'new-york-times', 'newyorktimes']
  },
  {
    id: 'octopus-deploy-api-key',
    description: 'Octopus Deploy API key',
    regex: uniqueToken('API-[A-Z0-9]{26}'),
    entropy: 3,
    keywords: ['api-']
  },
  {
    // The name is case-sensitive (okta, Okta, OKTA), so "rookTable" does not count.
    id: 'okta-access-token',
    description: 'Okta access token',
    regex: namedValue(['(?-i:[Oo]kta|OKTA)'], String.raw`00[\w=-]{40}`, false),
    entropy: 4,
    keywords: ['okta']
  },
  {
    // Project, service-account and admin keys, and the legacy sk-…T3BlbkFJ… form.
    id: 'openai-api-key',
    description: 'OpenAI API key',
    regex: uniqueToken(
      // No \b after the project key's tail (gitleaks has one): a key ending in '-' is still a key.
      String.raw`sk-(?:proj|svcacct|admin)-(?:[\w-]{74}|[\w-]{58})T3BlbkFJ(?:[\w-]{74}|[\w-]{58})|sk-[a-zA-Z0-9]{20}T3BlbkFJ[a-zA-Z0-9]{20}`
    ),
    entropy: 3,
    keywords: ['t3blbkfj']
  },
  {
    id: 'openshift-user-token',
    description: 'OpenShift user token',
    regex: String.raw`\b(sha256~[\w-]{43})(?:[^\w-]|\z)`,
    entropy: 3.5,
    keywords: ['sha256~']
  },
  {
    id: 'perplexity-api-key',
    description: 'Perplexity API key',
    regex: String.raw`\b(pplx-[a-zA-Z0-9]{48})(?:${TOKEN_END}|\b)`,
    entropy: 4,
    keywords: ['pplx-']
  },
  {
    // Path-only: a .p12 / .pfx file is the finding.
    id: 'pkcs12-file',
    description: 'PKCS #12 file (bundled private keys)',
    path: String.raw`(?i)(?:^|/)[^/]+\.p(?:12|fx)$`
  },
  {
    id: 'plaid-api-token',
    description: 'Plaid API access token',
    regex: namedValue(['plaid'], `access-(?:sandbox|development|production)-${HEX_UUID}`),
    keywords: ['plaid']
  },
  {
    id: 'plaid-client-id',
    description: 'Plaid client id',
    regex: namedValue(['plaid'], '[a-z0-9]{24}'),
    entropy: 3.5,
    keywords: ['plaid']
  },
  {
    id: 'plaid-secret-key',
    description: 'Plaid secret key',
    regex: namedValue(['plaid'], '[a-z0-9]{30}'),
    entropy: 3.5,
    keywords: ['plaid']
  },
  {
    id: 'planetscale-api-token',
    description: 'PlanetScale API token',
    regex: uniqueToken(String.raw`pscale_tkn_[\w=.-]{32,64}`),
    entropy: 3,
    keywords: ['pscale_tkn_']
  },
  {
    id: 'planetscale-oauth-token',
    description: 'PlanetScale OAuth token',
    regex: uniqueToken(String.raw`pscale_oauth_[\w=.-]{32,64}`),
    entropy: 3,
    keywords: ['pscale_oauth_']
  },
  {
    id: 'planetscale-password',
    description: 'PlanetScale database password',
    regex: uniqueToken(String.raw`pscale_pw_[\w=.-]{32,64}`, true),
    entropy: 3,
    keywords: ['pscale_pw_']
  },
  {
    id: 'postman-api-token',
    description: 'Postman API key',
    regex: uniqueToken('PMAK-(?i:[a-f0-9]{24}-[a-f0-9]{34})'),
    entropy: 3,
    keywords: ['pmak-']
  },
  {
    id: 'prefect-api-token',
    description: 'Prefect API key',
    regex: uniqueToken('pnu_[a-zA-Z0-9]{36}'),
    entropy: 2,
    keywords: ['pnu_']
  },
  {
    // PEM / PGP armour of any kind: header, at least 64 characters of body
    // (newlines, or \n escapes in a JSON string), up to the closing line.
    id: 'private-key',
    description: 'Private key (PEM or PGP block)',
    regex: String.raw`(?i)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S]{64,}?KEY(?: BLOCK)?-----`,
    // A BEGIN without its end would otherwise be searched to the end of the text, from every BEGIN.
    endsWith: String.raw`(?i)KEY(?: BLOCK)?-----`,
    keywords: ['-----begin'],
    allowlists: [
      {
        // A block that only says where the key goes: a <placeholder> or a [placeholder] line, dots, x's.
        description: 'placeholder in place of the key',
        regexTarget: 'match',
        regexes: [
          String.raw`(?i)PRIVATE KEY(?: BLOCK)?-----\s*(?:<[^<>\n]{0,200}>|\[[^\[\]\n]{0,200}\]|\.{3,}|x{8,}|\*{8,})\s*-----END`
        ]
      }
    ]
  },
  {
    // Name case-insensitive, value lower-case only.
    id: 'privateai-api-token',
    description: 'Private AI API key',
    regex: namedValue(['(?i:private[_-]?ai)'], '[a-z0-9]{32}', false),
    entropy: 3,
    keywords: ['privateai', 'private_ai', 'private-ai']
  },
  {
    id: 'pulumi-api-token',
    description: 'Pulumi access token',
    regex: uniqueToken('pul-[a-f0-9]{40}'),
    entropy: 2,
    keywords: ['pul-']
  },
  {
    // The fixed part is the base64 of the macaroon's location ("pypi.org").
    id: 'pypi-upload-token',
    description: 'PyPI upload token',
    regex: String.raw`pypi-AgEIcHlwaS5vcmc[\w-]{50,1000}`,
    entropy: 3,
    keywords: ['pypi-ageichlwas5vcmc']
  },
  {
    id: 'rapidapi-access-token',
    description: 'RapidAPI key',
    regex: namedValue(['rapidapi'], '[a-z0-9_-]{50}'),
    keywords: ['rapidapi']
  },
  {
    id: 'readme-api-token',
    description: 'ReadMe API key',
    regex: uniqueToken('rdme_[a-z0-9]{70}'),
    entropy: 2,
    keywords: ['rdme_']
  },
  {
    id: 'rubygems-api-token',
    description: 'RubyGems API key',
    regex: uniqueToken('rubygems_[a-f0-9]{48}'),
    entropy: 2,
    keywords: ['rubygems_']
  },
  {
    id: 'scalingo-api-token',
    description: 'Scalingo API token',
    regex: uniqueToken(String.raw`tk-us-[\w-]{48}`),
    entropy: 2,
    keywords: ['tk-us-']
  },
  {
    id: 'sendbird-access-id',
    description: 'Sendbird application id',
    regex: namedValue(['sendbird'], HEX_UUID),
    keywords: ['sendbird']
  },
  {
    id: 'sendbird-access-token',
    description: 'Sendbird API token',
    regex: namedValue(['sendbird'], '[a-f0-9]{40}'),
    keywords: ['sendbird']
  },
  {
    id: 'sendgrid-api-token',
    description: 'SendGrid API key',
    regex: uniqueToken(String.raw`SG\.(?i:[a-z0-9=_.-]{66})`),
    entropy: 2,
    keywords: ['sg.']
  },
  {
    id: 'sendinblue-api-token',
    description: 'Sendinblue (Brevo) API key',
    regex: uniqueToken('xkeysib-[a-f0-9]{64}-(?i:[a-z0-9]{16})'),
    entropy: 2,
    keywords: ['xkeysib-']
  },
  {
    id: 'sentry-access-token',
    description: 'Sentry access token (old format)',
    regex: namedValue(['sentry'], '[a-f0-9]{64}'),
    entropy: 3,
    keywords: ['sentry']
  },
  {
    // sntrys_<base64 of {"iat":…,"region_url":…}>_<43 chars>. The secret is the
    // token without the character that ends it (gitleaks reports that too).
    id: 'sentry-org-token',
    description: 'Sentry organization auth token',
    regex: String.raw`\b(sntrys_eyJpYXQiO[a-zA-Z0-9+/]{10,200}(?:LCJyZWdpb25fdXJs|InJlZ2lvbl91cmwi|cmVnaW9uX3VybCI6)[a-zA-Z0-9+/]{10,200}={0,2}_[a-zA-Z0-9+/]{43})(?:[^a-zA-Z0-9+/]|\z)`,
    entropy: 4.5,
    keywords: ['sntrys_eyjpyxqio']
  },
  {
    id: 'sentry-user-token',
    description: 'Sentry user auth token',
    regex: uniqueToken('sntryu_[a-f0-9]{64}'),
    entropy: 3.5,
    keywords: ['sntryu_']
  },
  {
    id: 'settlemint-application-access-token',
    description: 'SettleMint application access token',
    regex: uniqueToken('sm_aat_[a-zA-Z0-9]{16}'),
    entropy: 3,
    keywords: ['sm_aat']
  },
  {
    id: 'settlemint-personal-access-token',
    description: 'SettleMint personal access token',
    regex: uniqueToken('sm_pat_[a-zA-Z0-9]{16}'),
    entropy: 3,
    keywords: ['sm_pat']
  },
  {
    id: 'settlemint-service-access-token',
    description: 'SettleMint service access token',
    regex: uniqueToken('sm_sat_[a-zA-Z0-9]{16}'),
    entropy: 3,
    keywords: ['sm_sat']
  },
  {
    id: 'shippo-api-token',
    description: 'Shippo API token',
    regex: uniqueToken('shippo_(?:live|test)_[a-fA-F0-9]{40}'),
    entropy: 2,
    keywords: ['shippo_']
  },
  {
    id: 'shopify-access-token',
    description: 'Shopify access token',
    regex: 'shpat_[a-fA-F0-9]{32}',
    entropy: 2,
    keywords: ['shpat_']
  },
  {
    id: 'shopify-custom-access-token',
    description: 'Shopify custom app access token',
    regex: 'shpca_[a-fA-F0-9]{32}',
    entropy: 2,
    keywords: ['shpca_']
  },
  {
    id: 'shopify-private-app-access-token',
    description: 'Shopify private app access token',
    regex: 'shppa_[a-fA-F0-9]{32}',
    entropy: 2,
    keywords: ['shppa_']
  },
  {
    id: 'shopify-shared-secret',
    description: 'Shopify app shared secret',
    regex: 'shpss_[a-fA-F0-9]{32}',
    entropy: 2,
    keywords: ['shpss_']
  },
  {
    // Bundler's credential variables for Sidekiq Pro / Enterprise gem servers.
    id: 'sidekiq-secret',
    description: 'Sidekiq Pro / Enterprise gem server credentials',
    regex: namedValue(
      ['BUNDLE_ENTERPRISE__CONTRIBSYS__COM', 'BUNDLE_GEMS__CONTRIBSYS__COM'],
      '[a-f0-9]{8}:[a-f0-9]{8}'
    ),
    keywords: ['bundle_enterprise__contribsys__com', 'bundle_gems__contribsys__com']
  },
  {
    id: 'sidekiq-sensitive-url',
    description: 'Sidekiq Pro / Enterprise gem server URL with credentials',
    regex: String.raw`(?i)\bhttps?://([a-f0-9]{8}:[a-f0-9]{8})@(?:gems|enterprise)\.contribsys\.com(?:[/|#?:]|$)`,
    keywords: ['gems.contribsys.com', 'enterprise.contribsys.com']
  },
  {
    id: 'slack-app-token',
    description: 'Slack app-level token',
    regex: String.raw`(?i)xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+`,
    entropy: 2,
    keywords: ['xapp']
  },
  {
    id: 'slack-bot-token',
    description: 'Slack bot token',
    regex: 'xoxb-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9-]*',
    entropy: 3,
    keywords: ['xoxb']
  },
  {
    // The character between xoxe and xoxb/xoxp is any (a dot in practice).
    id: 'slack-config-access-token',
    description: 'Slack app configuration access token',
    regex: String.raw`(?i)xoxe.xox[bp]-\d-[A-Z0-9]{163,166}`,
    entropy: 2,
    keywords: ['xoxe.xoxb-', 'xoxe.xoxp-']
  },
  {
    id: 'slack-config-refresh-token',
    description: 'Slack app configuration refresh token',
    regex: String.raw`(?i)xoxe-\d-[A-Z0-9]{146}`,
    entropy: 2,
    keywords: ['xoxe-']
  },
  {
    id: 'slack-legacy-bot-token',
    description: 'Slack legacy bot token',
    regex: 'xoxb-[0-9]{8,14}-[a-zA-Z0-9]{18,26}',
    entropy: 2,
    keywords: ['xoxb']
  },
  {
    id: 'slack-legacy-token',
    description: 'Slack legacy token',
    regex: String.raw`xox[os]-\d+-\d+-\d+-[a-fA-F\d]+`,
    entropy: 2,
    keywords: ['xoxo', 'xoxs']
  },
  {
    id: 'slack-legacy-workspace-token',
    description: 'Slack legacy workspace token',
    regex: String.raw`xox[ar]-(?:\d-)?[0-9a-zA-Z]{8,48}`,
    entropy: 2,
    keywords: ['xoxa', 'xoxr']
  },
  {
    id: 'slack-user-token',
    description: 'Slack user token',
    regex: 'xox[pe](?:-[0-9]{10,13}){3}-[a-zA-Z0-9-]{28,34}',
    entropy: 2,
    keywords: ['xoxp-', 'xoxe-']
  },
  {
    // The dots of the host are any character, as in gitleaks' rule.
    id: 'slack-webhook-url',
    description: 'Slack incoming webhook / workflow trigger URL',
    regex: '(?:https?://)?hooks.slack.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56}',
    keywords: ['hooks.slack.com']
  },
  {
    id: 'snyk-api-token',
    description: 'Snyk API token',
    regex: namedValue(['snyk[_.-]?(?:(?:api|oauth)[_.-]?)?(?:key|token)'], HEX_UUID),
    keywords: ['snyk']
  },
  {
    // Group 1 is the name's login|token, the secret is group 2.
    id: 'sonar-api-token',
    description: 'SonarQube / SonarCloud token',
    regex: namedValue(['sonar[_.-]?(login|token)'], '(?:squ_|sqp_|sqa_)?[a-z0-9=_-]{40}'),
    secretGroup: 2,
    keywords: ['sonar']
  },
  {
    // sgp_ tokens anywhere; a bare 40-hex value only where "sourcegraph" is mentioned (keyword).
    id: 'sourcegraph-access-token',
    description: 'Sourcegraph access token',
    regex: uniqueToken(
      String.raw`\b(?:sgp_(?:[a-fA-F0-9]{16}|local)_[a-fA-F0-9]{40}|sgp_[a-fA-F0-9]{40}|[a-fA-F0-9]{40})\b`,
      true
    ),
    entropy: 3,
    keywords: ['sgp_', 'sourcegraph']
  },
  {
    id: 'square-access-token',
    description: 'Square access token',
    regex: uniqueToken(String.raw`(?:EAAA|sq0atp-)[\w-]{22,60}`),
    entropy: 2,
    keywords: ['sq0atp-', 'eaaa']
  },
  {
    id: 'squarespace-access-token',
    description: 'Squarespace API key',
    regex: namedValue(['squarespace'], HEX_UUID),
    keywords: ['squarespace']
  },
  {
    id: 'stripe-access-token',
    description: 'Stripe secret or restricted key',
    regex: uniqueToken('(?:sk|rk)_(?:test|live|prod)_[a-zA-Z0-9]{10,99}'),
    entropy: 2,
    keywords: ['sk_test', 'sk_live', 'sk_prod', 'rk_test', 'rk_live', 'rk_prod']
  },
  {
    // Name case-sensitive (sumo, Sumo, SUMO: not "sumOf…"), value case-sensitive too.
    id: 'sumologic-access-id',
    description: 'Sumo Logic access id',
    regex: namedValue(['(?-i:[Ss]umo|SUMO)'], 'su[a-zA-Z0-9]{12}', false),
    entropy: 3,
    keywords: ['sumo']
  },
  {
    id: 'sumologic-access-token',
    description: 'Sumo Logic access key',
    regex: namedValue(['(?-i:[Ss]umo|SUMO)'], '[a-z0-9]{64}'),
    entropy: 3,
    keywords: ['sumo']
  },
  {
    // <bot id>:A<34 chars>; the A is case-sensitive.
    id: 'telegram-bot-api-token',
    description: 'Telegram bot API token',
    regex: namedValue(['telegr'], '[0-9]{5,16}:(?-i:A)[a-z0-9_-]{34}'),
    keywords: ['telegr']
  },
  {
    id: 'travisci-access-token',
    description: 'Travis CI access token',
    regex: namedValue(['travis'], '[a-z0-9]{22}'),
    keywords: ['travis']
  },
  {
    id: 'twilio-api-key',
    description: 'Twilio API key',
    regex: 'SK[0-9a-fA-F]{32}',
    entropy: 3,
    keywords: ['sk']
  },
  {
    id: 'twitch-api-token',
    description: 'Twitch API token',
    regex: namedValue(['twitch'], '[a-z0-9]{30}'),
    keywords: ['twitch']
  },
  {
    id: 'twitter-access-secret',
    description: 'Twitter access token secret',
    regex: namedValue(['twitter'], '[a-z0-9]{45}'),
    keywords: ['twitter']
  },
  {
    id: 'twitter-access-token',
    description: 'Twitter access token',
    regex: namedValue(['twitter'], '[0-9]{15,25}-[a-zA-Z0-9]{20,40}'),
    keywords: ['twitter']
  },
  {
    id: 'twitter-api-key',
    description: 'Twitter API key',
    regex: namedValue(['twitter'], '[a-z0-9]{25}'),
    keywords: ['twitter']
  },
  {
    id: 'twitter-api-secret',
    description: 'Twitter API secret',
    regex: namedValue(['twitter'], '[a-z0-9]{50}'),
    keywords: ['twitter']
  },
  {
    id: 'twitter-bearer-token',
    description: 'Twitter bearer token',
    regex: namedValue(['twitter'], 'A{22}[a-zA-Z0-9%]{80,100}'),
    keywords: ['twitter']
  },
  {
    // Keyword is the token prefix; the name must still mention typeform.
    id: 'typeform-api-token',
    description: 'Typeform personal access token',
    regex: namedValue(['typeform'], String.raw`tfp_[a-z0-9_.=-]{59}`),
    keywords: ['tfp_']
  },
  {
    id: 'vault-batch-token',
    description: 'HashiCorp Vault batch token',
    regex: uniqueToken(String.raw`hvb\.[\w-]{138,300}`),
    entropy: 4,
    keywords: ['hvb.']
  },
  {
    // hvs. tokens, and legacy s.<24 alphanumerics> that are not plain words
    // (s.AcceptanceTimeoutSeconds, s.THISSTRINGISALLUPPERCASE: letters only).
    id: 'vault-service-token',
    description: 'HashiCorp Vault service token',
    regex: uniqueToken(String.raw`(?:hvs\.[\w-]{90,120}|s\.(?i:[a-z0-9]{24}))`),
    entropy: 3.5,
    keywords: ['hvs.', 's.'],
    allowlists: [
      { description: 'legacy form made of letters only', regexes: [String.raw`^s\.[A-Za-z]{24}$`] }
    ]
  },
  {
    id: 'yandex-access-token',
    description: 'Yandex OAuth / IAM access token',
    regex: namedValue(['yandex'], String.raw`t1\.[A-Z0-9a-z_-]+={0,2}\.[A-Z0-9a-z_-]{86}={0,2}`),
    keywords: ['yandex']
  },
  {
    id: 'yandex-api-key',
    description: 'Yandex Cloud API key',
    regex: namedValue(['yandex'], String.raw`AQVN[A-Za-z0-9_-]{35,38}`),
    keywords: ['yandex']
  },
  {
    id: 'yandex-aws-access-token',
    description: 'Yandex Cloud static access key (AWS-compatible)',
    regex: namedValue(['yandex'], String.raw`YC[a-zA-Z0-9_-]{38}`),
    keywords: ['yandex']
  },
  {
    id: 'zendesk-secret-key',
    description: 'Zendesk secret key',
    regex: namedValue(['zendesk'], '[a-z0-9]{40}'),
    keywords: ['zendesk']
  },

  // Extras, not in gitleaks' default configuration: kept from the rules the
  // project reported before (secretlint's preset, supplementary rules).
  {
    // scheme://user:password@host[/db][?options]; the secret is the whole URI.
    // Allowed: placeholder or templated passwords, a password equal to a
    // common user name, one character repeated (secretlint's checks, as far
    // as RE2 can say them: no backreference for user == password in general).
    id: 'postgresql-connection-string',
    description: 'PostgreSQL connection URI with a password',
    regex: String.raw`(?i)postgres(?:ql)?://[^:/\s]{1,100}:[^@/\s]{4,200}@[^/\s?'"\x60]{1,100}(?:/[^?\s'"\x60]{0,100})?(?:\?[^\s'"\x60]{0,500})?`,
    keywords: ['postgres'],
    allowlists: [
      {
        description: 'placeholder, templated or repetitive passwords',
        regexes: [
          String.raw`^[^:]+://[^:/\s]+:(?i:localhost|127\.0\.0\.1|example\.(?:com|org)|test\.com|(?:my)?(?:password|username)|secret|root|admin|user|pass|your_(?:password|username)|replace_with_password)@`,
          String.raw`^[^:]+://[^:/\s]+:[^@/\s]*(?:\{[^}@/\s]{1,50}\}|%[A-Z_]{1,30}%|\$[A-Z_]{1,30}|\$\([^)@/\s]{1,50}\))`,
          String.raw`^[^:]+://[^:/\s]+:(?:x+|X+|\*+|\.+|#+|-+|_+|0+|1+|a+)@`,
          String.raw`^[^:]+://(?i:postgres:postgres|user:user|admin:admin|root:root|test:test|demo:demo|guest:guest)@`
        ]
      }
    ]
  },
  {
    id: 'square-secret',
    description: 'Square OAuth application secret',
    regex: uniqueToken(String.raw`sq0csp-[\w-]{43}`),
    entropy: 2,
    keywords: ['sq0csp-']
  },
  ...(['api', 'auth', 'client', 'scim', 'webhook'] as const).map((kind): GitleaksRule => ({
    // tskey-<kind>-<key id>-<secret>
    id: `tailscale-${kind}-key`,
    description: `Tailscale ${kind} key`,
    regex: `${NOT_AFTER_LETTER}(tskey-${kind}-[0-9A-Za-z_]{8,40}-[0-9A-Za-z_]{16,60})(?:[^0-9A-Za-z_]|$)`,
    entropy: 3,
    keywords: [`tskey-${kind}-`]
  })),
  {
    id: 'vault-recovery-token',
    description: 'HashiCorp Vault recovery token',
    regex: String.raw`${NOT_AFTER_LETTER}(hvr\.[\w-]{90,120})(?:[^\w-]|$)`,
    entropy: 3.5,
    keywords: ['hvr.']
  },
  ...(
    [
      ['vcp', 'vercel-personal-access-token', 'Vercel personal access token'],
      ['vci', 'vercel-integration-token', 'Vercel integration token'],
      ['vca', 'vercel-app-access-token', 'Vercel app access token'],
      ['vcr', 'vercel-app-refresh-token', 'Vercel app refresh token'],
      ['vck', 'vercel-ai-gateway-api-key', 'Vercel AI Gateway API key']
    ] as const
  ).map(([prefix, id, description]): GitleaksRule => ({
    id,
    description,
    regex: `${NOT_AFTER_LETTER}(${prefix}_[A-Za-z0-9]{20,60})(?:[^A-Za-z0-9]|$)`,
    entropy: 3,
    keywords: [`${prefix}_`]
  }))
];
