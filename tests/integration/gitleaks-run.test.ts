import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolError } from '../../packages/core/src/errors.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { fingerprintOf } from '../../packages/security/src/findings.ts';
import {
  LEAK_EXIT_CODE,
  runGitleaks,
  type RunGitleaksOptions
} from '../../packages/security/src/gitleaks/run.ts';
import { groupMembers } from '../../packages/proc/src/run.ts';
import { rejection } from '../helpers/errors.ts';
import { makeLocalRepo, type LocalRepo, type RepoOptions } from '../helpers/git-repo.ts';
import { isLiveProcess } from '../helpers/processes.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';
import { FAKE_GITLEAKS, PLANTED_SECRET, fakeEnv } from '../fixtures/fake-gitleaks/helpers.ts';

afterAll(cleanupTempDirs);

/** Every commit at one date, so a finding's authorDate is known in advance. */
const FIXED_DATE: RepoOptions = { date: () => '2024-05-06T07:08:09Z' };

interface Setup {
  repo: LocalRepo;
  base: string;
  head: string;
  leakCommit: string;
}

/** main: one clean commit; branch: a clean commit, then one planting the key on line 3 of config/app.env. */
function leakyBranch(): Setup {
  const repo = makeLocalRepo(FIXED_DATE);
  const base = repo.commitAll('base', { 'README.md': 'hello\n' });
  repo.git('checkout', '-q', '-b', 'feature');
  repo.commitAll('clean work', { 'src/a.txt': 'nothing to see\n' });
  const leakCommit = repo.commitAll('add env', {
    'config/app.env': `A=1\nB=2\nAWS_KEY=${PLANTED_SECRET}\n`
  });
  return { repo, base, head: leakCommit, leakCommit };
}

function opts(
  s: Pick<Setup, 'repo' | 'base' | 'head'>,
  extra: Partial<RunGitleaksOptions> = {},
  env: Record<string, string> = {}
): RunGitleaksOptions & { logger: RecordingLogger } {
  return {
    binary: FAKE_GITLEAKS,
    repoDir: s.repo.work,
    base: s.base,
    head: s.head,
    timeoutMs: 30_000,
    logger: new RecordingLogger(),
    env: fakeEnv(env),
    ...extra
  } as RunGitleaksOptions & { logger: RecordingLogger };
}

async function toolError(p: Promise<unknown>): Promise<ToolError> {
  const e = (await rejection(p)) as ToolError;
  expect(e).toBeInstanceOf(ToolError);
  expect(e.kind).toBe('secrets');
  expect(e.message).not.toContain('\n');
  expect(e.message).not.toContain(PLANTED_SECRET);
  return e;
}

describe('runGitleaks against the fake gitleaks (v8.30 contract)', () => {
  it('reports no findings for a clean range, with every commit covered', async () => {
    const repo = makeLocalRepo(FIXED_DATE);
    const base = repo.commitAll('base', { 'README.md': 'hello\n' });
    repo.commitAll('one', { 'a.txt': 'a\n' });
    const head = repo.commitAll('two', { 'b.txt': 'b\n' });
    const o = opts({ repo, base, head });
    const r = await runGitleaks(o);
    expect(r).toEqual({
      engine: 'gitleaks',
      commitsScanned: 2,
      bytesScanned: expect.any(Number),
      findings: [],
      notes: []
    });
    expect(r.bytesScanned).toBeGreaterThan(0);
    expect(o.logger.text()).toMatch(/2 of 2 commit\(s\) had content to scan; 0 finding/);
  });

  it('maps a leak to a SecretFinding without any of the secret', async () => {
    const s = leakyBranch();
    const o = opts(s);
    const r = await runGitleaks(o);
    expect(r.commitsScanned).toBe(2);
    expect(r.findings).toEqual([
      {
        engine: 'gitleaks',
        ruleId: 'aws-access-token',
        file: 'config/app.env',
        line: 3,
        commit: s.leakCommit,
        authorDate: '2024-05-06T07:08:09Z',
        fingerprint: fingerprintOf({
          commit: s.leakCommit,
          file: 'config/app.env',
          ruleId: 'aws-access-token',
          line: 3
        })
      }
    ]);
    const everything = JSON.stringify(r) + o.logger.text();
    expect(everything).not.toContain(PLANTED_SECRET);
    expect(everything).not.toContain('REDACTED');
    expect(everything).not.toContain('add env'); // the commit message is not kept either
  });

  it('passes the range, a distinct leak exit code, --redact and a temp report to gitleaks', async () => {
    const s = leakyBranch();
    const argvFile = join(tempDir(), 'argv.json');
    await runGitleaks(opts(s, {}, { FAKE_GITLEAKS_ARGV_FILE: argvFile }));
    const argv = JSON.parse(readFileSync(argvFile, 'utf8')) as string[];
    expect(argv[0]).toBe('git');
    expect(argv[1]).toBe(join(s.repo.work, '.git')); // the git dir, never the checked-out tree
    expect(argv).toContain(`--log-opts=${s.base}..${s.head}`);
    expect(argv).toContain(`--exit-code=${LEAK_EXIT_CODE}`);
    expect(argv).toContain('--redact');
    expect(argv).toContain('--report-format=json');
    expect(argv).toContain('--no-banner');
    expect(argv).toContain('--ignore-gitleaks-allow');
    const report = argv.find((a) => a.startsWith('--report-path='))!.slice('--report-path='.length);
    expect(existsSync(report)).toBe(false); // the temp dir is removed afterwards
  });

  it('only scans base..head: a leak already on main is not the branch’s', async () => {
    const repo = makeLocalRepo(FIXED_DATE);
    repo.commitAll('old leak', { 'legacy.env': `KEY=${PLANTED_SECRET}\n` });
    const base = repo.commitAll('base', { 'README.md': 'x\n' });
    const head = repo.commitAll('branch', { 'b.txt': 'b\n' });
    const r = await runGitleaks(opts({ repo, base, head }));
    expect(r.findings).toEqual([]);
    expect(r.commitsScanned).toBe(1);
  });

  it('counts merges and deletion-only commits as covered, and says why gitleaks skipped them', async () => {
    const repo = makeLocalRepo(FIXED_DATE);
    const base = repo.commitAll('base', { 'README.md': 'x\n', 'old.txt': 'old\n' });
    repo.git('checkout', '-q', '-b', 'side');
    repo.commitAll('side work', { 'side.txt': 'side\n' });
    repo.git('checkout', '-q', 'main');
    repo.git('checkout', '-q', '-b', 'feature');
    repo.commitAll('feature work', { 'f.txt': 'f\n' });
    repo.git('merge', '-q', '--no-ff', '-m', 'merge side', 'side');
    repo.git('rm', '-q', 'old.txt');
    const head = repo.commitAll('delete old');
    const r = await runGitleaks(opts({ repo, base, head }));
    expect(r.commitsScanned).toBe(4);
    expect(r.notes).toEqual([
      expect.stringMatching(/^2 commit\(s\) had no text changes for gitleaks/)
    ]);
  });

  it('uses the config and ignore file it is given (extracted from the base commit)', async () => {
    const s = leakyBranch();
    const dir = tempDir();
    const config = join(dir, 'gitleaks.toml');
    writeFileSync(config, "[extend]\nuseDefault = true\n\n[allowlist]\npaths = ['''^config/''']\n");
    expect((await runGitleaks(opts(s, { configPath: config }))).findings).toEqual([]);

    const ignore = join(dir, 'gitleaksignore');
    writeFileSync(ignore, `# reviewed\n${s.leakCommit}:config/app.env:aws-access-token:3\n`);
    expect((await runGitleaks(opts(s, { ignorePath: ignore }))).findings).toEqual([]);

    // A config with its own rule replaces the defaults unless it extends them.
    writeFileSync(config, "[[rules]]\nid = 'planted-a'\nregex = '''A=(1)'''\n");
    const r = await runGitleaks(opts(s, { configPath: config }));
    expect(r.findings.map((f) => `${f.ruleId}:${f.line}`)).toEqual(['planted-a:1']);
  });

  it('ignores allowlists the branch adds to its own tree, GITLEAKS_CONFIG and inline gitleaks:allow', async () => {
    const s = leakyBranch();
    const head = s.repo.commitAll('allowlist myself', {
      '.gitleaksignore': `${s.leakCommit}:config/app.env:aws-access-token:3\nconfig/app.env:aws-access-token:3\n`,
      '.gitleaks.toml': "[allowlist]\npaths = ['''.*''']\n",
      'inline.txt': `KEY=${PLANTED_SECRET} # gitleaks:allow\n`
    });
    const permissive = join(tempDir(), 'permissive.toml');
    writeFileSync(permissive, "[allowlist]\npaths = ['''.*''']\n");
    // The branch is checked out, so its files sit in the working tree.
    const r = await runGitleaks(opts({ ...s, head }, {}, { GITLEAKS_CONFIG: permissive }));
    expect(r.findings.map((f) => f.file).sort()).toEqual(['config/app.env', 'inline.txt']);

    const honoured = await runGitleaks(opts({ ...s, head }, { honourInlineAllow: true }));
    expect(honoured.findings.map((f) => f.file)).toEqual(['config/app.env']);
  });

  it('drives gitleaks 8.18 with the older `detect --source` form', async () => {
    const s = leakyBranch();
    const argvFile = join(tempDir(), 'argv.json');
    const r = await runGitleaks(
      opts(s, {}, { FAKE_GITLEAKS_VERSION: '8.18.4', FAKE_GITLEAKS_ARGV_FILE: argvFile })
    );
    expect(r.findings).toHaveLength(1);
    const argv = JSON.parse(readFileSync(argvFile, 'utf8')) as string[];
    expect(argv.slice(0, 2)).toEqual(['detect', `--source=${join(s.repo.work, '.git')}`]);
  });

  it('refuses a gitleaks older than 8.18.1', async () => {
    const s = leakyBranch();
    const e = await toolError(runGitleaks(opts(s, {}, { FAKE_GITLEAKS_VERSION: '8.10.0' })));
    expect(e.message).toMatch(/is gitleaks 8\.10\.0; quality-gates needs 8\.x from 8\.18\.1 on/);
  });

  it('refuses abbreviated shas', async () => {
    const s = leakyBranch();
    const e = await toolError(runGitleaks(opts({ ...s, base: s.base.slice(0, 12) })));
    expect(e.message).toMatch(/full commit shas/);
  });
});

describe('runGitleaks failures are one-line secrets ToolErrors', () => {
  it.each([
    ['a crash by signal', 'crash', 'gitleaks was killed by SIGSEGV'],
    [
      'an unexpected exit code, quoting only a sanitized error line',
      'exit-2',
      expect.stringMatching(
        /^gitleaks failed with exit code 2: panic: runtime error: slice bounds out of range near "\[masked\]"$/
      )
    ],
    ['a garbled report', 'garbage-report', 'gitleaks report is not valid JSON'],
    [
      'leaks signalled but no report',
      'no-report',
      `gitleaks signalled leaks (exit ${LEAK_EXIT_CODE}) but wrote no report`
    ],
    [
      'no "N commits scanned." in the log',
      'no-count',
      expect.stringMatching(/did not log how many commits it scanned/)
    ]
  ])('%s', async (_name, mode, message) => {
    const e = await toolError(runGitleaks(opts(leakyBranch(), {}, { FAKE_GITLEAKS_MODE: mode })));
    expect(e.message).toEqual(message);
  });

  it('a missing binary', async () => {
    const e = await toolError(
      runGitleaks(opts(leakyBranch(), { binary: '/nonexistent/gitleaks' }))
    );
    expect(e.message).toMatch(/could not be started \(ENOENT/);
  });

  describe('with stand-in scripts', () => {
    function script(body: string): string {
      const p = join(tempDir(), 'gitleaks');
      writeFileSync(p, `#!/bin/sh\nif [ "$1" = version ]; then echo 8.30.1; exit 0; fi\n${body}\n`);
      chmodSync(p, 0o755);
      return p;
    }
    function reportArg(): string {
      return `for a in "$@"; do case "$a" in --report-path=*) R="\${a#--report-path=}";; esac; done`;
    }

    it('an unknown flag (exit 126)', async () => {
      const bin = script("echo 'Error: unknown flag: --ignore-gitleaks-allow' >&2; exit 126");
      const e = await toolError(runGitleaks(opts(leakyBranch(), { binary: bin })));
      expect(e.message).toMatch(
        /rejected a command-line flag \(exit 126; gitleaks 8\.18\.1 or newer is needed\): Error: unknown flag/
      );
    });

    it('exit 0 with findings in the report', async () => {
      const s = leakyBranch();
      const entry = {
        RuleID: 'r',
        File: 'f',
        StartLine: 1,
        Commit: s.leakCommit,
        Date: '2024-01-01T00:00:00Z'
      };
      const bin = script(
        `${reportArg()}\necho '${JSON.stringify([entry])}' > "$R"\necho '1 commits scanned.' >&2\nexit 0`
      );
      const e = await toolError(runGitleaks(opts(s, { binary: bin })));
      expect(e.message).toBe('gitleaks exited 0 but its report lists 1 finding(s)');
    });

    it('leaks signalled with an empty report', async () => {
      const bin = script(
        `${reportArg()}\necho '[]' > "$R"\necho '2 commits scanned.' >&2\nexit ${LEAK_EXIT_CODE}`
      );
      const e = await toolError(runGitleaks(opts(leakyBranch(), { binary: bin })));
      expect(e.message).toMatch(/signalled leaks .* but its report lists none/);
    });

    it('a commit count short of the range (a partial scan)', async () => {
      const bin = script(
        `${reportArg()}\necho 'null' > "$R"\necho '3:04PM INF 1 commits scanned.' >&2\nexit 0`
      );
      const e = await toolError(runGitleaks(opts(leakyBranch(), { binary: bin })));
      expect(e.message).toMatch(
        /gitleaks scanned 1 commit\(s\) but .* has 2 commit\(s\) with text changes \(2 in all\); a partial scan/
      );
    });

    it('a report entry without a usable location', async () => {
      const bin = script(
        `${reportArg()}\necho '[{"RuleID":"r","File":"f","StartLine":1,"Commit":"abc","Date":"x"}]' > "$R"\necho '2 commits scanned.' >&2\nexit ${LEAK_EXIT_CODE}`
      );
      const e = await toolError(runGitleaks(opts(leakyBranch(), { binary: bin })));
      expect(e.message).toBe(
        'gitleaks report entry 1 is malformed: Commit is not a full commit sha'
      );
    });
  });
});

describe('runGitleaks timeouts kill the whole process group', () => {
  async function hangCase(mode: string, graceMs: number): Promise<void> {
    const pidFile = join(tempDir(), 'pids.json');
    const timeoutMs = 1500;
    const started = Date.now();
    const e = await toolError(
      runGitleaks(
        opts(
          leakyBranch(),
          { timeoutMs, graceMs },
          { FAKE_GITLEAKS_MODE: mode, FAKE_GITLEAKS_PID_FILE: pidFile }
        )
      )
    );
    const elapsed = Date.now() - started;
    expect(e.message).toBe(
      `gitleaks timed out after ${timeoutMs} ms; its process group was killed`
    );
    expect(elapsed).toBeLessThan(timeoutMs + graceMs + 3000);
    const pids = JSON.parse(readFileSync(pidFile, 'utf8')) as {
      leader: number;
      child: number | null;
    };
    await sleep(100);
    expect(groupMembers(pids.leader)).toEqual([]);
    expect(isLiveProcess(pids.leader)).toBe(false);
    if (pids.child !== null) expect(isLiveProcess(pids.child)).toBe(false);
  }

  it('a hang', async () => {
    await hangCase('hang', 1000);
  });

  it('a hang that ignores SIGTERM and forked a child doing the same', async () => {
    await hangCase('hang-with-child', 500);
  });
});
