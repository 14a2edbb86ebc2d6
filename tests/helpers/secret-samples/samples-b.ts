// Samples for the group B rules (packages/security/src/secrets/ruleset/rules-b.ts):
// generated tokens of each format, whole texts that cannot be wrapped, and
// texts the rule must leave alone. Every value here is made up.

import { PUBLIC_GOOGLE_KEYS } from '../../../packages/security/src/secrets/ruleset/rules-b.ts';
import {
  ALL_WRAPPINGS,
  CHARS,
  random,
  type Rng,
  type RuleSamples,
  type WrappingName
} from './kit.ts';

/** Rules whose token must end at a quote, space or end of line: a URL's '&' ends nothing. */
const NO_URL: WrappingName[] = ['url'];

const LETTERS = CHARS.lower + CHARS.upper;
const LOWER_EXT = `${CHARS.lowerAlnum}_-`;
const LOWER_EXT_EQ = `${CHARS.lowerAlnum}=_-`;

const times = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
const uuid = (r: Rng, hex: string = CHARS.hex): string =>
  [8, 4, 4, 4, 12].map((n) => random(r, hex, n)).join('-');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function jwt(r: Rng, header: object, signed = true): string {
  const payload = {
    sub: random(r, CHARS.digits, 10),
    name: random(r, CHARS.lower, 7),
    iat: 1_700_000_000 + Math.floor(r() * 1_000_000)
  };
  const sig = signed ? random(r, CHARS.base64url, 43) : '';
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${sig}`;
}

/** A PEM body as it appears inside a JSON string (lines joined with \n). */
function jsonPem(r: Rng): string {
  const lines = [
    '-----BEGIN PRIVATE KEY-----',
    ...times(6, () => random(r, CHARS.base64, 64)),
    '-----END PRIVATE KEY-----'
  ];
  return `${lines.join('\\n')}\\n`;
}

/** A 29-character Freemius secret body: anything but whitespace and quotes. */
const FREEMIUS_BODY = `${CHARS.alnum}#@&*$!%^`;

export const SAMPLES_B: RuleSamples[] = [
  {
    id: 'freemius-secret-key',
    family: 'freemius',
    ident: 'freemius_secret_key',
    path: 'wp-content/plugins/shop/freemius-config.php',
    tokens: (r) => times(3, () => `sk_${random(r, FREEMIUS_BODY, 29)}`),
    skipWrappings: ALL_WRAPPINGS,
    raw: (r) => [
      `$fs_config = array(\n    "id" => "1234",\n    "secret_key" => "sk_${random(r, FREEMIUS_BODY, 29)}",\n);`,
      `$fs = fs_dynamic_init(array('secret_key' => 'sk_${random(r, FREEMIUS_BODY, 29)}'));`,
      `'SECRET_KEY'=>"sk_${random(r, CHARS.alnum, 29)}"`
    ],
    negatives: [
      // the name is not quoted
      `    secret_key => "sk_Qm3vT8pL2xR7nK5wZ9cY4hJ6bD1fG0s",`,
      // the value is not quoted
      `    "secret_key" => sk_Qm3vT8pL2xR7nK5wZ9cY4hJ6bD1fG0s,`,
      // another key
      `    "public_key" => "sk_Qm3vT8pL2xR7nK5wZ9cY4hJ6bD1fG0s",`,
      // one character short
      `    "secret_key" => "sk_Qm3vT8pL2xR7nK5wZ9cY4hJ6bD1fG0",`
    ]
  },
  {
    id: 'freshbooks-access-token',
    family: 'freshbooks',
    ident: 'freshbooks_access_token',
    tokens: (r) => times(3, () => random(r, CHARS.lowerAlnum, 64)),
    skipWrappings: NO_URL,
    negatives: [
      `FRESHBOOKS_ACCESS_TOKEN=${'3f9a'.repeat(15)}abc`,
      `FRESHBOOKS_ACCESS_TOKEN=${'3f9a'.repeat(16)}z`,
      `ACCOUNTING_TOKEN=${'3f9a7c1e'.repeat(8)}`,
      `freshbooks_access_token = "\${FRESHBOOKS_TOKEN}"`
    ]
  },
  {
    id: 'gcp-api-key',
    family: 'gcp',
    ident: 'google_maps_key',
    tokens: (r) => times(4, () => `AIza${random(r, CHARS.base64url, 35)}`),
    skipWrappings: NO_URL,
    negatives: [
      `apiKey: "AIza${'a'.repeat(35)}"`,
      `const key = "AIZASYC7HQ2LMV9XRT4KWN8BPF3JDS6GY0ZQE1U";`,
      // glued to the text before it
      `blob=Hx8Kq2LmAIzaQ7vN2pL9xR4tK8wMz3cY6bH1fJ5dS0gR2q`,
      // glued to the text after it
      `AIzaQ7vN2pL9xR4tK8wMz3cY6bH1fJ5dS0gR2qA7s9x2`,
      // published with a public SDK
      `const firebaseConfig = { apiKey: "${PUBLIC_GOOGLE_KEYS[0]}" };`,
      `GOOGLE_API_KEY=${PUBLIC_GOOGLE_KEYS[5]}`
    ]
  },
  {
    id: 'generic-api-key',
    family: 'generic',
    ident: 'billing_api_secret',
    tokens: (r) => [
      random(r, CHARS.alnum, 32),
      `${random(r, CHARS.alnum, 1)}${random(r, CHARS.base64, 38)}=`,
      random(r, CHARS.alnumExtended, 40),
      random(r, CHARS.hex, 64),
      uuid(r)
    ],
    skipWrappings: NO_URL,
    raw: (r) => [
      `"client_secret" : "${random(r, CHARS.hex, 64)}",`,
      `creds = ${random(r, CHARS.alnum, 30)}`,
      `passwd = ${random(r, `${CHARS.alnum}-_.=`, 30)}`,
      `some_auth_token_7 = "${random(r, CHARS.alnum, 60)}"`,
      `cfg.getOrDefault("api_token", "${uuid(r)}")`,
      `"access_token": "${random(r, CHARS.alnum, 1)}${random(r, CHARS.base64, 30)}=="`
    ],
    negatives: [
      // templates and references
      `api_key = "\${BILLING_API_KEY}"`,
      `token: "{{ .Values.billing.token }}"`,
      `DB_PASSWORD=$(cat /run/secrets/db_password)`,
      // low entropy and placeholder values
      `secret_key = "aaaaaaaaaaaaaaaaaaaaaaa1"`,
      `api_key = "example-key-0123456789"`,
      `password = "changeme-2024-prod"`,
      `client_secret: your_client_secret_here_123`,
      // words, identifiers, versions, paths
      `auth_mode = "oauth2-client-credentials"`,
      `secret_store: vault-kv-v2`,
      `TOKEN_SOURCE = "GITHUB_APP_INSTALLATION_V2"`,
      `api_client_version = "12.4.1-rc.3"`,
      `key_prefix = "com.example.billing.v2key"`,
      `signing_key_dir: certs/prod/current2/keys`,
      // names that hold no secret
      `"accessor": "Tq7wX2mR9pL4vK8n",`,
      `report_access_id: 3d1f9a2c-7b4e-4c8d-9e6f-0a5b2c7d8e1f`,
      `this.apiVersion = "2021-06-01x7";`,
      `author = "maria.lopez@mail.example",`,
      `credentialsId: '5b8e2f1a-9c3d-4e7f-8a6b-1c2d3e4f5a6b'`,
      `public_key = "Kx8mQ2vN7pR4tL9wZ3cY6hB1fJ5dG0sA"`,
      `primaryKey=Vb8Nc2Xm-Qp7Lk.Rt4Wz9Jh3`,
      `keySize = RsaKeySize.Bits4096x;`,
      `secret_name = "PROD-LEDGER-DB-CRED-V3"`,
      `csrf_token=Mk3pQ8vR2xT7nL4wZ9cY5hJ1bD6fG0sAkE2r`,
      `keyFile=conf/tls/node01_priv.pem`,
      `<UserSecretsId>a7c2e9f1-4b3d-4e8a-9c6f-2d1b0a3e5f7c</UserSecretsId>`,
      `import { ledgerKey1, ledgerToken2 } from './fixtures/ledger-v2';`,
      `RUN --mount=type=secret,id=npm_token2,target=/root/.npmrc npm ci`,
      `BILLING_API_KEY=\nBILLING_API_URL=\n`
    ]
  },
  {
    id: 'github-app-token',
    family: 'github',
    ident: 'github_app_token',
    tokens: (r) => [
      `ghs_${random(r, CHARS.alnum, 36)}`,
      `ghu_${random(r, CHARS.alnum, 36)}`,
      `ghs_${random(r, CHARS.alnum, 36)}`
    ],
    negatives: [
      `ghu_${'x'.repeat(36)}`,
      `ghs_${'x'.repeat(36)}`,
      `GH_TOKEN=ghs_Qm3vT8pL2xR7nK5wZ9cY4hJ6bD1fG0sA2e3`
    ]
  },
  {
    id: 'github-fine-grained-pat',
    family: 'github',
    ident: 'github_token',
    tokens: (r) =>
      times(3, () => `github_pat_${random(r, CHARS.alnum, 22)}_${random(r, CHARS.alnum, 59)}`),
    negatives: [
      `github_pat_${'x'.repeat(22)}_${'x'.repeat(59)}`,
      `GH_PAT=github_pat_11ABCDEFG0123456789_shortvalue`
    ]
  },
  {
    id: 'github-oauth',
    family: 'github',
    ident: 'github_oauth_token',
    tokens: (r) => times(3, () => `gho_${random(r, CHARS.alnum, 36)}`),
    negatives: [`gho_${'x'.repeat(36)}`, `gho_Qm3vT8pL2xR7nK5wZ9cY4hJ6bD1fG0sA2e`]
  },
  {
    id: 'github-pat',
    family: 'github',
    ident: 'github_token',
    tokens: (r) => times(3, () => `ghp_${random(r, CHARS.alnum, 36)}`),
    negatives: [
      `ghp_${'x'.repeat(36)}`,
      `GITHUB_TOKEN=ghp_${'0'.repeat(36)}`,
      `GITHUB_TOKEN=ghp_Qm3vT8pL2xR7nK5wZ9cY4hJ6bD1fG0sA2e`
    ]
  },
  {
    id: 'github-refresh-token',
    family: 'github',
    ident: 'github_refresh_token',
    tokens: (r) => times(3, () => `ghr_${random(r, CHARS.alnum, 36)}`),
    negatives: [`ghr_${'x'.repeat(36)}`, `ghr_Qm3vT8pL2xR7nK5wZ9cY4hJ6bD1fG0s`]
  },
  {
    id: 'gitlab-cicd-job-token',
    family: 'gitlab',
    ident: 'ci_job_token',
    tokens: (r) => [
      `glcbt-${random(r, CHARS.alnum, 5)}_${random(r, CHARS.alnumExtended, 20)}`,
      `glcbt-${random(r, CHARS.alnum, 2)}_${random(r, CHARS.alnumExtended, 20)}`,
      `glcbt-${random(r, CHARS.digits, 1)}_${random(r, CHARS.alnumExtended, 20)}`
    ],
    negatives: [
      `glcbt-${'a'.repeat(5)}_${'a'.repeat(20)}`,
      `glcbt-64_Qm3vT8pL2xR7nK5wZ9c`,
      `glcbt-_Qm3vT8pL2xR7nK5wZ9cY4h`
    ]
  },
  {
    id: 'gitlab-deploy-token',
    family: 'gitlab',
    ident: 'gitlab_deploy_token',
    tokens: (r) => times(3, () => `gldt-${random(r, CHARS.alnumExtended, 20)}`),
    negatives: [`gldt-${'x'.repeat(20)}`, `gldt-Qm3vT8pL2xR7nK5wZ9c`]
  },
  {
    id: 'gitlab-feature-flag-client-token',
    family: 'gitlab',
    ident: 'unleash_client_token',
    tokens: (r) => times(3, () => `glffct-${random(r, CHARS.alnumExtended, 20)}`),
    negatives: [`glffct-${'x'.repeat(20)}`, `glffct-Qm3vT8pL2xR7nK5wZ9c`]
  },
  {
    id: 'gitlab-feed-token',
    family: 'gitlab',
    ident: 'gitlab_feed_token',
    tokens: (r) => times(3, () => `glft-${random(r, CHARS.alnumExtended, 20)}`),
    negatives: [`glft-${'x'.repeat(20)}`, `glft-Qm3vT8pL2xR7nK5wZ9c`]
  },
  {
    id: 'gitlab-incoming-mail-token',
    family: 'gitlab',
    ident: 'incoming_email_token',
    tokens: (r) => times(3, () => `glimt-${random(r, CHARS.alnumExtended, 25)}`),
    negatives: [`glimt-${'x'.repeat(25)}`, `glimt-Qm3vT8pL2xR7nK5wZ9cY4hJ`]
  },
  {
    id: 'gitlab-kubernetes-agent-token',
    family: 'gitlab',
    ident: 'gitlab_agent_token',
    tokens: (r) => times(3, () => `glagent-${random(r, CHARS.alnumExtended, 50)}`),
    negatives: [`glagent-${'x'.repeat(50)}`, `glagent-${'Qm3vT8pL2x'.repeat(4)}R7nK5wZ9c`]
  },
  {
    id: 'gitlab-oauth-app-secret',
    family: 'gitlab',
    ident: 'gitlab_app_secret',
    tokens: (r) => times(3, () => `gloas-${random(r, CHARS.alnumExtended, 64)}`),
    negatives: [`gloas-${'x'.repeat(64)}`, `gloas-${'Qm3vT8pL'.repeat(7)}R7nK5wZ`]
  },
  {
    id: 'gitlab-pat',
    family: 'gitlab',
    ident: 'gitlab_token',
    tokens: (r) => times(3, () => `glpat-${random(r, CHARS.alnumExtended, 20)}`),
    negatives: [`glpat-${'X'.repeat(11)}-${'X'.repeat(8)}`, `glpat-Qm3vT8pL2xR7nK5wZ9c`]
  },
  {
    id: 'gitlab-pat-routable',
    family: 'gitlab',
    ident: 'gitlab_token',
    tokens: (r) => [
      `glpat-${random(r, CHARS.alnumExtended, 27)}.${random(r, CHARS.lowerAlnum, 2)}${random(r, CHARS.lowerAlnum, 7)}`,
      `glpat-${random(r, CHARS.alnumExtended, 40)}.01${random(r, CHARS.lowerAlnum, 7)}`,
      `glpat-${random(r, CHARS.alnum, 31)}.${random(r, CHARS.lowerAlnum, 9)}`
    ],
    negatives: [
      `glpat-${'y'.repeat(8)}-${'y'.repeat(18)}.${'y'.repeat(9)}`,
      // version and CRC must be lower-case
      `GITLAB_TOKEN=glpat-Qm3vT8pL2xR7nK5wZ9cY4hJ6bD1.01AB3CD4E`
    ]
  },
  {
    id: 'gitlab-ptt',
    family: 'gitlab',
    ident: 'gitlab_trigger_token',
    tokens: (r) => times(3, () => `glptt-${random(r, CHARS.hex, 40)}`),
    negatives: [
      `glptt-${'x'.repeat(40)}`,
      `glptt-${'0'.repeat(40)}`,
      `glptt-${'3f9a7c1e'.repeat(4)}abc`
    ]
  },
  {
    id: 'gitlab-rrt',
    family: 'gitlab',
    ident: 'registration_token',
    tokens: (r) => times(3, () => `GR1348941${random(r, CHARS.alnumExtended, 20)}`),
    negatives: [
      `GR1348941${'X'.repeat(20)}`,
      `GR1348941${'123'.repeat(6)}12`,
      `GR1348941Qm3vT8pL2xR7nK5wZ9`
    ]
  },
  {
    id: 'gitlab-runner-authentication-token',
    family: 'gitlab',
    ident: 'runner_token',
    tokens: (r) => times(3, () => `glrt-${random(r, CHARS.alnumExtended, 20)}`),
    negatives: [`glrt-${'x'.repeat(20)}`, `glrt-Qm3vT8pL2xR7nK5wZ9c`]
  },
  {
    id: 'gitlab-runner-authentication-token-routable',
    family: 'gitlab',
    ident: 'runner_token',
    tokens: (r) => [
      `glrt-t${random(r, CHARS.digits, 1)}_${random(r, CHARS.alnumExtended, 27)}.${random(r, CHARS.lowerAlnum, 9)}`,
      `glrt-t3_${random(r, CHARS.alnum, 40)}.01${random(r, CHARS.lowerAlnum, 7)}`,
      `glrt-t1_${random(r, CHARS.alnumExtended, 30)}.${random(r, CHARS.lowerAlnum, 9)}`
    ],
    negatives: [
      `glrt-tx_${'x'.repeat(27)}.${'x'.repeat(9)}`,
      `glrt-t2_Qm3vT8pL2xR7nK5wZ9cY4hJ6bD1.0`
    ]
  },
  {
    id: 'gitlab-scim-token',
    family: 'gitlab',
    ident: 'gitlab_scim_token',
    tokens: (r) => times(3, () => `glsoat-${random(r, CHARS.alnumExtended, 20)}`),
    negatives: [`glsoat-${'x'.repeat(20)}`, `glsoat-Qm3vT8pL2xR7nK5wZ9c`]
  },
  {
    id: 'gitlab-session-cookie',
    family: 'gitlab',
    ident: 'gitlab_cookie',
    tokens: (r) => times(3, () => `_gitlab_session=${random(r, CHARS.lowerAlnum, 32)}`),
    raw: (r) => [
      `curl -H "Cookie: _gitlab_session=${random(r, CHARS.lowerAlnum, 32)}; preferred_language=en" https://gitlab.example/api/v4/user`
    ],
    negatives: [
      `_gitlab_session=${'0'.repeat(32)}`,
      `Cookie: _gitlab_session=3f9a7c1e2b4d6f8a0c1e3b5d7f9a`
    ]
  },
  {
    id: 'gitter-access-token',
    family: 'gitter',
    ident: 'gitter_token',
    tokens: (r) => times(3, () => random(r, LOWER_EXT, 40)),
    skipWrappings: NO_URL,
    negatives: [
      `GITTER_TOKEN=${'3f9a7c1e'.repeat(5)}x`,
      `GITTER_TOKEN=${'3f9a7c1e'.repeat(4)}abc`,
      `CHAT_TOKEN=${'3f9a7c1e'.repeat(5)}`
    ]
  },
  {
    id: 'gocardless-api-token',
    family: 'gocardless',
    ident: 'gocardless_access_token',
    tokens: (r) => times(3, () => `live_${random(r, LOWER_EXT_EQ, 40)}`),
    skipWrappings: NO_URL,
    negatives: [
      `GOCARDLESS_ACCESS_TOKEN=sandbox_${'3f9a7c1e'.repeat(5)}`,
      `GOCARDLESS_ACCESS_TOKEN=live_${'3f9a7c1e'.repeat(4)}`,
      `PAYMENTS_TOKEN=live_${'3f9a7c1e'.repeat(5)}`
    ]
  },
  {
    id: 'grafana-api-key',
    family: 'grafana',
    ident: 'grafana_api_key',
    tokens: (r) => [
      `eyJrIjoi${random(r, CHARS.alnum, 70)}`,
      `eyJrIjoi${random(r, CHARS.alnum, 96)}=`,
      `eyJrIjoi${random(r, CHARS.alnum, 120)}==`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `GRAFANA_API_KEY=eyJrIjoi${'Q'.repeat(70)}`,
      `GRAFANA_API_KEY=eyJrIjoiQm3vT8pL2xR7nK5wZ9cY4hJ6bD1fG0sA`
    ]
  },
  {
    id: 'grafana-cloud-api-token',
    family: 'grafana',
    ident: 'grafana_cloud_token',
    tokens: (r) => [
      `glc_${random(r, CHARS.alnum, 32)}`,
      `glc_${random(r, CHARS.base64, 100)}==`,
      `glc_${random(r, CHARS.base64, 64)}=`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `glc_${'x'.repeat(68)}`,
      `   API_KEY="glc_${'1'.repeat(42)}="`,
      `static void GLC_CreateLightmapTextureArray(void);`,
      `void GLC_StateBeginUnderwaterAliasModelCaustics(texture_ref base);`
    ]
  },
  {
    id: 'grafana-service-account-token',
    family: 'grafana',
    ident: 'grafana_sa_token',
    tokens: (r) => times(3, () => `glsa_${random(r, CHARS.alnum, 32)}_${random(r, CHARS.hex, 8)}`),
    skipWrappings: NO_URL,
    raw: (r) => [
      `'Authorization': 'Bearer glsa_${random(r, CHARS.alnum, 32)}_${random(r, CHARS.hex, 8)}'`
    ],
    negatives: [
      `glsa_${'X'.repeat(32)}_${'A'.repeat(8)}`,
      `glsa_Qm3vT8pL2xR7nK5wZ9cY4hJ6bD1fG0sA_12zz34yy`
    ]
  },
  {
    id: 'harness-api-key',
    family: 'harness',
    ident: 'harness_token',
    tokens: (r) => [
      `pat.${random(r, CHARS.alnumExtended, 22)}.${random(r, CHARS.alnum, 24)}.${random(r, CHARS.alnum, 20)}`,
      `sat.${random(r, CHARS.alnumExtended, 22)}.${random(r, CHARS.alnum, 24)}.${random(r, CHARS.alnum, 20)}`,
      `pat.${random(r, CHARS.alnum, 22)}.${random(r, CHARS.hex, 24)}.${random(r, CHARS.alnum, 20)}`
    ],
    negatives: [
      `HARNESS_TOKEN=pat.Qm3vT8pL2xR7nK5wZ9cY4h.Qm3vT8pL2xR7nK5wZ9cY4h.Qm3vT8pL2xR7nK5wZ9c`,
      `HARNESS_TOKEN=tok.Qm3vT8pL2xR7nK5wZ9cY4h.Qm3vT8pL2xR7nK5wZ9cY4hJ6.Qm3vT8pL2xR7nK5wZ9cY`
    ]
  },
  {
    id: 'hashicorp-tf-api-token',
    family: 'hashicorp',
    ident: 'tfe_token',
    tokens: (r) => [
      `${random(r, CHARS.alnum, 14)}.atlasv1.${random(r, LOWER_EXT_EQ, 60)}`,
      `${random(r, CHARS.lowerAlnum, 14)}.atlasv1.${random(r, CHARS.alnumExtended, 67)}`,
      `${random(r, CHARS.hex, 14)}.atlasv1.${random(r, CHARS.alnum, 70)}`
    ],
    raw: (r) => [`#token = "${random(r, CHARS.alnum, 14)}.atlasv1.${random(r, CHARS.alnum, 66)}"`],
    negatives: [
      `token        = "${'x'.repeat(14)}.atlasv1.${'x'.repeat(66)}"`,
      `token = "Qm3vT8pL2xR7nK.ATLASV1.${'Qm3vT8pL2xR7nK5wZ9cY'.repeat(3)}"`,
      `token = "Qm3vT8pL2xR7nK.atlasv1.Qm3vT8pL2xR7nK5wZ9cY"`
    ]
  },
  {
    id: 'hashicorp-tf-password',
    family: 'hashicorp',
    ident: 'administrator_login_password',
    path: 'infra/database/main.tf',
    tokens: (r) => [
      `"${random(r, CHARS.lowerAlnum, 12)}"`,
      `"${random(r, LOWER_EXT_EQ, 20)}"`,
      `"${random(r, CHARS.alnum, 8)}"`
    ],
    skipWrappings: NO_URL,
    raw: (r) => [`  password       = "${random(r, CHARS.lowerAlnum, 10)}"`],
    negatives: [
      `administrator_login_password = var.db_password`,
      `  password = "\${aws_db_instance.default.password}"`,
      `  password = "short1"`,
      `  password = "${'a'.repeat(12)}"`
    ]
  },
  {
    id: 'heroku-api-key',
    family: 'heroku',
    ident: 'heroku_api_key',
    tokens: (r) => [uuid(r), uuid(r), uuid(r, CHARS.hexUpper)],
    skipWrappings: NO_URL,
    negatives: [
      `HEROKU_APP_ID = "Z2345678-abcd-4bcd-abcd-1234567890ab"`,
      `PLATFORM_API_KEY = "3d1f9a2c-7b4e-4c8d-9e6f-0a5b2c7d8e1f"`,
      `HEROKU_API_KEY = "3d1f9a2c-7b4e-4c8d-9e6f-0a5b2c7d8e1"`
    ]
  },
  {
    id: 'heroku-api-key-v2',
    family: 'heroku',
    ident: 'heroku_api_key',
    tokens: (r) => times(3, () => `HRKU-AA${random(r, CHARS.alnumExtended, 58)}`),
    skipWrappings: NO_URL,
    negatives: [
      `HEROKU_API_KEY=HRKU-AA${'_'.repeat(58)}`,
      `HEROKU_API_KEY=HRKU-AA${'Ab1-'.repeat(14)}Ab`,
      `HEROKU_API_KEY=HRKU-AAQm3vT8pL2xR7nK5wZ9cY4hJ6bD1fG0sA`
    ]
  },
  {
    id: 'hubspot-api-key',
    family: 'hubspot',
    ident: 'hubspot_api_key',
    tokens: (r) => [uuid(r, CHARS.hexUpper), uuid(r), uuid(r, CHARS.hexUpper)],
    skipWrappings: NO_URL,
    negatives: [
      `HUBSPOT_PORTAL = "G2345678-ABCD-ABCD-ABCD-1234567890AB"`,
      `CRM_API_KEY = "12345678-ABCD-ABCD-ABCD-1234567890AB"`
    ]
  },
  {
    id: 'huggingface-access-token',
    family: 'huggingface',
    ident: 'hf_token',
    tokens: (r) => times(3, () => `hf_${random(r, LETTERS, 34)}`),
    skipWrappings: NO_URL,
    raw: (r) => [
      `huggingface-cli login --token hf_${random(r, LETTERS, 34)}`,
      `-H "Authorization: Bearer hf_${random(r, LETTERS, 34)}"`,
      `HF_TOKEN=hf_${random(r, LETTERS, 34)} poetry run python serve.py`
    ],
    negatives: [
      `- (void)hf_updateUserInterfaceForCurrentTraitCollectionNow;`,
      `#define OSCHF_DebugReadCrystalAmplitudeForCalibration NOROM_OSCHF_Debug`,
      `HUGGINGFACE_TOKEN=hf_${'x'.repeat(34)}`,
      `HUGGINGFACE_TOKEN=hf_${'x'.repeat(40)},`
    ]
  },
  {
    id: 'huggingface-organization-api-token',
    family: 'huggingface',
    ident: 'hf_org_token',
    tokens: (r) => times(3, () => `api_org_${random(r, LETTERS, 34)}`),
    skipWrappings: NO_URL,
    raw: (r) => [`use_auth_token='api_org_${random(r, LETTERS, 34)}')`],
    negatives: [
      `public static final String API_ORG_EXIST = "OrganizationExists";`,
      `const api_org_controller = require('./controllers/orgs');`,
      `old tokens look like api_org_${'X'.repeat(34)}`,
      `def _api_org_5f0c2d1e_8a7b_4c3d_9e2f_1a0b9c8d7e6f(self):`
    ]
  },
  {
    id: 'infracost-api-token',
    family: 'infracost',
    ident: 'infracost_api_key',
    tokens: (r) => times(3, () => `ico-${random(r, CHARS.alnum, 32)}`),
    skipWrappings: NO_URL,
    raw: (r) => [
      `  variable {\n    name = "INFRACOST_API_KEY"\n    secret_value = "ico-${random(r, CHARS.alnum, 32)}"\n  }`
    ],
    negatives: [
      `ico-${'X'.repeat(32)}`,
      `<link rel="icon" href="/static/logo.ico-5c94767cedb5d6987c902ac850ded2c6.png">`,
      `https://docs.example.net/Planning-Notes-1bc826ecc0994dd8915be97fc3489cde?pvs=74`
    ]
  },
  {
    id: 'intercom-api-key',
    family: 'intercom',
    ident: 'intercom_access_token',
    tokens: (r) => times(3, () => random(r, LOWER_EXT_EQ, 60)),
    skipWrappings: NO_URL,
    negatives: [
      `INTERCOM_ACCESS_TOKEN=${'3f9a7c1e'.repeat(7)}abc`,
      `SUPPORT_ACCESS_TOKEN=${'3f9a7c1e'.repeat(7)}abcd`
    ]
  },
  {
    id: 'intra42-client-secret',
    family: 'intra42',
    ident: 'intra_client_secret',
    tokens: (r) => [
      `s-s4t2ud-${random(r, CHARS.hex, 64)}`,
      `s-s4t2af-${random(r, CHARS.hex, 64)}`,
      `s-s4t2ud-${random(r, CHARS.hexUpper, 64)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `s-s4t2ud-${'0'.repeat(64)}`,
      `s-s4t2xx-${'3f9a7c1e'.repeat(8)}`,
      `s-s4t2ud-${'3f9a7c1e'.repeat(7)}`
    ]
  },
  {
    id: 'jfrog-api-key',
    family: 'jfrog',
    ident: 'artifactory_api_key',
    tokens: (r) => times(3, () => random(r, CHARS.lowerAlnum, 73)),
    skipWrappings: NO_URL,
    raw: (r) => [
      `helm upgrade app ./chart --set imagePullSecretJfrog.password=${random(r, CHARS.lowerAlnum, 73)}`
    ],
    negatives: [
      `ARTIFACTORY_API_KEY=${'3f9a7c1e'.repeat(9)}`,
      `REGISTRY_API_KEY=${'3f9a7c1e'.repeat(9)}z`
    ]
  },
  {
    id: 'jfrog-identity-token',
    family: 'jfrog',
    ident: 'jfrog_access_token',
    tokens: (r) => times(3, () => random(r, CHARS.lowerAlnum, 64)),
    skipWrappings: NO_URL,
    raw: (r) => [
      `credentials("artifactory", "${random(r, CHARS.lowerAlnum, 64)}")`,
      `xray_token: ${random(r, CHARS.lowerAlnum, 64)}`
    ],
    negatives: [
      `JFROG_ACCESS_TOKEN=${'3f9a7c1e'.repeat(7)}`,
      `REGISTRY_TOKEN=${'3f9a7c1e'.repeat(8)}`
    ]
  },
  {
    id: 'jwt',
    family: 'jwt',
    ident: 'id_token',
    tokens: (r) => [
      jwt(r, { alg: 'HS256', typ: 'JWT' }),
      jwt(r, { alg: 'RS256', kid: random(r, CHARS.alnum, 16), typ: 'JWT' }),
      jwt(r, { alg: 'none' }, false)
    ],
    skipWrappings: NO_URL,
    raw: (r) => [
      `curl -H "Authorization: Bearer ${jwt(r, { alg: 'HS512', typ: 'JWT' })}" https://api.example.net/v2/me`,
      `https://cdn.example.net/live/master.m3u8?access_token=${jwt(r, { alg: 'HS256', typ: 'JWT' })}`
    ],
    negatives: [
      `header = "eyJhbGciOiJIUzI1NiJ9"`,
      `jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"`,
      `token: eyAAAAAAAAAAAAAAAAAAAA.eyAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAA`
    ]
  },
  {
    id: 'jwt-base64',
    family: 'jwt',
    ident: 'encoded_jwt',
    tokens: (r) => [
      b64(jwt(r, { alg: 'HS256', typ: 'JWT' })),
      b64(jwt(r, { typ: 'JWT', alg: 'RS256' })),
      b64(jwt(r, { kid: random(r, CHARS.alnum, 12), alg: 'ES256' })),
      b64(jwt(r, { iss: 'https://auth.example.net', alg: 'HS384' }))
    ],
    negatives: [
      `data = "ZXlKbm90IGEgand0IGF0IGFsbCwganVzdCBzb21lIHRleHQ="`,
      `blob: ZXlKaGJHY2lPaU`,
      `-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQENBFOrMNcBCAC+gLI4s3bUkobS5NpOQbWfjWXbqC0Ixpc5bZYDOvsmfstmswna\n-----END PGP PUBLIC KEY BLOCK-----`
    ]
  },
  {
    id: 'kraken-access-token',
    family: 'kraken',
    ident: 'kraken_api_secret',
    tokens: (r) => [
      random(r, `${CHARS.lowerAlnum}/=_+-`, 80),
      random(r, `${CHARS.lowerAlnum}/=_+-`, 90),
      `${random(r, CHARS.base64, 86)}==`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `KRAKEN_API_SECRET=${'3f9a7c1e'.repeat(9)}`,
      `EXCHANGE_API_SECRET=${'3f9a7c1e'.repeat(11)}`
    ]
  },
  {
    id: 'kubernetes-secret-yaml',
    family: 'kubernetes',
    ident: 'kubernetes_secret',
    path: 'deploy/k8s/db-secret.yaml',
    tokens: (r) => times(3, () => b64(random(r, CHARS.alnum, 18))),
    skipWrappings: ALL_WRAPPINGS,
    raw: (r) => [
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\ntype: Opaque\ndata:\n  password: ${b64(random(r, CHARS.alnum, 20))}\n  username: ${b64('appuser')}\n`,
      `apiVersion: v1\ndata:\n  # base64 of the password\n  password: ${b64(random(r, CHARS.alnum, 16))}\nkind: Secret\nmetadata:\n  name: db-credentials\n`,
      `apiVersion: "v1"\nkind: "Secret"\ndata:\n  token: "${b64(random(r, CHARS.alnum, 24))}"\nmetadata:\n  name: "api-token"\n`,
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: registry\ntype: kubernetes.io/dockercfg\ndata:\n  .dockercfg: |\n    ${b64(`{"auths":{"https://registry.example":{"auth":"${random(r, CHARS.alnum, 20)}"}}}`)}\n`
    ],
    negatives: [
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: registry-auth\ntype: Opaque\ndata:\n  htpasswd: ""\n`,
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: registry-auth\ntype: Opaque\ndata:\n  htpasswd: ''\n`,
      `apiVersion: v1\ndata:\n  password: {{ .Values.dbPassword }}\nkind: Secret\nmetadata:\n  name: db\n`,
      `apiVersion: v1\nkind: Secret\ndata:\n  extra: Zm9vCg==\nmetadata:\n  name: tiny\n`,
      `apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata:\n  name: example\nspec:\n  data:\n    - secretKey: password\n      remoteRef:\n        key: prod/db/password\n`,
      `kind: Secret\nmetadata:\n  name: a\n---\nkind: ConfigMap\ndata:\n  settings: c2V0dGluZ3MtdmFsdWUtMQ==\n`
    ]
  },
  {
    id: 'kucoin-access-token',
    family: 'kucoin',
    ident: 'kucoin_api_key',
    tokens: (r) => times(3, () => random(r, CHARS.hex, 24)),
    skipWrappings: NO_URL,
    negatives: [
      `KUCOIN_API_KEY=${'3f9a7c1e'.repeat(3)}a`,
      `KUCOIN_API_KEY=${'3f9a7c1e'.repeat(2)}3f9a7c1z`,
      `EXCHANGE_KEY=${'3f9a7c1e'.repeat(3)}`
    ]
  },
  {
    id: 'kucoin-secret-key',
    family: 'kucoin',
    ident: 'kucoin_api_secret',
    tokens: (r) => times(3, () => uuid(r)),
    skipWrappings: NO_URL,
    negatives: [
      `KUCOIN_API_SECRET=3d1f9a2c-7b4e-4c8d-9e6f-0a5b2c7d8e1`,
      `EXCHANGE_SECRET=3d1f9a2c-7b4e-4c8d-9e6f-0a5b2c7d8e1f`
    ]
  },
  {
    id: 'launchdarkly-access-token',
    family: 'launchdarkly',
    ident: 'launchdarkly_access_token',
    tokens: (r) => [`api-${uuid(r)}`, `sdk-${uuid(r)}`, random(r, LOWER_EXT_EQ, 40)],
    skipWrappings: NO_URL,
    negatives: [
      `LAUNCHDARKLY_ACCESS_TOKEN=api-3d1f9a2c-7b4e-4c8d-9e6f-0a5b2c7d8e1`,
      `FLAGS_TOKEN=api-3d1f9a2c-7b4e-4c8d-9e6f-0a5b2c7d8e1f`
    ]
  },
  {
    id: 'linear-api-key',
    family: 'linear',
    ident: 'linear_api_key',
    tokens: (r) => [
      `lin_api_${random(r, CHARS.alnum, 40)}`,
      `lin_api_${random(r, CHARS.lowerAlnum, 40)}`,
      `lin_api_${random(r, CHARS.alnum, 40)}`
    ],
    negatives: [
      `LINEAR_API_KEY=lin_api_${'a'.repeat(40)}`,
      `LINEAR_API_KEY=lin_api_Qm3vT8pL2xR7nK5wZ9cY4hJ6`
    ]
  },
  {
    id: 'linear-client-secret',
    family: 'linear',
    ident: 'linear_client_secret',
    tokens: (r) => times(3, () => random(r, CHARS.hex, 32)),
    skipWrappings: NO_URL,
    negatives: [
      `LINEAR_CLIENT_SECRET=${'a'.repeat(32)}`,
      `LINEAR_CLIENT_SECRET=${'3f9a7c1e'.repeat(3)}`,
      `OAUTH_CLIENT_SECRET=${'3f9a7c1e'.repeat(4)}`
    ]
  },
  {
    id: 'linkedin-client-id',
    family: 'linkedin',
    ident: 'linkedin_client_id',
    tokens: (r) => times(3, () => random(r, CHARS.lowerAlnum, 14)),
    skipWrappings: NO_URL,
    negatives: [
      `LINKEDIN_CLIENT_ID=${'a'.repeat(14)}`,
      `LINKEDIN_CLIENT_ID=7x3k9q2m5v8n1`,
      `SOCIAL_CLIENT_ID=7x3k9q2m5v8n1p`
    ]
  },
  {
    id: 'linkedin-client-secret',
    family: 'linkedin',
    ident: 'linked_in_client_secret',
    tokens: (r) => times(3, () => random(r, CHARS.lowerAlnum, 16)),
    skipWrappings: NO_URL,
    negatives: [
      `LINKED_IN_CLIENT_SECRET=${'z'.repeat(16)}`,
      `LINKED_IN_CLIENT_SECRET=7x3k9q2m5v8n1p4`,
      `SOCIAL_CLIENT_SECRET=7x3k9q2m5v8n1p4w`
    ]
  },
  {
    id: 'lob-api-key',
    family: 'lob',
    ident: 'lob_api_key',
    tokens: (r) => [
      `test_${random(r, CHARS.hex, 35)}`,
      `live_${random(r, CHARS.hex, 35)}`,
      `test_${random(r, CHARS.hex, 35)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `LOB_API_KEY=prod_${'3f9a7c1e'.repeat(4)}abc`,
      `LOB_API_KEY=test_${'3f9a7c1e'.repeat(4)}ab`,
      `MAIL_API_KEY=test_${'3f9a7c1e'.repeat(4)}abc`
    ]
  },
  {
    id: 'lob-pub-api-key',
    family: 'lob',
    ident: 'lob_publishable_key',
    tokens: (r) => [
      `test_pub_${random(r, CHARS.hex, 31)}`,
      `live_pub_${random(r, CHARS.hex, 31)}`,
      `test_pub_${random(r, CHARS.hex, 31)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `LOB_PUBLISHABLE_KEY=test_pub_${'3f9a7c1e'.repeat(3)}abcdef`,
      `MAIL_PUBLISHABLE_KEY=test_pub_${'3f9a7c1e'.repeat(3)}abcdefa`
    ]
  },
  {
    id: 'looker-client-id',
    family: 'looker',
    ident: 'looker_client_id',
    tokens: (r) => times(3, () => random(r, CHARS.lowerAlnum, 20)),
    skipWrappings: NO_URL,
    negatives: [`LOOKER_CLIENT_ID=7x3k9q2m5v8n1p4w6r2`, `BI_CLIENT_ID=7x3k9q2m5v8n1p4w6r2t`]
  },
  {
    id: 'looker-client-secret',
    family: 'looker',
    ident: 'looker_client_secret',
    tokens: (r) => times(3, () => random(r, CHARS.lowerAlnum, 24)),
    skipWrappings: NO_URL,
    negatives: [
      `LOOKER_CLIENT_SECRET=7x3k9q2m5v8n1p4w6r2t8y3`,
      `BI_CLIENT_SECRET=7x3k9q2m5v8n1p4w6r2t8y3u`
    ]
  },
  {
    id: 'mailchimp-api-key',
    family: 'mailchimp',
    ident: 'mailchimp_api_key',
    tokens: (r) => [
      `${random(r, CHARS.hex, 32)}-us20`,
      `${random(r, CHARS.hex, 32)}-us6${random(r, CHARS.digits, 1)}`,
      `${random(r, CHARS.hex, 32)}-us18`
    ],
    skipWrappings: NO_URL,
    raw: (r) => [`MAILCHIMPE_KEY = "${random(r, CHARS.hex, 32)}-us14"`],
    negatives: [
      `MailchimpSDK.initialize(token: ${'3f9a7c1e'.repeat(4)}-us18)`,
      `MAILCHIMP_API_KEY=${'3f9a7c1e'.repeat(4)}-eu18`,
      `NEWSLETTER_KEY=${'3f9a7c1e'.repeat(4)}-us18`
    ]
  },
  {
    id: 'mailgun-private-api-token',
    family: 'mailgun',
    ident: 'mailgun_api_key',
    tokens: (r) => times(3, () => `key-${random(r, CHARS.hex, 32)}`),
    skipWrappings: NO_URL,
    negatives: [
      `MAILGUN_API_KEY=key-${'3f9a7c1e'.repeat(3)}`,
      `MAIL_API_KEY=key-${'3f9a7c1e'.repeat(4)}`
    ]
  },
  {
    id: 'mailgun-pub-key',
    family: 'mailgun',
    ident: 'mailgun_public_key',
    tokens: (r) => times(3, () => `pubkey-${random(r, CHARS.hex, 32)}`),
    skipWrappings: NO_URL,
    negatives: [
      `MAILGUN_PUBLIC_KEY=pubkey-${'3f9a7c1e'.repeat(3)}`,
      `MAIL_PUBLIC_KEY=pubkey-${'3f9a7c1e'.repeat(4)}`
    ]
  },
  {
    id: 'mailgun-signing-key',
    family: 'mailgun',
    ident: 'mailgun_webhook_signing_key',
    tokens: (r) =>
      times(
        3,
        () =>
          `${random(r, CHARS.hex, 32)}-${random(r, '0123456789abcdefgh', 8)}-${random(r, '0123456789abcdefgh', 8)}`
      ),
    skipWrappings: NO_URL,
    negatives: [
      `MAILGUN_WEBHOOK_SIGNING_KEY=${'3f9a7c1e'.repeat(4)}-0000zzzz-11112222`,
      `WEBHOOK_SIGNING_KEY=${'3f9a7c1e'.repeat(4)}-00001111-22223333`
    ]
  },
  {
    id: 'mapbox-api-token',
    family: 'mapbox',
    ident: 'mapbox_access_token',
    tokens: (r) => times(3, () => `pk.${random(r, CHARS.alnum, 60)}.${random(r, CHARS.alnum, 22)}`),
    skipWrappings: NO_URL,
    negatives: [
      `MAPBOX_ACCESS_TOKEN=sk.${'3f9a7c1e'.repeat(7)}abcd.${'3f9a7c1e'.repeat(2)}abcdef`,
      `MAPS_TOKEN=pk.${'3f9a7c1e'.repeat(7)}abcd.${'3f9a7c1e'.repeat(2)}abcdef`
    ]
  },
  {
    id: 'mattermost-access-token',
    family: 'mattermost',
    ident: 'mattermost_token',
    tokens: (r) => times(3, () => random(r, CHARS.lowerAlnum, 26)),
    skipWrappings: NO_URL,
    negatives: [
      `MATTERMOST_TOKEN=7x3k9q2m5v8n1p4w6r2t8y3u5`,
      `CHAT_TOKEN=7x3k9q2m5v8n1p4w6r2t8y3u5i`
    ]
  },
  {
    id: 'maxmind-license-key',
    family: 'maxmind',
    ident: 'maxmind_license_key',
    tokens: (r) => times(3, () => `${random(r, CHARS.alnum, 6)}_${random(r, CHARS.alnum, 29)}_mmk`),
    skipWrappings: NO_URL,
    negatives: [
      `MAXMIND_LICENSE_KEY=${'a'.repeat(6)}_${'a'.repeat(29)}_mmk`,
      `MAXMIND_LICENSE_KEY=Qm3vT8_pL2xR7nK5wZ9cY4hJ6bD1fG0sA_mmk`
    ]
  },
  {
    id: 'messagebird-api-token',
    family: 'messagebird',
    ident: 'message_bird_access_key',
    tokens: (r) => times(3, () => random(r, CHARS.lowerAlnum, 25)),
    skipWrappings: NO_URL,
    raw: (r) => [
      `{ "messagebird": "${random(r, CHARS.lowerAlnum, 25)}" }`,
      `MESSAGE-BIRD-KEY: ${random(r, CHARS.lowerAlnum, 25)}`
    ],
    negatives: [
      `MESSAGEBIRD_ACCESS_KEY=7x3k9q2m5v8n1p4w6r2t8y3u`,
      `SMS_ACCESS_KEY=7x3k9q2m5v8n1p4w6r2t8y3u5`
    ]
  },
  {
    id: 'messagebird-client-id',
    family: 'messagebird',
    ident: 'messagebird_client_id',
    tokens: (r) => [uuid(r), uuid(r, CHARS.hexUpper), uuid(r)],
    skipWrappings: NO_URL,
    negatives: [
      `MESSAGEBIRD_CLIENT_ID=3d1f9a2c-7b4e-4c8d-9e6f-0a5b2c7d8e1`,
      `SMS_CLIENT_ID=3d1f9a2c-7b4e-4c8d-9e6f-0a5b2c7d8e1f`
    ]
  },
  {
    id: 'microsoft-teams-webhook',
    family: 'microsoft',
    ident: 'teams_webhook_url',
    tokens: (r) =>
      times(
        3,
        () =>
          `https://${random(r, CHARS.lowerAlnum, 8)}.webhook.office.com/webhookb2/${uuid(r)}@${uuid(r)}/IncomingWebhook/${random(r, CHARS.lowerAlnum, 32)}/${uuid(r)}`
      ),
    negatives: [
      `TEAMS_WEBHOOK_URL=https://contoso.webhook.office.com/webhookb2/<group-id>@<tenant-id>/IncomingWebhook/<id>/<owner>`,
      `TEAMS_WEBHOOK_URL=https://contoso.webhook.office.com/webhookb2/3d1f9a2c-7b4e-4c8d-9e6f-0a5b2c7d8e1f`
    ]
  },
  {
    id: 'netlify-access-token',
    family: 'netlify',
    ident: 'netlify_auth_token',
    tokens: (r) => [
      random(r, LOWER_EXT_EQ, 40),
      random(r, LOWER_EXT_EQ, 43),
      random(r, LOWER_EXT_EQ, 46)
    ],
    skipWrappings: NO_URL,
    negatives: [
      `NETLIFY_AUTH_TOKEN=${'3f9a7c1e'.repeat(4)}abcdef`,
      `NETLIFY_AUTH_TOKEN=${'3f9a7c1e'.repeat(6)}`,
      `DEPLOY_AUTH_TOKEN=${'3f9a7c1e'.repeat(5)}`
    ]
  },
  {
    id: 'new-relic-browser-api-token',
    family: 'newrelic',
    ident: 'new_relic_browser_key',
    tokens: (r) => times(3, () => `NRJS-${random(r, CHARS.hex, 19)}`),
    skipWrappings: NO_URL,
    negatives: [
      `NEW_RELIC_BROWSER_KEY=NRJS-${'3f9a7c1e'.repeat(2)}ab`,
      `MONITOR_BROWSER_KEY=NRJS-${'3f9a7c1e'.repeat(2)}abc`
    ]
  },
  {
    id: 'new-relic-insert-key',
    family: 'newrelic',
    ident: 'newrelic_insert_key',
    tokens: (r) => [
      `NRII-${random(r, CHARS.hex, 32)}`,
      `NRII-${random(r, `${CHARS.lowerAlnum}-`, 32)}`,
      `NRII-${random(r, CHARS.lowerAlnum, 32)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `NEWRELIC_INSERT_KEY=NRII-${'3f9a7c1e'.repeat(3)}abc`,
      `INSIGHTS_INSERT_KEY=NRII-${'3f9a7c1e'.repeat(4)}`
    ]
  },
  {
    id: 'new-relic-user-api-id',
    family: 'newrelic',
    ident: 'new-relic-user-id',
    tokens: (r) => times(3, () => random(r, CHARS.lowerAlnum, 64)),
    skipWrappings: NO_URL,
    negatives: [
      `NEW_RELIC_USER_ID=${'3f9a7c1e'.repeat(7)}abc`,
      `MONITOR_USER_ID=${'3f9a7c1e'.repeat(8)}`
    ]
  },
  {
    id: 'new-relic-user-api-key',
    family: 'newrelic',
    ident: 'new_relic_api_key',
    tokens: (r) => [
      `NRAK-${random(r, CHARS.upperAlnum, 27)}`,
      `NRAK-${random(r, CHARS.upperAlnum, 27)}`,
      `NRAK-${random(r, CHARS.lowerAlnum, 27)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `NEW_RELIC_API_KEY=NRAK-7X3K9Q2M5V8N1P4W6R2T8Y3U5`,
      `MONITOR_API_KEY=NRAK-7X3K9Q2M5V8N1P4W6R2T8Y3U5I`
    ]
  },
  {
    id: 'notion-api-token',
    family: 'notion',
    ident: 'notion_token',
    tokens: (r) =>
      times(3, () => `ntn_${random(r, CHARS.digits, 11)}${random(r, CHARS.alnum, 35)}`),
    skipWrappings: NO_URL,
    negatives: [
      `ntn_12345678901`,
      `ntn_${'1234567890'.repeat(6)}`,
      `ntn_12345678901abc`,
      `NOTION_TOKEN=ntn_${'1'.repeat(11)}${'a'.repeat(35)}`
    ]
  },
  {
    id: 'npm-access-token',
    family: 'npm',
    ident: 'npm_access_token',
    tokens: (r) => [
      `npm_${random(r, CHARS.alnum, 36)}`,
      `npm_${random(r, CHARS.lowerAlnum, 36)}`,
      `npm_${random(r, CHARS.alnum, 36)}`
    ],
    skipWrappings: NO_URL,
    negatives: [
      `NPM_TOKEN=npm_${'a'.repeat(36)}`,
      `NPM_TOKEN=npm_Qm3vT8pL2xR7nK5wZ9cY4hJ6bD1fG0sA2e`,
      `NPM_TOKEN=xnpm_Qm3vT8pL2xR7nK5wZ9cY4hJ6bD1fG0sA2e3`
    ]
  },

  // --- extras ---
  {
    id: 'gcp-oauth-client-secret',
    family: 'gcp',
    ident: 'google_client_secret',
    tokens: (r) => times(3, () => `GOCSPX-${random(r, CHARS.base64url, 28)}`),
    skipWrappings: NO_URL,
    negatives: [
      `GOOGLE_CLIENT_SECRET=GOCSPX-${'x'.repeat(28)}`,
      `GOOGLE_CLIENT_SECRET=GOCSPX-Qm3vT8pL2xR7nK5wZ9cY4hJ6bD1`
    ]
  },
  {
    id: 'gcp-service-account-key',
    family: 'gcp',
    ident: 'service_account',
    path: 'secrets/deployer-sa.json',
    tokens: (r) => times(3, () => random(r, CHARS.hex, 40)),
    skipWrappings: ALL_WRAPPINGS,
    raw: (r) => [
      `{\n  "type": "service_account",\n  "project_id": "demo-${random(r, CHARS.lower, 6)}",\n  "private_key_id": "${random(r, CHARS.hex, 40)}",\n  "private_key": "${jsonPem(r)}",\n  "client_email": "deployer@demo.iam.gserviceaccount.com"\n}`,
      `{"private_key": "${jsonPem(r)}", "private_key_id": "${random(r, CHARS.hex, 40)}", "type": "service_account"}`
    ],
    negatives: [
      `{\n  "type": "service_account",\n  "private_key_id": "${'3f9a7c1e'.repeat(5)}",\n  "private_key": "-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n"\n}`,
      `{"private_key_id": "<your key id>", "private_key": "<your private key>"}`
    ]
  },
  {
    id: 'github-x-oauth-basic-url',
    family: 'github',
    ident: 'repository_url',
    tokens: (r) => times(3, () => random(r, CHARS.hex, 40)),
    skipWrappings: ALL_WRAPPINGS,
    raw: (r) => [
      `"private-lib": "git+https://${random(r, CHARS.hex, 40)}:x-oauth-basic@github.com/acme/private-lib.git",`,
      `git clone https://ghp_${random(r, CHARS.alnum, 36)}:x-oauth-basic@github.com/acme/tools.git`
    ],
    negatives: [
      `"lib": "git+https://github.com/acme/private-lib.git",`,
      `see https://help.example/x-oauth-basic for details`
    ]
  },
  {
    id: 'groq-api-key',
    family: 'groq',
    ident: 'groq_api_key',
    tokens: (r) => times(3, () => `gsk_${random(r, CHARS.alnum, 52)}`),
    skipWrappings: NO_URL,
    negatives: [
      `GROQ_API_KEY=gsk_${'x'.repeat(52)}`,
      `GROQ_API_KEY=gsk_${'Qm3vT8pL2xR7nK5wZ9cY'.repeat(2)}abc`
    ]
  },
  {
    id: 'mongodb-connection-string',
    family: 'mongodb',
    ident: 'mongo_url',
    tokens: (r) => times(3, () => random(r, CHARS.alnum, 16)),
    skipWrappings: ALL_WRAPPINGS,
    raw: (r) => [
      `MONGO_URL=mongodb+srv://app_user:${random(r, CHARS.alnum, 16)}@cluster0.abcde.mongodb.net/shop?retryWrites=true`,
      `uri: "mongodb://admin:${random(r, CHARS.alnum, 20)}@10.0.3.17:27017/admin"`
    ],
    negatives: [
      `MONGO_URL=mongodb://localhost:27017/shop`,
      `MONGO_URL=mongodb+srv://app_user:<password>@cluster0.abcde.mongodb.net/shop`,
      `MONGO_URL=mongodb://app_user:\${MONGO_PASSWORD}@db:27017/shop`,
      `MONGO_URL=mongodb://user:password@localhost:27017/test`,
      `MONGO_URL=mongodb://app:xxxx@db:27017/shop`
    ]
  },
  {
    id: 'mysql-connection-string',
    family: 'mysql',
    ident: 'database_url',
    tokens: (r) => times(3, () => random(r, CHARS.alnum, 16)),
    skipWrappings: ALL_WRAPPINGS,
    raw: (r) => [
      `DATABASE_URL=mysql://shop:${random(r, CHARS.alnum, 18)}@db.internal:3306/shop`,
      `spring.datasource.url=jdbc:mysql://report:${random(r, CHARS.alnum, 14)}@10.1.2.3:3306/reports?useSSL=true`
    ],
    negatives: [
      `DATABASE_URL=mysql://db.internal:3306/shop`,
      `DATABASE_URL=mysql://root:root@localhost:3306/shop`,
      `DATABASE_URL=mysql://shop:{password}@db:3306/shop`,
      `DATABASE_URL=mysql://shop:\$DB_PASSWORD@db:3306/shop`
    ]
  },
  {
    id: 'npmrc-auth-token',
    family: 'npm',
    ident: 'npmrc',
    path: 'packages/web/.npmrc',
    tokens: (r) => times(3, () => `npm_${random(r, CHARS.alnum, 36)}`),
    skipWrappings: ALL_WRAPPINGS,
    raw: (r) => [
      `//registry.npmjs.org/:_authToken=npm_${random(r, CHARS.alnum, 36)}`,
      `//npm.pkg.example.net/:_authToken=${random(r, CHARS.hex, 8)}-${random(r, CHARS.hex, 4)}-${random(r, CHARS.hex, 4)}-${random(r, CHARS.hex, 4)}-${random(r, CHARS.hex, 12)}`
    ],
    negatives: [
      `//registry.npmjs.org/:_authToken=\${NPM_TOKEN}`,
      `//registry.npmjs.org/:_authToken="\${NPM_TOKEN}"`,
      `registry=https://registry.npmjs.org/`
    ]
  }
];
