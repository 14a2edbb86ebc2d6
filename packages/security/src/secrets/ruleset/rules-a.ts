// Default rules, group A (1password … frame.io, plus ids of our own that
// gitleaks has no rule for). Each gitleaks id keeps the token format,
// keywords, entropy threshold, secret group and allowlists of gitleaks'
// rule at the release in ./release.ts; the regexes are written here in
// RE2 syntax with the shared builders of ./schema.ts.

import { namedValue, uniqueToken, type GitleaksRule } from './schema.ts';

const HEX = 'a-f0-9';

// curl -H '<auth header>': Basic credentials, a Bearer/Token value, a bare
// Authorization value, or an X-…-Key / Api-Token style header. Eight groups
// in all (four per quote style); the first non-empty one is the secret.
// Letter classes name both cases although (?i) is on: V8 (Node 24) ignores
// an (?i:…) modifier for a class in a later alternative, and the engine
// translates this mid-pattern (?i) into such a modifier group.
const CURL_AUTH_HEADER = String.raw`(?i)(?:Authorization:[ \t]{0,5}(?:Basic[ \t]([a-zA-Z0-9+/]{8,}={0,3})|(?:Bearer|(?:Api-)?Token)[ \t]([\w=~@.+/-]{8,})|([\w=~@.+/-]{8,}))|(?:(?:X-(?:[a-zA-Z]+-)?)?(?:Api-?)?(?:Key|Token)):[ \t]{0,5}([\w=~@.+/-]{8,}))`;

// Base64 of three ASCII digits: what a Discord bot token's first part (the
// bot's numeric id, base64-encoded) is made of.
const B64_3DIGITS = '[MNO][DTjz][AEIMQUYcgk][w-z0-5]';

// basic-auth-url: placeholders in the user or the password part (the
// secretlint rule this id comes from skips the same).
const BASIC_AUTH_PLACEHOLDERS =
  '(?i:localhost|password|myusername|your_password|your_username|replace_with_password|replace_with_username)';
const SAME_CHAR_RUNS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_']
  .map((c) => `${c}+`)
  .concat(['-+'])
  .join('|');

export const RULES_A: GitleaksRule[] = [
  {
    id: '1password-secret-key',
    description: '1Password account secret key (A3- followed by five or six groups)',
    regex: String.raw`\bA3-[A-Z0-9]{6}-(?:(?:[A-Z0-9]{11})|(?:[A-Z0-9]{6}-[A-Z0-9]{5}))-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}\b`,
    entropy: 3.8,
    keywords: ['a3-']
  },
  {
    id: '1password-service-account-token',
    description: '1Password service account token (ops_ and a base64 JSON document)',
    regex: String.raw`ops_eyJ[a-zA-Z0-9+/]{250,}={0,3}`,
    entropy: 4,
    keywords: ['ops_']
  },
  {
    id: 'adafruit-api-key',
    description: 'Adafruit IO API key',
    regex: namedValue(['adafruit'], '[a-z0-9_-]{32}'),
    keywords: ['adafruit']
  },
  {
    id: 'adobe-client-id',
    description: 'Adobe OAuth client id',
    regex: namedValue(['adobe'], `[${HEX}]{32}`),
    entropy: 2,
    keywords: ['adobe']
  },
  {
    id: 'adobe-client-secret',
    description: 'Adobe OAuth client secret (p8e-)',
    regex: uniqueToken('p8e-(?i)[a-z0-9]{32}'),
    entropy: 2,
    keywords: ['p8e-']
  },
  {
    id: 'age-secret-key',
    description: 'age encryption secret key (bech32)',
    regex: 'AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}',
    keywords: ['age-secret-key-1']
  },
  {
    id: 'airtable-api-key',
    description: 'Airtable API key (legacy, 17 characters)',
    regex: namedValue(['airtable'], '[a-z0-9]{17}'),
    keywords: ['airtable']
  },
  {
    // Only searched where "airtable" occurs: "pat" alone is too common a prefix.
    id: 'airtable-personnal-access-token',
    description: 'Airtable personal access token (pat….<64 hex>)',
    regex: String.raw`\b(pat[[:alnum:]]{14}\.[a-f0-9]{64})\b`,
    keywords: ['airtable']
  },
  {
    id: 'algolia-api-key',
    description: 'Algolia API key',
    regex: namedValue(['algolia'], '[a-z0-9]{32}'),
    keywords: ['algolia']
  },
  {
    id: 'alibaba-access-key-id',
    description: 'Alibaba Cloud AccessKey ID (LTAI)',
    regex: uniqueToken('LTAI(?i)[a-z0-9]{20}'),
    entropy: 2,
    keywords: ['ltai']
  },
  {
    id: 'alibaba-secret-key',
    description: 'Alibaba Cloud AccessKey secret',
    regex: namedValue(['alibaba'], '[a-z0-9]{30}'),
    entropy: 2,
    keywords: ['alibaba']
  },
  {
    id: 'anthropic-admin-api-key',
    description: 'Anthropic Admin API key (sk-ant-admin01-)',
    regex: uniqueToken(String.raw`sk-ant-admin01-[a-zA-Z0-9_\-]{93}AA`),
    keywords: ['sk-ant-admin01']
  },
  {
    id: 'anthropic-api-key',
    description: 'Anthropic API key (sk-ant-api03-)',
    regex: uniqueToken(String.raw`sk-ant-api03-[a-zA-Z0-9_\-]{93}AA`),
    keywords: ['sk-ant-api03']
  },
  {
    id: 'artifactory-api-key',
    description: 'JFrog Artifactory API key (AKCp)',
    regex: String.raw`\bAKCp[A-Za-z0-9]{69}\b`,
    entropy: 4.5,
    keywords: ['akcp']
  },
  {
    // "cmVmd" is base64 of "ref".
    id: 'artifactory-reference-token',
    description: 'JFrog Artifactory reference token',
    regex: String.raw`\bcmVmd[A-Za-z0-9]{59}\b`,
    entropy: 4.5,
    keywords: ['cmvmd']
  },
  {
    id: 'asana-client-id',
    description: 'Asana client id (16 digits)',
    regex: namedValue(['asana'], '[0-9]{16}'),
    keywords: ['asana']
  },
  {
    id: 'asana-client-secret',
    description: 'Asana client secret',
    regex: namedValue(['asana'], '[a-z0-9]{32}'),
    keywords: ['asana']
  },
  {
    // Two shapes: a 24-character token named by Atlassian/Confluence/Jira
    // (exact capitalisations only; the last four characters are hex), or a
    // self-describing ATATT3 token. The leading (?i) of the first
    // alternative covers the second too, as in gitleaks' merged regex.
    id: 'atlassian-api-token',
    description: 'Atlassian (Jira, Confluence) API token',
    regex:
      namedValue(
        ['(?-i:ATLASSIAN|[Aa]tlassian)', '(?-i:CONFLUENCE|[Cc]onfluence)', '(?-i:JIRA|[Jj]ira)'],
        `[a-z0-9]{20}[${HEX}]{4}`
      ) +
      '|' +
      uniqueToken(String.raw`ATATT3[A-Za-z0-9_\-=]{186}`),
    entropy: 3.5,
    keywords: ['atlassian', 'confluence', 'jira', 'atatt3']
  },
  {
    // <client id>.<access key id>.acc_<account id>.<signature>
    id: 'authress-service-client-access-key',
    description: 'Authress service client access key',
    regex: uniqueToken(
      String.raw`(?:sc|ext|scauth|authress)_(?i)[a-z0-9]{5,30}\.[a-z0-9]{4,6}\.(?-i:acc)[_-][a-z0-9-]{10,32}\.[a-z0-9+/_=-]{30,120}`
    ),
    entropy: 2,
    keywords: ['sc_', 'ext_', 'scauth_', 'authress_']
  },
  {
    id: 'aws-access-token',
    description: 'AWS access key id (AKIA, ASIA, ABIA, ACCA, A3T…)',
    regex: String.raw`\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b`,
    entropy: 3,
    keywords: ['a3t', 'akia', 'asia', 'abia', 'acca'],
    // AWS documentation's placeholder ids end in EXAMPLE.
    allowlists: [{ regexes: ['.+EXAMPLE$'] }]
  },
  {
    id: 'aws-amazon-bedrock-api-key-long-lived',
    description: 'Amazon Bedrock long-lived API key (ABSK)',
    regex: uniqueToken('ABSK[A-Za-z0-9+/]{109,269}={0,2}'),
    entropy: 3,
    keywords: ['absk']
  },
  {
    // Short-lived keys start with the base64 of "bedrock.amazonaws.com"; the
    // finding is that fixed prefix (the rest is a presigned URL).
    id: 'aws-amazon-bedrock-api-key-short-lived',
    description: 'Amazon Bedrock short-lived API key',
    regex: 'bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t',
    entropy: 3,
    keywords: ['bedrock-api-key-']
  },
  {
    // Three characters, a digit, "Q~", then 31-34 more; bounded by a quote,
    // space, bracket, comma, '=' or ':' (never inside a longer ~-word).
    id: 'azure-ad-client-secret',
    description: 'Microsoft Entra ID (Azure AD) client secret',
    regex: String.raw`(?:^|[\\'"\x60\s>=:(,)])([a-zA-Z0-9_~.]{3}\dQ~[a-zA-Z0-9_~.-]{31,34})(?:$|[\\'"\x60\s<),])`,
    entropy: 3,
    keywords: ['q~']
  },
  {
    id: 'beamer-api-token',
    description: 'Beamer API token (b_)',
    regex: namedValue(['beamer'], String.raw`b_[a-z0-9=_\-]{44}`),
    keywords: ['beamer']
  },
  {
    id: 'bitbucket-client-id',
    description: 'Bitbucket OAuth client id',
    regex: namedValue(['bitbucket'], '[a-z0-9]{32}'),
    keywords: ['bitbucket']
  },
  {
    id: 'bitbucket-client-secret',
    description: 'Bitbucket OAuth client secret',
    regex: namedValue(['bitbucket'], String.raw`[a-z0-9=_\-]{64}`),
    keywords: ['bitbucket']
  },
  {
    id: 'bittrex-access-key',
    description: 'Bittrex access key',
    regex: namedValue(['bittrex'], '[a-z0-9]{32}'),
    keywords: ['bittrex']
  },
  {
    id: 'bittrex-secret-key',
    description: 'Bittrex secret key',
    regex: namedValue(['bittrex'], '[a-z0-9]{32}'),
    keywords: ['bittrex']
  },
  {
    // The name must be Meraki/meraki/MERAKI exactly, and the key lower-case hex.
    id: 'cisco-meraki-api-key',
    description: 'Cisco Meraki Dashboard API key',
    regex: namedValue(['(?-i:[Mm]eraki|MERAKI)'], '[0-9a-f]{40}', false),
    entropy: 3,
    keywords: ['meraki']
  },
  {
    id: 'clickhouse-cloud-api-secret-key',
    description: 'ClickHouse Cloud API secret key (4b1d)',
    regex: String.raw`\b(4b1d[A-Za-z0-9]{38})\b`,
    entropy: 3,
    keywords: ['4b1d']
  },
  {
    id: 'clojars-api-token',
    description: 'Clojars deploy token',
    regex: '(?i)CLOJARS_[a-z0-9]{60}',
    entropy: 2,
    keywords: ['clojars_']
  },
  {
    id: 'cloudflare-api-key',
    description: 'Cloudflare API token (40 characters, named by cloudflare)',
    regex: namedValue(['cloudflare'], '[a-z0-9_-]{40}'),
    entropy: 2,
    keywords: ['cloudflare']
  },
  {
    // gitleaks' shape (37 hex named by cloudflare), plus the self-describing
    // cfk_ format (40 characters and a CRC32 in hex) that secretlint reports
    // under this name and the project already detected.
    id: 'cloudflare-global-api-key',
    description: 'Cloudflare Global API key',
    regex:
      namedValue(['cloudflare'], `[${HEX}]{37}`) +
      '|' +
      uniqueToken('cfk_[A-Za-z0-9]{40}[0-9a-f]{8}'),
    entropy: 2,
    keywords: ['cloudflare', 'cfk_']
  },
  {
    id: 'cloudflare-origin-ca-key',
    description: 'Cloudflare Origin CA key (v1.0-)',
    regex: uniqueToken(String.raw`v1\.0-[${HEX}]{24}-[${HEX}]{146}`),
    entropy: 2,
    keywords: ['cloudflare', 'v1.0-']
  },
  {
    id: 'codecov-access-token',
    description: 'Codecov access token',
    regex: namedValue(['codecov'], '[a-z0-9]{32}'),
    keywords: ['codecov']
  },
  {
    // The name is matched case-insensitively, the token as written (mixed case).
    id: 'cohere-api-token',
    description: 'Cohere API key',
    regex: namedValue(['(?i:cohere|CO_API_KEY)'], '[a-zA-Z0-9]{40}', false),
    entropy: 4,
    keywords: ['cohere', 'co_api_key']
  },
  {
    id: 'coinbase-access-token',
    description: 'Coinbase access token',
    regex: namedValue(['coinbase'], '[a-z0-9_-]{64}'),
    keywords: ['coinbase']
  },
  {
    id: 'confluent-access-token',
    description: 'Confluent Cloud API key',
    regex: namedValue(['confluent'], '[a-z0-9]{16}'),
    keywords: ['confluent']
  },
  {
    id: 'confluent-secret-key',
    description: 'Confluent Cloud API secret',
    regex: namedValue(['confluent'], '[a-z0-9]{64}'),
    keywords: ['confluent']
  },
  {
    id: 'contentful-delivery-api-token',
    description: 'Contentful Content Delivery API token',
    regex: namedValue(['contentful'], String.raw`[a-z0-9=_\-]{43}`),
    keywords: ['contentful']
  },
  {
    // A -H/--header with credentials, on the curl line or up to five
    // continuation lines later.
    id: 'curl-auth-header',
    description: 'Credentials in the header of a curl command',
    regex:
      String.raw`\bcurl\b(?:.*?|.*?(?:[\r\n]{1,2}.*?){1,5})[ \t\n\r](?:-H|--header)(?:=|[ \t]{0,5})(?:"` +
      CURL_AUTH_HEADER +
      `"|'` +
      CURL_AUTH_HEADER +
      String.raw`')(?:\B|\s|\z)`,
    // The header part alone: from every 'curl' of a long line the lazy gap would scan to the end.
    endsWith:
      String.raw`[ \t\n\r](?:-H|--header)(?:=|[ \t]{0,5})(?:"` +
      CURL_AUTH_HEADER +
      `"|'` +
      CURL_AUTH_HEADER +
      `')`,
    entropy: 2.75,
    keywords: ['curl']
  },
  {
    // -u/--user user:password; the secret is the whole credential as written
    // (quotes included). Placeholders and variables are allowed.
    id: 'curl-auth-user',
    description: 'Basic-auth credentials in a curl command (-u / --user)',
    regex: String.raw`\bcurl\b(?:.*|.*(?:[\r\n]{1,2}.*){1,5})[ \t\n\r](?:-u|--user)(?:=|[ \t]{0,5})("(:[^"]{3,}|[^:"]{3,}:|[^:"]{3,}:[^"]{3,})"|'([^:']{3,}:[^']{3,})'|((?:"[^"]{3,}"|'[^']{3,}'|[\w$@.-]+):(?:"[^"]{3,}"|'[^']{3,}'|[\w\${}@.-]+)))(?:\s|\z)`,
    entropy: 2,
    keywords: ['curl'],
    allowlists: [
      {
        regexes: [
          // well-known placeholder passwords
          String.raw`[^:]+:(?:change(?:it|me)|pass(?:word)?|pwd|test|token|\*+|x+)`,
          // <user>:<password>
          String.raw`['"]?<[^>]+>['"]?:['"]?<[^>]+>|<[^:]+:[^>]+>['"]?`,
          // user:[password]
          String.raw`[^:]+:\[[^\]]+\]`,
          // $1, $VAR, ${VAR}
          String.raw`['"]?[^:]+['"]?:['"]?\$(?:\d|\w+|\{(?:\d|\w+)\})['"]?`,
          // $(command):$(command)
          String.raw`\$\([^)]+\):\$\([^)]+\)`,
          // ${{ expression }} / {{ template }}
          String.raw`['"]?\$?\{\{[^}]+\}\}['"]?:['"]?\$?\{\{[^}]+\}\}['"]?`
        ]
      }
    ]
  },
  {
    id: 'databricks-api-token',
    description: 'Databricks personal access token (dapi)',
    regex: uniqueToken(String.raw`dapi[a-f0-9]{32}(?:-\d)?`),
    entropy: 3,
    keywords: ['dapi']
  },
  {
    id: 'datadog-access-token',
    description: 'Datadog access token',
    regex: namedValue(['datadog'], '[a-z0-9]{40}'),
    keywords: ['datadog']
  },
  {
    id: 'defined-networking-api-token',
    description: 'Defined Networking API token (dnkey-)',
    regex: namedValue(['dnkey'], String.raw`dnkey-[a-z0-9=_\-]{26}-[a-z0-9=_\-]{52}`),
    keywords: ['dnkey']
  },
  {
    id: 'digitalocean-access-token',
    description: 'DigitalOcean OAuth access token (doo_v1_)',
    regex: uniqueToken(`doo_v1_[${HEX}]{64}`),
    entropy: 3,
    keywords: ['doo_v1_']
  },
  {
    id: 'digitalocean-pat',
    description: 'DigitalOcean personal access token (dop_v1_)',
    regex: uniqueToken(`dop_v1_[${HEX}]{64}`),
    entropy: 3,
    keywords: ['dop_v1_']
  },
  {
    id: 'digitalocean-refresh-token',
    description: 'DigitalOcean OAuth refresh token (dor_v1_)',
    regex: uniqueToken(`dor_v1_[${HEX}]{64}`, true),
    keywords: ['dor_v1_']
  },
  {
    id: 'discord-api-token',
    description: 'Discord API key (64 hex)',
    regex: namedValue(['discord'], `[${HEX}]{64}`),
    keywords: ['discord']
  },
  {
    id: 'discord-client-id',
    description: 'Discord client id (18 digits)',
    regex: namedValue(['discord'], '[0-9]{18}'),
    entropy: 2,
    keywords: ['discord']
  },
  {
    id: 'discord-client-secret',
    description: 'Discord client secret',
    regex: namedValue(['discord'], String.raw`[a-z0-9=_\-]{32}`),
    entropy: 2,
    keywords: ['discord']
  },
  {
    id: 'doppler-api-token',
    description: 'Doppler personal token (dp.pt.)',
    regex: String.raw`dp\.pt\.(?i)[a-z0-9]{43}`,
    entropy: 2,
    keywords: ['dp.pt.']
  },
  {
    id: 'droneci-access-token',
    description: 'Drone CI access token',
    regex: namedValue(['droneci'], '[a-z0-9]{32}'),
    keywords: ['droneci']
  },
  {
    id: 'dropbox-api-token',
    description: 'Dropbox app secret (15 characters)',
    regex: namedValue(['dropbox'], '[a-z0-9]{15}'),
    keywords: ['dropbox']
  },
  {
    // Eleven characters, ten A's, then 43 more.
    id: 'dropbox-long-lived-api-token',
    description: 'Dropbox long-lived access token',
    regex: namedValue(['dropbox'], String.raw`[a-z0-9]{11}(AAAAAAAAAA)[a-z0-9\-_=]{43}`),
    keywords: ['dropbox']
  },
  {
    id: 'dropbox-short-lived-api-token',
    description: 'Dropbox short-lived access token (sl.)',
    regex: namedValue(['dropbox'], String.raw`sl\.[a-z0-9\-=_]{135}`),
    keywords: ['dropbox']
  },
  {
    id: 'duffel-api-token',
    description: 'Duffel API token (duffel_test_ / duffel_live_)',
    regex: String.raw`duffel_(?:test|live)_(?i)[a-z0-9_\-=]{43}`,
    entropy: 2,
    keywords: ['duffel_']
  },
  {
    id: 'dynatrace-api-token',
    description: 'Dynatrace API token (dt0c01.)',
    regex: String.raw`dt0c01\.(?i)[a-z0-9]{24}\.[a-z0-9]{64}`,
    entropy: 4,
    keywords: ['dt0c01.']
  },
  {
    id: 'easypost-api-token',
    description: 'EasyPost production API key (EZAK)',
    regex: String.raw`\bEZAK(?i)[a-z0-9]{54}\b`,
    entropy: 2,
    keywords: ['ezak']
  },
  {
    id: 'easypost-test-api-token',
    description: 'EasyPost test API key (EZTK)',
    regex: String.raw`\bEZTK(?i)[a-z0-9]{54}\b`,
    entropy: 2,
    keywords: ['eztk']
  },
  {
    // Named ETSY/Etsy/etsy exactly (not "SetSysctl").
    id: 'etsy-access-token',
    description: 'Etsy access token',
    regex: namedValue(['(?-i:ETSY|[Ee]tsy)'], '[a-z0-9]{24}'),
    entropy: 3,
    keywords: ['etsy']
  },
  {
    // <app id>|<app secret> (or %7C url-encoded); searched only where
    // "facebook" occurs.
    id: 'facebook-access-token',
    description: 'Facebook app access token',
    regex: uniqueToken(String.raw`\d{15,16}(\||%)[0-9a-z\-_]{27,40}`, true),
    entropy: 3,
    keywords: ['facebook']
  },
  {
    id: 'facebook-page-access-token',
    description: 'Facebook page / user access token (EAAM, EAAC)',
    regex: uniqueToken('EAA[MC](?i)[a-z0-9]{100,}'),
    entropy: 4,
    keywords: ['eaam', 'eaac']
  },
  {
    id: 'facebook-secret',
    description: 'Facebook app secret',
    regex: namedValue(['facebook'], `[${HEX}]{32}`),
    entropy: 3,
    keywords: ['facebook']
  },
  {
    id: 'fastly-api-token',
    description: 'Fastly API token',
    regex: namedValue(['fastly'], String.raw`[a-z0-9=_\-]{32}`),
    keywords: ['fastly']
  },
  {
    id: 'finicity-api-token',
    description: 'Finicity API token',
    regex: namedValue(['finicity'], `[${HEX}]{32}`),
    keywords: ['finicity']
  },
  {
    id: 'finicity-client-secret',
    description: 'Finicity client secret',
    regex: namedValue(['finicity'], '[a-z0-9]{20}'),
    keywords: ['finicity']
  },
  {
    id: 'finnhub-access-token',
    description: 'Finnhub API token',
    regex: namedValue(['finnhub'], '[a-z0-9]{20}'),
    keywords: ['finnhub']
  },
  {
    id: 'flickr-access-token',
    description: 'Flickr API key',
    regex: namedValue(['flickr'], '[a-z0-9]{32}'),
    keywords: ['flickr']
  },
  {
    id: 'flutterwave-encryption-key',
    description: 'Flutterwave test encryption key (FLWSECK_TEST-, 12 characters)',
    regex: 'FLWSECK_TEST-(?i)[a-h0-9]{12}',
    entropy: 2,
    keywords: ['flwseck_test']
  },
  {
    id: 'flutterwave-public-key',
    description: 'Flutterwave test public key (FLWPUBK_TEST-)',
    regex: 'FLWPUBK_TEST-(?i)[a-h0-9]{32}-X',
    entropy: 2,
    keywords: ['flwpubk_test']
  },
  {
    id: 'flutterwave-secret-key',
    description: 'Flutterwave test secret key (FLWSECK_TEST-)',
    regex: 'FLWSECK_TEST-(?i)[a-h0-9]{32}-X',
    entropy: 2,
    keywords: ['flwseck_test']
  },
  {
    // fo1_ tokens, and fm1a_/fm1r_/fm2_ macaroons (base64, 100+ characters).
    id: 'flyio-access-token',
    description: 'Fly.io API token',
    regex: uniqueToken(
      String.raw`(?:fo1_[\w-]{43}|fm1[ar]_[a-zA-Z0-9+/]{100,}={0,3}|fm2_[a-zA-Z0-9+/]{100,}={0,3})`
    ),
    entropy: 4,
    keywords: ['fo1_', 'fm1', 'fm2_']
  },
  {
    id: 'frameio-api-token',
    description: 'Frame.io API token (fio-u-)',
    regex: String.raw`fio-u-(?i)[a-z0-9\-_=]{64}`,
    keywords: ['fio-u-']
  },

  // ---- Ids of our own (not in gitleaks' default configuration). ----

  {
    // Named aws_secret_access_key / aws_secret_key / secret_access_key in any
    // case and with or without underscores (so camelCase too).
    id: 'aws-secret-access-key',
    description:
      'AWS secret access key assigned to an aws_secret_(access_)key / secret_access_key name',
    regex: String.raw`(?i)(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)["']?[ \t]*(?::=|:|=>|=)[ \t]*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`,
    entropy: 3,
    keywords: ['secretkey', 'secret_key', 'secretaccess', 'secret_access'],
    // AWS documentation's placeholder secret ends in EXAMPLEKEY.
    allowlists: [{ regexes: ['EXAMPLEKEY$'] }]
  },
  {
    id: 'azure-storage-account-key',
    description: 'Azure Storage account key in a connection string (AccountKey=)',
    regex: 'AccountKey=([A-Za-z0-9+/]{86}==)',
    keywords: ['accountkey=']
  },
  {
    // scheme://user:password@host.tld; the finding is the whole URL up to
    // the top-level domain. Placeholder users/passwords and one-character
    // passwords repeated are allowed.
    id: 'basic-auth-url',
    description: 'Credentials (user:password@) in an http(s)/ftp(s) URL',
    regex: String.raw`(?:https?|ftps?)://[-a-zA-Z0-9_]{2,256}:[-a-zA-Z0-9_]{4,256}@[-a-zA-Z0-9%._+~#=]{1,256}\.[a-zA-Z0-9()]{1,6}\b`,
    keywords: ['http://', 'https://', 'ftp://', 'ftps://'],
    allowlists: [
      {
        regexTarget: 'match',
        regexes: [
          String.raw`://[-\w]*` + BASIC_AUTH_PLACEHOLDERS + String.raw`[-\w]*:`,
          String.raw`:[-\w]*` + BASIC_AUTH_PLACEHOLDERS + String.raw`[-\w]*@`,
          `:(?:${SAME_CHAR_RUNS})@`
        ]
      }
    ]
  },
  {
    // cfut_<40 characters><CRC32 as 8 hex>.
    id: 'cloudflare-user-api-token',
    description: 'Cloudflare user API token (cfut_)',
    regex: String.raw`(?:^|[^A-Za-z])(cfut_[A-Za-z0-9]{40}[0-9a-f]{8})(?:[^A-Za-z0-9]|$)`,
    entropy: 3,
    keywords: ['cfut_']
  },
  {
    id: 'cloudflare-account-api-token',
    description: 'Cloudflare account API token (cfat_)',
    regex: String.raw`(?:^|[^A-Za-z])(cfat_[A-Za-z0-9]{40}[0-9a-f]{8})(?:[^A-Za-z0-9]|$)`,
    entropy: 3,
    keywords: ['cfat_']
  },
  {
    // <bot id as base64>.<timestamp>.<hmac>: the first part must decode to
    // an 18-20 digit id (groups of base64 that can only come from digits).
    id: 'discord-bot-token',
    description: 'Discord bot token',
    regex:
      String.raw`(?:^|[^\w-])(` +
      `(?:${B64_3DIGITS}){6}(?:[MNO][AQgw]|[MNO][DTjz][AEIMQUYcgk])?` +
      String.raw`\.[\w-]{6}\.[\w-]{27,40})(?:[^\w-]|$)`
  },
  {
    id: 'discord-webhook-url',
    description: 'Discord webhook URL',
    regex: String.raw`https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,70}`,
    keywords: ['/api/webhooks/']
  },
  {
    id: 'docker-pat',
    description: 'Docker Hub personal access token (dckr_pat_)',
    regex: String.raw`(?:^|[^A-Za-z])(dckr_pat_[\w-]{27})(?:[^\w-]|$)`,
    keywords: ['dckr_pat_']
  },
  {
    id: 'figma-pat',
    description: 'Figma personal access token (figd_)',
    regex: String.raw`(?:^|[^A-Za-z])(figd_[\w-]{40,200})(?:[^\w-]|$)`,
    keywords: ['figd_']
  }
];
