// The `quality-gates` command as a user runs it: the committed bundle behind
// bin/quality-gates.js, on a real repository.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { randomAwsAccessKeyId } from '../../packages/security/src/secrets/token-samples.ts';
import { makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { ROOT } from '../helpers/runner.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'quality-gates.js'), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: tempDir(), ...env }
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('quality-gates CLI', () => {
  let repo: TestRepo;
  const secret = randomAwsAccessKeyId();
  beforeAll(() => {
    repo = makeRepo();
    repo.git('checkout', '-q', '-b', 'agent/leak');
    repo.commit('config.env', `AWS_ACCESS_KEY_ID=${secret}\n`);
  });

  it('runs the edge and prints a verdict table; exit 1 on FAIL', () => {
    const r = cli([
      'edge',
      '--repo',
      repo.work,
      '--base-ref',
      'main',
      '--report-dir',
      tempDir(),
      '--dep-audit',
      'false'
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^GATE\s+VERDICT\s+SUMMARY\nsecurity\s+FAIL\s+1 secret found; scanned 1 commit/
    );
    expect(r.stdout + r.stderr).not.toContain(secret);
  });

  it('prints JSON with --json and honours the kill-switch variable', () => {
    const r = cli(['security', '--repo', repo.work, '--json', '--report-dir', tempDir()], {
      QG_SECURITY_ENABLED: 'false'
    });
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout);
    expect(parsed.gates[0]).toMatchObject({ gate: 'security', verdict: 'SKIPPED' });
    // No token and no forge: nothing was published, and the count says so.
    expect(parsed.forge_api_calls).toBe(0);
  });

  it('rejects an unknown option, naming it and the valid ones, with exit 2', () => {
    const r = cli(['security', '--repo', repo.work, '--secret-engine', 'embedded']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^quality-gates: unknown option --secret-engine for 'security': expected one of --base-ref, /
    );
  });

  it('rejects an unknown command with exit 2', () => {
    const r = cli(['secruity']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "quality-gates: unknown command 'secruity': expected edge, security, merge, coverage, image-freshness, baseline, land, lease-release, ratchet, stop, status, state or help\n"
    );
  });

  it('an option without a value is a usage error', () => {
    const r = cli(['security', '--base-ref']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('quality-gates: option --base-ref: expected a value\n');
  });

  it('help lists the gates', () => {
    const r = cli(['help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('security');
    expect(r.stdout).toContain('QG_<GATE>_ENABLED');
  });

  it("<command> --help prints that command's options from its action.yml", () => {
    const r = cli(['security', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: quality-gates security \[options\]/);
    expect(r.stdout).toContain('options (inputs of actions/security-gate/action.yml):');
    expect(r.stdout).toMatch(/^ {2}--secrets-engine VALUE\n {6}auto \| gitleaks \| embedded/m);
    expect(r.stdout).not.toContain('--coverage-command');
    const edge = cli(['edge', '--help']);
    expect(edge.code).toBe(0);
    expect(edge.stdout).toMatch(/^ {2}--coverage-command VALUE$/m);
  });

  it('edge takes the root action input names, e.g. --coverage-floor', () => {
    const r = cli(
      ['edge', '--repo', repo.work, '--report-dir', tempDir(), '--coverage-floor', 'x', '--json'],
      { QG_SECURITY_ENABLED: 'false', QG_MERGE_ENABLED: 'false' }
    );
    const coverage = JSON.parse(r.stdout).gates.find(
      (g: { gate: string }) => g.gate === 'coverage'
    );
    expect(coverage).toMatchObject({ verdict: 'FAIL' });
    expect(coverage.summary).toMatch(/input 'coverage-floor'/);
  });
});
