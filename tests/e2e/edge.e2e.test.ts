// The whole edge through the CLI bundle on a real repository, as a user (or
// another CI system) runs it: a forge that checks every request against the
// Gitea contract, a real OCI registry holding the image, a real state file.
// One branch passes everything; one branch fails at each gate in turn.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { randomAwsAccessKeyId } from '../../packages/security/src/secrets/token-samples.ts';
import { makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { GiteaContractServer, TEST_TOKEN } from '../helpers/gitea-contract-server.ts';
import { OciLayout } from '../helpers/oci-images.ts';
import { LocalRegistry, requireRegistryTools } from '../helpers/oci-registry.ts';
import { giteaPullRequestEvent, ROOT } from '../helpers/runner.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

import { jest } from '@jest/globals';

jest.setTimeout(240_000);

const NODE = JSON.stringify(process.execPath);
const COVERAGE = `${NODE} --test --experimental-test-coverage --test-reporter=lcov --test-reporter-destination=lcov.info`;
const REPO = 'acme/service';
const GATES = ['security', 'merge', 'coverage', 'image-freshness'] as const;

let repo: TestRepo;
let forge: GiteaContractServer;
let registry: LocalRegistry;
let layout: OciLayout;
const state = join(tempDir('qg-edge-state-'), 'state.sqlite');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI bundle in a child process, asynchronously: the forge answers from this process. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'quality-gates.js'), ...args], {
      env: {
        PATH: process.env.PATH,
        HOME: tempDir(),
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_AUTHOR_NAME: 'agent',
        GIT_AUTHOR_EMAIL: 'agent@example.invalid',
        GIT_COMMITTER_NAME: 'agent',
        GIT_COMMITTER_EMAIL: 'agent@example.invalid',
        ...env
      }
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const SOURCE = 'export function add(a, b) {\n  return a + b;\n}\n';
const TEST = (name: string, body: string) =>
  `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { add } from '../src/math.js';\ntest('${name}', () => { ${body} });\n`;

beforeAll(async () => {
  requireRegistryTools();
  [forge, registry] = await Promise.all([GiteaContractServer.start(), LocalRegistry.start()]);
  layout = new OciLayout();
  repo = makeRepo();
  repo.commitAll('a service with tests', {
    'package.json': '{ "name": "app", "private": true, "type": "module" }\n',
    '.gitignore': 'lcov.info\n',
    'src/math.js': SOURCE,
    'test/math.test.js': TEST('add', 'assert.equal(add(1, 2), 3);')
  });
  repo.git('push', '-q', 'origin', 'main');
  // The baseline the ratchet sets when code lands on main.
  const r = await cli(
    [
      'ratchet',
      '--repo',
      repo.work,
      '--command',
      COVERAGE,
      '--report',
      'lcov.info',
      '--state-path',
      state
    ],
    { GITHUB_REPOSITORY: REPO }
  );
  expect(r.stdout).toMatch(/^baseline for main bootstrapped at \d+\.\d\d%/);
  expect(r.code).toBe(0);
});

afterAll(async () => {
  await Promise.all([forge?.close(), registry?.stop()]);
  cleanupTempDirs();
});

/**
 * Pushes an image whose revision label says `revision`, tagged for the PR.
 * Asynchronously: the registry's log pipe is read by this process.
 */
async function pushImage(tag: string, revision: string): Promise<string> {
  layout.image(tag, { labels: { 'org.opencontainers.image.revision': revision } });
  const ref = `${registry.host}/acme/app:${tag}`;
  await layout.pushAsync(tag, ref);
  return ref;
}

/** A task branch off main with these files, pushed; its PR number and head. */
function branch(name: string, files: Record<string, string>): string {
  repo.git('checkout', '-q', '-B', name, 'main');
  const sha = repo.commitAll(`work on ${name}`, files);
  repo.git('push', '-q', 'origin', name);
  return sha;
}

async function edge(name: string, pr: number, head: string, image: string): Promise<CliRun> {
  repo.git('checkout', '-q', name);
  const event = join(tempDir('qg-event-'), 'event.json');
  writeFileSync(
    event,
    JSON.stringify(
      giteaPullRequestEvent({ base: 'main', head: name, headSha: head, repo: REPO, number: pr })
    )
  );
  return cli(
    [
      'edge',
      '--repo',
      repo.work,
      '--json',
      '--base-ref',
      'main',
      '--dep-audit',
      'false',
      '--test-command',
      `${NODE} --test`,
      '--command',
      COVERAGE,
      '--report',
      'lcov.info',
      '--state-path',
      state,
      '--lease-wait-minutes',
      '0',
      '--image',
      image,
      '--registry-insecure',
      'true',
      '--token',
      TEST_TOKEN,
      '--report-dir',
      tempDir('qg-edge-reports-')
    ],
    {
      GITHUB_API_URL: forge.apiUrl,
      GITHUB_SERVER_URL: forge.origin,
      GITHUB_REPOSITORY: REPO,
      GITHUB_RUN_ID: String(1000 + pr),
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: event
    }
  );
}

/** The newest status of each quality-gates context on `sha`. */
function statusesOn(sha: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of forge.fake.statuses.filter((x) => x.sha === sha)) out[s.context] = s.state;
  return out;
}

function commentsOn(pr: number): string[] {
  return forge.fake.comments.filter((c) => c.issue === pr).map((c) => c.body);
}

async function leaseHolder(): Promise<string | null> {
  const r = await cli([
    'status',
    '--repo',
    repo.work,
    '--repository',
    REPO,
    '--state-path',
    state,
    '--json'
  ]);
  expect(r.code).toBe(0);
  // status --json prints the status object itself.
  const status = JSON.parse(r.stdout) as { holder: { branch: string } | null };
  return status.holder?.branch ?? null;
}

interface EdgeJson {
  gates: { gate: string; verdict: string; summary: string }[];
  forge_api_calls: number;
  lease_release: string | null;
}

describe('the whole edge through the CLI', () => {
  afterEach(() => expect(forge.violations).toEqual([]));

  // [gate, PR, the branch's files, the image's label, why, what lands on main after the branch forked]
  const failures: [
    string,
    number,
    () => Record<string, string>,
    string,
    RegExp,
    Record<string, string>
  ][] = [
    [
      'security',
      21,
      () => ({ 'src/config.js': `export const key = '${randomAwsAccessKeyId()}';\n` }),
      'good',
      /secret/,
      {}
    ],
    [
      'merge',
      22,
      // Green alone: the branch renames add to sum, with its own test. Red together:
      // main meanwhile gained a test of add. Only the re-test after catch-up sees it.
      () => ({
        'src/math.js': SOURCE.replace('add', 'sum'),
        'test/math.test.js':
          "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { sum } from '../src/math.js';\ntest('sum', () => assert.equal(sum(1, 2), 3));\n"
      }),
      'good',
      /^re-test after catching up with main: test command failed/,
      { 'test/double.test.js': TEST('double', 'assert.equal(add(2, 2), 4);') }
    ],
    [
      'coverage',
      23,
      () => ({
        'src/untested.js': Array.from(
          { length: 30 },
          (_, i) => `export function f${i}(x) {\n  const y = x + ${i};\n  return y * 2;\n}\n`
        ).join(''),
        'test/untested.test.js':
          "import '../src/untested.js';\nimport { test } from 'node:test';\ntest('loads', () => {});\n"
      }),
      'good',
      /coverage|baseline/i,
      {}
    ],
    [
      'image-freshness',
      24,
      () => ({ 'src/more.js': 'export const more = 1;\n' }),
      'stale',
      /rebuild|not built|revision/i,
      {}
    ]
  ];

  it.each(failures)(
    'a branch failing at the %s gate stops there, releases the lease and says why',
    async (gate, pr, files, imageKind, why, onMain) => {
      const name = `agent/fails-${gate}`;
      const head = branch(name, files());
      // Every row has all six values: jest would take a missing last one for a done callback.
      if (Object.keys(onMain).length > 0) {
        repo.git('checkout', '-q', 'main');
        repo.commitAll('main moves on', onMain);
        repo.git('push', '-q', 'origin', 'main');
      }
      const image = await pushImage(`pr-${pr}`, imageKind === 'good' ? head : 'f'.repeat(40));
      const r = await edge(name, pr, head, image);
      if (r.code !== 1) process.stderr.write(`${r.stdout}\n${r.stderr}\n`);
      expect(r.code).toBe(1);
      const out = JSON.parse(r.stdout) as EdgeJson;
      const at = GATES.indexOf(gate as (typeof GATES)[number]);
      // The gates before passed, this one failed, the later ones did not run.
      expect(out.gates.map((g) => g.gate)).toEqual(GATES.slice(0, at + 1));
      expect(out.gates.map((g) => g.verdict)).toEqual([
        ...GATES.slice(0, at).map(() => 'PASS'),
        'FAIL'
      ]);
      expect(out.gates[at].summary).toMatch(why);
      const statuses = statusesOn(head);
      expect(statuses[`quality-gates/${gate}`]).toBe('failure');
      for (const later of GATES.slice(at + 1))
        expect(statuses[`quality-gates/${later}`]).toBeUndefined();
      // One sticky comment, saying which gate failed and why.
      const comments = commentsOn(pr);
      expect(comments).toHaveLength(1);
      expect(comments[0]).toMatch(new RegExp(`${gate}[^\\n]*FAIL`));
      expect(r.stdout + r.stderr + comments[0]).not.toMatch(/AKIA[A-Z2-7]{16}/);
      // The lease: never taken (security, merge) or released after a later gate failed.
      if (at > 1) expect(out.lease_release).toMatch(/released/);
      expect(await leaseHolder()).toBeNull();
      expect(out.forge_api_calls).toBeGreaterThan(0);
    }
  );

  it('a branch that passes everything: four success statuses, one comment, the lease held for landing', async () => {
    const name = 'agent/passes';
    const head = branch(name, {
      'src/math.js': `${SOURCE}export function sub(a, b) {\n  return a - b;\n}\n`,
      'test/sub.test.js':
        "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { sub } from '../src/math.js';\ntest('sub', () => assert.equal(sub(3, 2), 1));\n"
    });
    const image = await pushImage('pr-30', head);
    const r = await edge(name, 30, head, image);
    expect(r.stderr).not.toMatch(/not published/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as EdgeJson;
    expect(out.gates.map((g) => [g.gate, g.verdict])).toEqual(GATES.map((g) => [g, 'PASS']));
    expect(statusesOn(head)).toEqual(
      Object.fromEntries(GATES.map((g) => [`quality-gates/${g}`, 'success']))
    );
    const comments = commentsOn(30);
    expect(comments).toHaveLength(1);
    for (const g of GATES) expect(comments[0]).toMatch(new RegExp(`${g}[^\\n]*PASS`));
    expect(await leaseHolder()).toBe(name);
    process.stdout.write(`whole edge, passing branch: ${out.forge_api_calls} forge API calls\n`);
  });
});
