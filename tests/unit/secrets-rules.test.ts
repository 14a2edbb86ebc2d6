import { EMPTY_ALLOWLIST, isAllowed } from '../../packages/security/src/secrets/allowlist.ts';
import { EMBEDDED_RULE_IDS } from '../../packages/security/src/secrets/rule-ids.ts';
import { detectInText } from '../../packages/security/src/secrets/scan.ts';
import {
  SECRETLINT_RULE_IDS,
  runSecretlint
} from '../../packages/security/src/secrets/secretlint-rules.ts';
import {
  SUPPLEMENTARY_RULES,
  runSupplementaryRules,
  type RuleHit
} from '../../packages/security/src/secrets/supplementary-rules.ts';
import {
  randomString,
  tokenSamples,
  type TokenSample
} from '../../packages/security/src/secrets/token-samples.ts';

function lineOf(text: string, offset: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function textOf(s: TokenSample): string {
  return `${s.lines.join('\n')}\n`;
}

/** Hits that survive the built-in allowances (what a scan would report). */
async function reported(text: string): Promise<RuleHit[]> {
  const hits = await detectInText(text);
  return hits.filter(
    (h) =>
      !isAllowed(
        EMPTY_ALLOWLIST,
        { commit: 'c', file: 'f', ruleId: h.ruleId, line: 1 },
        text.slice(h.start, h.end)
      )
  );
}

// What secretlint's recommended preset reports on its own, checked against
// real scans of each sample: the rest is what the supplementary rules add.
const PRESET_COVERS = new Set([
  'AWS access key id',
  'AWS temporary access key id',
  'GCP service account key (JSON)',
  'GitHub classic PAT',
  'GitHub OAuth token',
  'GitHub user-to-server token',
  'GitHub server-to-server token',
  'GitHub refresh token',
  'GitHub fine-grained PAT',
  'GitLab PAT',
  'Slack bot token',
  'Slack user token',
  'Slack app token',
  'Slack incoming webhook',
  'Stripe live secret key',
  'Stripe restricted key',
  'npm access token',
  'RSA private key',
  'OpenSSH private key',
  'DSA private key',
  'PKCS#8 private key',
  'SendGrid API key',
  'Shopify access token',
  'Shopify shared secret',
  'OpenAI legacy key',
  'Anthropic API key',
  'Grafana service account token',
  'HashiCorp Vault service token',
  'Docker PAT',
  'Hugging Face token'
]);
// Covered by the preset unless the random value ends in '+', '/' or '-' (its
// patterns end in \b): see the dedicated test below.
const PRESET_COVERS_MOSTLY = new Set(['AWS secret access key', 'OpenAI project key']);

describe('embedded rules over token samples', () => {
  // Fresh random values each round: a rule must hold for the format, not one value.
  const rounds = [1, 2, 3, 4, 5].map(() => tokenSamples());

  it.each(rounds[0].map((s) => [s.name, s.ruleId]))(
    'detects %s as %s, on the right line',
    async (name) => {
      for (const samples of rounds) {
        const sample = samples.find((s) => s.name === name) as TokenSample;
        const text = textOf(sample);
        const hits = (await reported(text)).filter((h) => h.ruleId === sample.ruleId);
        expect(hits.length).toBeGreaterThan(0);
        expect(lineOf(text, hits[0].start)).toBe(sample.reportLine);
      }
    }
  );

  it('documents what the secretlint preset covers on its own', async () => {
    const covered: string[] = [];
    for (const sample of rounds[0]) {
      if (PRESET_COVERS_MOSTLY.has(sample.name)) continue;
      const hits = await runSecretlint(textOf(sample));
      if (hits.some((h) => h.ruleId === sample.ruleId)) covered.push(sample.name);
    }
    expect(covered.sort()).toEqual([...PRESET_COVERS].sort());
  });

  it('fills the preset gaps at key endings (+ / -) with its own rules', async () => {
    const awsSecret = `${randomString(39)}/`;
    const aws = `aws_secret_access_key = "${awsSecret}"\n`;
    expect(await runSecretlint(aws)).toEqual([]);
    expect((await detectInText(aws)).map((h) => h.ruleId)).toContain('aws-secret-access-key');
    const openai = `key = "sk-proj-${randomString(74)}T3BlbkFJ${randomString(73)}-"\n`;
    expect(await runSecretlint(openai)).toEqual([]);
    expect((await detectInText(openai)).map((h) => h.ruleId)).toContain('openai-api-key');
  });

  it('has a sample for every supplementary rule, and every id is known and kebab-case', () => {
    const sampled = new Set(rounds[0].map((s) => s.ruleId));
    expect(SUPPLEMENTARY_RULES.map((r) => r.id).filter((id) => !sampled.has(id))).toEqual([]);
    for (const id of EMBEDDED_RULE_IDS) expect(id).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
    for (const s of rounds[0]) expect(EMBEDDED_RULE_IDS.has(s.ruleId)).toBe(true);
  });

  it('finds the same hits with and without the keyword pre-filter', () => {
    const all = rounds.flat().map(textOf).join('\0\n');
    const unfiltered = SUPPLEMENTARY_RULES.map((r) => ({ ...r, keywords: undefined }));
    expect(runSupplementaryRules(all)).toEqual(runSupplementaryRules(all, unfiltered));
    // A keyword overlapping another one (":A" then "AIza") must not hide it.
    const key = `AIza${randomString(35)}`;
    expect(runSupplementaryRules(`x:${key}\n`).map((h) => h.ruleId)).toEqual(['gcp-api-key']);
  });

  it('reports offsets and rule ids only, never text', async () => {
    const text = rounds[0].map(textOf).join('\n');
    for (const hit of await detectInText(text))
      expect(Object.keys(hit).sort()).toEqual(['end', 'ruleId', 'start']);
  });
});

describe('embedded rules: things that are not secrets', () => {
  it.each([
    [
      'AWS documentation keys',
      'aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n'
    ],
    [
      'a private key placeholder',
      '-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n'
    ],
    [
      'a private key placeholder sentence',
      '-----BEGIN PRIVATE KEY-----\n<paste the private key of your service account in here, it is long>\n-----END PRIVATE KEY-----\n'
    ],
    [
      'a public key',
      `-----BEGIN PUBLIC KEY-----\nMIIBIjAN${randomString(300)}\n-----END PUBLIC KEY-----\n`
    ],
    [
      'an unsigned JWT',
      `t = "${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"1234567890"}').toString('base64url')}.${randomString(20)}"\n`
    ],
    [
      'base64 that is not a JWT',
      `x = "eyJ${randomString(20)}.ey${randomString(20)}.${randomString(30)}"\n`
    ],
    [
      'lockfile integrity hashes',
      `"integrity": "sha512-${randomString(86)}==",\n"resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",\n`
    ],
    [
      'ordinary code',
      [
        "import { readFileSync } from 'node:fs';",
        'export const TOKEN_ENV = process.env.GITHUB_TOKEN ?? "";',
        'const password = readFileSync(passwordFile, "utf8").trim();',
        'const url = `https://api.github.com/repos/${owner}/${repo}`;',
        '// aws_secret_access_key = ${{ secrets.AWS_SECRET_ACCESS_KEY }}',
        "key: ${{ runner.os }}-node-${{ hashFiles('**/package-lock.json') }}",
        'sha: 0123456789abcdef0123456789abcdef01234567'
      ].join('\n')
    ]
  ])('%s', async (_name, text) => {
    expect((await reported(text)).map((h) => h.ruleId)).toEqual([]);
  });

  it('does not join a private key across unrelated blocks', async () => {
    const key = tokenSamples().find((s) => s.name === 'RSA private key') as TokenSample;
    const split = [...key.lines.slice(0, 10), '\0', ...key.lines.slice(10)].join('\n');
    expect((await detectInText(split)).filter((h) => h.ruleId === 'private-key')).toEqual([]);
  });
});

describe('secretlint wiring', () => {
  it('leaves out the comment-directive rule so a branch cannot silence findings', async () => {
    expect(SECRETLINT_RULE_IDS).not.toContain('@secretlint/secretlint-rule-filter-comments');
    const token = `ghp_${randomString(36)}`;
    const text = `// secretlint-disable\nconst t = "${token}"; // secretlint-disable-line\n`;
    expect((await runSecretlint(text)).map((h) => h.ruleId)).toEqual(['github-pat']);
  });

  it('reports an AWS key id alone but not account ids', async () => {
    const id = `AKIA${randomString(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`;
    expect(
      (await runSecretlint(`id = ${id}\naws_account_id = 1234-5678-9012\n`)).map((h) => h.ruleId)
    ).toEqual(['aws-access-token']);
  });

  it('applies npm rules that depend on the file name through the file kind', async () => {
    const line = `//registry.npmjs.org/:_authToken=${randomString(36)}\n`;
    expect((await runSecretlint(line, 'npmrc')).map((h) => h.ruleId)).toEqual(['npmrc-auth-token']);
    expect(await runSecretlint(line, 'other')).toEqual([]);
  });

  it('keeps offsets right when the text starts with a byte order mark', async () => {
    const token = `ghp_${randomString(36)}`;
    const text = `\ufeffx = ${token}\n`;
    const [hit] = await runSecretlint(text);
    expect(text.slice(hit.start, hit.end)).toBe(token);
  });
});
