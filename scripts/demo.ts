// npm run demo: the gates on embedded defaults, end to end, with nothing to
// set up. It makes a throwaway repository with a bare origin, a branch that
// leaks a (fake, generated) secret and a branch that is clean, runs the
// committed CLI bundle on each exactly as a user would, and prints verdicts.

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Node's own test runner measures the demo project's coverage (LCOV).
const COVERAGE_COMMAND = `${JSON.stringify(process.execPath)} --test --experimental-test-coverage --test-reporter=lcov --test-reporter-destination=lcov.info`;
const cli = join(root, 'bin', 'quality-gates.js');
const work = mkdtempSync(join(tmpdir(), 'qg-demo-'));
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 'demo',
  GIT_AUTHOR_EMAIL: 'demo@example.invalid',
  GIT_COMMITTER_NAME: 'demo',
  GIT_COMMITTER_EMAIL: 'demo@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null'
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe']
  });
}

/** A key id with AWS's shape, made up now: never a real credential. */
function fakeAwsKeyId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return 'AKIA' + Array.from(randomBytes(16), (b) => alphabet[b % 32]).join('');
}

function commitFile(repo: string, path: string, content: string, message: string): void {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  writeFileSync(join(repo, path), content);
  git(repo, 'add', '--', path);
  git(repo, 'commit', '-q', '-m', message);
}

try {
  const origin = join(work, 'origin.git');
  const repo = join(work, 'repo');
  git(work, 'init', '-q', '--bare', '-b', 'main', origin);
  git(work, 'clone', '-q', origin, repo);
  git(repo, 'checkout', '-q', '-b', 'main');
  commitFile(repo, 'README.md', '# demo service\n', 'initial commit');
  commitFile(
    repo,
    'package.json',
    '{ "name": "demo", "private": true, "type": "module" }\n',
    'package'
  );
  commitFile(
    repo,
    'src/app.js',
    'export const port = 8080;\nexport function url(host) {\n  return `http://${host}:${port}`;\n}\n',
    'add app'
  );
  commitFile(
    repo,
    'test/app.test.js',
    "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { url } from '../src/app.js';\ntest('url', () => assert.equal(url('a'), 'http://a:8080'));\n",
    'test app'
  );
  git(repo, 'push', '-q', 'origin', 'main');

  // The coverage gate needs a baseline: what the ratchet sets when code lands on main.
  const state = join(work, 'state.sqlite');
  const coverage = ['--command', COVERAGE_COMMAND, '--report', 'lcov.info', '--state-path', state];
  process.stdout.write(
    `$ quality-gates ratchet --repo <demo>/repo ...   # on main, as after a landing\n`
  );
  const ratchet = spawnSync(process.execPath, [cli, 'ratchet', '--repo', repo, ...coverage], {
    env,
    encoding: 'utf8'
  });
  process.stdout.write(ratchet.stdout);

  git(repo, 'checkout', '-q', '-b', 'agent/leaky-config', 'main');
  commitFile(repo, 'src/config.js', `export const region = 'eu-west-1';\n`, 'add config');
  commitFile(
    repo,
    'src/config.js',
    `export const region = 'eu-west-1';\nexport const awsKeyId = '${fakeAwsKeyId()}';\n`,
    'wire up storage'
  );
  git(repo, 'push', '-q', 'origin', 'agent/leaky-config');

  git(repo, 'checkout', '-q', '-b', 'agent/clean-feature', 'main');
  commitFile(
    repo,
    'src/feature.js',
    'export function greet(name) {\n  return `hello ${name}`;\n}\n',
    'add greeting'
  );
  commitFile(
    repo,
    'test/feature.test.js',
    "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { greet } from '../src/feature.js';\ntest('greet', () => assert.equal(greet('x'), 'hello x'));\n",
    'test greeting'
  );
  git(repo, 'push', '-q', 'origin', 'agent/clean-feature');

  const outcomes: Record<string, number> = {};
  for (const branch of ['agent/leaky-config', 'agent/clean-feature']) {
    git(repo, 'checkout', '-q', branch);
    process.stdout.write(
      `\n$ quality-gates edge --repo <demo>/repo --base-ref main --command '<node --test ...>' --report lcov.info --test-command '<node --test>'   # on ${branch}\n`
    );
    const r = spawnSync(
      process.execPath,
      [
        cli,
        'edge',
        '--repo',
        repo,
        '--base-ref',
        'main',
        ...coverage,
        '--test-command',
        `${JSON.stringify(process.execPath)} --test`,
        '--report-dir',
        join(work, 'reports', branch.replace('/', '-'))
      ],
      {
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe']
      }
    );
    process.stdout.write(r.stdout);
    if (r.status !== 0 && r.status !== 1) process.stderr.write(r.stderr);
    if (r.status === 1) {
      // Show what a developer (or agent) fixing the branch sees: redacted findings.
      const report = readFileSync(
        join(work, 'reports', branch.replace('/', '-'), '17-security-report.md'),
        'utf8'
      );
      const secrets = report.slice(report.indexOf('### Secrets'));
      const table = secrets.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---'));
      process.stdout.write(
        `\n17-security-report.md findings (the secret itself is never shown):\n${table.join('\n')}\n`
      );
    }
    outcomes[branch] = r.status ?? -1;
  }
  const ok = outcomes['agent/leaky-config'] === 1 && outcomes['agent/clean-feature'] === 0;
  process.stdout.write(
    ok
      ? '\nThe leaky branch was stopped and the clean one passed. Reports (redacted) were written under the demo directory, which is now removed.\n'
      : '\nUnexpected: the demo did not give FAIL for the leaky branch and PASS for the clean one.\n'
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
