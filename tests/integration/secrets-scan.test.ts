import { RecordingLogger } from '../../packages/core/src/logger.ts';
import {
  fingerprintOf,
  type SecretFinding,
  type SecretScanResult
} from '../../packages/security/src/findings.ts';
import {
  AllowlistError,
  DEFAULT_ALLOWLIST_PATH
} from '../../packages/security/src/secrets/allowlist.ts';
import { scanRangeEmbedded } from '../../packages/security/src/secrets/scan.ts';
import {
  randomAwsAccessKeyId,
  randomString,
  tokenSamples,
  type TokenSample
} from '../../packages/security/src/secrets/token-samples.ts';
import { makeLocalRepo, tickingDate, type LocalRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';

function scan(
  repo: LocalRepo,
  base: string,
  head: string,
  extra: Partial<Parameters<typeof scanRangeEmbedded>[0]> = {}
) {
  return scanRangeEmbedded({ repoDir: repo.work, base, head, timeoutMs: 60_000, ...extra });
}

function where(f: SecretFinding): string {
  return `${f.ruleId} ${f.file}:${f.line}`;
}

afterAll(cleanupTempDirs);

describe('scanRangeEmbedded: what the branch adds', () => {
  let repo: LocalRepo;
  let base: string;
  let result: SecretScanResult;
  const samples = tokenSamples();
  const commits: string[] = [];

  beforeAll(async () => {
    repo = makeLocalRepo({ date: tickingDate });
    repo.write('README.md', '# project\n');
    base = repo.commitAll('base');
    repo.git('checkout', '-q', '-b', 'feature');
    samples.forEach((s, i) => {
      // Two lines of ordinary content first, so line numbers are not all 1.
      repo.write(
        `config/sample-${i}.txt`,
        ['# settings', 'name = demo', ...s.lines, 'end = true'].join('\n') + '\n'
      );
      commits.push(repo.commitAll(`sample ${i}`));
    });
    result = await scan(repo, base, repo.sha('HEAD'));
  }, 120_000);

  it.each(samples.map((s, i) => [s.name, s.ruleId, i]))(
    'reports %s as %s at its file, line and commit',
    (_n, ruleId, i) => {
      const sample = samples[i as number];
      const hit = result.findings.find(
        (f) => f.file === `config/sample-${i}.txt` && f.ruleId === ruleId
      );
      expect(hit).toBeDefined();
      expect(hit?.line).toBe(3 + sample.reportLine);
      expect(hit?.commit).toBe(commits[i as number]);
      expect(hit?.authorDate).toBe(
        repo.git('log', '-1', '--format=%aI', commits[i as number]).trim()
      );
      expect(hit?.engine).toBe('embedded');
      expect(hit?.fingerprint).toBe(fingerprintOf(hit as SecretFinding));
    }
  );

  it('counts the commits git lists and the bytes added', () => {
    expect(result.commitsScanned).toBe(samples.length);
    expect(result.commitsScanned).toBe(Number(repo.git('rev-list', '--count', `${base}..HEAD`)));
    expect(result.bytesScanned).toBeGreaterThan(
      samples.reduce((n, s) => n + s.lines.join('\n').length, 0)
    );
  });

  it('reports each (commit, file, line, rule) once', () => {
    const keys = result.findings.map((f) => `${f.commit}:${f.file}:${f.line}:${f.ruleId}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('never carries a secret, nor its first 8 characters, nor any 12-character piece of it', async () => {
    const logger = new RecordingLogger();
    const again = await scan(repo, base, repo.sha('HEAD'), { logger });
    const outputs = [JSON.stringify(again), logger.text()];
    for (const s of samples) {
      const secret = s.secret.replace(/\n/g, '');
      for (const out of outputs) {
        expect(out).not.toContain(secret.slice(0, 8));
        for (let i = 0; i + 12 <= secret.length; i += 4) {
          if (out.includes(secret.slice(i, i + 12)))
            throw new Error(`a piece of the ${s.name} sample leaked`);
        }
      }
    }
  });
});

describe('scanRangeEmbedded: what the branch does not add', () => {
  it('ignores secrets already on the base, deleted lines and untouched neighbours', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    const old = `ghp_${randomString(36)}`;
    const removed = randomAwsAccessKeyId();
    repo.write('app.env', `TOKEN=${old}\nKEY=${removed}\nA=1\n`);
    const base = repo.commitAll('base with secrets');
    repo.write('app.env', `TOKEN=${old}\nA=2\nB=3\n`);
    const head = repo.commitAll('edit around them');
    const result = await scan(repo, base, head);
    expect(result.findings).toEqual([]);
    expect(result.commitsScanned).toBe(1);
  });

  it('blames a merge of main for nothing main brought, but for what the merge itself adds', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    repo.write('settings.ini', 'a=1\nb=2\nc=3\n');
    repo.commitAll('base');
    repo.git('checkout', '-q', '-b', 'feature');
    repo.write('settings.ini', 'a=1\nb=feature\nc=3\n');
    repo.commitAll('feature edit');
    repo.git('checkout', '-q', 'main');
    const mainSecret = `glpat-${randomString(20)}`;
    repo.write('settings.ini', `a=1\nb=${mainSecret}\nc=3\n`);
    repo.write(
      'main-only.env',
      `SLACK=xoxb-${randomString(12, '0123456789')}-${randomString(13, '0123456789')}-${randomString(24)}\n`
    );
    const mainTip = repo.commitAll('main adds secrets of its own');
    repo.git('checkout', '-q', 'feature');
    try {
      repo.git('merge', '-q', 'main');
    } catch {
      // conflict on settings.ini, resolved below
    }
    const evil = `sk_live_${randomString(24)}`;
    repo.write('settings.ini', `a=1\nb=feature\nb=${mainSecret}\nstripe=${evil}\nc=3\n`);
    repo.git('add', '-A');
    const merge = repo.commitAll('merge main');
    const base = repo.git('merge-base', mainTip, merge).trim();
    const result = await scan(repo, base, merge);
    expect(result.findings.map((f) => [f.commit, where(f)])).toEqual([
      [merge, 'stripe-access-token settings.ini:4']
    ]);
    expect(result.commitsScanned).toBe(2);
  });

  it('treats a moved file as added content (no rename detection) and reports it again', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    const token = `ghp_${randomString(36)}`;
    repo.write('a.txt', `token ${token}\n`);
    const base = repo.commitAll('base');
    repo.git('mv', 'a.txt', 'b.txt');
    const head = repo.commitAll('rename');
    const result = await scan(repo, base, head);
    expect(result.findings.map(where)).toEqual(['github-pat b.txt:1']);
  });
});

describe('scanRangeEmbedded: files and formats', () => {
  it('reports secrets in files with hostile names under their exact names', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    repo.write('README.md', 'x\n');
    const base = repo.commitAll('base');
    const names = [
      'my secrets.env',
      'q"uote.env',
      '$(rm -rf ~).env',
      '-rf',
      'clé 🔑.env',
      'tab\tname.env',
      'new\nline.env'
    ];
    for (const n of names) repo.write(n, `x = 1\nkey = ${randomAwsAccessKeyId()}\n`);
    const head = repo.commitAll('names');
    const result = await scan(repo, base, head);
    expect(result.findings.map(where).sort()).toEqual(
      names.map((n) => `aws-access-token ${n}:2`).sort()
    );
  });

  it('notes binary files, scans their printable text, and scans lockfiles and minified files', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    repo.write('README.md', 'x\n');
    const base = repo.commitAll('base');
    repo.write(
      'logo.png',
      Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]),
        Buffer.from(`ghp_${randomString(36)}`)
      ])
    );
    repo.write('package-lock.json', `{\n  "name": "x",\n  "token": "npm_${randomString(36)}"\n}\n`);
    repo.write('.npmrc', `//registry.npmjs.org/:_authToken=${randomString(36)}\n`);
    repo.write(
      'dist/app.min.js',
      `!function(){var a="${randomString(5000)}";var k="AIza${randomString(35)}";${'x();'.repeat(5000)}}();`
    );
    const head = repo.commitAll('assets');
    const result = await scan(repo, base, head);
    expect(result.findings.map(where).sort()).toEqual([
      'gcp-api-key dist/app.min.js:1',
      'github-pat logo.png:1',
      'npm-access-token package-lock.json:3',
      'npmrc-auth-token .npmrc:1'
    ]);
    expect(result.notes).toEqual([
      `binary file: only its printable text was scanned: "logo.png" in ${head.slice(0, 12)}`
    ]);
  });

  it('cannot be silenced from the branch by .gitattributes or secretlint comments', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    repo.write('README.md', 'x\n');
    const base = repo.commitAll('base');
    repo.write('.gitattributes', '* -diff\n');
    repo.write(
      'app.ts',
      `// secretlint-disable\nconst t = "ghp_${randomString(36)}"; // secretlint-disable-line\n`
    );
    const head = repo.commitAll('sneaky');
    const result = await scan(repo, base, head);
    expect(result.findings.map(where)).toEqual(['github-pat app.ts:2']);
  });

  it('finds a multi-line private key at its BEGIN line', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    repo.write('README.md', 'x\n');
    const base = repo.commitAll('base');
    const key = tokenSamples().find((s) => s.name === 'OpenSSH private key') as TokenSample;
    repo.write('deploy/id_ed25519', ['', ...key.lines].join('\n') + '\n');
    const head = repo.commitAll('key');
    const result = await scan(repo, base, head);
    expect(result.findings.map(where)).toEqual(['private-key deploy/id_ed25519:2']);
  });

  it('gives up when the time limit passes', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    const base = repo.commitAll('base');
    repo.write('big.txt', `filler line with words in it ${randomString(20)}\n`.repeat(200_000));
    const head = repo.commitAll('big');
    await expect(scan(repo, base, head, { timeoutMs: 30 })).rejects.toThrow(/timed out/);
  });
});

describe('scanRangeEmbedded: the allowlist', () => {
  // fork (A) -> branch (B, the secrets); main moves on (C...) with allowlists.
  let repo: LocalRepo;
  let fork: string;
  let head: string;
  let baseline: SecretScanResult;
  const aws = randomAwsAccessKeyId();
  const docToken = `sk_live_DOCUMENTATION${randomString(16)}`;

  beforeAll(async () => {
    repo = makeLocalRepo({ date: tickingDate });
    repo.write('README.md', 'x\n');
    fork = repo.commitAll('fork point');
    repo.git('checkout', '-q', '-b', 'feature');
    repo.write('src/config.ts', `export const key = "${aws}";\n`);
    repo.write('docs/example.md', `Use a key like ${docToken} in docs.\n`);
    repo.write('fixtures/jwt.txt', `${tokenSamples().find((s) => s.ruleId === 'jwt')?.secret}\n`);
    head = repo.commitAll('secrets');
    repo.git('checkout', '-q', 'main');
    baseline = await scan(repo, fork, head);
  });

  function withAllowlist(text: string, path = DEFAULT_ALLOWLIST_PATH): string {
    repo.git('checkout', '-q', 'main');
    repo.write(path, text);
    return repo.commitAll('allowlist');
  }

  it('reports all three findings without an allowlist', () => {
    expect(baseline.findings.map(where).sort()).toEqual([
      'aws-access-token src/config.ts:1',
      'jwt fixtures/jwt.txt:1',
      'stripe-access-token docs/example.md:1'
    ]);
  });

  it.each([
    [
      'fingerprint',
      (f: SecretFinding[]) =>
        `fingerprint:${f.find((x) => x.ruleId === 'aws-access-token')?.fingerprint}`,
      'aws-access-token'
    ],
    [
      'location key',
      (f: SecretFinding[]) => {
        const x = f.find((y) => y.ruleId === 'aws-access-token') as SecretFinding;
        return `${x.commit}:${x.file}:${x.ruleId}:${x.line}`;
      },
      'aws-access-token'
    ],
    ['path glob', () => 'path:fixtures/**', 'jwt'],
    ['rule', () => '# fixtures are full of JWTs\nrule:jwt', 'jwt'],
    ['regex', () => 'regex:^sk_live_DOCUMENTATION', 'stripe-access-token']
  ])(
    'a %s entry read from the target branch allows its finding',
    async (_kind, entry, allowedRule) => {
      const tip = withAllowlist(`${entry(baseline.findings)}\n`);
      const result = await scan(repo, fork, head, { allowlistRef: tip });
      expect(result.findings.map((f) => f.ruleId).sort()).toEqual(
        baseline.findings
          .map((f) => f.ruleId)
          .filter((r) => r !== allowedRule)
          .sort()
      );
      expect(result.notes).toEqual([]);
    }
  );

  it('reads the allowlist from a custom path', async () => {
    const tip = withAllowlist('rule:jwt\n', 'security/allow.txt');
    const result = await scan(repo, fork, head, {
      allowlistRef: tip,
      allowlistPath: './security/allow.txt'
    });
    expect(result.findings.map((f) => f.ruleId)).not.toContain('jwt');
  });

  it('ignores an allowlist the branch brings itself, with a note', async () => {
    repo.git('checkout', '-q', '-b', 'self-allow', head);
    repo.write(DEFAULT_ALLOWLIST_PATH, 'rule:aws-access-token\npath:**\n');
    const selfAllowing = repo.commitAll('allow my own leak');
    repo.git('checkout', '-q', 'main');
    const result = await scan(repo, fork, selfAllowing, { allowlistRef: fork });
    expect(result.findings.map(where).sort()).toEqual(baseline.findings.map(where).sort());
    expect(result.notes).toEqual([
      `the branch changes ${DEFAULT_ALLOWLIST_PATH}; allowlist changes take effect once they land in the target branch (this scan used the version at ${fork.slice(0, 12)})`
    ]);
  });

  it('fails on a bad line, naming the file and line but not the entry', async () => {
    const tip = withAllowlist(`# ok\npath:vendor/**\nregex:(${aws}\n`);
    const err = await scan(repo, fork, head, { allowlistRef: tip }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllowlistError);
    expect((err as AllowlistError).line).toBe(3);
    expect((err as Error).message).toBe(
      `secrets allowlist ${DEFAULT_ALLOWLIST_PATH} (at ${tip.slice(0, 12)}) line 3: regex: the pattern is not a valid JavaScript regular expression`
    );
    expect((err as Error).message).not.toContain(aws.slice(0, 8));
  });

  it('notes rule entries that name no rule of this engine', async () => {
    const tip = withAllowlist('rule:no-such-rule\n');
    const result = await scan(repo, fork, head, { allowlistRef: tip });
    expect(result.notes).toEqual([
      'allowlist entry rule:no-such-rule names no rule of the embedded engine; it has no effect'
    ]);
  });

  it('refuses a base that does not exist rather than scanning without an allowlist', async () => {
    await expect(scan(repo, fork, head, { allowlistRef: 'e'.repeat(40) })).rejects.toThrow(
      /git cat-file failed/
    );
  });
});
