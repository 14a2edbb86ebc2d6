// Samples for the group A rules (packages/security/src/secrets/ruleset/rules-a.ts):
// generated tokens of each format, whole texts for the rules that need a
// context (curl commands, connection strings), and per-rule negatives,
// i.e. texts the rule itself must not report (wrong length or alphabet,
// low entropy, placeholders, a missing keyword).

import {
  ALL_WRAPPINGS,
  CHARS,
  random,
  rng,
  type Rng,
  type RuleSamples,
  type WrappingName
} from './kit.ts';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BECH32 = 'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L';
const A_TO_H_DIGITS = 'abcdefgh0123456789';
const AZURE_HEAD = CHARS.alnum + '_~.';
const AZURE_BODY = CHARS.alnum + '_~.-';

/** `random` kept within `set` (random may slip in any digit when the set has some). */
function within(r: Rng, set: string, n: number): string {
  return [...random(r, set, n)]
    .map((c) => (set.includes(c) ? c : set[Math.floor(r() * set.length)]))
    .join('');
}

function between(r: Rng, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/** A token that starts with a digit (a curl -u password must not start with a placeholder word). */
function password(r: Rng, n: number): string {
  return random(r, CHARS.digits, 1) + random(r, CHARS.alnum, n - 1);
}

const URL_ONLY: WrappingName[] = ['url'];

// Negatives are fixed texts: generated once from their own seed.
const n = rng('samples-a/negatives');

/** A value of the named format one character short and one character long. */
function offByOne(ident: string, set: string, len: number): string[] {
  return [`${ident} = "${random(n, set, len - 1)}"`, `${ident}: ${random(n, set, len + 1)}`];
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

function digits(r: Rng, len: number): string {
  return String(1 + Math.floor(r() * 9)) + random(r, CHARS.digits, len - 1);
}

function discordBotToken(r: Rng, idLength: number): string {
  const id = Buffer.from(digits(r, idLength)).toString('base64url');
  return `${id}.${random(r, CHARS.alnumExtended, 6)}.${random(r, CHARS.alnumExtended, between(r, 27, 38))}`;
}

export const SAMPLES_A: RuleSamples[] = [
  {
    id: '1password-secret-key',
    family: '1password',
    ident: 'op_secret_key',
    tokens: (r) => [
      `A3-${random(r, CHARS.upperAlnum, 6)}-${random(r, CHARS.upperAlnum, 11)}-${random(r, CHARS.upperAlnum, 5)}-${random(r, CHARS.upperAlnum, 5)}-${random(r, CHARS.upperAlnum, 5)}`,
      `A3-${random(r, CHARS.upperAlnum, 6)}-${random(r, CHARS.upperAlnum, 6)}-${random(r, CHARS.upperAlnum, 5)}-${random(r, CHARS.upperAlnum, 5)}-${random(r, CHARS.upperAlnum, 5)}-${random(r, CHARS.upperAlnum, 5)}`,
      `A3-${random(r, CHARS.upperAlnum, 6)}-${random(r, CHARS.upperAlnum, 11)}-${random(r, CHARS.upperAlnum, 5)}-${random(r, CHARS.upperAlnum, 5)}-${random(r, CHARS.upperAlnum, 5)}`
    ],
    negatives: [
      'OP_SECRET_KEY=A3-BBBBBB-BBBBBBBBBBB-BBBBB-BBBBB-BBBBB',
      `secret key: A3-${random(n, CHARS.upperAlnum, 5)}a-${random(n, CHARS.upperAlnum, 6)}-${random(n, CHARS.upperAlnum, 5)}-${random(n, CHARS.upperAlnum, 5)}-${random(n, CHARS.upperAlnum, 5)}-${random(n, CHARS.upperAlnum, 5)}`,
      `secret key: A3-${random(n, CHARS.upperAlnum, 6)}-${random(n, CHARS.upperAlnum, 11)}-${random(n, CHARS.upperAlnum, 5)}-${random(n, CHARS.upperAlnum, 5)}`
    ]
  },
  {
    id: '1password-service-account-token',
    family: '1password',
    ident: 'op_service_account_token',
    tokens: (r) => [
      `ops_eyJ${random(r, CHARS.base64, 250)}`,
      `ops_eyJ${random(r, CHARS.base64, 320)}=`,
      `ops_eyJ${random(r, CHARS.base64, 611)}==`
    ],
    negatives: [
      `OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ${'Q'.repeat(260)}`,
      `export OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ${random(n, CHARS.base64, 40)}...`,
      `    token: ops_eyJzaWduSW5B..[redacted]`
    ]
  },
  {
    id: 'adafruit-api-key',
    family: 'adafruit',
    ident: 'adafruit_api_key',
    tokens: (r) => [
      random(r, CHARS.alnumExtended, 32),
      random(r, CHARS.lowerAlnum, 32),
      random(r, CHARS.alnum, 32)
    ],
    skipWrappings: URL_ONLY,
    negatives: [
      ...offByOne('adafruit_api_key', CHARS.alnum, 32),
      `AIO_KEY=${random(n, CHARS.alnum, 32)}`
    ]
  },
  {
    id: 'adobe-client-id',
    family: 'adobe',
    ident: 'adobe_client_id',
    tokens: (r) => [
      random(r, CHARS.hex, 32),
      random(r, CHARS.hexUpper, 32),
      random(r, CHARS.hex, 32)
    ],
    skipWrappings: URL_ONLY,
    negatives: [
      ...offByOne('adobe_client_id', CHARS.hex, 32),
      `adobe_client_id = "${random(n, CHARS.hex, 20)}zz${random(n, CHARS.hex, 10)}"`
    ]
  },
  {
    id: 'adobe-client-secret',
    family: 'adobe',
    ident: 'adobe_client_secret',
    tokens: (r) => [
      `p8e-${random(r, CHARS.alnum, 32)}`,
      `p8e-${random(r, CHARS.hex, 32)}`,
      `p8e-${random(r, CHARS.upperAlnum, 32)}`
    ],
    skipWrappings: URL_ONLY,
    negatives: [
      `adobe_client_secret = "p8e-${random(n, CHARS.alnum, 31)}"`,
      `adobe_client_secret = "p8e-${random(n, CHARS.alnum, 33)}"`,
      `id = "xp8e-${random(n, CHARS.alnum, 32)}"`
    ]
  },
  {
    id: 'age-secret-key',
    family: 'age',
    ident: 'age_secret_key',
    tokens: (r) => [1, 2, 3].map(() => `AGE-SECRET-KEY-1${within(r, BECH32, 58)}`),
    negatives: [
      `AGE-SECRET-KEY-1${within(n, BECH32, 57)}`,
      `AGE-SECRET-KEY-1${within(n, BECH32, 20)}B${within(n, BECH32, 37)}`,
      `# public key: age1${within(n, BECH32, 58).toLowerCase()}`
    ]
  },
  {
    id: 'airtable-api-key',
    family: 'airtable',
    ident: 'airtable_api_key',
    tokens: (r) => [
      random(r, CHARS.alnum, 17),
      random(r, CHARS.lowerAlnum, 17),
      random(r, CHARS.upperAlnum, 17)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('airtable_api_key', CHARS.alnum, 17)
  },
  {
    id: 'airtable-personnal-access-token',
    family: 'airtable',
    ident: 'airtable_pat',
    tokens: (r) =>
      [1, 2, 3].map(() => `pat${random(r, CHARS.alnum, 14)}.${random(r, CHARS.hex, 64)}`),
    negatives: [
      // no "airtable" in the text: not searched
      `token = pat${random(n, CHARS.alnum, 14)}.${random(n, CHARS.hex, 64)}`,
      `airtable_pat = pat${random(n, CHARS.alnum, 14)}.${random(n, CHARS.hex, 60)}zzzz`,
      `airtable_pat = pat${random(n, CHARS.alnum, 13)}.${random(n, CHARS.hex, 64)}`
    ]
  },
  {
    id: 'algolia-api-key',
    family: 'algolia',
    ident: 'algolia_api_key',
    tokens: (r) => [
      random(r, CHARS.hex, 32),
      random(r, CHARS.alnum, 32),
      random(r, CHARS.lowerAlnum, 32)
    ],
    skipWrappings: URL_ONLY,
    negatives: [
      ...offByOne('algolia_api_key', CHARS.lowerAlnum, 32),
      `ALGOLIA_API_KEY=${random(n, CHARS.alnumExtended, 28)}-_-_`
    ]
  },
  {
    id: 'alibaba-access-key-id',
    family: 'alibaba',
    ident: 'alibaba_access_key_id',
    tokens: (r) => [
      `LTAI${random(r, CHARS.alnum, 20)}`,
      `LTAI${random(r, CHARS.lowerAlnum, 20)}`,
      `LTAI${random(r, CHARS.upperAlnum, 20)}`
    ],
    skipWrappings: URL_ONLY,
    negatives: [
      `access_key_id = "LTAI${'a'.repeat(20)}"`,
      `access_key_id = "LTAI${random(n, CHARS.alnum, 19)}"`,
      `access_key_id = "xLTAI${random(n, CHARS.alnum, 20)}"`
    ]
  },
  {
    id: 'alibaba-secret-key',
    family: 'alibaba',
    ident: 'alibaba_secret_key',
    tokens: (r) => [
      random(r, CHARS.alnum, 30),
      random(r, CHARS.lowerAlnum, 30),
      random(r, CHARS.upperAlnum, 30)
    ],
    skipWrappings: URL_ONLY,
    negatives: [
      ...offByOne('alibaba_secret_key', CHARS.alnum, 30),
      `alibaba_secret_key = "${'0'.repeat(30)}"`
    ]
  },
  {
    id: 'anthropic-admin-api-key',
    family: 'anthropic',
    ident: 'anthropic_admin_key',
    tokens: (r) => [1, 2, 3].map(() => `sk-ant-admin01-${random(r, CHARS.alnumExtended, 93)}AA`),
    skipWrappings: URL_ONLY,
    negatives: [
      `ANTHROPIC_ADMIN_KEY=sk-ant-admin01-${random(n, CHARS.alnumExtended, 60)}AA`,
      `ANTHROPIC_ADMIN_KEY=sk-ant-admin01-${random(n, CHARS.alnumExtended, 93)}BB`,
      `ANTHROPIC_ADMIN_KEY=sk-ant-api03-${random(n, CHARS.alnumExtended, 93)}AA`
    ]
  },
  {
    id: 'anthropic-api-key',
    family: 'anthropic',
    ident: 'anthropic_api_key',
    tokens: (r) => [1, 2, 3].map(() => `sk-ant-api03-${random(r, CHARS.alnumExtended, 93)}AA`),
    skipWrappings: URL_ONLY,
    negatives: [
      `ANTHROPIC_API_KEY=sk-ant-api03-${random(n, CHARS.alnumExtended, 60)}AA`,
      `ANTHROPIC_API_KEY=sk-ant-api03-${random(n, CHARS.alnumExtended, 93)}BB`,
      `ANTHROPIC_API_KEY=sk-ant-admin01-${random(n, CHARS.alnumExtended, 93)}AA`
    ]
  },
  {
    id: 'artifactory-api-key',
    family: 'jfrog',
    ident: 'artifactory_api_key',
    tokens: (r) => [1, 2, 3].map(() => `AKCp${random(r, CHARS.alnum, 69)}`),
    negatives: [
      `artifactoryApiKey := "AKCp${'Z'.repeat(69)}"`,
      `artifactoryApiKey := "AkCp${random(n, CHARS.alnum, 69)}"`,
      `artifactoryApiKey := "AKCp${random(n, CHARS.alnum, 60)}"`,
      `blob gYnkgAKCp${random(n, CHARS.alnum, 69)}VyZSB2`
    ]
  },
  {
    id: 'artifactory-reference-token',
    family: 'jfrog',
    ident: 'artifactory_ref_token',
    tokens: (r) => [1, 2, 3].map(() => `cmVmd${random(r, CHARS.alnum, 59)}`),
    negatives: [
      `refToken := "cmVmd${'Z'.repeat(59)}"`,
      `refToken := "cmVMd${random(n, CHARS.alnum, 59)}"`,
      `refToken := "cmVmd${random(n, CHARS.alnum, 50)}"`,
      `blob gYnkgcmVmd${random(n, CHARS.alnum, 59)}VyZSB2`
    ]
  },
  {
    id: 'asana-client-id',
    family: 'asana',
    ident: 'asana_client_id',
    tokens: (r) => [1, 2, 3].map(() => random(r, CHARS.digits, 16)),
    skipWrappings: URL_ONLY,
    negatives: offByOne('asana_client_id', CHARS.digits, 16)
  },
  {
    id: 'asana-client-secret',
    family: 'asana',
    ident: 'asana_client_secret',
    tokens: (r) => [
      random(r, CHARS.alnum, 32),
      random(r, CHARS.lowerAlnum, 32),
      random(r, CHARS.hex, 32)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('asana_client_secret', CHARS.alnum, 32)
  },
  {
    id: 'atlassian-api-token',
    family: 'atlassian',
    ident: 'atlassian_api_token',
    tokens: (r) => [
      random(r, CHARS.alnum, 20) + random(r, CHARS.hex, 4),
      random(r, CHARS.lowerAlnum, 20) + random(r, CHARS.hexUpper, 4),
      `ATATT3${random(r, CHARS.alnumExtended, 178)}=${random(r, CHARS.hexUpper, 7)}`,
      `ATATT3${random(r, CHARS.alnumExtended, 186)}`
    ],
    skipWrappings: URL_ONLY,
    raw: (r) => [
      `JIRA_API_TOKEN=${random(r, CHARS.alnum, 20)}${random(r, CHARS.hex, 4)}`,
      `confluence_token: "${random(r, CHARS.alnum, 20)}${random(r, CHARS.hex, 4)}"`,
      `jiraToken := "ATATT3${random(r, CHARS.alnumExtended, 186)}"`
    ],
    negatives: [
      'loadPagesInConfluenceSpace,findConfluenceUsingQuery',
      `JIRA_TOKEN=${'a'.repeat(24)}`,
      `jira_api_token = "${random(n, CHARS.alnum, 20)}${random(n, CHARS.hex, 3)}"`,
      `JiRA_TOKEN=${random(n, CHARS.alnum, 20)}${random(n, CHARS.hex, 4)}`
    ]
  },
  {
    id: 'authress-service-client-access-key',
    family: 'authress',
    ident: 'authress_access_key',
    tokens: (r) => [
      `sc_${random(r, CHARS.alnum, 10)}.${random(r, CHARS.alnum, 4)}.acc_${random(r, CHARS.alnum, 10)}.${random(r, CHARS.alnumExtended, 40)}`,
      `ext_${random(r, CHARS.lowerAlnum, 22)}.${random(r, CHARS.lowerAlnum, 6)}.acc-${random(r, CHARS.lowerAlnum, 12)}.${random(r, CHARS.base64, 64)}`,
      `authress_${random(r, CHARS.alnum, 8)}.${random(r, CHARS.alnum, 5)}.acc_${random(r, CHARS.lowerAlnum, 24)}.${random(r, CHARS.alnumExtended, 100)}`
    ],
    skipWrappings: URL_ONLY,
    negatives: [
      `AUTHRESS_KEY=sc_${random(n, CHARS.alnum, 10)}.${random(n, CHARS.alnum, 4)}.ACC_${random(n, CHARS.alnum, 10)}.${random(n, CHARS.alnumExtended, 40)}`,
      `AUTHRESS_KEY=sc_${random(n, CHARS.alnum, 10)}.${random(n, CHARS.alnum, 4)}.acc_${random(n, CHARS.alnum, 10)}.${random(n, CHARS.alnumExtended, 20)}`,
      `AUTHRESS_KEY=sc_${random(n, CHARS.alnum, 3)}.${random(n, CHARS.alnum, 4)}.acc_${random(n, CHARS.alnum, 10)}.${random(n, CHARS.alnumExtended, 40)}`
    ]
  },
  {
    id: 'aws-access-token',
    family: 'aws',
    ident: 'aws_access_key_id',
    tokens: (r) => [
      `AKIA${within(r, BASE32, 16)}`,
      `ASIA${within(r, BASE32, 16)}`,
      `ABIA${within(r, BASE32, 16)}`,
      `ACCA${within(r, BASE32, 16)}`,
      `A3T${random(r, CHARS.upperAlnum, 1)}${within(r, BASE32, 16)}`
    ],
    negatives: [
      'aws_access_key_id = AKIAZZZZZZZZZZZZZZZZ',
      `aws_access_key_id: AKIA${within(n, BASE32, 9)}EXAMPLE`,
      `msgstr "Näytä asiakirjat ja mallikansiot."`,
      'TODAYINASIAWEATEASACKOFRICE',
      `aws_access_key_id = AKIA${within(n, BASE32, 10)}0189${within(n, BASE32, 2)}`,
      `aws_access_key_id = akia${within(n, BASE32, 16).toLowerCase()}`
    ]
  },
  {
    id: 'aws-amazon-bedrock-api-key-long-lived',
    family: 'aws',
    ident: 'bedrock_api_key',
    tokens: (r) => [
      `ABSKQmVkcm9ja0FQSUtleS1${random(r, CHARS.alnum, 108)}=`,
      `ABSKQmVkcm9ja0FQSUtleS1${random(r, CHARS.alnum, 246)}`,
      `ABSK${random(r, CHARS.base64, 180)}==`
    ],
    skipWrappings: URL_ONLY,
    negatives: [
      `BEDROCK_API_KEY=ABSKQmVkcm9ja0FQSUtleS1${random(n, CHARS.alnum, 20)}`,
      `BEDROCK_API_KEY=AXSKQmVkcm9ja0FQSUtleS1${random(n, CHARS.alnum, 108)}=`,
      `BEDROCK_API_KEY=ABSK${random(n, CHARS.alnum, 300)}`
    ]
  },
  {
    id: 'aws-amazon-bedrock-api-key-short-lived',
    family: 'aws',
    ident: 'bedrock_api_key',
    // The finding is the fixed prefix of every short-lived key.
    tokens: () => ['bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t'],
    raw: (r) => [
      `AWS_BEARER_TOKEN_BEDROCK=bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249${random(r, CHARS.base64, 300)}`,
      `export AWS_BEARER_TOKEN_BEDROCK="bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249${random(r, CHARS.base64, 500)}&Version=1"`,
      `{"token": "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t${random(r, CHARS.base64, 120)}"}`
    ],
    negatives: [
      'AWS_BEARER_TOKEN_BEDROCK=bedrock-api-key-',
      'token: bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29z'
    ]
  },
  {
    id: 'azure-ad-client-secret',
    family: 'azure',
    ident: 'azure_client_secret',
    tokens: (r) => [
      `${random(r, AZURE_HEAD, 3)}${random(r, CHARS.digits, 1)}Q~${random(r, AZURE_BODY, 31)}`,
      `${random(r, AZURE_HEAD, 3)}${random(r, CHARS.digits, 1)}Q~${random(r, AZURE_BODY, 34)}`,
      `${random(r, CHARS.alnum, 3)}8Q~${random(r, CHARS.alnum, 34)}`
    ],
    skipWrappings: URL_ONLY,
    raw: (r) => [
      `<value xsi:type="xsd:string">${random(r, CHARS.alnum, 3)}8Q~${random(r, AZURE_BODY, 34)}</value>`,
      `(use the client secret: ${random(r, CHARS.alnum, 3)}7Q~${random(r, CHARS.alnum, 34)})`,
      `-ClientSecret '${random(r, CHARS.alnum, 3)}7Q~${random(r, AZURE_BODY, 33)}'`,
      `\\"pass\\": \\"${random(r, CHARS.alnum, 3)}7Q~${random(r, CHARS.alnum, 32)}`
    ],
    negatives: [
      `client_secret=Ab12Q~${'x'.repeat(34)}`,
      '~'.repeat(44),
      '.ui.visible.left.sidebar~.ui.visible.right.sidebar~.pusher{transform:translate3d(0,0,0)}',
      `'url': 'http://www.example.nl/play~VARA_101375237~mh17-het-verdriet-van-nederland~.html',`,
      `<Trust Identity="USK@${random(n, CHARS.alnumExtended, 40)},4~q8Q~${random(n, CHARS.alnum, 35)}~yk0,AQACAAE/WebOfTrust/2" Value="100"/>`
    ]
  },
  {
    id: 'beamer-api-token',
    family: 'beamer',
    ident: 'beamer_api_token',
    tokens: (r) => [
      `b_${random(r, CHARS.alnumExtended, 44)}`,
      `b_${random(r, CHARS.alnum, 44)}`,
      `b_${random(r, CHARS.lowerAlnum, 44)}`
    ],
    skipWrappings: URL_ONLY,
    negatives: [
      `beamer_api_token = "b_${random(n, CHARS.alnumExtended, 43)}"`,
      `beamer_api_token = "${random(n, CHARS.alnumExtended, 46)}"`,
      `│   ├── R21A-V010SP13RC181024R16900-CN-B_250K-Release-OTA-${random(n, CHARS.hexUpper, 32)}.bfu`
    ]
  },
  {
    id: 'bitbucket-client-id',
    family: 'bitbucket',
    ident: 'bitbucket_client_id',
    tokens: (r) => [
      random(r, CHARS.alnum, 32),
      random(r, CHARS.lowerAlnum, 32),
      random(r, CHARS.upperAlnum, 32)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('bitbucket_client_id', CHARS.alnum, 32)
  },
  {
    id: 'bitbucket-client-secret',
    family: 'bitbucket',
    ident: 'bitbucket_client_secret',
    tokens: (r) => [
      random(r, CHARS.alnumExtended, 64),
      random(r, CHARS.alnum, 64),
      random(r, CHARS.alnumExtended, 64)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('bitbucket_client_secret', CHARS.alnum, 64)
  },
  {
    id: 'bittrex-access-key',
    family: 'bittrex',
    ident: 'bittrex_access_key',
    tokens: (r) => [
      random(r, CHARS.alnum, 32),
      random(r, CHARS.lowerAlnum, 32),
      random(r, CHARS.hex, 32)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('bittrex_access_key', CHARS.alnum, 32)
  },
  {
    id: 'bittrex-secret-key',
    family: 'bittrex',
    ident: 'bittrex_secret_key',
    tokens: (r) => [
      random(r, CHARS.alnum, 32),
      random(r, CHARS.upperAlnum, 32),
      random(r, CHARS.hex, 32)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('bittrex_secret_key', CHARS.alnum, 32)
  },
  {
    id: 'cisco-meraki-api-key',
    family: 'cisco',
    ident: 'meraki_api_key',
    tokens: (r) => [1, 2, 3].map(() => random(r, CHARS.hex, 40)),
    skipWrappings: URL_ONLY,
    raw: (r) => [
      `MERAKI_DASHBOARD_API_KEY=${random(r, CHARS.hex, 40)}`,
      `merakiKey: '${random(r, CHARS.hex, 40)}'`
    ],
    negatives: [
      'meraki: eeeeeeeeee5555555555ffffffffff6666666666',
      `meraki-api-key: ${random(n, CHARS.hex, 30)}ABCDEF${random(n, CHARS.hex, 4)}`,
      `meraki: ${random(n, CHARS.hex, 30)}ghjkmn${random(n, CHARS.hex, 4)}`,
      `meraki_token = ${random(n, CHARS.hex, 43)}`,
      `VisionCameraKit: ${random(n, CHARS.hex, 40)}`
    ]
  },
  {
    id: 'clickhouse-cloud-api-secret-key',
    family: 'clickhouse',
    ident: 'clickhouse_secret_key',
    tokens: (r) => [1, 2, 3].map(() => `4b1d${random(r, CHARS.alnum, 38)}`),
    negatives: [
      `key = 4b1d${'Y'.repeat(38)}`,
      `key = adf4b1d${random(n, CHARS.alnum, 38)}`,
      `key = 4b1d${random(n, CHARS.alnum, 37)}`
    ]
  },
  {
    id: 'clojars-api-token',
    family: 'clojars',
    ident: 'clojars_token',
    tokens: (r) => [
      `CLOJARS_${random(r, CHARS.alnum, 60)}`,
      `CLOJARS_${random(r, CHARS.lowerAlnum, 60)}`,
      `clojars_${random(r, CHARS.hex, 60)}`
    ],
    negatives: [
      `CLOJARS_TOKEN="CLOJARS_${random(n, CHARS.alnum, 59)}"`,
      `CLOJARS_TOKEN="CLOJARS_${'a'.repeat(60)}"`
    ]
  },
  {
    id: 'cloudflare-api-key',
    family: 'cloudflare',
    ident: 'cloudflare_api_key',
    tokens: (r) => [
      random(r, CHARS.alnumExtended, 40),
      random(r, CHARS.alnum, 40),
      random(r, CHARS.alnumExtended, 40)
    ],
    skipWrappings: URL_ONLY,
    negatives: [
      `cloudflare_global_api_key = "${random(n, CHARS.hex, 37)}"`,
      `CLOUDFLARE_ORIGIN_CA: v1.0-${random(n, CHARS.hex, 24)}-${random(n, CHARS.hex, 146)}`,
      `cloudflare_api_key = "${random(n, CHARS.alnum, 39)}"`
    ]
  },
  {
    id: 'cloudflare-global-api-key',
    family: 'cloudflare',
    ident: 'cloudflare_global_api_key',
    tokens: (r) => [
      random(r, CHARS.hex, 37),
      random(r, CHARS.hex, 37),
      `cfk_${random(r, CHARS.alnum, 40)}${random(r, CHARS.hex, 8)}`
    ],
    skipWrappings: URL_ONLY,
    negatives: [
      `cloudflare_api_key = "${random(n, CHARS.alnumExtended, 40)}"`,
      `CLOUDFLARE_ORIGIN_CA: v1.0-${random(n, CHARS.hex, 24)}-${random(n, CHARS.hex, 146)}`,
      `cloudflare: "${random(n, CHARS.hex, 36)}"`,
      `CF_KEY=cfk_${random(n, CHARS.alnum, 40)}${random(n, CHARS.hexUpper, 6)}GG`
    ]
  },
  {
    id: 'cloudflare-origin-ca-key',
    family: 'cloudflare',
    ident: 'cloudflare_origin_ca',
    tokens: (r) =>
      [1, 2, 3].map(() => `v1.0-${random(r, CHARS.hex, 24)}-${random(r, CHARS.hex, 146)}`),
    skipWrappings: URL_ONLY,
    negatives: [
      `cloudflare_global_api_key = "${random(n, CHARS.hex, 37)}"`,
      `cloudflare_api_key = "${random(n, CHARS.alnumExtended, 40)}"`,
      `CLOUDFLARE_ORIGIN_CA: v1.0-${random(n, CHARS.hex, 23)}-${random(n, CHARS.hex, 146)}`
    ]
  },
  {
    id: 'codecov-access-token',
    family: 'codecov',
    ident: 'codecov_token',
    tokens: (r) => [
      random(r, CHARS.alnum, 32),
      random(r, CHARS.hex, 32),
      random(r, CHARS.lowerAlnum, 32)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('codecov_token', CHARS.alnum, 32)
  },
  {
    id: 'cohere-api-token',
    family: 'cohere',
    ident: 'cohere_api_key',
    tokens: (r) => [1, 2, 3].map(() => random(r, CHARS.alnum, 40)),
    skipWrappings: URL_ONLY,
    raw: (r) => [
      `export CO_API_KEY=${random(r, CHARS.alnum, 40)}`,
      `co_api_key: "${random(r, CHARS.alnum, 40)}"`
    ],
    negatives: [`CO_API_KEY=${'x'.repeat(40)}`, ...offByOne('cohere_api_key', CHARS.alnum, 40)]
  },
  {
    id: 'coinbase-access-token',
    family: 'coinbase',
    ident: 'coinbase_access_token',
    tokens: (r) => [
      random(r, CHARS.alnumExtended, 64),
      random(r, CHARS.alnum, 64),
      random(r, CHARS.lowerAlnum, 64)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('coinbase_access_token', CHARS.alnum, 64)
  },
  {
    id: 'confluent-access-token',
    family: 'confluent',
    ident: 'confluent_api_key',
    tokens: (r) => [
      random(r, CHARS.upperAlnum, 16),
      random(r, CHARS.alnum, 16),
      random(r, CHARS.upperAlnum, 16)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('confluent_api_key', CHARS.alnum, 16)
  },
  {
    id: 'confluent-secret-key',
    family: 'confluent',
    ident: 'confluent_api_secret',
    tokens: (r) => [
      random(r, CHARS.alnum, 64),
      random(r, CHARS.alnum, 64),
      random(r, CHARS.lowerAlnum, 64)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('confluent_api_secret', CHARS.alnum, 64)
  },
  {
    id: 'contentful-delivery-api-token',
    family: 'contentful',
    ident: 'contentful_delivery_token',
    tokens: (r) => [
      random(r, CHARS.alnumExtended, 43),
      random(r, CHARS.alnum, 43),
      random(r, CHARS.alnumExtended, 43)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('contentful_delivery_token', CHARS.alnum, 43)
  },
  {
    id: 'curl-auth-header',
    family: 'curl',
    ident: 'curl',
    tokens: () => [],
    skipWrappings: ALL_WRAPPINGS,
    raw: (r) => [
      `curl -H "Authorization: Bearer ${random(r, CHARS.alnumExtended, 40)}" https://api.example.net/v2/items`,
      `curl -s --header 'Authorization: Basic ${b64(`deploy:${random(r, CHARS.alnum, 18)}`)}' https://ci.example.org/api/json`,
      `curl -X POST https://hooks.example.com/v1/send \\\n  -H "Content-Type: application/json" \\\n  -H "X-Api-Key: ${random(r, CHARS.alnum, 32)}" \\\n  -d '{"text":"hi"}'`,
      `curl -XPOST http://localhost:8080/api/tasks -H "Token: ${random(r, CHARS.hex, 16)}" -d "content=hello"`,
      `curl --header  'Authorization:  ${random(r, CHARS.hex, 8)}-${random(r, CHARS.hex, 4)}-${random(r, CHARS.hex, 4)}-${random(r, CHARS.hex, 12)}'`,
      `curl -H "Authorization: Api-Token ${random(r, CHARS.hex, 40)}" --request PUT https://report.example.com/api/use/7`,
      `# curl -X GET "http://localhost:3000/api/cron/status" -H "Authorization: Bearer ${random(r, CHARS.hex, 32)}"`,
      `curl -X GET https://deploy.example.net/\n     -H "X-Octopus-ApiKey: API-${random(r, CHARS.upperAlnum, 26)}" \\`
    ],
    negatives: [
      'curl https://example.com/micropub -d h=entry -d "content=Hello World" -H "Authorization: Bearer XXXXXXXXXXXX"',
      'curl -X POST https://accounts.example.com/api/token -d grant_type=client_credentials --header "Authorization: Basic ..."',
      'curl \\\n  -H "Authorization: Bearer <your API token>" \\\n  "https://api.example.org/v1/audio/?q=test"',
      'curl -v -X POST https://example.net/api/v1/login/ \\\n  -H "Authorization: Token **********" \\\n  -d \'{"username": "demo"}\'',
      'curl -XPOST http://localhost:8080/api/token -H "Authorization: basic {base64(email:password)}"',
      'curl -X GET \\\n     -H "apikey: $API_KEY" \\\n     -H "Accept: $FORMAT" \\\n"$API_URL/rest/v1/stats"',
      'curl -X GET -H "Authorization: Bearer $(gcloud auth print-access-token)" https://workflowexecutions.googleapis.com/v1/projects/1/executions'
    ]
  },
  {
    id: 'curl-auth-user',
    family: 'curl',
    ident: 'curl',
    tokens: () => [],
    skipWrappings: ALL_WRAPPINGS,
    raw: (r) => [
      `curl --cacert ca.crt -u elastic:${password(r, 14)} https://search.example.net:9200`,
      `curl -s --user '${random(r, CHARS.lower, 6)}:${password(r, 16)}' \\\n    https://api.example.org/v3/messages`,
      `curl -s -v --user "${random(r, CHARS.lower, 5)}.${random(r, CHARS.lower, 6)}:${password(r, 18)}" "https://api.example.org/user/me"`,
      `curl -k -X POST https://cache.example.net:11222/rest/v2/caches/default/hello \\\n  -H 'Content-type: text/plain' \\\n  -d 'world' \\\n  -u developer:${password(r, 16)}`,
      `curl -u ":${password(r, 12)}" https://localhost:9200`,
      `curl -u "${password(r, 12)}:" https://localhost:9200`,
      `curl --user ${random(r, CHARS.lower, 6)}@example.com:${password(r, 10)} https://www.example.com/cli_link -v`,
      `curl --user kevin:'${password(r, 16)}' -iX PATCH -H "Content-Type: application/json" -d`
    ],
    negatives: [
      "curl -i -u 'demo:test'",
      '   curl -sL --user "$1:$2" "$3" > "$4"',
      'curl -u <user:password> https://example.net/endpoint',
      'curl --user neo4j:[PASSWORD] http://[IP]:7474/db/data/',
      'curl -u "onlyauser" http://localhost:15130/api/check_user/',
      'curl -u admin:token',
      'curl -u "${_user}:${_pass}"',
      'curl -k -X POST -I -u "SVC_BUILD:${APP_ID}"',
      'curl -u ":" https://localhost:9200',
      'curl --user "aaa:bbb"',
      'curl -XGET -i -u "${{ env.ES_USER }}:${{ env.ES_PASS }}"',
      'curl -X POST --user "$(cat ./login.txt):$(cat ./password.txt)"',
      'curl http://127.0.0.1:5000/file --user user:pass --digest',
      'curl --silent --insecure --user ${lbuser}:${lbpass} \\',
      'curl --ssl-reqd "smtps://smtp.example.com" --mail-from "a@example.com" --user "a@example.com" --upload-file out.txt'
    ]
  },
  {
    id: 'databricks-api-token',
    family: 'databricks',
    ident: 'databricks_token',
    tokens: (r) => [
      `dapi${random(r, CHARS.hex, 32)}`,
      `dapi${random(r, CHARS.hex, 32)}-${random(r, CHARS.digits, 1)}`,
      `dapi${random(r, CHARS.hex, 32)}`
    ],
    skipWrappings: URL_ONLY,
    negatives: [
      `DATABRICKS_TOKEN=dapi${random(n, CHARS.digits, 20)}a9bc01234defg5`,
      `DATABRICKS_TOKEN=dapi${random(n, CHARS.hex, 31)}`,
      `DATABRICKS_TOKEN=dapi${random(n, CHARS.hexUpper, 32)}`
    ]
  },
  {
    id: 'datadog-access-token',
    family: 'datadog',
    ident: 'datadog_access_token',
    tokens: (r) => [
      random(r, CHARS.alnum, 40),
      random(r, CHARS.hex, 40),
      random(r, CHARS.lowerAlnum, 40)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('datadog_access_token', CHARS.alnum, 40)
  },
  {
    id: 'defined-networking-api-token',
    family: 'defined-networking',
    ident: 'dnkey',
    tokens: (r) =>
      [1, 2, 3].map(
        () => `dnkey-${random(r, CHARS.alnumExtended, 26)}-${random(r, CHARS.alnumExtended, 52)}`
      ),
    skipWrappings: URL_ONLY,
    negatives: [
      `dnkey = "dnkey-${random(n, CHARS.alnum, 25)}-${random(n, CHARS.alnum, 52)}"`,
      `dnkey = "dnkey-${random(n, CHARS.alnum, 26)}-${random(n, CHARS.alnum, 51)}"`,
      `dnkey = "dnkey-${random(n, CHARS.alnum, 26)}${random(n, CHARS.alnum, 53)}"`
    ]
  },
  {
    id: 'digitalocean-access-token',
    family: 'digitalocean',
    ident: 'do_oauth_token',
    tokens: (r) => [1, 2, 3].map(() => `doo_v1_${random(r, CHARS.hex, 64)}`),
    skipWrappings: URL_ONLY,
    negatives: [
      `token = "doo_v1_${random(n, CHARS.hex, 63)}"`,
      `token = "doo_v1_${random(n, CHARS.hexUpper, 64)}"`,
      `token = "doo_v1_${'ab'.repeat(32)}"`
    ]
  },
  {
    id: 'digitalocean-pat',
    family: 'digitalocean',
    ident: 'do_token',
    tokens: (r) => [1, 2, 3].map(() => `dop_v1_${random(r, CHARS.hex, 64)}`),
    skipWrappings: URL_ONLY,
    negatives: [
      `token = "dop_v1_${random(n, CHARS.hex, 63)}"`,
      `token = "dop_v1_${random(n, CHARS.hexUpper, 64)}"`,
      `token = "dop_v1_${'0f'.repeat(32)}"`
    ]
  },
  {
    id: 'digitalocean-refresh-token',
    family: 'digitalocean',
    ident: 'do_refresh_token',
    tokens: (r) => [
      `dor_v1_${random(r, CHARS.hex, 64)}`,
      `dor_v1_${random(r, CHARS.hexUpper, 64)}`,
      `DOR_V1_${random(r, CHARS.hex, 64)}`
    ],
    skipWrappings: URL_ONLY,
    negatives: [
      `token = "dor_v1_${random(n, CHARS.hex, 63)}"`,
      `token = "dor_v1_${random(n, CHARS.hex, 60)}wxyz"`
    ]
  },
  {
    id: 'discord-api-token',
    family: 'discord',
    ident: 'discord_api_token',
    tokens: (r) => [
      random(r, CHARS.hex, 64),
      random(r, CHARS.hexUpper, 64),
      random(r, CHARS.hex, 64)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('discord_api_token', CHARS.hex, 64)
  },
  {
    id: 'discord-client-id',
    family: 'discord',
    ident: 'discord_client_id',
    tokens: (r) => [1, 2, 3].map(() => digits(r, 18)),
    skipWrappings: URL_ONLY,
    negatives: [
      'discord_client_id=111111111111111111',
      ...offByOne('discord_client_id', CHARS.digits, 18)
    ]
  },
  {
    id: 'discord-client-secret',
    family: 'discord',
    ident: 'discord_client_secret',
    tokens: (r) => [
      random(r, CHARS.alnumExtended, 32),
      random(r, CHARS.digits, 32),
      random(r, CHARS.alnum, 32)
    ],
    skipWrappings: URL_ONLY,
    negatives: [`discord=${'3'.repeat(32)}`, ...offByOne('discord_client_secret', CHARS.alnum, 32)]
  },
  {
    id: 'doppler-api-token',
    family: 'doppler',
    ident: 'doppler_token',
    tokens: (r) => [
      `dp.pt.${random(r, CHARS.alnum, 43)}`,
      `dp.pt.${random(r, CHARS.lowerAlnum, 43)}`,
      `dp.pt.${random(r, CHARS.upperAlnum, 43)}`
    ],
    negatives: [
      `DOPPLER_TOKEN="dp.pt.${random(n, CHARS.alnum, 42)}"`,
      `DOPPLER_TOKEN="dp.pt.${'a'.repeat(43)}"`,
      `DOPPLER_TOKEN="dp.st.${random(n, CHARS.alnum, 43)}"`
    ]
  },
  {
    id: 'droneci-access-token',
    family: 'droneci',
    ident: 'droneci_token',
    tokens: (r) => [
      random(r, CHARS.alnum, 32),
      random(r, CHARS.lowerAlnum, 32),
      random(r, CHARS.hex, 32)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('droneci_token', CHARS.alnum, 32)
  },
  {
    id: 'dropbox-api-token',
    family: 'dropbox',
    ident: 'dropbox_app_secret',
    tokens: (r) => [
      random(r, CHARS.lowerAlnum, 15),
      random(r, CHARS.alnum, 15),
      random(r, CHARS.lowerAlnum, 15)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('dropbox_app_secret', CHARS.lowerAlnum, 15)
  },
  {
    id: 'dropbox-long-lived-api-token',
    family: 'dropbox',
    ident: 'dropbox_token',
    tokens: (r) =>
      [1, 2, 3].map(
        () => `${random(r, CHARS.alnum, 11)}AAAAAAAAAA${random(r, CHARS.alnumExtended, 43)}`
      ),
    skipWrappings: URL_ONLY,
    negatives: [
      `dropbox_token = "${random(n, CHARS.alnum, 11)}AAAAAAAAAB${random(n, CHARS.alnumExtended, 43)}"`,
      `dropbox_token = "${random(n, CHARS.alnum, 11)}AAAAAAAAAA${random(n, CHARS.alnumExtended, 42)}"`
    ]
  },
  {
    id: 'dropbox-short-lived-api-token',
    family: 'dropbox',
    ident: 'dropbox_token',
    tokens: (r) => [1, 2, 3].map(() => `sl.${random(r, CHARS.alnumExtended, 135)}`),
    skipWrappings: URL_ONLY,
    negatives: [
      `dropbox_token = "sl.${random(n, CHARS.alnumExtended, 134)}"`,
      `dropbox_token = "sl.${random(n, CHARS.alnumExtended, 136)}"`
    ]
  },
  {
    id: 'duffel-api-token',
    family: 'duffel',
    ident: 'duffel_token',
    tokens: (r) => [
      `duffel_test_${random(r, CHARS.alnumExtended, 43)}`,
      `duffel_live_${random(r, CHARS.alnumExtended, 43)}`,
      `duffel_live_${random(r, CHARS.alnum, 43)}`
    ],
    negatives: [
      `DUFFEL_TOKEN=duffel_prod_${random(n, CHARS.alnum, 43)}`,
      `DUFFEL_TOKEN="duffel_test_${random(n, CHARS.alnum, 42)}"`
    ]
  },
  {
    id: 'dynatrace-api-token',
    family: 'dynatrace',
    ident: 'dynatrace_token',
    tokens: (r) =>
      [1, 2, 3].map(
        () => `dt0c01.${random(r, CHARS.upperAlnum, 24)}.${random(r, CHARS.alnum, 64)}`
      ),
    negatives: [
      `DT_API_TOKEN="dt0c01.${random(n, CHARS.upperAlnum, 24)}.${random(n, CHARS.alnum, 63)}"`,
      `DT_API_TOKEN="dt0c01.${'A'.repeat(24)}.${'A'.repeat(64)}"`,
      `DT_API_TOKEN="dt0c01.${random(n, CHARS.upperAlnum, 23)}.${random(n, CHARS.alnum, 64)}"`
    ]
  },
  {
    id: 'easypost-api-token',
    family: 'easypost',
    ident: 'easypost_api_key',
    tokens: (r) => [
      `EZAK${random(r, CHARS.alnum, 54)}`,
      `EZAK${random(r, CHARS.lowerAlnum, 54)}`,
      `EZAK${random(r, CHARS.upperAlnum, 54)}`
    ],
    raw: (r) => [`example.com?t=EZAK${random(r, CHARS.alnum, 54)}&q=1`],
    negatives: [
      `...${random(n, CHARS.alnum, 20)}/${random(n, CHARS.alnum, 10)}+EZAK${random(n, CHARS.alnum, 60)}/${random(n, CHARS.alnum, 12)}...`,
      `EASYPOST_API_KEY=EZAK${random(n, CHARS.alnum, 53)}`
    ]
  },
  {
    id: 'easypost-test-api-token',
    family: 'easypost',
    ident: 'easypost_test_key',
    tokens: (r) => [
      `EZTK${random(r, CHARS.alnum, 54)}`,
      `EZTK${random(r, CHARS.lowerAlnum, 54)}`,
      `EZTK${random(r, CHARS.upperAlnum, 54)}`
    ],
    raw: (r) => [`example.com?t=EZTK${random(r, CHARS.alnum, 54)}&q=1`],
    negatives: [
      `...${random(n, CHARS.alnum, 20)}/${random(n, CHARS.alnum, 10)}+EZTK${random(n, CHARS.alnum, 60)}/${random(n, CHARS.alnum, 12)}...`,
      `EASYPOST_TEST_KEY=EZTK${random(n, CHARS.alnum, 53)}`
    ]
  },
  {
    id: 'etsy-access-token',
    family: 'etsy',
    ident: 'etsy_access_token',
    tokens: (r) => [1, 2, 3].map(() => random(r, CHARS.alnum, 24)),
    skipWrappings: URL_ONLY,
    raw: (r) => [
      `ETSY_TOKEN=${random(r, CHARS.alnum, 24)}`,
      `EtsyToken = "${random(r, CHARS.alnum, 24)}"`
    ],
    negatives: [
      `ResetSysParam = "${random(n, CHARS.alnum, 24)}"`,
      '\tif err := netsys.ResetSysctl(bridgeCallTables); err != nil {',
      `${random(n, CHARS.alnum, 30)}ETSY${random(n, CHARS.alnum, 60)}`,
      `etsy_access_token = "${'ab'.repeat(12)}"`
    ]
  },
  {
    id: 'facebook-access-token',
    family: 'facebook',
    ident: 'facebook_access_token',
    tokens: (r) => [
      `${digits(r, 15)}|${random(r, CHARS.alnumExtended, 27)}`,
      `${digits(r, 16)}|${random(r, CHARS.alnumExtended, 40)}`,
      `${digits(r, 15)}%7C${random(r, CHARS.alnum, 30)}`
    ],
    skipWrappings: URL_ONLY,
    raw: (r) => [
      `{"facebook access_token":"${digits(r, 15)}|${random(r, CHARS.alnumExtended, 27)}","token_type":"bearer"}`,
      `facebook ${digits(r, 16)}|${random(r, CHARS.alnumExtended, 27)}`
    ],
    negatives: [
      // no "facebook" in the text: not searched
      `app_token = "${digits(n, 15)}|${random(n, CHARS.alnumExtended, 27)}"`,
      `facebook ${digits(n, 15)}|${random(n, CHARS.alnumExtended, 20)}`,
      `facebook 111111111111111|${'a'.repeat(27)}`
    ]
  },
  {
    id: 'facebook-page-access-token',
    family: 'facebook',
    ident: 'facebook_page_token',
    tokens: (r) => [
      `EAAM${random(r, CHARS.alnum, 150)}`,
      `EAAC${random(r, CHARS.alnum, 100)}`,
      `EAAM${random(r, CHARS.alnum, 230)}`
    ],
    skipWrappings: URL_ONLY,
    raw: (r) => [`- name: FACEBOOK_TOKEN\n  value: "EAAC${random(r, CHARS.alnum, 110)}"`],
    negatives: [
      `eaaaC0${random(n, CHARS.hex, 34)}`,
      `  checksum: eaac${random(n, CHARS.hex, 124)}`,
      `FACEBOOK_TOKEN=EAAM${random(n, CHARS.alnum, 99)}`
    ]
  },
  {
    id: 'facebook-secret',
    family: 'facebook',
    ident: 'facebook_app_secret',
    tokens: (r) => [1, 2, 3].map(() => random(r, CHARS.hex, 32)),
    skipWrappings: URL_ONLY,
    raw: (r) => [`facebook_client_access_token: ${random(r, CHARS.hex, 32)}`],
    negatives: [
      `facebook_app_secret = "${'ab'.repeat(16)}"`,
      ...offByOne('facebook_app_secret', CHARS.hex, 32)
    ]
  },
  {
    id: 'fastly-api-token',
    family: 'fastly',
    ident: 'fastly_api_token',
    tokens: (r) => [
      random(r, CHARS.alnumExtended, 32),
      random(r, CHARS.alnum, 32),
      random(r, CHARS.alnumExtended, 32)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('fastly_api_token', CHARS.alnum, 32)
  },
  {
    id: 'finicity-api-token',
    family: 'finicity',
    ident: 'finicity_app_key',
    tokens: (r) => [
      random(r, CHARS.hex, 32),
      random(r, CHARS.hexUpper, 32),
      random(r, CHARS.hex, 32)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('finicity_app_key', CHARS.hex, 32)
  },
  {
    id: 'finicity-client-secret',
    family: 'finicity',
    ident: 'finicity_client_secret',
    tokens: (r) => [
      random(r, CHARS.alnum, 20),
      random(r, CHARS.lowerAlnum, 20),
      random(r, CHARS.upperAlnum, 20)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('finicity_client_secret', CHARS.alnum, 20)
  },
  {
    id: 'finnhub-access-token',
    family: 'finnhub',
    ident: 'finnhub_token',
    tokens: (r) => [
      random(r, CHARS.lowerAlnum, 20),
      random(r, CHARS.alnum, 20),
      random(r, CHARS.lowerAlnum, 20)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('finnhub_token', CHARS.lowerAlnum, 20)
  },
  {
    id: 'flickr-access-token',
    family: 'flickr',
    ident: 'flickr_api_key',
    tokens: (r) => [
      random(r, CHARS.hex, 32),
      random(r, CHARS.alnum, 32),
      random(r, CHARS.lowerAlnum, 32)
    ],
    skipWrappings: URL_ONLY,
    negatives: offByOne('flickr_api_key', CHARS.hex, 32)
  },
  {
    id: 'flutterwave-encryption-key',
    family: 'flutterwave',
    ident: 'flutterwave_encryption_key',
    tokens: (r) => [
      `FLWSECK_TEST-${random(r, CHARS.hex, 12)}`,
      `FLWSECK_TEST-${random(r, A_TO_H_DIGITS, 12)}`,
      `FLWSECK_TEST-${random(r, A_TO_H_DIGITS.toUpperCase(), 12)}`
    ],
    negatives: [
      `FLW_ENCRYPTION_KEY="FLWSECK_TEST-${random(n, CHARS.hex, 11)}"`,
      `FLW_ENCRYPTION_KEY="FLWSECK_TEST-zzzz${random(n, CHARS.hex, 8)}"`,
      `FLW_ENCRYPTION_KEY="FLWSECK_TEST_${random(n, CHARS.hex, 12)}"`
    ]
  },
  {
    id: 'flutterwave-public-key',
    family: 'flutterwave',
    ident: 'flutterwave_public_key',
    tokens: (r) => [
      `FLWPUBK_TEST-${random(r, CHARS.hex, 32)}-X`,
      `FLWPUBK_TEST-${random(r, A_TO_H_DIGITS, 32)}-X`,
      `FLWPUBK_TEST-${random(r, CHARS.hexUpper, 32)}-X`
    ],
    negatives: [
      `FLW_PUBLIC_KEY="FLWPUBK_TEST-${random(n, CHARS.hex, 32)}-Y"`,
      `FLW_PUBLIC_KEY="FLWPUBK_TEST-${random(n, CHARS.hex, 31)}-X"`
    ]
  },
  {
    id: 'flutterwave-secret-key',
    family: 'flutterwave',
    ident: 'flutterwave_secret_key',
    tokens: (r) => [
      `FLWSECK_TEST-${random(r, CHARS.hex, 32)}-X`,
      `FLWSECK_TEST-${random(r, A_TO_H_DIGITS, 32)}-X`,
      `FLWSECK_TEST-${random(r, CHARS.hex, 32)}-x`
    ],
    negatives: [
      `FLW_SECRET_KEY="FLWSECK_TEST-${random(n, CHARS.hex, 32)}-Z"`,
      `FLW_SECRET_KEY="FLWSECK_TEST-${random(n, CHARS.hex, 31)}-X"`
    ]
  },
  {
    id: 'flyio-access-token',
    family: 'flyio',
    ident: 'fly_api_token',
    tokens: (r) => [
      `fo1_${random(r, CHARS.alnumExtended, 43)}`,
      `fm1r_${random(r, CHARS.base64, 180)}==`,
      `fm1a_${random(r, CHARS.base64, 120)}`,
      `fm2_${random(r, CHARS.base64, 300)}=`
    ],
    skipWrappings: URL_ONLY,
    raw: (r) => [
      `Fly access token: fo1_${random(r, CHARS.alnumExtended, 43)}\n`,
      `${'='.repeat(60)}\nfo1_${random(r, CHARS.alnumExtended, 43)}\nfly deploy`,
      `ENV FLY_API_TOKEN="FlyV1 fm2_${random(r, CHARS.base64, 400)}"`
    ],
    negatives: [
      `  api_key = "fo1_${'x'.repeat(43)}"`,
      'pub const SYSTEMINFO1_PAGES_PERF_COUNTERS_LIMIT_THRESHOLD: u32 = 8u32;',
      `<input type="hidden" name="authenticity_token" value="7SWa-Fo1_${random(n, CHARS.alnumExtended, 80)}" />`,
      `FLY_API_TOKEN=fo1_${random(n, CHARS.alnumExtended, 42)}`
    ]
  },
  {
    id: 'frameio-api-token',
    family: 'frameio',
    ident: 'frameio_token',
    tokens: (r) => [
      `fio-u-${random(r, CHARS.alnumExtended, 64)}`,
      `fio-u-${random(r, CHARS.alnum, 64)}`,
      `fio-u-${random(r, CHARS.lowerAlnum, 64)}`
    ],
    negatives: [
      `FRAMEIO_TOKEN="fio-u-${random(n, CHARS.alnumExtended, 63)}"`,
      `FRAMEIO_TOKEN="fio-x-${random(n, CHARS.alnumExtended, 64)}"`
    ]
  },

  // ---- Ids of our own. ----

  {
    id: 'aws-secret-access-key',
    family: 'aws',
    ident: 'aws_secret_access_key',
    tokens: (r) => [
      random(r, CHARS.base64, 40),
      random(r, CHARS.alnum, 40),
      `${random(r, CHARS.base64, 39)}+`
    ],
    // X-aws-secret-access-key: dashes are not part of the names the rule knows.
    skipWrappings: ['header'],
    raw: (r) => [
      `aws_secret_key = ${random(r, CHARS.base64, 40)}`,
      `"SecretAccessKey": "${random(r, CHARS.base64, 40)}",`,
      `[default]\naws_access_key_id = AKIA${within(r, BASE32, 16)}\naws_secret_access_key = ${random(r, CHARS.base64, 40)}\n`
    ],
    negatives: [
      `aws_secret_access_key = ${random(n, CHARS.base64, 39)}`,
      `aws_secret_access_key = ${random(n, CHARS.alnum, 41)}`,
      `aws_secret_access_key = ${'A'.repeat(40)}`,
      `aws_secret_access_key = ${random(n, CHARS.alnum, 30)}EXAMPLEKEY`,
      `secret = ${random(n, CHARS.base64, 40)}`
    ]
  },
  {
    id: 'azure-storage-account-key',
    family: 'azure',
    ident: 'azure_storage_connection_string',
    tokens: () => [],
    skipWrappings: ALL_WRAPPINGS,
    raw: (r) => [
      `DefaultEndpointsProtocol=https;AccountName=${random(r, CHARS.lowerAlnum, 12)};AccountKey=${random(r, CHARS.base64, 86)}==;EndpointSuffix=core.windows.net`,
      `AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=${random(r, CHARS.lowerAlnum, 10)};AccountKey=${random(r, CHARS.base64, 86)}=="`,
      `"connectionString": "AccountName=${random(r, CHARS.lowerAlnum, 8)};AccountKey=${random(r, CHARS.base64, 86)}==;BlobEndpoint=https://x.blob.core.windows.net/"`
    ],
    negatives: [
      `DefaultEndpointsProtocol=https;AccountName=demo;AccountKey=${random(n, CHARS.base64, 85)}==;EndpointSuffix=core.windows.net`,
      'DefaultEndpointsProtocol=https;AccountName=demo;AccountKey=<your-account-key>;EndpointSuffix=core.windows.net'
    ]
  },
  {
    id: 'basic-auth-url',
    family: 'generic',
    ident: 'repository_url',
    tokens: (r) => [
      `https://${random(r, CHARS.lower, 6)}:${random(r, CHARS.alnumExtended, 16)}@git.example.org`,
      `http://${random(r, CHARS.lowerAlnum, 8)}:${random(r, CHARS.alnum, 12)}@registry.example.com`,
      `ftp://${random(r, CHARS.lower, 5)}_${random(r, CHARS.lower, 3)}:${random(r, CHARS.alnum, 10)}@files.example.net`
    ],
    raw: (r) => [
      `git remote add origin https://deploy:${random(r, CHARS.alnum, 20)}@git.example.org/team/app.git`,
      `pip install --index-url https://ci-bot:${random(r, CHARS.alnumExtended, 24)}@pypi.example.com/simple/ app`
    ],
    negatives: [
      'https://user:password@example.com',
      'https://admin:xxxx@example.com/login',
      `https://a:${random(n, CHARS.alnum, 12)}@example.com`,
      'https://admin:abc@example.com',
      `https://myusername:${random(n, CHARS.alnum, 12)}@example.com`,
      `https://deploy:YOUR_PASSWORD@example.com`,
      `postgres://app:${random(n, CHARS.alnum, 12)}@db.example.com:5432/app`
    ]
  },
  {
    id: 'cloudflare-user-api-token',
    family: 'cloudflare',
    ident: 'cloudflare_user_token',
    tokens: (r) =>
      [1, 2, 3].map(() => `cfut_${random(r, CHARS.alnum, 40)}${random(r, CHARS.hex, 8)}`),
    negatives: [
      `CF_TOKEN=cfut_${random(n, CHARS.alnum, 40)}${random(n, CHARS.upper, 8)}`,
      `CF_TOKEN=cfut_${random(n, CHARS.alnum, 39)}${random(n, CHARS.hex, 8)}`,
      `CF_TOKEN=xcfut_${random(n, CHARS.alnum, 40)}${random(n, CHARS.hex, 8)}`
    ]
  },
  {
    id: 'cloudflare-account-api-token',
    family: 'cloudflare',
    ident: 'cloudflare_account_token',
    tokens: (r) =>
      [1, 2, 3].map(() => `cfat_${random(r, CHARS.alnum, 40)}${random(r, CHARS.hex, 8)}`),
    negatives: [
      `CF_TOKEN=cfat_${random(n, CHARS.alnum, 40)}${random(n, CHARS.upper, 8)}`,
      `CF_TOKEN=cfat_${random(n, CHARS.alnum, 48)}${random(n, CHARS.hex, 8)}`
    ]
  },
  {
    id: 'discord-bot-token',
    family: 'discord',
    ident: 'discord_bot_token',
    tokens: (r) => [discordBotToken(r, 18), discordBotToken(r, 19), discordBotToken(r, 20)],
    negatives: [
      `DISCORD_BOT_TOKEN=N${random(n, CHARS.alnumExtended, 23)}.${random(n, CHARS.alnumExtended, 6)}.${random(n, CHARS.alnumExtended, 30)}`,
      `DISCORD_BOT_TOKEN=${Buffer.from('12345678901234567a').toString('base64url')}.${random(n, CHARS.alnumExtended, 6)}.${random(n, CHARS.alnumExtended, 30)}`,
      `DISCORD_BOT_TOKEN=${Buffer.from(digits(n, 18)).toString('base64url')}.${random(n, CHARS.alnumExtended, 6)}.${random(n, CHARS.alnumExtended, 20)}`
    ]
  },
  {
    id: 'discord-webhook-url',
    family: 'discord',
    ident: 'discord_webhook',
    tokens: (r) => [
      `https://discord.com/api/webhooks/${digits(r, 18)}/${random(r, CHARS.alnumExtended, 68)}`,
      `https://discordapp.com/api/webhooks/${digits(r, 19)}/${random(r, CHARS.alnumExtended, 68)}`,
      `https://ptb.discord.com/api/webhooks/${digits(r, 17)}/${random(r, CHARS.alnumExtended, 64)}`,
      `https://canary.discord.com/api/webhooks/${digits(r, 20)}/${random(r, CHARS.alnumExtended, 70)}`
    ],
    negatives: [
      `https://discord.com/api/webhooks/123/${random(n, CHARS.alnumExtended, 68)}`,
      `https://example.com/api/webhooks/${digits(n, 18)}/${random(n, CHARS.alnumExtended, 68)}`,
      `https://discord.com/api/webhooks/${digits(n, 18)}/${random(n, CHARS.alnumExtended, 40)}`
    ]
  },
  {
    id: 'docker-pat',
    family: 'docker',
    ident: 'docker_token',
    tokens: (r) => [1, 2, 3].map(() => `dckr_pat_${random(r, CHARS.alnumExtended, 27)}`),
    negatives: [
      `DOCKER_TOKEN=dckr_pat_${random(n, CHARS.alnumExtended, 26)}`,
      `DOCKER_TOKEN=dckr_pat_${random(n, CHARS.alnum, 28)}`,
      `DOCKER_TOKEN=xdckr_pat_${random(n, CHARS.alnum, 27)}`
    ]
  },
  {
    id: 'figma-pat',
    family: 'figma',
    ident: 'figma_token',
    tokens: (r) => [
      `figd_${random(r, CHARS.alnumExtended, 40)}`,
      `figd_${random(r, CHARS.alnumExtended, 120)}`,
      `figd_${random(r, CHARS.alnum, 200)}`
    ],
    negatives: [
      `FIGMA_TOKEN=figd_${random(n, CHARS.alnumExtended, 39)}`,
      `FIGMA_TOKEN=xfigd_${random(n, CHARS.alnum, 43)}`,
      `FIGMA_TOKEN=figd_${random(n, CHARS.alnum, 201)}`
    ]
  }
];
