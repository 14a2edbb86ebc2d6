// The built dist/security-gate/index.js, run as a runner runs it, on real
// repositories with a bare origin and a Gitea-style pull_request payload.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  randomAwsAccessKeyId,
  randomString
} from '../../packages/security/src/secrets/token-samples.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';
import { git, makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { giteaPullRequestEvent, runActionBundle, type ActionRun } from '../helpers/runner.ts';

afterAll(cleanupTempDirs);

/** A runner-style workspace: a fresh clone of origin with the PR head checked out. */
function checkout(repo: TestRepo, branch: string, depth?: number): string {
  const ws = join(tempDir('qg-ws-'), 'ws');
  const args = ['clone', '-q', '--branch', branch];
  if (depth) args.push(`--depth=${depth}`, '--no-single-branch');
  git(repo.root, ...args, `file://${repo.origin}`, ws);
  return ws;
}

function everything(run: ActionRun, ws: string): string {
  const reports = join(ws, 'gate-reports');
  const files = existsSync(reports)
    ? readdirSync(reports).map((f) => readFileSync(join(reports, f), 'utf8'))
    : [];
  return [run.stdout, run.stderr, JSON.stringify(run.outputs), run.summary, ...files].join('\n');
}

describe('security gate bundle, as a runner runs it', () => {
  const secrets = [randomAwsAccessKeyId(), `ghp_${randomString(36)}`];
  let repo: TestRepo;
  beforeAll(() => {
    repo = makeRepo();
    repo.git('checkout', '-q', '-b', 'agent/leak');
    repo.commit(
      'src/settings.py',
      `REGION = "eu-west-1"\nAWS_KEY_ID = "${secrets[0]}"\n`,
      'settings'
    );
    repo.commit('deploy/token.txt', `${secrets[1]}\n`, 'token');
    repo.git('push', '-q', 'origin', 'agent/leak');
    repo.git('checkout', '-q', '-b', 'agent/clean', 'main');
    repo.commit('src/ok.py', 'print("hello")\n', 'clean change');
    repo.git('push', '-q', 'origin', 'agent/clean');
  });

  /** The bundle on a fresh checkout of `branch`, run for a pull request into main, dep audit off. */
  function pullRequestRun(branch: string): { ws: string; head: string; run: ActionRun } {
    const ws = checkout(repo, branch);
    const head = git(ws, 'rev-parse', 'HEAD').trim();
    const run = runActionBundle('security-gate', {
      workspace: ws,
      inputs: { 'dep-audit': 'false' },
      event: giteaPullRequestEvent({
        base: 'main',
        head: branch,
        headSha: head,
        repo: 'acme/service'
      })
    });
    return { ws, head, run };
  }

  it('fails a branch that leaks, with redacted findings and exit code 1', () => {
    const { ws, head, run } = pullRequestRun('agent/leak');
    expect(run.exitCode).toBe(1);
    expect(run.outputs.status).toBe('FAIL');
    expect(run.outputs['secrets-found']).toBe('2');
    expect(run.outputs['commits-scanned']).toBe('2');
    expect(run.outputs.summary).toMatch(
      /^2 secrets found; scanned 2 commits \(\d+ bytes\) with embedded$/
    );
    const report = readFileSync(run.outputs['report-path'], 'utf8');
    expect(run.outputs['report-path']).toBe(join(ws, 'gate-reports', '17-security-report.md'));
    expect(report).toMatch(/^---\ngate: security\nsecurity_status: FAIL\n/);
    expect(report).toContain(`head_sha: ${head}`);
    expect(report).toContain('src/settings.py');
    expect(report).toContain('deploy/token.txt');
    expect(run.summary).toContain('## Security gate: FAIL');
    expect(run.stdout).toContain('::error::security gate: FAIL');
    const all = everything(run, ws);
    for (const s of secrets) {
      expect(all).not.toContain(s);
      expect(all).not.toContain(s.slice(0, 12));
      expect(all).not.toContain(s.slice(-12));
    }
  });

  it('passes a clean branch with exit code 0', () => {
    const { run } = pullRequestRun('agent/clean');
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.outputs.status).toBe('PASS');
    expect(run.outputs['commits-scanned']).toBe('1');
  });

  it('deepens a shallow checkout to find the merge-base, and does not blame main', () => {
    // main moves on (with a secret of its own) after the branch was cut.
    repo.git('checkout', '-q', 'main');
    for (let i = 0; i < 5; i++) repo.commit(`main-${i}.txt`, `${i}\n`);
    repo.commit('main-secret.txt', `${randomAwsAccessKeyId()}\n`, 'main has its own problem');
    repo.git('push', '-q', 'origin', 'main');
    const ws = checkout(repo, 'agent/clean', 1);
    expect(git(ws, 'rev-parse', '--is-shallow-repository').trim()).toBe('true');
    const run = runActionBundle('security-gate', {
      workspace: ws,
      inputs: { 'dep-audit': 'false', 'base-ref': 'main' }
    });
    expect(run.outputs.status).toBe('PASS');
    expect(run.outputs['commits-scanned']).toBe('1');
    expect(readFileSync(run.outputs['report-path'], 'utf8')).toContain('shallow');
  });

  it.each([
    [
      'an unknown input value is a one-line configuration error and FAIL',
      { 'secrets-engine': 'trufflehog' },
      'configuration error: input \'secrets-engine\': expected one of auto | gitleaks | embedded (got "trufflehog")'
    ],
    [
      'a base-ref that does not exist names the input',
      { 'base-ref': 'no-such-branch' },
      expect.stringMatching(
        /^configuration error: input 'base-ref': expected a branch that exists on remote 'origin' or locally \(got "no-such-branch"\)$/
      )
    ],
    [
      'a hostile base-ref is refused before git sees it',
      { 'base-ref': '--upload-pack=touch /tmp/pwned' },
      expect.stringMatching(/^configuration error: input 'base-ref': expected a branch name/)
    ]
  ])('%s', (_name, inputs, summary) => {
    const ws = checkout(repo, 'agent/clean');
    const run = runActionBundle('security-gate', { workspace: ws, inputs });
    expect(run.exitCode).toBe(1);
    expect(run.outputs.summary).toEqual(summary);
  });

  it.each([
    [
      'the kill-switch variable skips the gate with exit code 0',
      { env: { QG_SECURITY_ENABLED: 'false' } }
    ],
    ['repos scope skips other repositories', { inputs: { repos: 'acme/other, beta/*' } }]
  ])('%s', (_name, opts) => {
    const ws = checkout(repo, 'agent/leak');
    const run = runActionBundle('security-gate', { workspace: ws, ...opts });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.status).toBe('SKIPPED');
  });

  it('a branch with no commits of its own passes and says it scanned nothing', () => {
    const ws = checkout(repo, 'main');
    const run = runActionBundle('security-gate', {
      workspace: ws,
      inputs: { 'dep-audit': 'false' }
    });
    expect(run.exitCode).toBe(0);
    expect(run.outputs['commits-scanned']).toBe('0');
    expect(readFileSync(run.outputs['report-path'], 'utf8')).toContain('nothing to scan');
  });

  // The machine's own node (20 on CI machines) stands in for an old runner container.
  const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => {
    if (!existsSync(p)) return false;
    const major = Number(/^v(\d+)/.exec(execFileSync(p, ['--version'], { encoding: 'utf8' }))?.[1]);
    return major > 0 && major < 22;
  });
  (oldNode ? it : it.skip)('refuses to run on Node < 22 with one clear line', () => {
    const ws = checkout(repo, 'agent/clean');
    const run = runActionBundle('security-gate', { workspace: ws, node: oldNode });
    expect(run.exitCode).toBe(1);
    expect(run.stdout.trim()).toMatch(
      /^::error::quality-gates needs Node.js >= 22, but this runner's node is v\d+\.\d+\.\d+: use a job container with Node 22 or newer/
    );
  });
});
