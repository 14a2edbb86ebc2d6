// The embedded engine's default ruleset over the project's own token
// samples (token-samples.ts, also used by the scan tests): each found with
// its rule id on its line, whatever the random value; and what is not a
// secret stays quiet.
import { EMPTY_ALLOWLIST, isAllowed } from '../../packages/security/src/secrets/allowlist.ts';
import { defaultRules } from '../../packages/security/src/secrets/ruleset/config.ts';
import {
  DEFAULT_GLOBAL_ALLOWLISTS,
  DEFAULT_RULES
} from '../../packages/security/src/secrets/ruleset/defaults.ts';
import { compileRule, Ruleset } from '../../packages/security/src/secrets/ruleset/engine.ts';
import { GITLEAKS_RULES_RELEASE } from '../../packages/security/src/secrets/ruleset/release.ts';
import { detectInText, type RuleHit } from '../../packages/security/src/secrets/scan.ts';
import {
  randomString,
  tokenSamples,
  type TokenSample
} from '../../packages/security/src/secrets/token-samples.ts';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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

  it('reports offsets and rule ids only, never text', async () => {
    const text = rounds[0].map(textOf).join('\n');
    for (const hit of await detectInText(text))
      expect(Object.keys(hit).sort()).toEqual(['end', 'matchEnd', 'matchStart', 'ruleId', 'start']);
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

describe('the default ruleset', () => {
  it(`has a rule for every rule id of gitleaks ${GITLEAKS_RULES_RELEASE}'s default configuration`, () => {
    const ids = readFileSync(
      fileURLToPath(
        new URL(`../fixtures/gitleaks-${GITLEAKS_RULES_RELEASE}-rule-ids.txt`, import.meta.url)
      ),
      'utf8'
    )
      .trim()
      .split('\n');
    expect(ids).toHaveLength(222);
    const ours = defaultRules().ids;
    expect(ids.filter((id) => !ours.has(id))).toEqual([]);
    for (const id of ours) expect(id).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
  });

  it('compiles every rule whole under the checks a repository rule gets (RE2 syntax, secretGroup within the groups)', () => {
    const problems: string[] = [];
    for (const r of DEFAULT_RULES) {
      try {
        compileRule(r, true);
      } catch (err) {
        problems.push(err instanceof Error ? err.message : String(err));
      }
    }
    expect(problems).toEqual([]);
  });

  it('compiles a trusted rule when a text first needs it, and finds the same', async () => {
    const rules = new Ruleset(DEFAULT_RULES, DEFAULT_GLOBAL_ALLOWLISTS, new Set(DEFAULT_RULES));
    expect(rules.rules.filter((r) => r.re !== undefined || r.path !== undefined)).toEqual([]);
    const token = `ghp_${randomString(36)}`;
    const text = `const a = 1;\ngithub_token = "${token}"\n`;
    const hits = rules.detect(text);
    expect(hits.map((h) => [h.ruleId, text.slice(h.start, h.end)])).toEqual(
      (await detectInText(text)).map((h) => [h.ruleId, text.slice(h.start, h.end)])
    );
    expect(hits.map((h) => h.ruleId)).toContain('github-pat');
    // Only the rules the text's keywords let run were compiled.
    const compiled = rules.rules.filter((r) => r.re !== undefined).map((r) => r.id);
    expect(compiled).toContain('github-pat');
    expect(compiled.length).toBeLessThan(DEFAULT_RULES.length / 4);
    expect(rules.matchPath('certs/client.p12')).toEqual(['pkcs12-file']);
    expect(rules.rules.find((r) => r.id === 'pkcs12-file')!.path).toBeInstanceOf(RegExp);
  });

  it('keeps offsets right when the text starts with a byte order mark', async () => {
    const token = `ghp_${randomString(36)}`;
    const text = `\ufeffx = ${token}\n`;
    const [hit] = await detectInText(text);
    expect(text.slice(hit.start, hit.end)).toBe(token);
  });
});
