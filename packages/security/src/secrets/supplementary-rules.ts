// Detection rules of our own for providers secretlint's recommended preset
// misses or only partly covers (checked by tests/unit/secrets-rules.test.ts),
// so the embedded engine catches at least what gitleaks' default rules catch
// for the common providers. Ids follow gitleaks' naming where one exists.
//
// Speed: one pass of a single keyword alternation tells which rules can
// match a virtual source at all, and only those run. Patterns start with a
// literal, or key on one through a lookbehind, so V8 can skip ahead quickly;
// the token boundaries are lookarounds so no match starts mid-word (which
// also keeps unbounded quantifiers linear).

export interface SecretRule {
  /** Stable kebab-case id, reported in findings and usable in `rule:` allowlist entries. */
  id: string;
  description: string;
  /**
   * Literals of which every match contains at least one. A virtual source
   * holding none of them is not searched with this rule at all; rules that
   * match case-insensitively or have no fixed text leave this out and always run.
   */
  keywords?: readonly string[];
  /** Global regex. Must not match across the \0 line that separates unrelated text. */
  pattern: RegExp;
  /** [start, end) of the secret within the scanned text; default: the whole match. */
  span?: (m: RegExpExecArray) => readonly [number, number];
  /** Extra structural check on the secret, to keep false positives down. */
  validate?: (secret: string) => boolean;
}

/** Span of capture group `n` (pattern needs the `d` flag). */
function group(n: number): (m: RegExpExecArray) => readonly [number, number] {
  return (m) => m.indices?.[n] ?? [m.index, m.index + m[0].length];
}

/** From the start of capture group `n` (typically inside a lookbehind) to the end of the match. */
function fromGroup(n: number): (m: RegExpExecArray) => readonly [number, number] {
  return (m) => [m.indices?.[n]?.[0] ?? m.index, m.index + m[0].length];
}

// Boundaries: a token must not be a slice of a longer word.
const B = '(?<![A-Za-z0-9_-])';
const E = '(?![A-Za-z0-9_-])';

function re(source: string, flags = 'g'): RegExp {
  return new RegExp(source, flags);
}

function decodeBase64Url(s: string): string | undefined {
  try {
    return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
  } catch {
    return undefined;
  }
}

function jsonObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A signed JWT: both halves decode to JSON objects and the header names a real algorithm. */
function isSignedJwt(token: string): boolean {
  const [h, p, sig] = token.split('.');
  const header = jsonObject(decodeBase64Url(h ?? ''));
  const payload = jsonObject(decodeBase64Url(p ?? ''));
  if (!header || !payload || !sig) return false;
  return typeof header.alg === 'string' && header.alg.toLowerCase() !== 'none';
}

/** Discord bot tokens start with the bot's numeric id, base64-encoded. */
function isDiscordBotToken(token: string): boolean {
  const id = decodeBase64Url(token.slice(0, token.indexOf('.')));
  return id !== undefined && /^\d{17,20}$/.test(id);
}

/**
 * The text between BEGIN and END looks like key material: a run of base64
 * long enough for a key line (placeholders such as "..." or "<your key>" fail).
 */
function hasKeyMaterial(block: string): boolean {
  const body = block.replace(/^-----BEGIN[^\n]*?-----/, '').replace(/-----END[\s\S]*$/, '');
  return /[A-Za-z0-9+/]{40,}/.test(body.replace(/\\[nr]/g, '\n'));
}

export const SUPPLEMENTARY_RULES: readonly SecretRule[] = [
  {
    id: 'private-key',
    keywords: ['-----BEGIN'],
    description:
      'PEM/OpenSSH/PGP private key block, including encrypted PKCS#8 and keys inside JSON strings',
    // [^\0]: the block may span lines of one hunk but never the separator
    // between unrelated hunks; lazy and bounded so an unmatched BEGIN costs little.
    pattern: re(
      '-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[^\\0]{64,32768}?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----'
    ),
    validate: hasKeyMaterial
  },
  {
    id: 'aws-access-token',
    keywords: ['ABIA', 'ACCA'],
    description: 'AWS access key id with a prefix the preset does not know (ABIA, ACCA)',
    pattern: re(`${B}(?:ABIA|ACCA)[A-Z2-7]{16}${E}`)
  },
  {
    id: 'aws-secret-access-key',
    description:
      'AWS secret access key assigned to an aws_secret_(access_)key / secret_access_key name (the preset misses keys ending in + or /)',
    pattern: re(
      '(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)["\']?[ \\t]*(?::|=>|=)[ \\t]*["\']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])',
      'dgi'
    ),
    span: group(1)
  },
  {
    id: 'gcp-api-key',
    keywords: ['AIza'],
    description: 'Google Cloud / Firebase API key',
    pattern: re(`${B}AIza[0-9A-Za-z_-]{35}${E}`)
  },
  {
    id: 'gcp-oauth-client-secret',
    keywords: ['GOCSPX-'],
    description: 'Google OAuth client secret',
    pattern: re(`${B}GOCSPX-[0-9A-Za-z_-]{28}${E}`)
  },
  {
    id: 'gitlab-deploy-token',
    keywords: ['gldt-'],
    description: 'GitLab deploy token',
    pattern: re(`${B}gldt-[0-9A-Za-z_-]{20,200}${E}`)
  },
  {
    id: 'gitlab-feed-token',
    keywords: ['glft-'],
    description: 'GitLab feed token',
    pattern: re(`${B}glft-[0-9A-Za-z_-]{20,200}${E}`)
  },
  {
    id: 'gitlab-incoming-mail-token',
    keywords: ['glimt-'],
    description: 'GitLab incoming mail token',
    pattern: re(`${B}glimt-[0-9A-Za-z_-]{25,200}${E}`)
  },
  {
    id: 'gitlab-ptt',
    keywords: ['glptt-'],
    description: 'GitLab pipeline trigger token',
    pattern: re(`${B}glptt-[0-9a-f]{40}${E}`)
  },
  {
    id: 'gitlab-rrt',
    keywords: ['GR1348941'],
    description: 'GitLab runner registration token',
    pattern: re(`${B}GR1348941[0-9A-Za-z_-]{20,200}${E}`)
  },
  {
    id: 'gitlab-runner-authentication-token',
    keywords: ['glrt-'],
    description: 'GitLab runner authentication token',
    pattern: re(`${B}glrt-[0-9A-Za-z_-]{20,200}${E}`)
  },
  {
    id: 'gitlab-scim-token',
    keywords: ['glsoat-'],
    description: 'GitLab SCIM token',
    pattern: re(`${B}glsoat-[0-9A-Za-z_-]{20,200}${E}`)
  },
  {
    id: 'gitlab-cicd-job-token',
    keywords: ['glcbt-'],
    description: 'GitLab CI/CD job token',
    pattern: re(`${B}glcbt-[0-9A-Za-z]{1,5}_[0-9A-Za-z_-]{20,200}${E}`)
  },
  {
    id: 'gitlab-oauth-app-secret',
    keywords: ['gloas-'],
    description: 'GitLab OAuth application secret',
    pattern: re(`${B}gloas-[0-9A-Za-z_-]{64}${E}`)
  },
  {
    id: 'gitlab-kubernetes-agent-token',
    keywords: ['glagent-'],
    description: 'GitLab Kubernetes agent token',
    pattern: re(`${B}glagent-[0-9A-Za-z_-]{50,200}${E}`)
  },
  {
    id: 'gitlab-feature-flag-client-token',
    keywords: ['glffct-'],
    description: 'GitLab feature flag client token',
    pattern: re(`${B}glffct-[0-9A-Za-z_-]{20,200}${E}`)
  },
  {
    id: 'slack-webhook-url',
    keywords: ['hooks.slack.com/'],
    description: 'Slack workflow or trigger webhook (the preset knows /services/ only)',
    pattern: re(
      'https?://hooks\\.slack\\.com/(?:workflows|triggers)/T[A-Z0-9]{6,}/[A-Z0-9]{6,}/[0-9]{6,}/[A-Za-z0-9]{16,}'
    )
  },
  {
    id: 'slack-config-access-token',
    keywords: ['xoxe.xox'],
    description: 'Slack app configuration access token',
    pattern: re(`${B}xoxe\\.xox[bp]-\\d-[A-Za-z0-9]{150,180}${E}`)
  },
  {
    id: 'slack-config-refresh-token',
    keywords: ['xoxe-'],
    description: 'Slack app configuration refresh token',
    pattern: re(`${B}xoxe-\\d-[A-Za-z0-9]{140,160}${E}`)
  },
  {
    id: 'stripe-access-token',
    keywords: ['_prod_'],
    description: 'Stripe key with the prod infix (the preset knows live/test)',
    pattern: re(`${B}(?:sk|rk)_prod_[A-Za-z0-9]{10,99}${E}`)
  },
  {
    id: 'twilio-api-key',
    keywords: ['SK'],
    description: 'Twilio API key sid',
    pattern: re(`${B}SK[0-9a-fA-F]{32}${E}`)
  },
  {
    id: 'mailgun-private-api-token',
    keywords: ['key-'],
    description: 'Mailgun private API key',
    pattern: re(`${B}key-[0-9a-f]{32}${E}`)
  },
  {
    id: 'mailgun-pub-key',
    keywords: ['pubkey-'],
    description: 'Mailgun public validation key',
    pattern: re(`${B}pubkey-[0-9a-f]{32}${E}`)
  },
  {
    id: 'mailchimp-api-key',
    keywords: ['-us'],
    description: 'Mailchimp API key (32 hex, datacenter suffix)',
    pattern: re('(?<=(?<![0-9A-Za-z])([0-9a-f]{32}))-us[0-9]{1,2}(?![0-9A-Za-z])', 'dg'),
    span: fromGroup(1)
  },
  {
    id: 'sendinblue-api-token',
    keywords: ['xkeysib-'],
    description: 'Brevo (Sendinblue) API key',
    pattern: re(`${B}xkeysib-[0-9a-f]{64}-[0-9A-Za-z]{16}${E}`)
  },
  {
    id: 'azure-storage-account-key',
    keywords: ['AccountKey='],
    description: 'Azure storage connection string account key',
    pattern: re('AccountKey=([A-Za-z0-9+/]{86}==)', 'dg'),
    span: group(1)
  },
  {
    id: 'azure-ad-client-secret',
    keywords: ['Q~'],
    description: 'Microsoft Entra (Azure AD) client secret',
    pattern: re(
      '(?<=(?<![A-Za-z0-9_~.-])([A-Za-z0-9_~.]{3}))\\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])',
      'dg'
    ),
    span: fromGroup(1)
  },
  {
    id: 'digitalocean-pat',
    keywords: ['dop_v1_'],
    description: 'DigitalOcean personal access token',
    pattern: re(`${B}dop_v1_[0-9a-f]{64}${E}`)
  },
  {
    id: 'digitalocean-access-token',
    keywords: ['doo_v1_'],
    description: 'DigitalOcean OAuth access token',
    pattern: re(`${B}doo_v1_[0-9a-f]{64}${E}`)
  },
  {
    id: 'digitalocean-refresh-token',
    keywords: ['dor_v1_'],
    description: 'DigitalOcean OAuth refresh token',
    pattern: re(`${B}dor_v1_[0-9a-f]{64}${E}`)
  },
  {
    id: 'heroku-api-key-v2',
    keywords: ['HRKU-AA'],
    description: 'Heroku API key (HRKU- format)',
    pattern: re(`${B}HRKU-AA[0-9A-Za-z_-]{58}${E}`)
  },
  {
    id: 'heroku-api-key',
    description: 'Heroku API key (a UUID assigned to a heroku-named setting)',
    pattern: re(
      'heroku[\\w.-]{0,40}["\']?[ \\t]*(?::|=>|=|:=)[ \\t]*["\']?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![0-9a-f-])',
      'dgi'
    ),
    span: group(1)
  },
  {
    id: 'openai-api-key',
    keywords: ['T3BlbkFJ'],
    description: 'OpenAI project/service/admin key (the preset misses keys ending in -)',
    pattern: re(
      `${B}sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{58,74}T3BlbkFJ[A-Za-z0-9_-]{58,74}${E}`
    )
  },
  {
    id: 'anthropic-admin-api-key',
    keywords: ['sk-ant-admin01-'],
    description: 'Anthropic admin API key',
    pattern: re(`${B}sk-ant-admin01-[A-Za-z0-9_-]{93}AA${E}`)
  },
  {
    id: 'jwt',
    keywords: ['.ey'],
    description:
      'Signed JSON Web Token (header and payload must decode to JSON; alg none is ignored)',
    pattern: re(`${B}ey[A-Za-z0-9_-]{10,}\\.ey[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{16,}${E}`),
    validate: isSignedJwt
  },
  {
    id: 'telegram-bot-api-token',
    keywords: [':A'],
    description: 'Telegram bot API token',
    pattern: re('(?<=(?<![0-9A-Za-z])([0-9]{5,16})):A[A-Za-z0-9_-]{34}(?![A-Za-z0-9_-])', 'dg'),
    span: fromGroup(1)
  },
  {
    id: 'discord-bot-token',
    description: 'Discord bot token (first part is the base64 bot id)',
    pattern: re(
      '(?<=(?<![A-Za-z0-9_-])([MNO][A-Za-z0-9_-]{23,27}))\\.[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{27,40}(?![A-Za-z0-9_-])',
      'dg'
    ),
    span: fromGroup(1),
    validate: isDiscordBotToken
  },
  {
    id: 'discord-webhook-url',
    keywords: ['/api/webhooks/'],
    description: 'Discord webhook URL',
    pattern: re(
      'https://(?:ptb\\.|canary\\.)?discord(?:app)?\\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,70}'
    )
  },
  {
    id: 'pypi-upload-token',
    keywords: ['pypi-AgEI'],
    description: 'PyPI upload token',
    pattern: re(`${B}pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}`)
  },
  {
    id: 'postman-api-token',
    keywords: ['PMAK-'],
    description: 'Postman API key',
    pattern: re(`${B}PMAK-[0-9a-f]{24}-[0-9a-f]{34}${E}`)
  },
  {
    id: 'new-relic-user-api-key',
    keywords: ['NRAK-'],
    description: 'New Relic user API key',
    pattern: re(`${B}NRAK-[A-Z0-9]{27}${E}`)
  },
  {
    id: 'doppler-api-token',
    keywords: ['dp.pt.'],
    description: 'Doppler personal token',
    pattern: re(`${B}dp\\.pt\\.[A-Za-z0-9]{43}${E}`)
  },
  {
    id: 'pulumi-api-token',
    keywords: ['pul-'],
    description: 'Pulumi access token',
    pattern: re(`${B}pul-[0-9a-f]{40}${E}`)
  },
  {
    id: 'age-secret-key',
    keywords: ['AGE-SECRET-KEY-1'],
    description: 'age encryption secret key',
    pattern: re('AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}')
  },
  {
    id: 'square-access-token',
    keywords: ['sq0atp-'],
    description: 'Square access token',
    pattern: re(`${B}sq0atp-[0-9A-Za-z_-]{22}${E}`)
  },
  {
    id: 'square-secret',
    keywords: ['sq0csp-'],
    description: 'Square OAuth secret',
    pattern: re(`${B}sq0csp-[0-9A-Za-z_-]{43}${E}`)
  },
  {
    id: 'dynatrace-api-token',
    keywords: ['dt0c01.'],
    description: 'Dynatrace API token',
    pattern: re(`${B}dt0c01\\.[A-Z0-9]{24}\\.[A-Z0-9]{64}${E}`)
  },
  {
    id: 'sentry-org-token',
    keywords: ['sntrys_'],
    description: 'Sentry organisation auth token',
    pattern: re(`${B}sntrys_eyJ[A-Za-z0-9+/=_-]{80,}`)
  },
  {
    id: 'sentry-user-token',
    keywords: ['sntryu_'],
    description: 'Sentry user auth token',
    pattern: re(`${B}sntryu_[0-9a-f]{64}${E}`)
  },
  {
    id: 'atlassian-api-token',
    keywords: ['ATATT3'],
    description: 'Atlassian API token',
    pattern: re(`${B}ATATT3[A-Za-z0-9_=-]{180,200}${E}`)
  },
  {
    id: 'flyio-access-token',
    keywords: ['fo1_'],
    description: 'Fly.io access token',
    pattern: re(`${B}fo1_[A-Za-z0-9_-]{43}${E}`)
  },
  {
    id: 'alibaba-access-key-id',
    keywords: ['LTAI'],
    description: 'Alibaba Cloud AccessKey id',
    pattern: re(`${B}LTAI[A-Za-z0-9]{20}${E}`)
  },
  {
    id: 'planetscale-api-token',
    keywords: ['pscale_'],
    description: 'PlanetScale service token or password',
    pattern: re(`${B}pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.-]{32,64}${E}`)
  },
  {
    id: 'hashicorp-tf-api-token',
    keywords: ['.atlasv1.'],
    description: 'Terraform Cloud / HCP Terraform API token',
    pattern: re('(?<=(?<![A-Za-z0-9])([A-Za-z0-9]{14}))\\.atlasv1\\.[A-Za-z0-9_=-]{60,70}', 'dg'),
    span: fromGroup(1)
  },
  {
    id: 'facebook-page-access-token',
    keywords: ['EAA'],
    description: 'Facebook (Meta) access token',
    pattern: re(`${B}EAA[MC][A-Za-z0-9]{100,}${E}`)
  }
];

export interface RuleHit {
  ruleId: string;
  start: number;
  end: number;
}

/** Runs every supplementary rule over `text`; hits carry offsets only. */
export function runSupplementaryRules(
  text: string,
  rules: readonly SecretRule[] = SUPPLEMENTARY_RULES
): RuleHit[] {
  const present = keywordsIn(text, rules);
  const hits: RuleHit[] = [];
  for (const rule of rules) {
    if (rule.keywords && !rule.keywords.some((k) => present.has(k))) continue;
    rule.pattern.lastIndex = 0;
    for (const m of text.matchAll(rule.pattern)) {
      const [start, end] = rule.span ? rule.span(m) : [m.index, m.index + m[0].length];
      if (rule.validate && !rule.validate(text.slice(start, end))) continue;
      hits.push({ ruleId: rule.id, start, end });
    }
  }
  return hits;
}

interface Dispatcher {
  /** A zero-width lookahead, so overlapping keywords (":AIza") are all seen. */
  re: RegExp;
  count: number;
  /** Keywords that are prefixes of a longer one: found at the same spot, reported with it. */
  prefixesOf: Map<string, string[]>;
}

const dispatchers = new WeakMap<readonly SecretRule[], Dispatcher>();

function dispatcherFor(rules: readonly SecretRule[]): Dispatcher {
  let d = dispatchers.get(rules);
  if (d) return d;
  const all = [...new Set(rules.flatMap((r) => r.keywords ?? []))].sort(
    (a, b) => b.length - a.length
  );
  const source = all.map((k) => k.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|');
  const prefixesOf = new Map<string, string[]>();
  for (const k of all)
    prefixesOf.set(
      k,
      all.filter((p) => p !== k && k.startsWith(p))
    );
  d = {
    re: new RegExp(all.length > 0 ? `(?=(${source}))` : '(?!)', 'g'),
    count: all.length,
    prefixesOf
  };
  dispatchers.set(rules, d);
  return d;
}

/**
 * The keywords that occur in `text`, found in one pass of a single
 * alternation (far cheaper than one search per rule), stopping once all are seen.
 */
function keywordsIn(text: string, rules: readonly SecretRule[]): Set<string> {
  const d = dispatcherFor(rules);
  const found = new Set<string>();
  d.re.lastIndex = 0;
  while (found.size < d.count) {
    const m = d.re.exec(text);
    if (m === null) break;
    const k = m[1];
    found.add(k);
    for (const p of d.prefixesOf.get(k) ?? []) found.add(p);
    d.re.lastIndex = m.index + 1;
  }
  return found;
}
