// Issue 8 as it was seen, through the committed bundles: the code under test
// is not trusted. A red branch that already contains main must not pass the
// edge; the test command must not outlive retest-timeout-seconds (or a gate
// killed with SIGKILL), and must not read the gate's secrets, from its
// environment, from /proc of its parent, or from the checkout's persisted
// credential.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRedUpToDateRepo, makeRepoWithBranches, type TestRepo } from '../helpers/git-repo.ts';
import {
  giteaPullRequestEvent,
  ROOT,
  runActionBundle,
  startActionBundle
} from '../helpers/runner.ts';
import { goneWithin, liveWith, sleepMarker } from '../helpers/processes.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

import { jest } from '@jest/globals';

jest.setTimeout(120_000);
afterAll(cleanupTempDirs);

const REPO = 'acme/service';
const SECRETS = {
  INPUT_TOKEN: 'qg-e2e-token-7d1c0f3a9b',
  'INPUT_TELEGRAM-BOT-TOKEN': '123456:qg-e2e-telegram-5e2b8c',
  'INPUT_WEBHOOK-SECRET': 'qg-e2e-webhook-secret-94af'
};

/** main with a passing test (`test -f ok`), and a task branch one commit ahead, checked out. */
function taskRepo(branch: string): TestRepo {
  const repo = makeRepoWithBranches([branch]);
  repo.git('checkout', '-q', branch);
  return repo;
}

function mergeInputs(state: string, branch: string, testCommand: string, extra = {}) {
  return {
    'base-ref': 'main',
    branch,
    'test-command': testCommand,
    'state-path': state,
    'lease-wait-minutes': '0',
    'lease-ttl-minutes': '30',
    'infra-retries': '0',
    'report-dir': tempDir('qg-reports-'),
    ...extra
  };
}

describe('a red branch that already contains main (issue 8, item 1)', () => {
  it('FAILs the edge through the CLI bundle: the merge gate re-tests it', async () => {
    const { repo, head } = makeRedUpToDateRepo('agent/red');
    const event = join(tempDir('qg-event-'), 'event.json');
    writeFileSync(
      event,
      JSON.stringify(
        giteaPullRequestEvent({ base: 'main', head: 'agent/red', headSha: head, repo: REPO })
      )
    );
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          join(ROOT, 'bin', 'quality-gates.js'),
          'edge',
          '--repo',
          repo.work,
          '--json',
          '--dep-audit',
          'false',
          '--test-command',
          `${JSON.stringify(process.execPath)} check.js`,
          '--state-path',
          join(tempDir('qg-state-'), 'state.sqlite'),
          '--lease-wait-minutes',
          '0',
          '--report-dir',
          tempDir('qg-reports-')
        ],
        {
          env: {
            PATH: process.env.PATH,
            HOME: tempDir(),
            GIT_CONFIG_NOSYSTEM: '1',
            GIT_CONFIG_GLOBAL: '/dev/null',
            GITHUB_REPOSITORY: REPO,
            GITHUB_EVENT_NAME: 'pull_request',
            GITHUB_EVENT_PATH: event
          }
        }
      );
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout }));
    });
    expect(r.code).toBe(1);
    const gates = (JSON.parse(r.stdout) as { gates: { gate: string; verdict: string }[] }).gates;
    expect(gates.find((g) => g.gate === 'security')?.verdict).toBe('PASS');
    expect(gates.find((g) => g.gate === 'merge')?.verdict).toBe('FAIL');
    expect(gates.map((g) => g.gate)).not.toContain('coverage');
  });
});

describe('hard bounds on the test command (issue 8, item 4)', () => {
  it('a child that leaves the process group and keeps stdout open cannot hold the gate past the timeout', async () => {
    const repo = taskRepo('agent/hang');
    const state = join(tempDir('qg-state-'), 'state.sqlite');
    const m = sleepMarker(61);
    const started = Date.now();
    const run = startActionBundle('merge-gate', {
      workspace: repo.work,
      inputs: mergeInputs(state, 'agent/hang', `setsid sh -c 'sleep ${m}1' & sleep ${m}2`, {
        'retest-timeout-seconds': '2'
      })
    });
    const r = await run.done;
    const wall = (Date.now() - started) / 1000;
    expect(r.outputs.status).toBe('FAIL');
    expect(r.outputs['failure-class']).toBe('timeout');
    // 2 s limit + 5 s grace + start-up and git (about 9 s on an idle machine);
    // the bound proves the ~610 s child did not hold the gate, with room for a
    // loaded 2-core machine (15 s was exceeded by 0.2 s under load).
    expect(wall).toBeLessThan(45);
    expect(await goneWithin(m, 3000)).toEqual([]);
  });

  it('no process of the test command outlives a gate killed with SIGKILL, setsid ones included', async () => {
    const repo = taskRepo('agent/killed');
    const state = join(tempDir('qg-state-'), 'state.sqlite');
    const m = sleepMarker(62);
    const run = startActionBundle('merge-gate', {
      workspace: repo.work,
      inputs: mergeInputs(state, 'agent/killed', `setsid sh -c 'sleep ${m}1' & sleep ${m}2`, {
        'retest-timeout-seconds': '120'
      })
    });
    const deadline = Date.now() + 30_000;
    while (liveWith(m).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(liveWith(m).length).toBeGreaterThanOrEqual(2);
    run.child.kill('SIGKILL');
    await run.done;
    expect(await goneWithin(m, 5000)).toEqual([]);
  });
});

describe('secrets out of reach of the test command (issue 8, item 5)', () => {
  it('sees neither the inputs nor the parent environment nor the persisted credential', async () => {
    const repo = taskRepo('agent/snoop');
    // What actions/checkout@v4 leaves in .git/config.
    const basic = Buffer.from(`x-access-token:${SECRETS.INPUT_TOKEN}`).toString('base64');
    repo.git(
      'config',
      '--local',
      'http.http://127.0.0.1:1/.extraheader',
      `AUTHORIZATION: basic ${basic}`
    );
    const dump = tempDir('qg-dump-');
    const command = [
      `env > ${dump}/env.txt`,
      `cat /proc/$PPID/environ > ${dump}/ppid.txt 2>&1`,
      `for p in /proc/[0-9]*; do cat $p/environ; echo; done > ${dump}/all.txt 2>/dev/null`,
      `cat .git/config > ${dump}/gitconfig.txt`,
      `git config --get-regexp extraheader > ${dump}/extraheader.txt 2>&1`,
      'test -f ok'
    ].join('; ');
    const state = join(tempDir('qg-state-'), 'state.sqlite');
    const r = runActionBundle('merge-gate', {
      workspace: repo.work,
      inputs: mergeInputs(state, 'agent/snoop', command),
      env: {
        ...SECRETS,
        'INPUT_TELEGRAM-CHAT-ID': '-1001234567890',
        'INPUT_WEBHOOK-URL': 'http://127.0.0.1:1/hook',
        CI: 'true'
      }
    });
    expect(r.outputs.status).toBe('PASS');
    const seen = ['env.txt', 'ppid.txt', 'all.txt', 'gitconfig.txt', 'extraheader.txt']
      .filter((f) => existsSync(join(dump, f)))
      .map((f) => readFileSync(join(dump, f), 'utf8'))
      .join('\n');
    expect(seen).toContain('CI=true');
    for (const value of [...Object.values(SECRETS), basic]) expect(seen).not.toContain(value);
    expect(seen).not.toMatch(/^INPUT_/m);
    expect(r.stdout + r.stderr).not.toContain(SECRETS.INPUT_TOKEN);
  });
});

describe('a test command that rewrites the state (issue 8, item 5)', () => {
  it('cannot lower the coverage baseline: the edit is found, the audited 90 % still holds, and the report says tampered', () => {
    const repo = taskRepo('agent/tamper');
    const state = join(tempDir('qg-state-'), 'state.sqlite');
    const seed = runActionBundle('coverage-baseline', {
      workspace: repo.work,
      inputs: { operation: 'set', value: '90', reason: 'seed', 'state-path': state }
    });
    expect(seed.exitCode).toBe(0);
    // The merge job's test command is the branch's code: it edits the state file.
    const script = join(tempDir('qg-evil-'), 'evil.py');
    writeFileSync(
      script,
      [
        'import sqlite3, sys',
        'c = sqlite3.connect(sys.argv[1])',
        "c.execute('UPDATE coverage_baseline SET percent = 0')",
        'c.commit()'
      ].join('\n')
    );
    const merge = runActionBundle('merge-gate', {
      workspace: repo.work,
      inputs: mergeInputs(state, 'agent/tamper', `python3 ${script} ${state} && test -f ok`)
    });
    expect(merge.outputs.status).toBe('PASS');
    // The coverage gate measures 80 % on the branch.
    writeFileSync(
      join(repo.work, 'coverage.json'),
      JSON.stringify({ meta: {}, files: {}, totals: { covered_lines: 8, num_statements: 10 } })
    );
    const cov = runActionBundle('coverage-gate', {
      workspace: repo.work,
      inputs: {
        measure: 'false',
        report: 'coverage.json',
        'base-ref': 'main',
        'state-path': state,
        'report-dir': tempDir('qg-reports-')
      }
    });
    expect(cov.outputs.status).toBe('FAIL');
    expect(cov.outputs.baseline).toBe('90');
    const report = readFileSync(cov.outputs['report-path'], 'utf8');
    expect(report).toMatch(/^state_integrity: tampered$/m);
    expect(report).toMatch(/^warnings:\n  - .*baseline.*main/m);
    const show = runActionBundle('coverage-baseline', {
      workspace: repo.work,
      inputs: { operation: 'show', 'state-path': state }
    });
    expect(show.outputs.baseline).toBe('90.00');
    expect(show.stdout).toMatch(/::warning::state tampering/);
  });
});
