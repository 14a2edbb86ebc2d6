// When the coverage gate cannot measure: a missing command, a hanging one,
// no report, a report of no known format or an empty one are tool errors (PASS with a loud warning by default, FAIL with
// coverage-tool-fail-closed), never a coverage figure; an invalid input is a
// configuration FAIL naming the input, before anything runs. A red suite is
// not one of them: it FAILs with class red whatever the policy.
import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  coverageGateRun,
  freshStatePath,
  projectRepo,
  pythonTests,
  ratchetRun,
  type ProjectRepo
} from '../helpers/coverage-project.ts';
import { goneWithin, liveWith, sleepMarker } from '../helpers/processes.ts';
import { namespaceSupport } from '../../packages/proc/src/user-command.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

let repo: ProjectRepo;
let state: string;
beforeAll(() => {
  repo = projectRepo('python-app');
  repo.git('checkout', '-q', '-b', 'agent/errors');
});
beforeEach(() => {
  state = freshStatePath();
});

const gate = (inputs: Record<string, string>) =>
  coverageGateRun(repo.work, { 'state-path': state, ...inputs }, { headRef: 'agent/errors' });

/** The frontmatter of a gate that could not measure: figures null, settings kept. */
const NO_FIGURES = {
  measured: null,
  baseline: null,
  delta: null,
  bootstrap: null,
  format: null,
  floor: 0,
  policy: 'both',
  epsilon: 0.1
};

describe('a red test suite is red, not a tool error (issue 8: a red suite passed fail-open)', () => {
  let broken: string;
  beforeAll(() => {
    broken = repo.commitAll('a failing test', {
      'tests/test_ops.py': pythonTests('test_add', 'test_broken')
    });
  });
  afterAll(() => {
    repo.git('reset', '-q', '--hard', `${broken}~1`);
  });

  it('FAILs with class red under the default fail-open policy, recording no figure', async () => {
    const r = await gate({});
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toMatch(/^coverage command: the test suite is red \(exit 1\): /);
    expect(r.frontmatter).toMatchObject({
      coverage_status: 'FAIL',
      failure_class: 'red',
      ...NO_FIGURES
    });
    expect(r.warnings).toEqual([]);
    // No figure from a red suite reaches the store.
    expect(existsSync(state)).toBe(false);
  });

  it('FAILs the same with coverage-tool-fail-closed: true', async () => {
    const r = await gate({ 'coverage-tool-fail-closed': 'true' });
    expect(r.verdict).toBe('FAIL');
    expect(r.frontmatter.failure_class).toBe('red');
    expect(existsSync(state)).toBe(false);
  });

  it('a suite that cannot even be collected (pytest exit 2) is red too', async () => {
    repo.write('tests/test_import.py', 'import no_such_module_qg\n');
    try {
      const r = await gate({});
      expect(r.verdict).toBe('FAIL');
      expect(r.summary).toMatch(/is red \(exit 2\)/);
    } finally {
      rmSync(join(repo.work, 'tests/test_import.py'));
    }
  });

  it('a test process killed by a signal is red', async () => {
    const r = await gate({ command: 'kill -SEGV $$' });
    expect(r.verdict).toBe('FAIL');
    expect(r.frontmatter.failure_class).toBe('red');
  });

  it('the ratchet after a red landing fails naming the suite, and sets nothing', async () => {
    const r = await ratchetRun(repo.work, { 'state-path': state });
    expect(r.ok).toBe(false);
    expect(r.summary).toMatch(/^coverage-ratchet failed: the test suite is red \(exit 1\)/);
    expect(existsSync(state)).toBe(false);
  });
});

describe('the command', () => {
  // pytest's usage error (exit 4) must quote the line that says what is wrong,
  // not the last lines of output ("inifile: ... | rootdir: ...").
  it('pytest without pytest-cov: the warning says --cov is not understood', async () => {
    // The project's own pytest.ini switches the plugin off, as a python without it would.
    repo.write('pytest.ini', '[pytest]\naddopts = -p no:pytest_cov\n');
    try {
      const r = await gate({});
      expect(r.verdict).toBe('PASS');
      expect(r.warnings[0]).toMatch(/exit 4/);
      expect(r.warnings[0]).toMatch(/unrecognized arguments: --cov=src/);
    } finally {
      rmSync(join(repo.work, 'pytest.ini'));
    }
  });

  it('not found: exit 127 named as such, with the shell saying which command', async () => {
    const r = await gate({ command: 'qg-no-such-coverage-tool --all' });
    expect(r.verdict).toBe('PASS');
    expect(r.warnings[0]).toMatch(
      /^coverage-tool tool error: the coverage command was not found \(exit 127\): .*qg-no-such-coverage-tool.*not found/
    );
    const closed = await gate({
      command: 'qg-no-such-coverage-tool --all',
      'coverage-tool-fail-closed': 'true'
    });
    expect(closed.verdict).toBe('FAIL');
  });

  it('timing out ends every process the command started, a TERM-ignoring and a setsid one included', async () => {
    const m = sleepMarker(300);
    const dir = tempDir('qg-hang-');
    const script = join(dir, 'hang.sh');
    writeFileSync(
      script,
      [
        `sleep ${m}1 &`,
        `sleep ${m}2 &`,
        `( trap '' TERM; exec sleep ${m}3 ) &`,
        `setsid sleep ${m}4 &`,
        'wait',
        ''
      ].join('\n')
    );
    const started = Date.now();
    const r = await gate({ command: `sh ${script}`, 'timeout-seconds': '1' });
    const took = Date.now() - started;
    expect(r.verdict).toBe('PASS');
    expect(r.warnings).toContain(
      'coverage-tool tool error: the coverage command timed out after 1 s (input timeout-seconds); every process it started was stopped (fail-open => PASS)'
    );
    const ns = (await namespaceSupport()).available;
    // A setsid child leaves a process group: only a PID namespace takes it along.
    expect(await goneWithin(m, 2000)).toEqual(ns ? [] : liveWith(`${m}4`));
    for (const pid of liveWith(m)) process.kill(pid, 'SIGKILL');
    // 1 s timeout + at most the 5 s grace before SIGKILL, not the 300 s of the sleeps.
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(15_000);
  }, 30_000);

  it('succeeding without writing the report, even with a stale report left over', async () => {
    // A report from an earlier run must not pass for this one.
    writeFileSync(
      join(repo.work, 'coverage.json'),
      JSON.stringify({ meta: {}, files: {}, totals: { covered_lines: 9, num_statements: 10 } })
    );
    const r = await gate({ command: 'true' });
    expect(r.verdict).toBe('PASS');
    expect(r.warnings[0]).toBe(
      'coverage-tool tool error: the coverage command succeeded but wrote no report at coverage.json (input report) (fail-open => PASS)'
    );
    expect(r.frontmatter).toMatchObject(NO_FIGURES);
    expect(existsSync(join(repo.work, 'coverage.json'))).toBe(false);
  });
});

describe('the report', () => {
  it('of no known format names the report and what it starts with', async () => {
    const r = await gate({
      command: "printf 'hello world\\n' > coverage.txt",
      report: 'coverage.txt'
    });
    expect(r.verdict).toBe('PASS');
    expect(r.warnings[0]).toMatch(
      /^coverage-tool tool error: coverage report \S*coverage\.txt: unknown format: text starting "hello world"; supported: /
    );
    const closed = await gate({
      command: "printf 'hello world\\n' > coverage.txt",
      report: 'coverage.txt',
      'coverage-tool-fail-closed': 'true'
    });
    expect(closed.verdict).toBe('FAIL');
  });

  it('empty: named as an empty file', async () => {
    const r = await gate({ command: ': > coverage.json' });
    expect(r.verdict).toBe('PASS');
    expect(r.warnings[0]).toMatch(
      /^coverage-tool tool error: coverage report \S*coverage\.json: empty file \(fail-open => PASS\)$/
    );
  });

  it('given in another format than it holds: a tool error, not a figure', async () => {
    // A real LCOV file read as coverage.py JSON.
    const lcov = join(repo.work, 'real.lcov');
    writeFileSync(lcov, 'TN:\nSF:src/a.js\nDA:1,1\nDA:2,0\nLF:2\nLH:1\nend_of_record\n');
    copyFileSync(lcov, join(repo.work, 'forced.json'));
    const r = await gate({ measure: 'false', report: 'forced.json', format: 'coverage-py' });
    expect(r.verdict).toBe('PASS');
    expect(r.warnings[0]).toMatch(/^coverage-tool tool error: coverage report \S*forced\.json: /);
    expect(r.frontmatter.measured).toBeNull();
    const auto = await gate({ measure: 'false', report: 'forced.json' });
    expect(auto.frontmatter).toMatchObject({ measured: 50, format: 'lcov' });
  });
});

describe('invalid inputs are a configuration FAIL naming the input, before anything runs', () => {
  it.each([
    ['timeout-seconds', '0', 'a whole number from 1 to 21600'],
    ['timeout-seconds', '21601', 'a whole number from 1 to 21600'],
    ['policy', 'strict', 'one of absolute | baseline | both'],
    ['floor', '80%', 'a number from 0 to 100, such as 80 or 80.5'],
    ['floor', '100.5', 'a number from 0 to 100, such as 80 or 80.5'],
    ['epsilon', '-0.1', 'a number from 0 to 100, such as 80 or 80.5'],
    ['coverage-tool-fail-closed', 'maybe', "'true' or 'false'"],
    ['format', 'clover', 'one of auto | '],
    ['state-backend', 's3', 'one of file | git-ref | artifact']
  ])('%s: %s', async (name, value, expected) => {
    const marker = join(repo.work, 'ran.marker');
    const r = await gate({ command: `echo ran > ${marker}`, [name]: value });
    expect(r.verdict).toBe('FAIL');
    expect(r.summary.startsWith(`configuration error: input '${name}': expected ${expected}`)).toBe(
      true
    );
    expect(r.summary).toContain(`(got ${JSON.stringify(value)})`);
    expect(r.summary).not.toMatch(/\n/);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(state)).toBe(false);
    // The ratchet shares the measuring and state inputs and refuses them the same way.
    if (!['policy', 'floor', 'epsilon'].includes(name)) {
      const rat = await ratchetRun(repo.work, {
        command: `echo ran > ${marker}`,
        'state-path': state,
        [name]: value
      });
      expect(rat.ok).toBe(false);
      expect(rat.summary.startsWith(`configuration error: input '${name}'`)).toBe(true);
      expect(existsSync(marker)).toBe(false);
    }
  });
});

describe('a launcher that cannot start the runner is a tool error, not a red suite', () => {
  it('python -m with no such module (exit 1) stays a coverage-tool error', async () => {
    const r = await gate({ command: 'python3 -m qg_no_such_runner_module' });
    expect(r.verdict).toBe('PASS');
    expect(r.warnings[0]).toMatch(
      /^coverage-tool tool error: the coverage command could not run the suite \(exit 1\): .*No module named qg_no_such_runner_module/
    );
  });
});
