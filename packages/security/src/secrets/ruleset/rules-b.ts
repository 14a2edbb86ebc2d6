// Default rules, group B (freemius … npm, then our own extras), in gitleaks'
// configuration schema. Ids, token formats, keywords, entropy thresholds and
// allowlist facts follow gitleaks' default configuration at the release named
// in ./release.ts; the regexes are written here, in RE2 syntax.

import { namedValue, uniqueToken, type GitleaksAllowlist, type GitleaksRule } from './schema.ts';

const UUID_HEX = String.raw`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`;
const NEW_RELIC = ['new-relic', 'newrelic', 'new_relic'];
const JFROG = ['jfrog', 'artifactory', 'bintray', 'xray'];

// GitHub's token docs for @octokit/auth-token show real-looking tokens.
const OCTOKIT_README: GitleaksAllowlist = {
  paths: [String.raw`(?:^|/)@octokit/auth-token/README\.md$`]
};

// Google API keys that ship inside public SDKs, samples and docs (gitleaks
// allowlists these exact keys).
export const PUBLIC_GOOGLE_KEYS: readonly string[] = [
  'AIzaSyabcdefghijklmnopqrstuvwxyz1234567',
  'AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs',
  'AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM',
  'AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU',
  'AIzaSyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0',
  'AIzayDNSXIbFmlXbIE6mCzDLQAqITYefhixbX4A',
  'AIzaSyAdOS2zB6NCsk1pCdZ4-P6GBdi_UUPwX7c',
  'AIzaSyASWm6HmTMdYWpgMnjRBjxcQ9CKctWmLd4',
  'AIzaSyANUvH9H9BsUccjsu2pCmEkOPjjaXeDQgY',
  'AIzaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM',
  'AIzaSyA4UrcGxgwQFTfaI3no3t7Lt1sjmdnP5sQ',
  'AIzaSyDSb51JiIcB6OJpwwMicseKRhhrOq1cS7g',
  'AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU',
  'AIzaSyBcE-OOIbhjyR83gm4r2MFCu4MJmprNXsw',
  'AIzaSyB8qGxt4ec15vitgn44duC5ucxaOi4FmqE',
  'AIzaSyA8vmApnrHNFE0bApF4hoZ11srVL_n0nvY'
];

// ---------------------------------------------------------------------------
// generic-api-key: the broadest rule. Our own word list of values that are
// not secrets (matched as substrings of the lower-cased secret), chosen for
// words that turn up in configuration values, identifiers and prose. Words
// are at least four letters and avoid a-f-only words so that a random hex or
// base64 secret almost never contains one.
const words = (list: string): string[] => list.trim().split(/\s+/);

export const GENERIC_STOPWORDS: readonly string[] = [
  ...new Set([
    // placeholders and documentation values
    ...words(`
      example sample dummy placeholder changeme change_me change-me replace your_ your-
      yourkey yoursecret yourtoken insert redacted masked lorem ipsum foobar foo_bar
      foo-bar hello world xxxx yyyy zzzz qwerty asdfgh abcdefgh abcdefghijklmnopqrstuvwxyz
      0123456789 123456789 000000 111111 aaaaaa mysecret mypassword mytoken mykey secret_
      secret- password passwd passphrase token_ token- undefined nullable todo fixme
      testing test_ test- test. tests unittest mock stub fixture demo tutorial snapshot
      release version latest stable nightly alpha beta preview candidate deprecated legacy
      default generated template temporary sandbox staging production development
      localhost local_ local- internal external public private shared
    `),
    // programming vocabulary
    ...words(`
      function return string boolean integer number object array class const static
      protected interface abstract extends implements import export module package require
      include define struct typedef value variable param argument config setting option
      property attribute element component container context controller service handler
      listener callback promise async await request response header session cookie cache
      buffer stream reader writer parser format encoder decoder encode decode encrypt
      decrypt cipher digest signing random generate builder factory manager provider
      client server router endpoint gateway proxy socket channel message queue topic event
      trigger schedule worker thread process command script shell python java javascript
      typescript golang ruby kotlin swift scala docker kubernetes helm terraform ansible
      jenkins gradle maven webpack babel eslint react angular django flask rails spring
      express laravel symfony android iphone windows linux darwin macos ubuntu debian
      alpine centos nginx apache mysql postgres mongo redis kafka rabbit elastic sqlite
      oracle database table column index schema query select update delete create remove
      upload download display render layout style theme color image button input output
      label title content description summary detail document filename folder directory
      extension deploy debug verbose logger logging error warning exception failure
      success status result state storage bucket region cluster instance machine hostname
      domain address email phone username account profile admin member group permission
      policy scope grant login logout signin signup register bearer basic oauth openid
      saml ldap kerberos certificate keystore truststore keychain credential secret token
      apikey api_key api-key access authorization authenticate identifier uuid guid
      checksum sha256 sha512 md5sum base64 utf8 ascii unicode json yaml toml html http
      https www. .com .org .net github gitlab bitbucket google amazon azure microsoft
      cloud storage network firewall subnet security monitor metrics analytics tracking
      report dashboard console portal website browser mobile desktop platform framework
      library plugin addon extension feature enabled disabled enable disable true false
      null none empty blank missing invalid unknown other another something
    `),
    // common English words
    ...words(`
      about above after again against along already always because before below between
      could should would during every first second third there their these those where
      which while within without through under until never maybe please thank welcome
      people thing right little large small great better simple advanced special general
      common normal company customer product order payment invoice price shipping market
      office person student teacher school course lesson chapter section paragraph
      sentence letter character language english french german spanish chinese country
      street house family friend player score level music video audio photo picture camera
      movie story article comment question answer problem solution issue change history
      timeline calendar today tomorrow yesterday monday tuesday wednesday thursday friday
      saturday sunday january february march april august september october november
      december summer winter spring autumn morning evening night water light black white
      green yellow orange purple silver golden master branch commit merge rebase fetch
      clone issue label milestone project
    `),
    // the one concrete value gitleaks allowlists by stopword: a public yarn
    // registry key that appears in many lock files and configs
    ...words(`
      6fe4476ee5a1832882e326b506d14126
    `)
  ])
];

// Names that contain a keyword but do not hold a secret (gitleaks' "match"
// allowlist facts for this rule, grouped by keyword).
const GENERIC_NOT_A_SECRET_NAME = [
  // access
  String.raw`access(?:ibility|or)`,
  String.raw`access[_.-]?id`,
  String.raw`random[_.-]?access`,
  // api
  String.raw`api[_.-]?(?:id|name|version)`,
  'rapid',
  'capital',
  // (a search: no need for the leading `[a-z0-9-]*?`, which backtracks on long lines)
  String.raw`api[a-z0-9-]*:jar:`,
  // auth
  'author',
  'X-MS-Exchange-Organization-Auth',
  'Authentication-Results',
  // credentials
  String.raw`credentials?[_.-]?id`,
  'withCredentials',
  // key
  String.raw`(?:bucket|foreign|hot|idx|natural|primary|pub(?:lic)?|schema|sequence)[_.-]?key`,
  'turkey',
  String.raw`key[_.-]?(?:alias|board|code|frame|id|length|mesh|name|pair|press(?:ed)?|ring|selector|signature|size|stone|storetype|word|up|down|left|right)`,
  String.raw`key[_.-]?vault[_.-]?(?:id|name)`,
  'keyVaultToStoreSecrets',
  String.raw`key(?:store|tab)[_.-]?(?:file|path)`,
  'issuerkeyhash',
  String.raw`(?-i:[DdMm]onkey|[DM]ONKEY)`,
  'keying',
  // secret
  String.raw`secret[_.-]?(?:length|name|size)`,
  'UserSecretsId',
  // token
  String.raw`csrf[_.-]?token`,
  String.raw`io\.jsonwebtoken[ \t]?:[ \t]?[\w-]+`,
  // general
  String.raw`(?:api|credentials|token)[_.-]?(?:endpoint|ur[il])`,
  String.raw`public[_.-]?token`,
  String.raw`(?:key|token)[_.-]?file`,
  // an empty assignment whose "value" is the next line's name (.env files)
  String.raw`(?-i:(?:[A-Z_]+=\n[A-Z_]+=|[a-z_]+=\n[a-z_]+=)(?:\n|\z))`,
  String.raw`(?-i:(?:[A-Z.]+=\n[A-Z.]+=|[a-z.]+=\n[a-z.]+=)(?:\n|\z))`
];

// Values that are plainly not secrets, checked against the secret.
const GENERIC_NOT_A_SECRET_VALUE = [
  // only letters and separators: a word or identifier, not a key (gitleaks)
  String.raw`^[a-zA-Z_.-]+$`,
  // lower-case words joined by dashes, underscores or dots, with at most short numbers
  String.raw`^[a-z]{2,}(?:[-_.](?:[a-z]{2,}|[0-9]{1,4}))+$`,
  // SCREAMING_SNAKE names of other variables
  String.raw`^[A-Z]{2,}[0-9]*(?:_[A-Z]{2,}[0-9]*)+$`,
  // dotted names (Java packages, property keys)
  String.raw`^[a-z][a-z0-9]*(?:\.[a-z][a-z0-9_]*){2,}$`,
  // versions, optionally with a short prefix and a qualifier
  String.raw`(?i)^[a-z]{0,8}[0-9]+(?:\.[0-9]+)+(?:[-_+.][0-9a-z]+)*$`,
  // templates and references to other variables
  String.raw`\$\{[^}]*\}`,
  String.raw`\{\{[^}]*\}\}`,
  String.raw`^\$\(.*\)$`,
  String.raw`^%[A-Za-z_]+%$`,
  String.raw`^<[^>]*>$`,
  // lower-case file paths
  String.raw`^/?[a-z0-9_.-]+(?:/[a-z0-9_.-]+)+/?$`
];

// ---------------------------------------------------------------------------
// Extras (not in gitleaks): connection strings with a password. A password
// that is a placeholder, a template or one repeated character is not reported.
const CONNECTION_PASSWORD_PLACEHOLDERS: GitleaksAllowlist = {
  description: 'placeholder passwords in connection strings',
  regexes: [
    String.raw`^.{0,3}$`,
    String.raw`\$\{[^}]{1,50}\}`,
    String.raw`\{\{[^}]{1,50}\}\}`,
    String.raw`\{[^}]{1,50}\}`,
    String.raw`%[A-Z_]{1,30}%`,
    String.raw`\$[A-Z_]{1,30}`,
    String.raw`\$\([^)]{1,50}\)`,
    String.raw`^<[^>]*>$`,
    String.raw`(?i)^(?:password|username|secret|mypassword|myusername|root|admin|user|pass|your_password|your_username|replace_with_password|changeme|example|localhost|test)$`,
    // one character repeated (aaaa, ****, 1111)
    `^(?:${[...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'].map((c) => `${c}{4,}`).join('|')}|\\*{4,}|\\.{4,}|#{4,}|_{4,}|-{4,})$`
  ]
};

// Base64 of the first bytes of a JWT header ("eyJ" + base64url of {"<claim>":),
// one fragment per registered header parameter.
const JWT_BASE64_HEADERS = [
  'aGJHY2lPaU', // alg
  'aGNIVWlPaU', // apu
  'aGNIWWlPaU', // apv
  'aGRXUWlPaU', // aud
  'aU5qUWlP', // b64
  'amNtbDBJanBi', // crit
  'amRIa2lPaU', // cty
  'bGNHc2lPbn', // epk
  'bGJtTWlPaU', // enc
  'cWEzVWlPaU', // jku
  'cWQyc2lPb', // jwk
  'cGMzTWlPaU', // iss
  'cGRpSTZJ', // iv
  'cmFXUWlP', // kid
  'clpYbGZiM0J6SWpwY', // key_ops
  'cmRIa2lPaUp', // kty
  'dWIyNWpaU0k2', // nonce
  'd01tTWlP', // p2c
  'd01uTWlPaU', // p2s
  'd2NIUWlPaU', // ppt
  'emRXSWlPaU', // sub
  'emRuUWlP', // svt
  'MFlXY2lPaU', // tag
  'MGVYQWlPaUp', // typ
  'MWNtd2l', // url
  'MWMyVWlPaUp', // use
  'MlpYSWlPaU', // ver
  'MlpYSnphVzl1SWpv', // version
  'NElqb2', // x
  'NE5XTWlP', // x5c
  'NE5YUWlPaU', // x5t
  'NE5YUWpVekkxTmlJNkl', // x5t#S256
  'NE5YVWlPaU', // x5u
  'NmFYQWlPaU' // zip
];

// kubernetes-secret-yaml: `kind: Secret` and a `data:` entry whose value
// looks like base64 (or a template / empty string, allowlisted below), in
// either order, within a few hundred characters.
const K8S_KIND = String.raw`\bkind:[ \t]*["']?\bsecret\b["']?`;
const K8S_DATA = String.raw`\bdata:(?s:.){0,100}?\s+([\w.-]+:(?:[ \t]*(?:\||>[-+]?)\s+)?[ \t]*(?:["']?[a-z0-9+/]{10,}={0,3}["']?|\{\{[ \t\w"|$:=,.-]+}}|""|''))`;

// A PEM private key inside a JSON string (its newlines written as \n).
const JSON_PEM = String.raw`-----BEGIN[A-Z ]{0,20}PRIVATE KEY-----(?:\\n|[A-Za-z0-9+/=\s])+?-----END[A-Z ]{0,20}PRIVATE KEY-----(?:\\n)?`;

export const RULES_B: GitleaksRule[] = [
  {
    id: 'freemius-secret-key',
    description: 'Freemius secret key in a PHP configuration array.',
    regex: String.raw`(?i)["']secret_key["']\s*=>\s*["'](sk_[\S]{29})["']`,
    path: String.raw`(?i)\.php$`,
    keywords: ['secret_key']
  },
  {
    id: 'freshbooks-access-token',
    description: 'FreshBooks access token, giving access to accounting data.',
    regex: namedValue(['freshbooks'], '[a-z0-9]{64}'),
    keywords: ['freshbooks']
  },
  {
    id: 'gcp-api-key',
    description: 'Google Cloud (GCP / Firebase) API key.',
    regex: uniqueToken(String.raw`AIza[\w-]{35}`),
    entropy: 4,
    keywords: ['aiza'],
    allowlists: [
      {
        description: 'keys published in Google SDKs and samples',
        regexes: [`^(?:${PUBLIC_GOOGLE_KEYS.join('|')})$`]
      }
    ]
  },
  {
    id: 'generic-api-key',
    description: 'A value assigned to a name that says it is a key, token, password or secret.',
    regex: namedValue(
      [
        'access',
        'auth',
        '(?-i:[Aa]pi|API)',
        'credential',
        'creds',
        'key',
        'passw(?:or)?d',
        'secret',
        'token'
      ],
      String.raw`[\w.=-]{10,150}|[a-z0-9][a-z0-9+/]{11,}={0,3}`
    ),
    entropy: 3.5,
    keywords: [
      'access',
      'api',
      'auth',
      'key',
      'credential',
      'creds',
      'passwd',
      'password',
      'secret',
      'token'
    ],
    allowlists: [
      { description: 'values that are plainly not secrets', regexes: GENERIC_NOT_A_SECRET_VALUE },
      {
        description: 'names that contain a keyword but hold no secret; common words',
        regexTarget: 'match',
        regexes: [`(?i)(?:${GENERIC_NOT_A_SECRET_NAME.join('|')})`],
        stopwords: [...GENERIC_STOPWORDS]
      },
      {
        description: 'Docker build secret mounts; JavaScript named imports',
        regexTarget: 'line',
        regexes: [
          String.raw`--mount=type=secret,`,
          String.raw`import[ \t]+{[ \t\w,]+}[ \t]+from[ \t]+['"][^'"]+['"]`
        ]
      },
      {
        description: 'license and source checksums in Yocto/BitBake recipes',
        condition: 'AND',
        paths: [
          String.raw`\.bb$`,
          String.raw`\.bbappend$`,
          String.raw`\.bbclass$`,
          String.raw`\.inc$`
        ],
        regexTarget: 'line',
        regexes: [
          String.raw`LICENSE[^=]*=\s*"[^"]+`,
          String.raw`LIC_FILES_CHKSUM[^=]*=\s*"[^"]+`,
          String.raw`SRC[^=]*=\s*"[a-zA-Z0-9]+`
        ]
      }
    ]
  },
  {
    id: 'github-app-token',
    description: 'GitHub App user-to-server (ghu_) or installation (ghs_) token.',
    regex: String.raw`(?:ghu|ghs)_[0-9a-zA-Z]{36}`,
    entropy: 3,
    keywords: ['ghu_', 'ghs_'],
    allowlists: [OCTOKIT_README]
  },
  {
    id: 'github-fine-grained-pat',
    description: 'GitHub fine-grained personal access token.',
    regex: String.raw`github_pat_\w{82}`,
    entropy: 3,
    keywords: ['github_pat_']
  },
  {
    id: 'github-oauth',
    description: 'GitHub OAuth access token.',
    regex: String.raw`gho_[0-9a-zA-Z]{36}`,
    entropy: 3,
    keywords: ['gho_']
  },
  {
    id: 'github-pat',
    description: 'GitHub personal access token (classic).',
    regex: String.raw`ghp_[0-9a-zA-Z]{36}`,
    entropy: 3,
    keywords: ['ghp_'],
    allowlists: [OCTOKIT_README]
  },
  {
    id: 'github-refresh-token',
    description: 'GitHub refresh token.',
    regex: String.raw`ghr_[0-9a-zA-Z]{36}`,
    entropy: 3,
    keywords: ['ghr_']
  },
  {
    id: 'gitlab-cicd-job-token',
    description: 'GitLab CI/CD job token.',
    regex: String.raw`glcbt-[0-9a-zA-Z]{1,5}_[0-9a-zA-Z_-]{20}`,
    entropy: 3,
    keywords: ['glcbt-']
  },
  {
    id: 'gitlab-deploy-token',
    description: 'GitLab deploy token.',
    regex: String.raw`gldt-[0-9a-zA-Z_-]{20}`,
    entropy: 3,
    keywords: ['gldt-']
  },
  {
    id: 'gitlab-feature-flag-client-token',
    description: 'GitLab feature flag client token.',
    regex: String.raw`glffct-[0-9a-zA-Z_-]{20}`,
    entropy: 3,
    keywords: ['glffct-']
  },
  {
    id: 'gitlab-feed-token',
    description: 'GitLab feed token.',
    regex: String.raw`glft-[0-9a-zA-Z_-]{20}`,
    entropy: 3,
    keywords: ['glft-']
  },
  {
    id: 'gitlab-incoming-mail-token',
    description: 'GitLab incoming mail token.',
    regex: String.raw`glimt-[0-9a-zA-Z_-]{25}`,
    entropy: 3,
    keywords: ['glimt-']
  },
  {
    id: 'gitlab-kubernetes-agent-token',
    description: 'GitLab agent for Kubernetes token.',
    regex: String.raw`glagent-[0-9a-zA-Z_-]{50}`,
    entropy: 3,
    keywords: ['glagent-']
  },
  {
    id: 'gitlab-oauth-app-secret',
    description: 'GitLab OAuth/OIDC application secret.',
    regex: String.raw`gloas-[0-9a-zA-Z_-]{64}`,
    entropy: 3,
    keywords: ['gloas-']
  },
  {
    id: 'gitlab-pat',
    description: 'GitLab personal access token.',
    regex: String.raw`glpat-[\w-]{20}`,
    entropy: 3,
    keywords: ['glpat-']
  },
  {
    // The routable format: a longer payload, a dot, then a 2-char version and a 7-char CRC.
    id: 'gitlab-pat-routable',
    description: 'GitLab personal access token (routable format).',
    regex: String.raw`\bglpat-[0-9a-zA-Z_-]{27,300}\.[0-9a-z]{2}[0-9a-z]{7}\b`,
    entropy: 4,
    keywords: ['glpat-']
  },
  {
    id: 'gitlab-ptt',
    description: 'GitLab pipeline trigger token.',
    regex: String.raw`glptt-[0-9a-f]{40}`,
    entropy: 3,
    keywords: ['glptt-']
  },
  {
    id: 'gitlab-rrt',
    description: 'GitLab runner registration token.',
    regex: String.raw`GR1348941[\w-]{20}`,
    entropy: 3,
    keywords: ['gr1348941']
  },
  {
    id: 'gitlab-runner-authentication-token',
    description: 'GitLab runner authentication token.',
    regex: String.raw`glrt-[0-9a-zA-Z_-]{20}`,
    entropy: 3,
    keywords: ['glrt-']
  },
  {
    id: 'gitlab-runner-authentication-token-routable',
    description: 'GitLab runner authentication token (routable format).',
    regex: String.raw`\bglrt-t\d_[0-9a-zA-Z_-]{27,300}\.[0-9a-z]{2}[0-9a-z]{7}\b`,
    entropy: 4,
    keywords: ['glrt-']
  },
  {
    id: 'gitlab-scim-token',
    description: 'GitLab SCIM token.',
    regex: String.raw`glsoat-[0-9a-zA-Z_-]{20}`,
    entropy: 3,
    keywords: ['glsoat-']
  },
  {
    id: 'gitlab-session-cookie',
    description: 'GitLab session cookie.',
    regex: String.raw`_gitlab_session=[0-9a-z]{32}`,
    entropy: 3,
    keywords: ['_gitlab_session=']
  },
  {
    id: 'gitter-access-token',
    description: 'Gitter access token.',
    regex: namedValue(['gitter'], '[a-z0-9_-]{40}'),
    keywords: ['gitter']
  },
  {
    id: 'gocardless-api-token',
    description: 'GoCardless live API token.',
    regex: namedValue(['gocardless'], String.raw`live_[a-z0-9=_-]{40}`),
    keywords: ['live_', 'gocardless']
  },
  {
    id: 'grafana-api-key',
    description: 'Grafana API key (base64 JSON starting {"k":).',
    regex: uniqueToken('eyJrIjoi[A-Za-z0-9]{70,400}={0,3}', true),
    entropy: 3,
    keywords: ['eyjrijoi']
  },
  {
    id: 'grafana-cloud-api-token',
    description: 'Grafana Cloud API token.',
    regex: uniqueToken('glc_[A-Za-z0-9+/]{32,400}={0,3}', true),
    entropy: 3,
    keywords: ['glc_']
  },
  {
    id: 'grafana-service-account-token',
    description: 'Grafana service account token.',
    regex: uniqueToken('glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}', true),
    entropy: 3,
    keywords: ['glsa_']
  },
  {
    id: 'harness-api-key',
    description: 'Harness personal (pat.) or service account (sat.) token.',
    regex: String.raw`(?:pat|sat)\.[a-zA-Z0-9_-]{22}\.[a-zA-Z0-9]{24}\.[a-zA-Z0-9]{20}`,
    keywords: ['pat.', 'sat.']
  },
  {
    // 14 characters, ".atlasv1." (case-sensitive), then the token body.
    id: 'hashicorp-tf-api-token',
    description: 'Terraform Cloud / Enterprise user or organisation API token.',
    regex: String.raw`(?i)[a-z0-9]{14}\.(?-i:atlasv1)\.[a-z0-9=_-]{60,70}`,
    entropy: 3.5,
    keywords: ['atlasv1']
  },
  {
    // The secret keeps its double quotes, as gitleaks reports it.
    id: 'hashicorp-tf-password',
    description: 'Literal password in a Terraform / HCL file.',
    regex: namedValue(['administrator_login_password', 'password'], '"[a-z0-9=_-]{8,20}"'),
    path: String.raw`(?i)\.(?:tf|hcl)$`,
    entropy: 2,
    keywords: ['administrator_login_password', 'password']
  },
  {
    id: 'heroku-api-key',
    description: 'Heroku API key (UUID form) named as such.',
    regex: namedValue(['heroku'], UUID_HEX),
    keywords: ['heroku']
  },
  {
    id: 'heroku-api-key-v2',
    description: 'Heroku API key (HRKU-AA format).',
    regex: uniqueToken('HRKU-AA[0-9a-zA-Z_-]{58}'),
    entropy: 4,
    keywords: ['hrku-aa']
  },
  {
    id: 'hubspot-api-key',
    description: 'HubSpot API key (UUID form) named as such.',
    regex: namedValue(['hubspot'], '[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}'),
    keywords: ['hubspot']
  },
  {
    id: 'huggingface-access-token',
    description: 'Hugging Face user access token.',
    regex: uniqueToken('hf_(?i:[a-z]{34})'),
    entropy: 2,
    keywords: ['hf_']
  },
  {
    id: 'huggingface-organization-api-token',
    description: 'Hugging Face organisation API token (legacy).',
    regex: uniqueToken('api_org_(?i:[a-z]{34})'),
    entropy: 2,
    keywords: ['api_org_']
  },
  {
    id: 'infracost-api-token',
    description: 'Infracost API token.',
    regex: uniqueToken('ico-[a-zA-Z0-9]{32}'),
    entropy: 3,
    keywords: ['ico-']
  },
  {
    id: 'intercom-api-key',
    description: 'Intercom access token named as such.',
    regex: namedValue(['intercom'], '[a-z0-9=_-]{60}'),
    keywords: ['intercom']
  },
  {
    id: 'intra42-client-secret',
    description: '42 School Intra API client secret.',
    regex: uniqueToken('s-s4t2(?:ud|af)-(?i)[abcdef0123456789]{64}'),
    entropy: 3,
    keywords: ['intra', 's-s4t2ud-', 's-s4t2af-']
  },
  {
    id: 'jfrog-api-key',
    description: 'JFrog Artifactory API key (73 characters).',
    regex: namedValue(JFROG, '[a-z0-9]{73}'),
    keywords: JFROG
  },
  {
    id: 'jfrog-identity-token',
    description: 'JFrog identity / access token (64 characters).',
    regex: namedValue(JFROG, '[a-z0-9]{64}'),
    keywords: JFROG
  },
  {
    // header.payload.signature, both JSON parts base64url of "{"; the signature may be absent (alg none).
    id: 'jwt',
    description: 'JSON Web Token.',
    regex: uniqueToken(
      String.raw`ey[a-zA-Z0-9]{17,}\.ey[a-zA-Z0-9/\\_-]{17,}\.(?:[a-zA-Z0-9/\\_-]{10,}={0,2})?`
    ),
    entropy: 3,
    keywords: ['ey']
  },
  {
    // A JWT that was base64-encoded once more ("eyJ" -> "ZXlK"), recognised by its first header parameter.
    id: 'jwt-base64',
    description: 'Base64-encoded JSON Web Token.',
    regex: String.raw`\bZXlK(?:${JWT_BASE64_HEADERS.join('|')})[a-zA-Z0-9/\\_+\-\r\n]{40,}={0,2}`,
    entropy: 2,
    keywords: ['zxlk']
  },
  {
    id: 'kraken-access-token',
    description: 'Kraken API key named as such.',
    regex: namedValue(['kraken'], String.raw`[a-z0-9/=_+-]{80,90}`),
    keywords: ['kraken']
  },
  {
    id: 'kubernetes-secret-yaml',
    description: 'Data of a Kubernetes Secret manifest.',
    regex: `(?i)(?:${K8S_KIND}(?s:.){0,200}?${K8S_DATA}|${K8S_DATA}(?s:.){0,200}?${K8S_KIND})`,
    path: String.raw`(?i)\.ya?ml$`,
    keywords: ['secret'],
    allowlists: [
      {
        description: 'a templated or empty data value',
        regexes: [
          String.raw`[\w.-]+:(?:[ \t]*(?:\||>[-+]?)\s+)?[ \t]*(?:\{\{[ \t\w"|$:=,.-]+}}|""|'')`
        ]
      },
      {
        description: 'kind and data taken from different YAML documents',
        regexTarget: 'match',
        regexes: [String.raw`(kind:(?s:.)+\n---\n(?s:.)+\bdata:|data:(?s:.)+\n---\n(?s:.)+\bkind:)`]
      }
    ]
  },
  {
    id: 'kucoin-access-token',
    description: 'KuCoin API key named as such.',
    regex: namedValue(['kucoin'], '[a-f0-9]{24}'),
    keywords: ['kucoin']
  },
  {
    id: 'kucoin-secret-key',
    description: 'KuCoin API secret (UUID form) named as such.',
    regex: namedValue(['kucoin'], UUID_HEX),
    keywords: ['kucoin']
  },
  {
    id: 'launchdarkly-access-token',
    description: 'LaunchDarkly access token named as such.',
    regex: namedValue(['launchdarkly'], '[a-z0-9=_-]{40}'),
    keywords: ['launchdarkly']
  },
  {
    id: 'linear-api-key',
    description: 'Linear API key.',
    regex: String.raw`lin_api_(?i)[a-z0-9]{40}`,
    entropy: 2,
    keywords: ['lin_api_']
  },
  {
    id: 'linear-client-secret',
    description: 'Linear OAuth client secret named as such.',
    regex: namedValue(['linear'], '[a-f0-9]{32}'),
    entropy: 2,
    keywords: ['linear']
  },
  {
    id: 'linkedin-client-id',
    description: 'LinkedIn client id named as such.',
    regex: namedValue(['linked[_-]?in'], '[a-z0-9]{14}'),
    entropy: 2,
    keywords: ['linkedin', 'linked_in', 'linked-in']
  },
  {
    id: 'linkedin-client-secret',
    description: 'LinkedIn client secret named as such.',
    regex: namedValue(['linked[_-]?in'], '[a-z0-9]{16}'),
    entropy: 2,
    keywords: ['linkedin', 'linked_in', 'linked-in']
  },
  {
    id: 'lob-api-key',
    description: 'Lob secret API key.',
    regex: namedValue(['lob'], '(?:live|test)_[a-f0-9]{35}'),
    keywords: ['test_', 'live_']
  },
  {
    id: 'lob-pub-api-key',
    description: 'Lob publishable API key.',
    regex: namedValue(['lob'], '(?:test|live)_pub_[a-f0-9]{31}'),
    keywords: ['test_pub', 'live_pub', '_pub']
  },
  {
    id: 'looker-client-id',
    description: 'Looker API client id named as such.',
    regex: namedValue(['looker'], '[a-z0-9]{20}'),
    keywords: ['looker']
  },
  {
    id: 'looker-client-secret',
    description: 'Looker API client secret named as such.',
    regex: namedValue(['looker'], '[a-z0-9]{24}'),
    keywords: ['looker']
  },
  {
    id: 'mailchimp-api-key',
    description: 'Mailchimp API key (hex, then the data centre).',
    regex: namedValue(
      [String.raw`MailchimpSDK\.initialize`, 'mailchimp'],
      String.raw`[a-f0-9]{32}-us\d\d`
    ),
    keywords: ['mailchimp']
  },
  {
    id: 'mailgun-private-api-token',
    description: 'Mailgun private API key.',
    regex: namedValue(['mailgun'], 'key-[a-f0-9]{32}'),
    keywords: ['mailgun']
  },
  {
    id: 'mailgun-pub-key',
    description: 'Mailgun public validation key.',
    regex: namedValue(['mailgun'], 'pubkey-[a-f0-9]{32}'),
    keywords: ['mailgun']
  },
  {
    id: 'mailgun-signing-key',
    description: 'Mailgun webhook signing key.',
    regex: namedValue(['mailgun'], '[a-h0-9]{32}-[a-h0-9]{8}-[a-h0-9]{8}'),
    keywords: ['mailgun']
  },
  {
    id: 'mapbox-api-token',
    description: 'Mapbox public access token named as such.',
    regex: namedValue(['mapbox'], String.raw`pk\.[a-z0-9]{60}\.[a-z0-9]{22}`),
    keywords: ['mapbox']
  },
  {
    id: 'mattermost-access-token',
    description: 'Mattermost access token named as such.',
    regex: namedValue(['mattermost'], '[a-z0-9]{26}'),
    keywords: ['mattermost']
  },
  {
    id: 'maxmind-license-key',
    description: 'MaxMind license key.',
    regex: uniqueToken('[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk'),
    entropy: 4,
    keywords: ['_mmk']
  },
  {
    id: 'messagebird-api-token',
    description: 'MessageBird API key named as such.',
    regex: namedValue(['message[_-]?bird'], '[a-z0-9]{25}'),
    keywords: ['messagebird', 'message-bird', 'message_bird']
  },
  {
    id: 'messagebird-client-id',
    description: 'MessageBird client id (UUID form) named as such.',
    regex: namedValue(['message[_-]?bird'], UUID_HEX),
    keywords: ['messagebird', 'message-bird', 'message_bird']
  },
  {
    // The whole URL is the secret (no capture groups).
    id: 'microsoft-teams-webhook',
    description: 'Microsoft Teams incoming webhook URL.',
    regex: String.raw`https://[a-z0-9]+\.webhook\.office\.com/webhookb2/[a-z0-9]{8}-(?:[a-z0-9]{4}-){3}[a-z0-9]{12}@[a-z0-9]{8}-(?:[a-z0-9]{4}-){3}[a-z0-9]{12}/IncomingWebhook/[a-z0-9]{32}/[a-z0-9]{8}-(?:[a-z0-9]{4}-){3}[a-z0-9]{12}`,
    keywords: ['webhook.office.com', 'webhookb2', 'incomingwebhook']
  },
  {
    id: 'netlify-access-token',
    description: 'Netlify access token named as such.',
    regex: namedValue(['netlify'], '[a-z0-9=_-]{40,46}'),
    keywords: ['netlify']
  },
  {
    id: 'new-relic-browser-api-token',
    description: 'New Relic browser ingest key.',
    regex: namedValue(NEW_RELIC, 'NRJS-[a-f0-9]{19}'),
    keywords: ['nrjs-']
  },
  {
    id: 'new-relic-insert-key',
    description: 'New Relic Insights insert key.',
    regex: namedValue(NEW_RELIC, 'NRII-[a-z0-9-]{32}'),
    keywords: ['nrii-']
  },
  {
    id: 'new-relic-user-api-id',
    description: 'New Relic user API id named as such.',
    regex: namedValue(NEW_RELIC, '[a-z0-9]{64}'),
    keywords: NEW_RELIC
  },
  {
    id: 'new-relic-user-api-key',
    description: 'New Relic user API key.',
    regex: namedValue(NEW_RELIC, 'NRAK-[a-z0-9]{27}'),
    keywords: ['nrak']
  },
  {
    id: 'notion-api-token',
    description: 'Notion integration token (ntn_ format).',
    regex: uniqueToken('ntn_[0-9]{11}[A-Za-z0-9]{35}'),
    entropy: 4,
    keywords: ['ntn_']
  },
  {
    id: 'npm-access-token',
    description: 'npm access token.',
    regex: uniqueToken('npm_[a-z0-9]{36}', true),
    entropy: 2,
    keywords: ['npm_']
  },

  // --- extras, not in gitleaks' default configuration ---
  {
    id: 'gcp-oauth-client-secret',
    description: 'Google OAuth client secret.',
    regex: uniqueToken('GOCSPX-[0-9A-Za-z_-]{28}'),
    entropy: 3,
    keywords: ['gocspx-']
  },
  {
    // A service account key file: the private key next to its private_key_id.
    id: 'gcp-service-account-key',
    description: 'Google Cloud service account key (JSON key file).',
    regex: String.raw`"private_key_id"\s*:\s*"[0-9a-fA-F]{16,64}"\s*,\s*"private_key"\s*:\s*"(${JSON_PEM})"|"private_key"\s*:\s*"(${JSON_PEM})"\s*,\s*"private_key_id"\s*:\s*"[0-9a-fA-F]{16,64}"`,
    keywords: ['private_key_id']
  },
  {
    // A token used as the user name of an HTTPS GitHub URL (package.json dependencies).
    id: 'github-x-oauth-basic-url',
    description: 'GitHub token in an https://<token>:x-oauth-basic@github.com/ URL.',
    regex: String.raw`https?://([^\s:@/'"\x60]{1,256}):x-oauth-basic@github\.com/`,
    keywords: ['x-oauth-basic']
  },
  {
    id: 'groq-api-key',
    description: 'Groq API key.',
    regex: uniqueToken('gsk_[a-zA-Z0-9]{52}'),
    entropy: 3,
    keywords: ['gsk_']
  },
  {
    // The password of mongodb:// and mongodb+srv:// URIs.
    id: 'mongodb-connection-string',
    description: 'MongoDB connection string with a password.',
    regex: String.raw`(?i)\bmongodb(?:\+srv)?://([^:/\s'"@]{1,100}):([^@/\s'"]{1,200})@[^/\s?'"]{1,100}`,
    secretGroup: 2,
    keywords: ['mongodb'],
    allowlists: [CONNECTION_PASSWORD_PLACEHOLDERS]
  },
  {
    // The password of mysql://, mysqlx:// and jdbc:mysql:// URIs.
    id: 'mysql-connection-string',
    description: 'MySQL connection string with a password.',
    regex: String.raw`(?i)\b(?:jdbc:)?mysqlx?://([^:/\s'"@]{1,100}):([^@/\s'"]{1,200})@[^/\s?'"]{1,100}`,
    secretGroup: 2,
    keywords: ['mysql'],
    allowlists: [CONNECTION_PASSWORD_PLACEHOLDERS]
  },
  {
    // _authToken in an .npmrc; a ${VAR} reference is not a leak.
    id: 'npmrc-auth-token',
    description: 'npm registry auth token in an .npmrc file.',
    regex: String.raw`_authToken[ \t]*=[ \t]*["']?([^\s"'$][^\s"']*)`,
    path: String.raw`(?:^|/)\.npmrc$`,
    keywords: ['_authtoken']
  }
];
