// Samples for the group C rules (./../../../packages/security/src/secrets/ruleset/rules-c.ts):
// generated token values of each format, whole texts for what cannot be
// wrapped, and lines the rule must leave alone (placeholders, documentation
// values, low entropy, a value one character short or long).

import {
  ALL_WRAPPINGS,
  CHARS,
  random,
  rng,
  type Rng,
  type RuleSamples,
  type WrappingName
} from './kit.ts';

/** A URL query goes on with '&', which is not one of gitleaks' token ends. */
const NO_URL: WrappingName[] = ['url'];

/** Alphabet of \w plus '-' (gitleaks' [\w-]). */
const WORD_DASH = CHARS.alnumExtended;

const hexUuid = (r: Rng, upper = false): string => {
  const cs = upper ? CHARS.hexUpper : CHARS.hex;
  return [8, 4, 4, 4, 12].map((n) => random(r, cs, n)).join('-');
};
/** A run of random characters from `cs` whose last one is from `last` (e.g. a token that must end on a word character). */
const endingWith = (r: Rng, cs: string, n: number, last: string): string =>
  random(r, cs, n - 1) + random(r, last, 1);
const digits = (r: Rng, n: number): string =>
  random(r, '123456789', 1) + random(r, CHARS.digits, n - 1);

// Negatives are fixed lines, generated once from their own seed.
const n = rng('samples-c negatives');

/** A PEM block of `label` with `lines` lines of 64 base64 characters (and a shorter last one). */
function pem(r: Rng, label: string, lines: number, eol = '\n', headers: string[] = []): string {
  const body: string[] = [...headers];
  for (let i = 0; i < lines; i++) body.push(random(r, CHARS.base64, 64));
  body.push(random(r, CHARS.base64, 20) + '==');
  return [`-----BEGIN ${label}-----`, ...body, `-----END ${label}-----`].join(eol);
}

function sentryOrgToken(r: Rng): string {
  const json = JSON.stringify({
    iat: Number(`${digits(r, 10)}.${random(r, CHARS.digits, 5)}`),
    url: `https://${random(r, CHARS.lower, 12)}.example.io`,
    region_url: `https://${random(r, CHARS.lower, 6)}.${random(r, CHARS.lower, 10)}.example.io`,
    org: random(r, CHARS.lowerAlnum, 8)
  });
  return `sntrys_${Buffer.from(json).toString('base64')}_${random(r, CHARS.base64, 43)}`;
}

export const SAMPLES_C: RuleSamples[] = [
  {
    id: 'nuget-config-password',
    family: 'nuget',
    ident: 'nuget_password',
    path: 'src/NuGet.Config',
    tokens: (r) => [
      random(r, CHARS.alnum, 12),
      random(r, CHARS.alnum, 20),
      `${random(r, CHARS.alnum, 8)}-${random(r, CHARS.alnum, 6)}`
    ],
    skipWrappings: ALL_WRAPPINGS,
    raw: (r) => [
      `    <add key="Password" value="${random(r, CHARS.alnum, 14)}" />`,
      `<add key="ClearTextPassword" value="${random(r, CHARS.alnum, 10)}%${random(r, CHARS.alnum, 4)}"/>`,
      `      <add key="cleartextpassword"   value="${random(r, CHARS.alnum, 9)}!${random(r, CHARS.alnum, 5)}" />`,
      `<packageSourceCredentials>\n  <feed>\n    <add key="Username" value="ci" />\n    <add key="ClearTextPassword" value="${random(r, CHARS.alnum, 16)}" />\n  </feed>\n</packageSourceCredentials>`
    ],
    negatives: [
      '<add key="ClearTextPassword" value="ZZZZZZZZZZZZ" />',
      '<add key="ClearTextPassword" value="pw12" />',
      '<add key="ClearTextPassword" value="%FEED_PASSWORD%" />',
      '<add key="ClearTextPassword" value="33f!!lloppa" />',
      '<add key="ClearTextPassword" value="hal+9ooo_da!sY" />',
      '<add key="Username" value="build-agent-account" />'
    ]
  },
  {
    id: 'nytimes-access-token',
    family: 'nytimes',
    ident: 'nytimes_api_key',
    tokens: (r) => [
      random(r, CHARS.alnum, 32),
      random(r, CHARS.lowerAlnum, 32),
      random(r, CHARS.alnumExtended + '=', 32)
    ],
    skipWrappings: NO_URL,
    negatives: [
      `NYTIMES_API_KEY=${random(n, CHARS.alnum, 31)}`,
      `NYTIMES_API_KEY=${random(n, CHARS.alnum, 33)}`,
      `API_KEY=${random(n, CHARS.alnum, 32)}`
    ]
  },
  {
    id: 'octopus-deploy-api-key',
    family: 'octopus',
    ident: 'octopus_api_key',
    tokens: (r) => [0, 1, 2].map(() => `API-${random(r, CHARS.upperAlnum, 26)}`),
    skipWrappings: NO_URL,
    negatives: [
      'msgstr "GSSAPI-KUVAUSOHJELMANKAYTTOLIITTYMA."',
      `https://example.notion.site/API-${random(n, CHARS.hexUpper, 32)}`,
      `<img src="./gifs/api-${random(n, CHARS.hex, 26)}.gif">`,
      'OCTOPUS_API_KEY=API-XXXXXXXXXXXXXXXXXXXXXXXXXX'
    ]
  },
  {
    id: 'okta-access-token',
    family: 'okta',
    ident: 'okta_api_token',
    tokens: (r) => [
      `00${random(r, CHARS.alnum, 40)}`,
      `00${random(r, WORD_DASH, 40)}`,
      `00${random(r, WORD_DASH + '=', 40)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      'oktaKey = 00000000000000000000000000000000000LMNOPQR',
      `brookTable = 00${random(n, CHARS.alnum, 40)}`,
      `OKTA_API_TOKEN=00${random(n, CHARS.alnum, 39)}`
    ]
  },
  {
    id: 'openai-api-key',
    family: 'openai',
    ident: 'openai_api_key',
    tokens: (r) => [
      `sk-${random(r, CHARS.alnum, 20)}T3BlbkFJ${random(r, CHARS.alnum, 20)}`,
      `sk-proj-${random(r, WORD_DASH, 74)}T3BlbkFJ${endingWith(r, WORD_DASH, 74, CHARS.alnum)}`,
      `sk-svcacct-${random(r, WORD_DASH, 58)}T3BlbkFJ${endingWith(r, WORD_DASH, 58, CHARS.alnum)}`,
      `sk-admin-${random(r, WORD_DASH, 58)}T3BlbkFJ${endingWith(r, WORD_DASH, 58, CHARS.alnum)}`,
      `sk-proj-${random(r, WORD_DASH, 58)}T3BlbkFJ${endingWith(r, WORD_DASH, 74, CHARS.alnum)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      'OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxT3BlbkFJxxxxxxxxxxxxxxxxxxxx',
      `OPENAI_API_KEY=sk-${random(n, CHARS.alnum, 19)}T3BlbkFJ${random(n, CHARS.alnum, 20)}`,
      `OPENAI_API_KEY=sk-proj-${random(n, CHARS.alnum, 48)}`
    ]
  },
  {
    id: 'openshift-user-token',
    family: 'openshift',
    ident: 'oc_token',
    tokens: (r) => [
      `sha256~${random(r, CHARS.alnum, 43)}`,
      `sha256~${random(r, WORD_DASH, 43)}`,
      `sha256~${endingWith(r, WORD_DASH, 43, '-')}`
    ],
    raw: (r) => [
      `oc login --token=sha256~${random(r, WORD_DASH, 43)} --server=https://api.cluster.example:6443`,
      `Authorization: Bearer sha256~${random(r, CHARS.alnum, 43)}`
    ],
    negatives: [
      '--set kube.token="sha256~XXXXXXXXXXXXX_PUT_YOUR_TOKEN_HERE_XXXXXXXXX" \\',
      'oc login --token=sha256~_xxxxxx_xxxxxxxxxxxxxxxxxxxxxx-xxxxxxxxxx-X \\',
      `oc login --token=sha256~${random(n, CHARS.alnum, 42)}`,
      `image: quay.io/app@sha256:${random(n, CHARS.hex, 64)}`
    ]
  },
  {
    id: 'perplexity-api-key',
    family: 'perplexity',
    ident: 'perplexity_api_key',
    tokens: (r) => [0, 1, 2].map(() => `pplx-${random(r, CHARS.alnum, 48)}`),
    negatives: [
      'PERPLEXITY_API_KEY=pplx-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      `PERPLEXITY_API_KEY=pplx-${random(n, CHARS.alnum, 47)}`,
      `PERPLEXITY_API_KEY=pplx-${random(n, CHARS.alnum, 49)}`
    ]
  },
  {
    id: 'pkcs12-file',
    family: 'pkcs12',
    ident: 'keystore',
    path: 'deploy/certs/client-bundle.p12',
    tokens: () => [],
    skipWrappings: ALL_WRAPPINGS,
    raw: (r) => [random(r, CHARS.base64, 48)]
  },
  {
    id: 'plaid-api-token',
    family: 'plaid',
    ident: 'plaid_access_token',
    tokens: (r) =>
      ['sandbox', 'development', 'production'].map((env) => `access-${env}-${hexUuid(r)}`),
    skipWrappings: NO_URL,
    negatives: [
      `PLAID_ACCESS_TOKEN=access-staging-${hexUuid(n)}`,
      `ACCESS_TOKEN=access-sandbox-${hexUuid(n)}`,
      `PLAID_ACCESS_TOKEN=access-sandbox-${hexUuid(n).slice(0, -1)}`
    ]
  },
  {
    id: 'plaid-client-id',
    family: 'plaid',
    ident: 'plaid_client_id',
    tokens: (r) => [
      random(r, CHARS.lowerAlnum, 24),
      random(r, CHARS.alnum, 24),
      random(r, CHARS.upperAlnum, 24)
    ],
    skipWrappings: NO_URL,
    negatives: [
      'PLAID_CLIENT_ID=aaaaaaaaaaaabbbbbbbbbbbb',
      `PLAID_CLIENT_ID=${random(n, CHARS.lowerAlnum, 23)}`,
      `CLIENT_ID=${random(n, CHARS.lowerAlnum, 24)}`
    ]
  },
  {
    id: 'plaid-secret-key',
    family: 'plaid',
    ident: 'plaid_secret',
    tokens: (r) => [
      random(r, CHARS.lowerAlnum, 30),
      random(r, CHARS.alnum, 30),
      random(r, CHARS.upperAlnum, 30)
    ],
    skipWrappings: NO_URL,
    negatives: [
      'PLAID_SECRET=000000000000000000000000000000',
      `PLAID_SECRET=${random(n, CHARS.lowerAlnum, 29)}`,
      `SECRET=${random(n, CHARS.lowerAlnum, 30)}`
    ]
  },
  {
    id: 'planetscale-api-token',
    family: 'planetscale',
    ident: 'planetscale_token',
    tokens: (r) => [32, 43, 64].map((len) => `pscale_tkn_${random(r, CHARS.alnumExtended, len)}`),
    skipWrappings: NO_URL,
    negatives: [
      `PLANETSCALE_TOKEN=pscale_tkn_${random(n, CHARS.alnum, 31)}`,
      'PLANETSCALE_TOKEN=pscale_tkn_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      `PLANETSCALE_TOKEN=pscale_tkn_${random(n, CHARS.alnum, 65)}`
    ]
  },
  {
    id: 'planetscale-oauth-token',
    family: 'planetscale',
    ident: 'planetscale_oauth_token',
    tokens: (r) => [32, 43, 64].map((len) => `pscale_oauth_${random(r, CHARS.alnumExtended, len)}`),
    skipWrappings: NO_URL,
    negatives: [
      `PLANETSCALE_OAUTH=pscale_oauth_${random(n, CHARS.alnum, 31)}`,
      'PLANETSCALE_OAUTH=pscale_oauth_................................'
    ]
  },
  {
    id: 'planetscale-password',
    family: 'planetscale',
    ident: 'planetscale_password',
    tokens: (r) => [
      `pscale_pw_${random(r, CHARS.alnumExtended, 32)}`,
      `pscale_pw_${random(r, CHARS.alnumExtended, 43)}`,
      `PSCALE_PW_${random(r, CHARS.alnumExtended, 64)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `DATABASE_PASSWORD=pscale_pw_${random(n, CHARS.alnum, 31)}`,
      'DATABASE_PASSWORD=pscale_pw_abababababababababababababababab'
    ]
  },
  {
    id: 'postman-api-token',
    family: 'postman',
    ident: 'postman_api_key',
    tokens: (r) => [
      `PMAK-${random(r, CHARS.hex, 24)}-${random(r, CHARS.hex, 34)}`,
      `PMAK-${random(r, CHARS.hexUpper, 24)}-${random(r, CHARS.hexUpper, 34)}`,
      `PMAK-${random(r, CHARS.hex, 24)}-${random(r, CHARS.hex + 'ABCDEF', 34)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `POSTMAN_API_KEY=PMAK-${random(n, CHARS.hex, 24)}-${random(n, CHARS.hex, 33)}`,
      `POSTMAN_API_KEY=pmak-${random(n, CHARS.hex, 24)}-${random(n, CHARS.hex, 34)}`,
      'POSTMAN_API_KEY=PMAK-000000000000000000000000-0000000000000000000000000000000000'
    ]
  },
  {
    id: 'prefect-api-token',
    family: 'prefect',
    ident: 'prefect_api_key',
    tokens: (r) => [0, 1, 2].map(() => `pnu_${random(r, CHARS.alnum, 36)}`),
    skipWrappings: NO_URL,
    negatives: [
      'PREFECT_API_KEY = "pnu_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"',
      `PREFECT_API_KEY = "pnu_${random(n, CHARS.alnum, 35)}"`
    ]
  },
  {
    id: 'private-key',
    family: 'private-key',
    ident: 'private_key',
    // One-line forms (a JSON string with \n escapes): they survive any wrapping.
    tokens: (r) => [
      `-----BEGIN PRIVATE KEY-----\\n${random(r, CHARS.base64, 64)}\\n${random(r, CHARS.base64, 40)}\\n-----END PRIVATE KEY-----`,
      `-----BEGIN RSA PRIVATE KEY-----\\n${random(r, CHARS.base64, 64)}\\n${random(r, CHARS.base64, 64)}\\n-----END RSA PRIVATE KEY-----`,
      `-----BEGIN EC PRIVATE KEY-----\\n${random(r, CHARS.base64, 64)}\\n${random(r, CHARS.base64, 32)}==\\n-----END EC PRIVATE KEY-----`
    ],
    raw: (r) => [
      pem(r, 'PRIVATE KEY', 4),
      pem(r, 'RSA PRIVATE KEY', 8),
      pem(r, 'EC PRIVATE KEY', 2),
      pem(r, 'DSA PRIVATE KEY', 3),
      pem(r, 'OPENSSH PRIVATE KEY', 5),
      pem(r, 'ENCRYPTED PRIVATE KEY', 6),
      pem(r, 'RSA PRIVATE KEY', 4, '\r\n', [
        'Proc-Type: 4,ENCRYPTED',
        `DEK-Info: AES-128-CBC,${random(r, CHARS.hexUpper, 32)}`,
        ''
      ]),
      pem(r, 'PGP PRIVATE KEY BLOCK', 5, '\n', ['Version: GnuPG v2', '']),
      `tls:\n  key: |\n    ${pem(r, 'PRIVATE KEY', 3).split('\n').join('\n    ')}\n`,
      `{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\n${random(r, CHARS.base64, 64)}\\n${random(r, CHARS.base64, 64)}\\n-----END PRIVATE KEY-----\\n"}`
    ],
    negatives: [
      '-----BEGIN PRIVATE KEY-----\nplaceholder\n-----END PRIVATE KEY-----',
      '-----BEGIN OPENSSH PRIVATE KEY----------END OPENSSH PRIVATE KEY-----',
      pem(n, 'PUBLIC KEY', 4),
      pem(n, 'CERTIFICATE', 6),
      'Paste the key between -----BEGIN PRIVATE KEY----- and the closing line.'
    ]
  },
  {
    id: 'privateai-api-token',
    family: 'privateai',
    ident: 'private_ai_token',
    tokens: (r) => [0, 1, 2].map(() => random(r, CHARS.lowerAlnum, 32)),
    skipWrappings: NO_URL,
    negatives: [
      'const privateaiToken = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";',
      `const privateaiToken = "${random(n, CHARS.upperAlnum, 32)}";`,
      `const privateaiToken = "${random(n, CHARS.lowerAlnum, 31)}";`
    ]
  },
  {
    id: 'pulumi-api-token',
    family: 'pulumi',
    ident: 'pulumi_access_token',
    tokens: (r) => [0, 1, 2].map(() => `pul-${random(r, CHARS.hex, 40)}`),
    skipWrappings: NO_URL,
    negatives: [
      `<img src="./assets/vipul-${random(n, CHARS.hex, 64)}.png" alt="">`,
      `PULUMI_ACCESS_TOKEN=pul-${random(n, CHARS.hex, 39)}`,
      `PULUMI_ACCESS_TOKEN=pul-${random(n, CHARS.hexUpper, 40)}`
    ]
  },
  {
    id: 'pypi-upload-token',
    family: 'pypi',
    ident: 'pypi_token',
    tokens: (r) => [
      `pypi-AgEIcHlwaS5vcmc${random(r, CHARS.hex, 64)}`,
      `pypi-AgEIcHlwaS5vcmc${random(r, WORD_DASH, 50)}`,
      `pypi-AgEIcHlwaS5vcmc${random(r, WORD_DASH, 160)}`
    ],
    negatives: [
      `TWINE_PASSWORD=pypi-AgEIcHlwaS5vcmc${random(n, CHARS.alnum, 49)}`,
      'TWINE_PASSWORD=pypi-AgEIcHlwaS5vcmcxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      `TWINE_PASSWORD=pypi-AgEIcHlwaS5leGFtcGxlLm9yZw${random(n, CHARS.alnum, 60)}`
    ]
  },
  {
    id: 'rapidapi-access-token',
    family: 'rapidapi',
    ident: 'rapidapi_key',
    tokens: (r) => [
      random(r, CHARS.alnum, 50),
      random(r, CHARS.alnumExtended, 50),
      random(r, CHARS.lowerAlnum, 50)
    ],
    skipWrappings: NO_URL,
    negatives: [
      `RAPIDAPI_KEY=${random(n, CHARS.alnum, 49)}`,
      `RAPIDAPI_KEY=${random(n, CHARS.alnum, 51)}`,
      `API_KEY=${random(n, CHARS.alnum, 50)}`
    ]
  },
  {
    id: 'readme-api-token',
    family: 'readme',
    ident: 'readme_api_key',
    tokens: (r) => [0, 1, 2].map(() => `rdme_${random(r, CHARS.lowerAlnum, 70)}`),
    skipWrappings: NO_URL,
    negatives: [
      `const API_KEY = 'rdme_${'Z'.repeat(70)}';`,
      `const API_KEY = 'rdme_${random(n, CHARS.lowerAlnum, 69)}';`,
      `const API_KEY = 'rdme_${random(n, CHARS.upperAlnum, 70)}';`
    ]
  },
  {
    id: 'rubygems-api-token',
    family: 'rubygems',
    ident: 'gem_host_api_key',
    tokens: (r) => [0, 1, 2].map(() => `rubygems_${random(r, CHARS.hex, 48)}`),
    skipWrappings: NO_URL,
    negatives: [
      `GEM_HOST_API_KEY=rubygems_${random(n, CHARS.hex, 47)}`,
      `GEM_HOST_API_KEY=rubygems_${random(n, CHARS.lowerAlnum, 48)}x`
    ]
  },
  {
    id: 'scalingo-api-token',
    family: 'scalingo',
    ident: 'scalingo_api_token',
    tokens: (r) => [
      `tk-us-${random(r, CHARS.lowerAlnum, 48)}`,
      `tk-us-${random(r, WORD_DASH, 48)}`,
      `tk-us-${random(r, CHARS.lowerAlnum + '_-', 48)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `SCALINGO_API_TOKEN=tk-us-${random(n, CHARS.lowerAlnum, 47)}`,
      `SCALINGO_API_TOKEN=tk-eu-${random(n, CHARS.lowerAlnum, 48)}`
    ]
  },
  {
    id: 'sendbird-access-id',
    family: 'sendbird',
    ident: 'sendbird_app_id',
    tokens: (r) => [hexUuid(r), hexUuid(r, true), hexUuid(r)],
    skipWrappings: NO_URL,
    negatives: [
      `APP_ID=${hexUuid(n)}`,
      `SENDBIRD_APP_ID=${hexUuid(n).slice(1)}`,
      `SENDBIRD_APP_ID=${random(n, CHARS.lower, 8)}-0000-0000-0000-000000000000`
    ]
  },
  {
    id: 'sendbird-access-token',
    family: 'sendbird',
    ident: 'sendbird_api_token',
    tokens: (r) => [
      random(r, CHARS.hex, 40),
      random(r, CHARS.hexUpper, 40),
      random(r, CHARS.hex, 40)
    ],
    skipWrappings: NO_URL,
    negatives: [
      `SENDBIRD_API_TOKEN=${random(n, CHARS.hex, 39)}`,
      `API_TOKEN=${random(n, CHARS.hex, 40)}`,
      `SENDBIRD_API_TOKEN=${random(n, CHARS.lower, 40)}`
    ]
  },
  {
    id: 'sendgrid-api-token',
    family: 'sendgrid',
    ident: 'sendgrid_api_key',
    tokens: (r) =>
      [0, 1, 2].map(
        () => `SG.${random(r, CHARS.alnumExtended, 22)}.${random(r, CHARS.alnumExtended, 43)}`
      ),
    skipWrappings: NO_URL,
    negatives: [
      `SENDGRID_API_KEY=SG.${random(n, CHARS.alnum, 22)}.${random(n, CHARS.alnum, 42)}`,
      `SENDGRID_API_KEY=sg.${random(n, CHARS.alnum, 22)}.${random(n, CHARS.alnum, 43)}`,
      'SENDGRID_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
    ]
  },
  {
    id: 'sendinblue-api-token',
    family: 'sendinblue',
    ident: 'sendinblue_api_key',
    tokens: (r) => [
      `xkeysib-${random(r, CHARS.hex, 64)}-${random(r, CHARS.alnum, 16)}`,
      `xkeysib-${random(r, CHARS.hex, 64)}-${random(r, CHARS.lowerAlnum, 16)}`,
      `xkeysib-${random(r, CHARS.hex, 64)}-${random(r, CHARS.upperAlnum, 16)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `BREVO_API_KEY=xkeysib-${random(n, CHARS.hex, 63)}-${random(n, CHARS.alnum, 16)}`,
      `BREVO_API_KEY=xkeysib-${random(n, CHARS.hex, 64)}-${random(n, CHARS.alnum, 15)}`
    ]
  },
  {
    id: 'sentry-access-token',
    family: 'sentry',
    ident: 'sentry_auth_token',
    tokens: (r) => [
      random(r, CHARS.hex, 64),
      random(r, CHARS.hexUpper, 64),
      random(r, CHARS.hex, 64)
    ],
    skipWrappings: NO_URL,
    negatives: [
      `SENTRY_AUTH_TOKEN=${'ab'.repeat(32)}`,
      `SENTRY_AUTH_TOKEN=${random(n, CHARS.hex, 63)}`,
      `AUTH_TOKEN=${random(n, CHARS.hex, 64)}`
    ]
  },
  {
    id: 'sentry-org-token',
    family: 'sentry',
    ident: 'sentry_auth_token',
    tokens: (r) => [sentryOrgToken(r), sentryOrgToken(r), sentryOrgToken(r)],
    raw: (r) => [
      `<token>${sentryOrgToken(r)}</token>`,
      `https://example.com?token=${sentryOrgToken(r)}&other=stuff`
    ],
    negatives: [
      `SENTRY_AUTH_TOKEN=sntrys_${random(n, CHARS.alnum, 90)}_${random(n, CHARS.alnum, 43)}`,
      `SENTRY_AUTH_TOKEN=${sentryOrgToken(n).slice(0, -1)}`,
      `SENTRY_AUTH_TOKEN=${sentryOrgToken(n)}${random(n, CHARS.alnum, 1)}`
    ]
  },
  {
    id: 'sentry-user-token',
    family: 'sentry',
    ident: 'sentry_auth_token',
    tokens: (r) => [0, 1, 2].map(() => `sntryu_${random(r, CHARS.hex, 64)}`),
    skipWrappings: NO_URL,
    negatives: [
      `SENTRY_AUTH_TOKEN=sntryu_${random(n, CHARS.hex, 63)}`,
      `SENTRY_AUTH_TOKEN=sntryu_${random(n, CHARS.hex, 65)}`,
      `SENTRY_AUTH_TOKEN=sntryu_${'a'.repeat(64)}`
    ]
  },
  ...(['aat', 'pat', 'sat'] as const).map((kind): RuleSamples => ({
    id: `settlemint-${{ aat: 'application', pat: 'personal', sat: 'service' }[kind]}-access-token`,
    family: 'settlemint',
    ident: 'settlemint_token',
    tokens: (r) => [0, 1, 2].map(() => `sm_${kind}_${random(r, CHARS.alnum, 16)}`),
    skipWrappings: NO_URL,
    negatives: [
      `settlemintToken := "${random(n, CHARS.alnum, 16)}"`,
      `settlemintToken := "sm_${kind}_${random(n, CHARS.alnum, 10)}"`,
      `settlemintToken := "sm_${kind}_aaaaaaaabbbbbbbb"`
    ]
  })),
  {
    id: 'shippo-api-token',
    family: 'shippo',
    ident: 'shippo_api_token',
    tokens: (r) => [
      `shippo_live_${random(r, CHARS.hex, 40)}`,
      `shippo_test_${random(r, CHARS.hex, 40)}`,
      `shippo_live_${random(r, CHARS.hexUpper, 40)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `SHIPPO_API_TOKEN=shippo_live_${random(n, CHARS.hex, 39)}`,
      `SHIPPO_API_TOKEN=shippo_prod_${random(n, CHARS.hex, 40)}`
    ]
  },
  ...(
    [
      ['shpat', 'shopify-access-token'],
      ['shpca', 'shopify-custom-access-token'],
      ['shppa', 'shopify-private-app-access-token'],
      ['shpss', 'shopify-shared-secret']
    ] as const
  ).map(([prefix, id]): RuleSamples => ({
    id,
    family: 'shopify',
    ident: 'shopify_token',
    tokens: (r) => [
      `${prefix}_${random(r, CHARS.hex, 32)}`,
      `${prefix}_${random(r, CHARS.hexUpper, 32)}`,
      `${prefix}_${random(r, CHARS.hex, 32)}`
    ],
    negatives: [
      `SHOPIFY_TOKEN=${prefix}_${random(n, CHARS.hex, 31)}`,
      `SHOPIFY_TOKEN=${prefix}_${random(n, CHARS.lower, 32)}`
    ]
  })),
  {
    id: 'sidekiq-secret',
    family: 'sidekiq',
    ident: 'BUNDLE_ENTERPRISE__CONTRIBSYS__COM',
    tokens: (r) => [0, 1, 2].map(() => `${random(r, CHARS.hex, 8)}:${random(r, CHARS.hex, 8)}`),
    // camelCase and the header turn the double underscores into something else.
    skipWrappings: ['json', 'code', 'go', 'header', 'url'],
    raw: (r) => [
      `BUNDLE_GEMS__CONTRIBSYS__COM: "${random(r, CHARS.hex, 8)}:${random(r, CHARS.hex, 8)}"`,
      `export BUNDLE_GEMS__CONTRIBSYS__COM = ${random(r, CHARS.hex, 8)}:${random(r, CHARS.hex, 8)}`,
      `export BUNDLE_ENTERPRISE__CONTRIBSYS__COM=${random(r, CHARS.hex, 8)}:${random(r, CHARS.hex, 8)} && bundle install`,
      `bundle config --local BUNDLE_ENTERPRISE__CONTRIBSYS__COM=${random(r, CHARS.hex, 8)}:${random(r, CHARS.hex, 8)};`
    ],
    negatives: [
      `BUNDLE_ENTERPRISE__CONTRIBSYS__COM=${random(n, CHARS.hex, 8)}:${random(n, CHARS.hex, 7)}`,
      `BUNDLE_ENTERPRISE__CONTRIBSYS__COM=${random(n, CHARS.lower, 8)}:${random(n, CHARS.lower, 8)}x`,
      `BUNDLE_RUBYGEMS__PKG__GITHUB__COM=${random(n, CHARS.hex, 8)}:${random(n, CHARS.hex, 8)}`
    ]
  },
  {
    id: 'sidekiq-sensitive-url',
    family: 'sidekiq',
    ident: 'sidekiq_source',
    tokens: (r) => [0, 1, 2].map(() => `${random(r, CHARS.hex, 8)}:${random(r, CHARS.hex, 8)}`),
    skipWrappings: ALL_WRAPPINGS,
    raw: (r) => {
      const c = (): string => `${random(r, CHARS.hex, 8)}:${random(r, CHARS.hex, 8)}`;
      return [
        `source "https://${c()}@gems.contribsys.com/" do`,
        `https://${c()}@enterprise.contribsys.com`,
        `http://${c()}@gems.contribsys.com#readme`,
        `http://${c()}@enterprise.contribsys.com?param1=true`,
        `http://${c()}@enterprise.contribsys.com:443/path?x=1#y`
      ];
    },
    negatives: [
      'source "https://gems.contribsys.com/" do',
      `https://${random(n, CHARS.hex, 8)}:${random(n, CHARS.hex, 8)}@gems.example.com/`,
      `https://${random(n, CHARS.lower, 8)}x:${random(n, CHARS.hex, 8)}@gems.contribsys.com/`
    ]
  },
  {
    id: 'slack-app-token',
    family: 'slack',
    ident: 'slack_app_token',
    tokens: (r) => [
      `xapp-1-A${random(r, CHARS.upperAlnum, 10)}-${digits(r, 13)}-${random(r, CHARS.hex, 64)}`,
      `xapp-1-A${random(r, CHARS.upperAlnum, 10)}-${digits(r, 13)}-${random(r, CHARS.lowerAlnum, 64)}`,
      `xapp-2-${random(r, CHARS.upperAlnum, 11)}-${digits(r, 10)}-${random(r, CHARS.hex, 64)}`
    ],
    negatives: [
      'SLACK_APP_TOKEN=xapp-your-app-token',
      'SLACK_APP_TOKEN=xapp-1-aaaa-1-aaaa',
      'SLACK_APP_TOKEN=xapp-1-...'
    ]
  },
  {
    id: 'slack-bot-token',
    family: 'slack',
    ident: 'slack_bot_token',
    tokens: (r) => [
      `xoxb-${digits(r, 12)}-${digits(r, 13)}-${random(r, CHARS.alnum, 24)}`,
      `xoxb-${digits(r, 13)}-${digits(r, 13)}-${random(r, CHARS.alnum, 24)}`,
      `xoxb-${digits(r, 10)}-${digits(r, 10)}-${random(r, CHARS.alnum, 27)}`
    ],
    negatives: [
      'xoxb-xxxxxxxxx-xxxxxxxxxx-xxxxxxxxxxxx',
      'SLACK_BOT_TOKEN=xoxb-xxx',
      'SLACK_BOT_TOKEN=xoxb-12345-abcd234',
      'SLACK_BOT_TOKEN=xoxb-xoxb-my-bot-token'
    ]
  },
  {
    id: 'slack-config-access-token',
    family: 'slack',
    ident: 'slack_config_token',
    tokens: (r) => [
      `xoxe.xoxp-1-${random(r, CHARS.alnum, 163)}`,
      `xoxe.xoxb-1-${random(r, CHARS.alnum, 165)}`,
      `xoxe.xoxp-1-${random(r, CHARS.alnum, 166)}`
    ],
    negatives: [
      'SLACK_CONFIG_TOKEN=xoxe.xoxp-1-SlackConfigTokenGoesHere',
      'SLACK_CONFIG_TOKEN=xoxe.xoxp-1-RANDOMSTRING',
      'xoxe.xoxp-1-initial'
    ]
  },
  {
    id: 'slack-config-refresh-token',
    family: 'slack',
    ident: 'slack_config_refresh_token',
    tokens: (r) => [0, 1, 2].map(() => `xoxe-1-${random(r, CHARS.alnum, 146)}`),
    negatives: [
      'xoxe-1-xxx',
      'XOxE-RRQAmw, Garden and Home, 5:24, 20130323',
      `SLACK_REFRESH=xoxe-1-${random(n, CHARS.alnum, 145)}`
    ]
  },
  {
    id: 'slack-legacy-bot-token',
    family: 'slack',
    ident: 'slack_bot_token',
    tokens: (r) => [
      `xoxb-${digits(r, 12)}-${random(r, CHARS.alnum, 24)}`,
      `xoxb-${digits(r, 11)}-${random(r, CHARS.alnum, 24)}`,
      `xoxb-${digits(r, 8)}-${random(r, CHARS.alnum, 19)}`,
      `xoxb-${digits(r, 10)}-${random(r, CHARS.alnum, 26)}`
    ],
    negatives: [
      'xoxb-xxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx',
      'SLACK_TOKEN=xoxb-Slack_BOT_TOKEN',
      'SLACK_TOKEN=xoxb-abcdef-abcdef'
    ]
  },
  {
    id: 'slack-legacy-token',
    family: 'slack',
    ident: 'slack_token',
    tokens: (r) => [
      `xoxs-${digits(r, 12)}-${digits(r, 9)}-${digits(r, 10)}-${random(r, CHARS.hex, 10)}`,
      `xoxs-${digits(r, 10)}-${digits(r, 10)}-${digits(r, 10)}-${random(r, CHARS.hex, 64)}`,
      `xoxo-${digits(r, 6)}-${digits(r, 6)}-${digits(r, 6)}-${random(r, CHARS.hex, 18)}`
    ],
    negatives: [
      'https://indieweb.example/images/2018-250-xoxo-indieweb-1.jpg',
      'https://cdn.example/s640/EXO-XOXO-teaser-34521098-720-516.jpg',
      'SLACK_TOKEN=xoxs-your-legacy-token'
    ]
  },
  {
    id: 'slack-legacy-workspace-token',
    family: 'slack',
    ident: 'slack_token',
    tokens: (r) => [
      `xoxa-2-${random(r, CHARS.alnum, 12)}`,
      `xoxa-${random(r, CHARS.alnum, 24)}`,
      `xoxr-1-${random(r, CHARS.alnum, 40)}`,
      `xoxr-${random(r, CHARS.alnum, 12)}`
    ],
    negatives: [
      'https://github.com/xoxa-nyc/xoxa-nyc.github.io/blob/main/README.md',
      'SLACK_TOKEN=xoxa-2-abc',
      'SLACK_TOKEN=xoxr-aaaaaaaaaaaa'
    ]
  },
  {
    id: 'slack-user-token',
    family: 'slack',
    ident: 'slack_user_token',
    tokens: (r) => [
      `xoxp-${digits(r, 11)}-${digits(r, 10)}-${digits(r, 11)}-${random(r, CHARS.hex, 32)}`,
      `xoxp-${digits(r, 12)}-${digits(r, 13)}-${digits(r, 13)}-${random(r, CHARS.alnum, 32)}`,
      `xoxe-${digits(r, 13)}-${digits(r, 13)}-${digits(r, 13)}-${random(r, CHARS.hex, 32)}`
    ],
    negatives: [
      'https://docs.google.com/document/d/1W7KCxOxP-1Fy5EyF2lbJGE2WuKmu5v0suYqoHas1jRM',
      '"token1": "xoxp-1234567890"',
      '"token2": "xoxp-XXXXXXXXXX-XXXXXXXXXX-XXXXXXXXXXX-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"',
      '"token3": "xoxp-1234-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d"',
      `"token4": "xoxp-${digits(n, 12)}-${digits(n, 12)}-${digits(n, 12)}-####################"`
    ]
  },
  {
    id: 'slack-webhook-url',
    family: 'slack',
    ident: 'slack_webhook_url',
    tokens: (r) => [
      `https://hooks.slack.com/services/T${random(r, CHARS.upperAlnum, 8)}/B${random(r, CHARS.upperAlnum, 8)}/${random(r, CHARS.alnum, 24)}`,
      `http://hooks.slack.com/services/${random(r, CHARS.alnum, 45)}`,
      `hooks.slack.com/services/${random(r, CHARS.alnum, 44)}`,
      `https://hooks.slack.com/workflows/T${random(r, CHARS.upperAlnum, 8)}/A${random(r, CHARS.upperAlnum, 8)}/${digits(r, 10)}/${random(r, CHARS.alnum, 24)}`,
      `https://hooks.slack.com/triggers/${random(r, CHARS.alnum, 56)}`
    ],
    // Longer than 56 characters after the kind: found, the secret is the first 56.
    raw: (r) => [
      `curl -X POST https://hooks.slack.com/workflows/T${random(r, CHARS.upperAlnum, 10)}/A${random(r, CHARS.upperAlnum, 10)}/${digits(r, 18)}/${random(r, CHARS.alnum, 24)}`
    ],
    negatives: [
      'SLACK_WEBHOOK_URL=https://hooks.slack.com/services/XXX/YYY/ZZZ',
      'See https://api.slack.com/messaging/webhooks for hooks.slack.com/services/ URLs.',
      `SLACK_WEBHOOK_URL=https://hooks.slack.com/apps/${random(n, CHARS.alnum, 44)}`
    ]
  },
  {
    id: 'snyk-api-token',
    family: 'snyk',
    ident: 'snyk_token',
    tokens: (r) => [hexUuid(r), hexUuid(r, true), hexUuid(r)],
    skipWrappings: NO_URL,
    raw: (r) => [
      `SNYK_API_KEY ?= "${hexUuid(r)}"`,
      `SNYK_OAUTH_TOKEN = "${hexUuid(r, true)}"`,
      `snyk.api.token ::= "${hexUuid(r)}"`,
      `const SNYK_KEY = "${hexUuid(r)}"`
    ],
    negatives: [
      `SNYK_ORG=${hexUuid(n)}`,
      `SNYK_TOKEN=${hexUuid(n).slice(0, -1)}`,
      `API_TOKEN=${hexUuid(n)}`
    ]
  },
  {
    id: 'sonar-api-token',
    family: 'sonar',
    ident: 'sonar_token',
    tokens: (r) => [
      random(r, CHARS.lowerAlnum, 40),
      `squ_${random(r, CHARS.hex, 40)}`,
      `sqp_${random(r, CHARS.alnum, 40)}`,
      `sqa_${random(r, CHARS.alnumExtended, 40)}`
    ],
    skipWrappings: NO_URL,
    raw: (r) => [
      `SONAR.LOGIN ::= "${random(r, CHARS.alnum, 40)}"`,
      `sonar-login: ${random(r, CHARS.hex, 40)}`,
      `SONAR_LOGIN := "sqp_${random(r, CHARS.hex, 40)}"`
    ],
    negatives: [
      `SONAR_HOST=${random(n, CHARS.alnum, 40)}`,
      `SONAR_TOKEN=${random(n, CHARS.alnum, 39)}`,
      `SONAR_TOKEN=sqx_${random(n, CHARS.hex, 40)}`
    ]
  },
  {
    id: 'sourcegraph-access-token',
    family: 'sourcegraph',
    ident: 'sourcegraph_token',
    tokens: (r) => [
      `sgp_${random(r, CHARS.hex + 'ABCDEF', 16)}_${random(r, CHARS.hex + 'ABCDEF', 40)}`,
      `sgp_local_${random(r, CHARS.hex, 40)}`,
      `sgp_${random(r, CHARS.hexUpper, 40)}`,
      random(r, CHARS.hex + 'ABCDEF', 40)
    ],
    skipWrappings: NO_URL,
    raw: (r) => [
      `token = "sgp_local_${random(r, CHARS.hex, 40)}"`,
      `sgp_${random(r, CHARS.hex, 16)}_${random(r, CHARS.hex, 40)}`
    ],
    negatives: [
      'SRC_ACCESS_TOKEN=sgp_5555555dAAAAA7777777CcccCFaaaaaaaaaaaaaa',
      `SRC_ACCESS_TOKEN=sgp_local_${random(n, CHARS.hex, 6)}G${random(n, CHARS.hex, 33)}`,
      `SRC_ACCESS_TOKEN=sgp_${random(n, CHARS.hex, 18)}_${random(n, CHARS.hex, 40)}`,
      `COMMIT=${random(n, CHARS.hex, 40)}`
    ]
  },
  {
    id: 'square-access-token',
    family: 'square',
    ident: 'square_access_token',
    tokens: (r) => [
      `sq0atp-${random(r, WORD_DASH, 22)}`,
      `EAAA${random(r, WORD_DASH, 60)}`,
      `EAAA${random(r, CHARS.alnum, 40)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `FROM aws-cli@sha256:eaaa${random(n, CHARS.hex, 60)}`,
      `SQUARE_ACCESS_TOKEN=sq0atp-${random(n, WORD_DASH, 21)}`,
      'SQUARE_ACCESS_TOKEN=EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
    ]
  },
  {
    id: 'squarespace-access-token',
    family: 'squarespace',
    ident: 'squarespace_api_key',
    tokens: (r) => [hexUuid(r), hexUuid(r, true), hexUuid(r)],
    skipWrappings: NO_URL,
    negatives: [`SITE_ID=${hexUuid(n)}`, `SQUARESPACE_API_KEY=${hexUuid(n).replace(/-/g, '')}`]
  },
  {
    id: 'stripe-access-token',
    family: 'stripe',
    ident: 'stripe_secret_key',
    tokens: (r) => [
      `sk_test_${random(r, CHARS.alnum, 30)}`,
      `sk_live_${random(r, CHARS.alnum, 24)}`,
      `sk_prod_${random(r, CHARS.alnum, 99)}`,
      `rk_live_${random(r, CHARS.alnum, 10)}`,
      `rk_prod_${random(r, CHARS.alnum, 99)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `nonMatchingToken := "task_test_${random(n, CHARS.alnum, 30)}"`,
      `STRIPE_SECRET_KEY=sk_live_${random(n, CHARS.alnum, 9)}`,
      `STRIPE_SECRET_KEY=pk_live_${random(n, CHARS.alnum, 24)}`
    ]
  },
  {
    id: 'sumologic-access-id',
    family: 'sumologic',
    ident: 'sumo_access_id',
    tokens: (r) => [0, 1, 2].map(() => `su${random(r, CHARS.alnum, 12)}`),
    skipWrappings: NO_URL,
    raw: (r) => [
      `sumologic.accessId = "su${random(r, CHARS.alnum, 12)}"`,
      `export SUMOLOGIC_ACCESSID="su${random(r, CHARS.alnum, 12)}"`
    ],
    negatives: [
      '- (NSNumber *)sumOfProperty:(NSString *)property;',
      'sumOfExposures = sumOfExposures;',
      'sumologic_access_id         = ""',
      'SUMOLOGIC_ACCESSID: ${SUMOLOGIC_ACCESSID}',
      'export SUMOLOGIC_ACCESSID=XXXXXXXXXXXXXX',
      `sumObj = su${random(n, CHARS.alnum, 12)}`
    ]
  },
  {
    id: 'sumologic-access-token',
    family: 'sumologic',
    ident: 'sumo_access_key',
    tokens: (r) => [
      random(r, CHARS.alnum, 64),
      random(r, CHARS.lowerAlnum, 64),
      random(r, CHARS.alnum, 64)
    ],
    skipWrappings: NO_URL,
    raw: (r) => [
      `SUMOLOGIC_ACCESSKEY: ${random(r, CHARS.alnum, 64)}`,
      `sumo_access_key = "${random(r, CHARS.alnum, 64)}"`
    ],
    negatives: [
      `#   SUMO_ACCESS_KEY=${'x'.repeat(64)}`,
      '-e SUMO_ACCESS_KEY=`etcdctl get /sumologic_secret`',
      'SUMO_ACCESS_KEY={SumoAccessKey}',
      'SUMO_ACCESS_KEY=${SUMO_ACCESS_KEY:=$2}',
      'sumo_access_key   = "<SUMOLOGIC ACCESS KEY>"',
      `sumOfExposures = ${random(n, CHARS.alnum, 64)};`
    ]
  },
  {
    id: 'telegram-bot-api-token',
    family: 'telegram',
    ident: 'telegram_bot_token',
    tokens: (r) => [
      `${digits(r, 10)}:A${random(r, CHARS.alnumExtended, 34)}`,
      `${digits(r, 5)}:A${random(r, CHARS.alnumExtended, 34)}`,
      `${digits(r, 16)}:A${random(r, CHARS.alnumExtended, 34)}`
    ],
    skipWrappings: NO_URL,
    raw: (r) => [`telegram bot: ${digits(r, 9)}:A${random(r, CHARS.alnum, 34)}`],
    negatives: [
      `TELEGRAM_BOT_TOKEN=${digits(n, 4)}:A${random(n, CHARS.alnum, 34)}`,
      `TELEGRAM_BOT_TOKEN=${digits(n, 17)}:A${random(n, CHARS.alnum, 34)}`,
      `<xsd:element name="AgencyIdentificationCode" type="clm${digits(n, 5)}:AgencyIdentificationCodeContentType"/>`,
      `telegram_api_token = "${digits(n, 8)}:Ahello${random(n, CHARS.alnum, 34)}"`,
      `telegram_api_token = "${digits(n, 8)}:A${random(n, CHARS.alnum, 34)}-some-more"`,
      `TELEGRAM_BOT_TOKEN=${digits(n, 10)}:a${random(n, CHARS.alnum, 34)}`
    ]
  },
  {
    id: 'travisci-access-token',
    family: 'travisci',
    ident: 'travis_token',
    tokens: (r) => [
      random(r, CHARS.alnum, 22),
      random(r, CHARS.lowerAlnum, 22),
      random(r, CHARS.alnum, 22)
    ],
    skipWrappings: NO_URL,
    negatives: [
      `TRAVIS_TOKEN=${random(n, CHARS.alnum, 21)}`,
      `TRAVIS_TOKEN=${random(n, CHARS.alnum, 23)}`,
      `CI_TOKEN=${random(n, CHARS.alnum, 22)}`
    ]
  },
  {
    id: 'twilio-api-key',
    family: 'twilio',
    ident: 'twilio_api_key',
    tokens: (r) => [
      `SK${random(r, CHARS.hex, 32)}`,
      `SK${random(r, CHARS.hexUpper, 32)}`,
      `SK${random(r, CHARS.hex, 32)}`
    ],
    negatives: [
      `TWILIO_API_KEY=SK${random(n, CHARS.hex, 31)}`,
      `TWILIO_API_KEY=SK${'0'.repeat(32)}`,
      `TWILIO_API_KEY=sk${random(n, CHARS.hex, 32)}`
    ]
  },
  {
    id: 'twitch-api-token',
    family: 'twitch',
    ident: 'twitch_api_token',
    tokens: (r) => [
      random(r, CHARS.lowerAlnum, 30),
      random(r, CHARS.alnum, 30),
      random(r, CHARS.lowerAlnum, 30)
    ],
    skipWrappings: NO_URL,
    negatives: [
      `TWITCH_API_TOKEN=${random(n, CHARS.lowerAlnum, 29)}`,
      `TWITCH_API_TOKEN=${random(n, CHARS.lowerAlnum, 31)}`,
      `API_TOKEN=${random(n, CHARS.lowerAlnum, 30)}`
    ]
  },
  {
    id: 'twitter-access-secret',
    family: 'twitter',
    ident: 'twitter_access_secret',
    tokens: (r) => [
      random(r, CHARS.alnum, 45),
      random(r, CHARS.lowerAlnum, 45),
      random(r, CHARS.alnum, 45)
    ],
    skipWrappings: NO_URL,
    negatives: [
      `TWITTER_ACCESS_SECRET=${random(n, CHARS.alnum, 44)}`,
      `TWITTER_ACCESS_SECRET=${random(n, CHARS.alnum, 46)}`,
      `ACCESS_SECRET=${random(n, CHARS.alnum, 45)}`
    ]
  },
  {
    id: 'twitter-access-token',
    family: 'twitter',
    ident: 'twitter_access_token',
    tokens: (r) => [
      `${digits(r, 19)}-${random(r, CHARS.alnum, 40)}`,
      `${digits(r, 15)}-${random(r, CHARS.alnum, 20)}`,
      `${digits(r, 25)}-${random(r, CHARS.alnum, 31)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `TWITTER_ACCESS_TOKEN=${digits(n, 14)}-${random(n, CHARS.alnum, 30)}`,
      `TWITTER_ACCESS_TOKEN=${digits(n, 19)}-${random(n, CHARS.alnum, 19)}`,
      `ACCESS_TOKEN=${digits(n, 19)}-${random(n, CHARS.alnum, 40)}`
    ]
  },
  {
    id: 'twitter-api-key',
    family: 'twitter',
    ident: 'twitter_api_key',
    tokens: (r) => [
      random(r, CHARS.alnum, 25),
      random(r, CHARS.lowerAlnum, 25),
      random(r, CHARS.alnum, 25)
    ],
    skipWrappings: NO_URL,
    negatives: [
      `TWITTER_API_KEY=${random(n, CHARS.alnum, 24)}`,
      `TWITTER_API_KEY=${random(n, CHARS.alnum, 26)}`,
      `API_KEY=${random(n, CHARS.alnum, 25)}`
    ]
  },
  {
    id: 'twitter-api-secret',
    family: 'twitter',
    ident: 'twitter_api_secret',
    tokens: (r) => [
      random(r, CHARS.alnum, 50),
      random(r, CHARS.lowerAlnum, 50),
      random(r, CHARS.alnum, 50)
    ],
    skipWrappings: NO_URL,
    negatives: [
      `TWITTER_API_SECRET=${random(n, CHARS.alnum, 49)}`,
      `TWITTER_API_SECRET=${random(n, CHARS.alnum, 51)}`,
      `API_SECRET=${random(n, CHARS.alnum, 50)}`
    ]
  },
  {
    id: 'twitter-bearer-token',
    family: 'twitter',
    ident: 'twitter_bearer_token',
    tokens: (r) => [
      `${'A'.repeat(22)}${random(r, CHARS.alnum, 80)}`,
      `${'A'.repeat(22)}${random(r, CHARS.alnum, 60)}%3D${random(r, CHARS.alnum, 30)}`,
      `${'A'.repeat(22)}${random(r, CHARS.alnum + '%', 100)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `TWITTER_BEARER_TOKEN=${'A'.repeat(22)}${random(n, CHARS.alnum, 79)}`,
      `TWITTER_BEARER_TOKEN=${'A'.repeat(21)}b${random(n, CHARS.alnum, 80)}`,
      `BEARER_TOKEN=${'A'.repeat(22)}${random(n, CHARS.alnum, 80)}`
    ]
  },
  {
    id: 'typeform-api-token',
    family: 'typeform',
    ident: 'typeform_api_token',
    tokens: (r) => [
      `tfp_${random(r, CHARS.alnumExtended, 59)}`,
      `tfp_${random(r, CHARS.alnum + '.=', 59)}`,
      `tfp_${random(r, CHARS.alnumExtended, 59)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `TYPEFORM_API_TOKEN=tfp_${random(n, CHARS.alnum, 58)}`,
      `FORM_TOKEN=tfp_${random(n, CHARS.alnum, 59)}`,
      `TYPEFORM_API_TOKEN=tfx_${random(n, CHARS.alnum, 59)}`
    ]
  },
  {
    id: 'vault-batch-token',
    family: 'vault',
    ident: 'vault_token',
    tokens: (r) => [
      `hvb.${random(r, CHARS.alnumExtended, 138)}`,
      `hvb.AAAAAQ${random(r, CHARS.alnumExtended, 180)}`,
      `hvb.${random(r, CHARS.alnumExtended, 300)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `VAULT_TOKEN=hvb.${random(n, CHARS.alnum, 137)}`,
      `VAULT_TOKEN=hvb.${'x'.repeat(150)}`
    ]
  },
  {
    id: 'vault-service-token',
    family: 'vault',
    ident: 'vault_token',
    tokens: (r) => [
      `s.${random(r, CHARS.digits, 1)}${random(r, CHARS.alnum, 23)}`,
      `hvs.${random(r, CHARS.digits, 1)}${random(r, CHARS.alnumExtended, 89)}`,
      `hvs.CAESI${random(r, CHARS.alnumExtended, 110)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      "  credentials: new AWS.SharedIniFileCredentials({ profile: '<YOUR_PROFILE>' })",
      'INFO 4 --- [           main] o.s.b.f.s.DefaultListableBeanFactory     : Overriding bean definition for bean',
      'VAULT_TOKEN=s.xxxxxxxxxxxxxxxxxxxxxxxx',
      'VAULT_TOKEN=s.THISSTRINGISALLUPPERCASE',
      'VAULT_TOKEN=s.thisstringisalllowercase',
      's.AcceptanceTimeoutSeconds ',
      's.makeKubeConfigController = args',
      `VAULT_TOKEN=hvs.${'x'.repeat(95)}`
    ]
  },
  {
    id: 'yandex-access-token',
    family: 'yandex',
    ident: 'yandex_token',
    tokens: (r) => [
      `t1.${random(r, CHARS.alnumExtended, 40)}.${random(r, CHARS.alnumExtended, 86)}`,
      `t1.${random(r, CHARS.alnumExtended, 12)}==.${random(r, CHARS.alnumExtended, 86)}==`,
      `t1.${random(r, CHARS.alnum, 70)}=.${random(r, CHARS.alnumExtended, 86)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `YANDEX_TOKEN=t1.${random(n, CHARS.alnum, 40)}.${random(n, CHARS.alnum, 85)}`,
      `IAM_TOKEN=t1.${random(n, CHARS.alnum, 40)}.${random(n, CHARS.alnum, 86)}`,
      `YANDEX_TOKEN=t2.${random(n, CHARS.alnum, 40)}.${random(n, CHARS.alnum, 86)}`
    ]
  },
  {
    id: 'yandex-api-key',
    family: 'yandex',
    ident: 'yandex_api_key',
    tokens: (r) => [
      `AQVN${random(r, CHARS.alnumExtended, 35)}`,
      `AQVN${random(r, CHARS.alnumExtended, 36)}`,
      `AQVN${random(r, CHARS.alnumExtended, 38)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `YANDEX_API_KEY=AQVN${random(n, CHARS.alnum, 34)}`,
      `YANDEX_API_KEY=AQVN${random(n, CHARS.alnum, 39)}`,
      `API_KEY=AQVN${random(n, CHARS.alnum, 36)}`
    ]
  },
  {
    id: 'yandex-aws-access-token',
    family: 'yandex',
    ident: 'yandex_access_key',
    tokens: (r) => [0, 1, 2].map(() => `YC${random(r, CHARS.alnumExtended, 38)}`),
    skipWrappings: NO_URL,
    negatives: [
      `YANDEX_ACCESS_KEY=YC${random(n, CHARS.alnum, 37)}`,
      `ACCESS_KEY=YC${random(n, CHARS.alnum, 38)}`,
      `YANDEX_ACCESS_KEY=YD${random(n, CHARS.alnum, 38)}`
    ]
  },
  {
    id: 'zendesk-secret-key',
    family: 'zendesk',
    ident: 'zendesk_secret',
    tokens: (r) => [
      random(r, CHARS.alnum, 40),
      random(r, CHARS.lowerAlnum, 40),
      random(r, CHARS.alnum, 40)
    ],
    skipWrappings: NO_URL,
    negatives: [
      `ZENDESK_SECRET=${random(n, CHARS.alnum, 39)}`,
      `ZENDESK_SECRET=${random(n, CHARS.alnum, 41)}`,
      `SECRET=${random(n, CHARS.alnum, 40)}`
    ]
  },

  // Extras (not gitleaks rules).
  {
    id: 'postgresql-connection-string',
    family: 'postgresql',
    ident: 'database_url',
    tokens: (r) => [
      `postgresql://app_user:${random(r, CHARS.alnum, 16)}@db.internal.example:5432/app?sslmode=require`,
      `postgres://svc:${random(r, CHARS.alnum, 12)}!${random(r, CHARS.alnum, 4)}@10.0.3.7/orders`,
      `postgres://${random(r, CHARS.lower, 6)}:${random(r, CHARS.alnumExtended, 24)}@pg.example.net`
    ],
    // A query string would run on into the wrapping's own one.
    skipWrappings: NO_URL,
    raw: (r) => [
      `psql "POSTGRES://admin:${random(r, CHARS.alnum, 20)}@db.example.net:5432/postgres"`
    ],
    negatives: [
      'DATABASE_URL=postgres://user:password@localhost:5432/db',
      'DATABASE_URL=postgresql://postgres:postgres@localhost/app',
      'DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app',
      'DATABASE_URL=postgres://app:{{ db_password }}@db:5432/app',
      'DATABASE_URL=postgres://app:$PGPASSWORD@db:5432/app',
      'DATABASE_URL=postgres://localhost:5432/app',
      'DATABASE_URL=postgres://app:xxxxxxxx@db/app',
      'DATABASE_URL=postgres://app:abc@db/app'
    ]
  },
  {
    id: 'square-secret',
    family: 'square',
    ident: 'square_oauth_secret',
    tokens: (r) => [0, 1, 2].map(() => `sq0csp-${random(r, WORD_DASH, 43)}`),
    skipWrappings: NO_URL,
    negatives: [
      `SQUARE_SECRET=sq0csp-${random(n, WORD_DASH, 42)}`,
      `SQUARE_SECRET=sq0csp-${random(n, WORD_DASH, 44)}`
    ]
  },
  ...(['api', 'auth', 'client', 'scim', 'webhook'] as const).map((kind): RuleSamples => ({
    id: `tailscale-${kind}-key`,
    family: 'tailscale',
    ident: 'tailscale_key',
    tokens: (r) => [
      `tskey-${kind}-k${random(r, CHARS.alnum, 10)}CNTRL-${random(r, CHARS.alnum, 33)}`,
      `tskey-${kind}-${random(r, CHARS.alnum, 8)}-${random(r, CHARS.alnum, 16)}`,
      `tskey-${kind}-${random(r, CHARS.alnumExtended.replace('-', ''), 40)}-${random(r, CHARS.alnum, 60)}`
    ],
    negatives: [
      `TS_KEY=tskey-${kind}-xxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
      `TS_KEY=tskey-${kind}-${random(n, CHARS.alnum, 7)}-${random(n, CHARS.alnum, 20)}`,
      `TS_KEY=tskey-${kind}-${random(n, CHARS.alnum, 12)}-${random(n, CHARS.alnum, 15)}`
    ]
  })),
  {
    id: 'vault-recovery-token',
    family: 'vault',
    ident: 'vault_recovery_token',
    tokens: (r) => [
      `hvr.${random(r, WORD_DASH, 90)}`,
      `hvr.${random(r, WORD_DASH, 105)}`,
      `hvr.${random(r, WORD_DASH, 120)}`
    ],
    negatives: [
      `VAULT_TOKEN=hvr.${random(n, WORD_DASH, 89)}`,
      `VAULT_TOKEN=hvr.${random(n, WORD_DASH, 121)}`,
      `VAULT_TOKEN=hvr.${'z'.repeat(100)}`
    ]
  },
  ...(
    [
      ['vcp', 'vercel-personal-access-token'],
      ['vci', 'vercel-integration-token'],
      ['vca', 'vercel-app-access-token'],
      ['vcr', 'vercel-app-refresh-token'],
      ['vck', 'vercel-ai-gateway-api-key']
    ] as const
  ).map(([prefix, id]): RuleSamples => ({
    id,
    family: 'vercel',
    ident: 'vercel_token',
    tokens: (r) => [
      `${prefix}_${random(r, CHARS.alnum, 24)}`,
      `${prefix}_${random(r, CHARS.alnum, 20)}`,
      `${prefix}_${random(r, CHARS.alnum, 60)}`
    ],
    negatives: [
      `VERCEL_TOKEN=${prefix}_${random(n, CHARS.alnum, 19)}`,
      `VERCEL_TOKEN=${prefix}_${random(n, CHARS.alnum, 61)}`,
      `VERCEL_TOKEN=${prefix}_xxxxxxxxxxxxxxxxxxxxxxxx`
    ]
  }))
];

/** Paths pkcs12-file must not flag (the kit's negatives are texts). */
export const PKCS12_NEGATIVE_PATHS: readonly string[] = [
  'doc/typenum/type.P126.html',
  'scripts/cluster/syntest.p1200.sh',
  'certs/client.pem',
  'keys/p12'
];

/** More paths it must flag: either extension, any case, at the top level or deep. */
export const PKCS12_POSITIVE_PATHS: readonly string[] = [
  'security/certificates/opensearch/kibana_client.p12',
  'signing_key.P12',
  'App/App.UWP/App.UWP_TemporaryKey.pfx',
  'build/Cert.PFX'
];
