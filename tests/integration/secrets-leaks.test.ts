// Leaks that used to get past the security gate, each on a real repository
// with a bare origin: text inside binary files, UTF-16 files, secrets in
// file and branch names (found, and masked in every output), secrets in
// commit messages, and a cut `blocking:` list that says how many more there
// are. Every secret is generated at run time; none is ever printed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { runGate } from '../../packages/core/src/gate.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import type { GateResult } from '../../packages/core/src/verdict.ts';
import {
  emptyEdgeState,
  renderEdgeComment,
  withRow
} from '../../packages/forge/src/edge-comment.ts';
import { blockingLines, blockingTotal } from '../../packages/publish/src/figures.ts';
import { verdictJson } from '../../packages/cli/src/table.ts';
import { SECRET_MASK, type SecretFinding } from '../../packages/security/src/findings.ts';
import { securityGate } from '../../packages/security/src/gate.ts';
import { scanRangeEmbedded } from '../../packages/security/src/secrets/scan.ts';
import {
  randomAwsAccessKeyId,
  randomString
} from '../../packages/security/src/secrets/token-samples.ts';
import { makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const ghp = (): string => `ghp_${randomString(36)}`;

/** A branch `name` off main with one commit per entry (content, and an optional message). */
function branch(
  name: string,
  commits: { files: Record<string, string | Buffer>; message?: string }[]
): { repo: TestRepo; base: string; head: string } {
  const repo = makeRepo();
  const base = repo.sha('HEAD');
  repo.git('checkout', '-q', '-b', name);
  for (const c of commits) repo.commitAll(c.message ?? 'change', c.files);
  return { repo, base, head: repo.sha('HEAD') };
}

function scan(
  r: { repo: TestRepo; base: string; head: string },
  extra: Partial<Parameters<typeof scanRangeEmbedded>[0]> = {}
) {
  return scanRangeEmbedded({
    repoDir: r.repo.work,
    base: r.base,
    head: r.head,
    timeoutMs: 60_000,
    ...extra
  });
}

function where(f: SecretFinding): string {
  return `${f.ruleId} ${f.source ?? 'content'} ${f.file}:${f.line}`;
}

/** Throws (without echoing it) when any 10-character piece of `secret` is in `text`. */
function expectNoPiece(text: string, secret: string, what: string): void {
  for (let i = 0; i + 10 <= secret.length; i += 3) {
    if (text.includes(secret.slice(i, i + 10)))
      throw new Error(`a piece of the secret leaked in ${what}`);
  }
}

function utf16(text: string, order: 'le' | 'be', bom: boolean): Buffer {
  const le = Buffer.from(text, 'utf16le');
  const body = order === 'le' ? le : Buffer.from(le).swap16();
  const mark = order === 'le' ? [0xff, 0xfe] : [0xfe, 0xff];
  return bom ? Buffer.concat([Buffer.from(mark), body]) : body;
}

async function gate(
  repo: TestRepo,
  env: { headRef?: string } = {}
): Promise<GateResult & { log: string }> {
  const logger = new RecordingLogger();
  const ctx: RunContext = {
    env: { ...process.env },
    workspace: repo.work,
    repository: 'acme/service',
    event: { name: 'pull_request', ...(env.headRef ? { headRef: env.headRef } : {}) },
    logger,
    now: () => new Date()
  };
  const r = await runGate(
    securityGate,
    mapInputSource({
      'base-ref': 'main',
      'dep-audit': 'false',
      'report-dir': join(tempDir(), 'reports')
    }),
    ctx
  );
  return { ...r, log: logger.text() };
}

/** Everything a run of the gate shows: summary, body, logs, outputs, report, the PR comment and the CLI's JSON. */
function everything(r: GateResult & { log: string }): string {
  const comment = renderEdgeComment(
    withRow(
      emptyEdgeState(),
      {
        gate: 'security',
        verdict: r.verdict,
        figure: 'x',
        summary: r.summary,
        blocking: blockingLines(r),
        blockingTotal: blockingTotal(r),
        headSha: 'a'.repeat(40)
      },
      new Date(0).toISOString(),
      'rev'
    )
  );
  return [
    r.summary,
    r.body,
    r.log,
    JSON.stringify(r.frontmatter),
    JSON.stringify(r.warnings),
    readFileSync(r.reportPath, 'utf8'),
    comment,
    verdictJson([r], { forgeApiCalls: 0, leaseRelease: null })
  ].join('\n');
}

describe('leak 1: text inside binary files', () => {
  it('scans the printable runs of a file with a NUL in its first bytes, on the right line', async () => {
    const token = ghp();
    const aws = randomAwsAccessKeyId();
    const bin = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.from([0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x0a]),
      Buffer.from([0, 1, 2, 0xff, 0xfe]),
      Buffer.from(token),
      Buffer.from([0, 0, 7, 0x0a]),
      Buffer.from([0x10, 0x20, 0]),
      // A UTF-16 string inside a binary (as `strings -el` finds it), line 5.
      Buffer.from(`key=${aws}`, 'utf16le'),
      Buffer.from([0, 0, 0x0a])
    ]);
    const r = branch('agent/bin', [{ files: { 'assets/logo.png': bin } }]);
    const result = await scan(r);
    expect(result.findings.map(where).sort()).toEqual([
      'aws-access-token content assets/logo.png:5',
      'github-pat content assets/logo.png:4'
    ]);
    expect(result.notes).toEqual([
      `binary file: only its printable text was scanned: "assets/logo.png" in ${r.head.slice(0, 12)}`
    ]);
    expectNoPiece(JSON.stringify(result), token, 'the result');
  });

  it('scans the lines a branch adds to an existing binary file, at their line numbers', async () => {
    const repo = makeRepo();
    const lines = Array.from({ length: 6 }, (_, i) => Buffer.from(`\0\0blob line ${i}\0\n`));
    repo.commit('data.bin', Buffer.concat(lines) as unknown as string);
    repo.git('push', '-q', 'origin', 'main');
    const base = repo.sha('HEAD');
    repo.git('checkout', '-q', '-b', 'agent/edit-bin');
    const token = ghp();
    lines.splice(4, 0, Buffer.from(`\0\x01${token}\0\n`));
    const head = repo.commit('data.bin', Buffer.concat(lines) as unknown as string);
    const result = await scan({ repo, base, head });
    expect(result.findings.map(where)).toEqual(['github-pat content data.bin:5']);
  });

  it('caps the text taken from one binary file and says so', async () => {
    const token = ghp();
    const filler = Array.from({ length: 40 }, () => `\0${randomString(30)}\0\n`).join('');
    const r = branch('agent/big-bin', [
      { files: { 'big.bin': Buffer.from(`\0head\0\n${filler}\0${token}\0\n`) } }
    ]);
    const capped = await scan(r, { binaryTextPerFile: 512 });
    expect(capped.findings).toEqual([]);
    expect(capped.notes).toEqual([
      `binary file: only the first 512 characters of its printable text was scanned: "big.bin" in ${r.head.slice(0, 12)}`
    ]);
    const total = await scan(r, { binaryTextTotal: 100 });
    expect(total.notes[0]).toMatch(
      /^binary file: its printable text was not all scanned \(the 100 characters limit/
    );
    const whole = await scan(r);
    expect(whole.findings.map(where)).toEqual(['github-pat content big.bin:42']);
  });
});

describe('leak 2: UTF-16 files', () => {
  it.each([
    ['little-endian with a BOM', 'le', true, '\n'],
    ['big-endian with a BOM', 'be', true, '\n'],
    ['little-endian without a BOM, CRLF', 'le', false, '\r\n'],
    ['big-endian without a BOM', 'be', false, '\n']
  ] as const)('decodes %s and reports the secret on its line', async (_n, order, bom, eol) => {
    const aws = randomAwsAccessKeyId();
    const text = ['[settings]', 'name = démo 中文', `aws_key = ${aws}`, 'end = true', ''].join(eol);
    const r = branch(`agent/utf16-${order}-${bom}`, [
      { files: { 'config/app.ini': utf16(text, order, bom) } }
    ]);
    const result = await scan(r);
    expect(result.findings.map(where)).toEqual(['aws-access-token content config/app.ini:3']);
    expect(result.notes).toEqual([]);
  });

  it('finds a line the branch inserts into an existing UTF-16 file (no BOM in the diff)', async () => {
    const repo = makeRepo();
    const before = ['# list', ...Array.from({ length: 8 }, (_, i) => `item ${i} = value ${i}`), ''];
    repo.commit('list.txt', utf16(before.join('\r\n'), 'le', true) as unknown as string);
    repo.git('push', '-q', 'origin', 'main');
    const base = repo.sha('HEAD');
    repo.git('checkout', '-q', '-b', 'agent/utf16-edit');
    const token = ghp();
    const after = [...before];
    after.splice(6, 0, `token = ${token}`);
    const head = repo.commit(
      'list.txt',
      utf16(after.join('\r\n'), 'le', true) as unknown as string
    );
    const result = await scan({ repo, base, head });
    expect(result.findings.map(where)).toEqual(['github-pat content list.txt:7']);
  });
});

describe('leak 3: secrets in file names and branch names', () => {
  it('reports a secret in an added path as a finding, and masks that path everywhere in the result', async () => {
    const aws = randomAwsAccessKeyId();
    const token = ghp();
    const inside = ghp();
    const r = branch('agent/names', [
      {
        files: {
          [`token-${aws}.txt`]: 'harmless\n',
          [`keys/${token}/config.env`]: `x = 1\nTOKEN=${inside}\n`,
          [`${token}-logo.png`]: Buffer.from([0x89, 0x50, 0, 0, 1, 2, 3])
        }
      }
    ]);
    const result = await scan(r);
    expect(result.findings.map(where).sort()).toEqual(
      [
        `aws-access-token path token-${SECRET_MASK}.txt:0`,
        `github-pat content keys/${SECRET_MASK}/config.env:2`,
        `github-pat path keys/${SECRET_MASK}/config.env:0`,
        `github-pat path ${SECRET_MASK}-logo.png:0`
      ].sort()
    );
    for (const f of result.findings) expect(f.commit).toBe(r.head);
    expect(result.notes).toEqual([
      `binary file: only its printable text was scanned: "${SECRET_MASK}-logo.png" in ${r.head.slice(0, 12)}`
    ]);
    const out = JSON.stringify(result);
    for (const s of [aws, token, inside]) expectNoPiece(out, s, 'the result');
    // The last line of defence knows the names' secrets (and is not serialised).
    expect(result.redact?.(`see ${token}`)).toBe(`see ${SECRET_MASK}`);
  });

  it('masks a secret in the path of a file the branch only modifies, without blaming the branch for the name', async () => {
    const repo = makeRepo();
    const token = ghp();
    repo.commit(`cfg/${token}.env`, 'a = 1\n', 'config');
    repo.git('push', '-q', 'origin', 'main');
    const base = repo.sha('HEAD');
    repo.git('checkout', '-q', '-b', 'agent/modify');
    const aws = randomAwsAccessKeyId();
    const head = repo.commit(`cfg/${token}.env`, `a = 1\nkey = ${aws}\n`, 'add a key');
    const result = await scan({ repo, base, head });
    expect(result.findings.map(where)).toEqual([
      `aws-access-token content cfg/${SECRET_MASK}.env:2`
    ]);
  });

  it('reports and masks a secret in the branch name', async () => {
    const token = ghp();
    const r = branch('agent/plain', [{ files: { 'a.txt': 'hello\n' } }]);
    const result = await scan(r, { refNames: [`agent/${token}`] });
    expect(result.findings.map(where)).toEqual([`github-pat branch-name agent/${SECRET_MASK}:0`]);
    expect(result.findings[0].commit).toBe(r.head);
    expectNoPiece(JSON.stringify(result), token, 'the result');
  });

  it('the gate shows the masked names only: report, blocking list, notes, logs, outputs, PR comment, CLI JSON', async () => {
    const aws = randomAwsAccessKeyId();
    const token = ghp();
    const branchToken = ghp();
    const name = `agent/${branchToken}`;
    const { repo } = branch(name, [
      {
        files: {
          [`token-${aws}.txt`]: 'harmless\n',
          [`dir/${token}/img.bin`]: Buffer.from([0, 1, 2, 3, 0x0a]),
          [`dir/${token}/app.env`]: `KEY=${randomAwsAccessKeyId()}\n`
        }
      }
    ]);
    const r = await gate(repo, { headRef: name });
    expect(r.verdict).toBe('FAIL');
    expect(r.frontmatter.secrets_found).toBe(5);
    expect(r.body).toContain(`token-${SECRET_MASK}.txt`);
    expect(r.body).toContain('| file name |');
    expect(r.body).toContain('| branch name |');
    expect(r.body).toContain(`dir/${SECRET_MASK}/img.bin`);
    expect(r.frontmatter.blocking).toEqual(
      expect.arrayContaining([expect.stringContaining(`file name token-${SECRET_MASK}.txt`)])
    );
    const all = everything(r);
    for (const s of [aws, token, branchToken]) expectNoPiece(all, s, 'the gate output');
  });
});

describe('leak 4: commit messages', () => {
  it('scans every commit message of the range, names the commit and line, and never prints the message', async () => {
    const token = ghp();
    const aws = randomAwsAccessKeyId();
    const r = branch('agent/msg', [
      {
        files: { 'a.txt': 'one\n' },
        // Lines that look like git's own output must not confuse the parser.
        message: `fix the build\n\ndiff --git a/x b/x\n@@ -1 +1 @@\n+deploy token ${token}\n`
      },
      // git collapses the blank lines: the key is on line 3 of the message.
      { files: { 'b.txt': 'two\n' }, message: `second\n\n\n\nAWS_ACCESS_KEY_ID=${aws}` },
      { files: { 'c.txt': 'three\n' }, message: 'clean' }
    ]);
    const commits = r.repo.git('rev-list', '--reverse', `${r.base}..${r.head}`).trim().split('\n');
    const result = await scan(r);
    expect(result.findings.map((f) => [f.commit, where(f)]).sort()).toEqual(
      [
        [commits[0], 'github-pat commit-message commit message:5'],
        [commits[1], 'aws-access-token commit-message commit message:3']
      ].sort()
    );
    expect(result.commitsScanned).toBe(3);
    // Content and paths are unaffected by the messages.
    expect(result.bytesScanned).toBeGreaterThan(0);
    const out = JSON.stringify(result);
    for (const s of [token, aws]) expectNoPiece(out, s, 'the result');

    const g = await gate(r.repo);
    expect(g.verdict).toBe('FAIL');
    expect(g.body).toContain('| commit message | 5 |');
    expect(g.body).not.toContain('fix the build');
    expect(g.body).not.toContain('deploy token');
    for (const s of [token, aws]) expectNoPiece(everything(g), s, 'the gate output');
  });
});

describe('leak 5: a cut blocking list says how many more', () => {
  it('ends the list with "… and N more", and the PR comment counts them all', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 60; i++)
      files[`keys/k${String(i).padStart(2, '0')}.env`] = `K=${randomAwsAccessKeyId()}\n`;
    const { repo } = branch('agent/many', [{ files }]);
    const r = await gate(repo);
    expect(r.frontmatter.secrets_found).toBe(60);
    const list = r.frontmatter.blocking as string[];
    expect(list).toHaveLength(50);
    expect(list[49]).toBe('… and 11 more');
    expect(r.frontmatter.blocking_total).toBe(60);
    expect(blockingLines(r)).toHaveLength(20);
    expect(blockingTotal(r)).toBe(60);
    expect(everything(r)).toContain('- … and 50 more (see the run)');
  }, 60_000);
});
