import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { retest } from '../../packages/merge/src/retest.ts';
import { classifyRetest } from '../../packages/merge/src/classify.ts';
import {
  fallbackWarning,
  namespaceSupport,
  resetNamespaceProbe
} from '../../packages/proc/src/user-command.ts';
import { isLiveProcess } from '../helpers/processes.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

const support = await namespaceSupport();
const itNs = support.available ? it : it.skip;

/** Live (not zombie) processes whose command line contains `text` (host /proc). */
function liveWith(text: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid)
    .filter((n) => {
      try {
        return readFileSync(`/proc/${n}/cmdline`, 'utf8').split('\0').join(' ').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter((pid) => isLiveProcess(pid));
}

/** Markers of processes a test started, killed by pid afterwards if a test failed. */
const markers: string[] = [];
function track(text: string): string {
  markers.push(text);
  return text;
}

afterAll(() => {
  for (const m of markers) for (const pid of liveWith(m)) process.kill(pid, 'SIGKILL');
  cleanupTempDirs();
});

/** Live (not zombie) processes whose process group is `pgid`, read from /proc. */
function liveInGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(rest[2]) === pgid && !/^[ZX]$/.test(rest[0])) pids.push(Number(name));
  }
  return pids;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('retest', () => {
  let cwd: string;
  let logger: RecordingLogger;
  beforeEach(() => {
    cwd = tempDir('qg-retest-');
    logger = new RecordingLogger();
  });
  const base = () => ({ cwd, timeoutMs: 10_000, infraRetries: 2, logger, graceMs: 300 });

  it('exit 0 is a pass on the first attempt, with the output tail', async () => {
    const r = await retest({ ...base(), command: 'echo one; echo two >&2; echo three' });
    expect(r).toMatchObject({ outcome: 'pass', attempts: 1, exitCode: 0 });
    expect(r.tail.split('\n')).toEqual(expect.arrayContaining(['one', 'two', 'three']));
    expect(classifyRetest(r.outcome)).toBeUndefined();
  });

  it('a non-zero exit is red at once, never retried', async () => {
    const r = await retest({ ...base(), command: 'echo attempt >> count; echo FAIL >&2; exit 3' });
    expect(r).toMatchObject({ outcome: 'red', attempts: 1, exitCode: 3 });
    expect(r.tail).toContain('FAIL');
    expect(readFileSync(join(cwd, 'count'), 'utf8')).toBe('attempt\n');
    expect(classifyRetest(r.outcome)).toBe('red');
  });

  it('keeps only the last lines in the tail', async () => {
    const r = await retest({ ...base(), tailLines: 3, command: 'seq 1 1000; exit 1' });
    expect(r.tail).toBe('998\n999\n1000');
  });

  it('a timeout is retried infraRetries more times, then fails as timeout with the count', async () => {
    const started = Date.now();
    const r = await retest({
      ...base(),
      timeoutMs: 300,
      command: 'echo attempt >> count; sleep 30'
    });
    expect(r).toMatchObject({ outcome: 'timeout', attempts: 3, exitCode: null });
    expect(r.reason).toMatch(/timed out after 300 ms on all 3 attempt/);
    expect(readFileSync(join(cwd, 'count'), 'utf8')).toBe('attempt\nattempt\nattempt\n');
    expect(logger.entries.filter((e) => e.level === 'warning')).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(classifyRetest(r.outcome)).toBe('timeout');
  });

  it('a timeout followed by a green attempt passes on the retry', async () => {
    const r = await retest({
      ...base(),
      timeoutMs: 500,
      command: 'if [ -e once ]; then echo green; else touch once; sleep 30; fi'
    });
    expect(r).toMatchObject({ outcome: 'pass', attempts: 2 });
  });

  it('infraRetries 0 means one attempt', async () => {
    const r = await retest({ ...base(), infraRetries: 0, timeoutMs: 200, command: 'sleep 30' });
    expect(r).toMatchObject({ outcome: 'timeout', attempts: 1 });
  });

  it('a command that is not found is other, not red', async () => {
    const r = await retest({ ...base(), command: 'qg-no-such-command-anywhere --run' });
    expect(r).toMatchObject({ outcome: 'other', attempts: 1, exitCode: 127 });
    expect(r.reason).toMatch(/not found/);
  });

  it('a spawn error (missing cwd) is other', async () => {
    const r = await retest({ ...base(), cwd: join(cwd, 'missing'), command: 'true' });
    expect(r.outcome).toBe('other');
    expect(r.reason).toMatch(/could not be started/);
  });

  // $$ and $! are host pids only in a process group (in a PID namespace they
  // are the namespace's own): these two pin that mode; the namespace twins follow.
  it('a test command that forks a daemon and never exits leaves nothing of its group alive', async () => {
    const r = await retest({
      ...base(),
      isolation: 'process-group',
      infraRetries: 0,
      timeoutMs: 700,
      command:
        'echo $$ > pgid; sleep 300 & echo $! > daemon; (trap "" TERM; sleep 300) & while :; do sleep 1; done'
    });
    expect(r).toMatchObject({ outcome: 'timeout', attempts: 1 });
    const pgid = Number(readFileSync(join(cwd, 'pgid'), 'utf8'));
    const daemon = Number(readFileSync(join(cwd, 'daemon'), 'utf8'));
    await sleep(100);
    expect(liveInGroup(pgid)).toEqual([]);
    expect(isLiveProcess(daemon)).toBe(false);
  });

  it('a green command that leaves a daemon behind passes and the daemon is reaped', async () => {
    const r = await retest({
      ...base(),
      isolation: 'process-group',
      command: 'echo $$ > pgid; sleep 300 & echo $! > daemon; echo tests ok'
    });
    expect(r).toMatchObject({ outcome: 'pass', attempts: 1 });
    const pgid = Number(readFileSync(join(cwd, 'pgid'), 'utf8'));
    const daemon = Number(readFileSync(join(cwd, 'daemon'), 'utf8'));
    await sleep(100);
    expect(liveInGroup(pgid)).toEqual([]);
    expect(isLiveProcess(daemon)).toBe(false);
  });

  itNs(
    'namespace: a command whose setsid child holds stdout times out on time, nothing left',
    async () => {
      const m = track(`sleep 61.${Date.now() % 1e6}`);
      const started = Date.now();
      const r = await retest({
        ...base(),
        infraRetries: 0,
        timeoutMs: 1500,
        command: `setsid sh -c 'trap "" TERM; ${m}' & echo running; sleep 60`
      });
      expect(r).toMatchObject({
        outcome: 'timeout',
        attempts: 1,
        isolation: 'namespace',
        warnings: []
      });
      expect(Date.now() - started).toBeLessThan(1500 + 300 + 1500);
      expect(r.tail).toContain('running');
      expect(liveWith(m)).toEqual([]);
    }
  );

  itNs(
    'namespace: a green command that leaves a setsid daemon passes and the daemon is gone',
    async () => {
      const m = track(`sleep 62.${Date.now() % 1e6}`);
      const r = await retest({ ...base(), command: `setsid ${m} & echo tests ok` });
      expect(r).toMatchObject({ outcome: 'pass', attempts: 1, isolation: 'namespace' });
      expect(liveWith(m)).toEqual([]);
    }
  );

  it('the command sees only allowlisted and passed names, never action inputs or runtime tokens', async () => {
    const r = await retest({
      ...base(),
      env: {
        PATH: process.env.PATH,
        CI: 'true',
        GITHUB_SHA: 'f00d',
        INPUT_TOKEN: 'ghs_secret',
        'INPUT_WEBHOOK-SECRET': 'hook',
        ACTIONS_RUNTIME_TOKEN: 'rt',
        GITHUB_OUTPUT: join(cwd, 'gh-output'),
        PROJECT_DB_PASSWORD: 'pw'
      },
      passEnv: ['PROJECT_DB_*'],
      command:
        'echo "ci=$CI sha=$GITHUB_SHA db=$PROJECT_DB_PASSWORD"; env | grep -c -e INPUT_ -e ACTIONS_ -e GITHUB_OUTPUT; exit 0'
    });
    expect(r.outcome).toBe('pass');
    expect(r.tail).toBe('ci=true sha=f00d db=pw\n0');
    expect(
      logger.entries.find((e) => e.level === 'debug' && /4 dropped:/.test(e.message))?.message
    ).toBe(
      're-test: user command environment: 4 variable(s) passed, 4 dropped: ACTIONS_RUNTIME_TOKEN, GITHUB_OUTPUT, INPUT_TOKEN, INPUT_WEBHOOK-SECRET'
    );
  });

  it("isolation 'process-group' is honoured and warns nothing", async () => {
    const r = await retest({ ...base(), isolation: 'process-group', command: 'echo $$' });
    expect(r).toMatchObject({ outcome: 'pass', isolation: 'process-group', warnings: [] });
    expect(Number(r.tail)).toBeGreaterThan(2);
  });

  describe('without a PID namespace', () => {
    beforeEach(() => resetNamespaceProbe(['/nonexistent-qg-tools']));
    afterEach(() => resetNamespaceProbe());

    it('auto falls back to a process group and carries the warning once, across retries', async () => {
      const r = await retest({ ...base(), timeoutMs: 300, command: 'sleep 30' });
      expect(r).toMatchObject({ outcome: 'timeout', attempts: 3, isolation: 'process-group' });
      expect(r.warnings).toEqual([fallbackWarning('setpriv and unshare not found (util-linux)')]);
    });

    it("'namespace' is other with a reason that says why, and the command does not run", async () => {
      const r = await retest({ ...base(), isolation: 'namespace', command: 'touch ran' });
      expect(r).toMatchObject({ outcome: 'other', attempts: 1 });
      expect(r.reason).toBe(
        "test command could not be started: input 'isolation': 'namespace' is unavailable here (setpriv and unshare not found (util-linux)); expected auto or process-group on this runner"
      );
    });
  });
});
