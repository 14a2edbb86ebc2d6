import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  groupAlive,
  runCommand,
  runShell,
  SETTLE_MARGIN_MS,
  type RunResult
} from '../../packages/proc/src/run.ts';
import { isLiveProcess } from '../helpers/processes.ts';

describe('process groups', () => {
  it('returns exit code and output', async () => {
    const r = await runShell('echo out; echo err >&2; exit 3', { timeoutMs: 5000 });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    expect(r.timedOut).toBe(false);
  });

  it('a missing command is a spawn error, not an exception', async () => {
    const r = await runCommand('/nonexistent/tool', [], { timeoutMs: 5000 });
    expect(r.spawnError).toMatch(/ENOENT/);
    expect(r.exitCode).toBeNull();
  });

  it('a timeout kills the whole group, children included', async () => {
    let pids: number[] = [];
    const started = Date.now();
    const r = await runShell('sleep 300 & sleep 300 & echo $! $$; wait', {
      timeoutMs: 500,
      graceMs: 300,
      onStdout: (s) => (pids = s.trim().split(' ').map(Number))
    });
    expect(r.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(pids.length).toBe(2);
    await new Promise((res) => setTimeout(res, 100));
    for (const pid of pids) expect(isLiveProcess(pid)).toBe(false);
    expect(groupAlive(pids[1])).toBe(false);
  });

  it('a child that ignores SIGTERM is SIGKILLed after the grace period', async () => {
    let pid = 0;
    const r = await runShell("trap '' TERM; sleep 300 & echo $!; wait", {
      timeoutMs: 300,
      graceMs: 300,
      onStdout: (s) => (pid = Number(s.trim()))
    });
    expect(r.timedOut).toBe(true);
    await new Promise((res) => setTimeout(res, 500));
    expect(isLiveProcess(pid)).toBe(false);
  });

  it('a daemon left behind by a command that exits is reaped, and the run does not hang', async () => {
    let pid = 0;
    const started = Date.now();
    const r = await runShell('(sleep 300 &) ; sleep 300 > /dev/null & echo $!; exit 0', {
      timeoutMs: 10_000,
      graceMs: 300,
      onStdout: (s) => (pid = Number(s.trim()))
    });
    expect(r.exitCode).toBe(0);
    expect(r.timedOut).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(isLiveProcess(pid)).toBe(false);
  });
});

// A process that left the group (setsid) and holds stdout must neither hold
// the run past its bound nor keep the calling process alive: the gate stand-in
// (tests/helpers/user-command-child.ts, 'shell' mode = runShell) must exit.
describe('the wall-clock bound holds whatever the children do', () => {
  const CHILD = fileURLToPath(new URL('../helpers/user-command-child.ts', import.meta.url));
  const held: string[] = [];
  afterAll(() => {
    // The setsid holders are beyond a process group by design; end them by pid.
    for (const text of held) for (const pid of pidsWith(text)) process.kill(pid, 'SIGKILL');
  });

  /** Runs the stand-in; resolves with its wall time once it has exited, and its result. */
  function gate(options: Record<string, unknown>): Promise<{ ms: number; result: RunResult }> {
    const started = Date.now();
    const proc = spawn(process.execPath, ['--no-warnings', CHILD, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit']
    });
    let out = '';
    proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
    return new Promise((resolve) =>
      proc.on('exit', () => {
        const line = out.split('\n').find((l) => l.startsWith('RESULT '))!;
        resolve({ ms: Date.now() - started, result: JSON.parse(line.slice(7)) as RunResult });
      })
    );
  }

  it('after a timeout: settles by timeout + grace + 1 s and the caller exits', async () => {
    const m = `sleep 61.${Date.now() % 1e6}`;
    held.push(m);
    const { ms, result } = await gate({
      mode: 'shell',
      command: `setsid ${m} & trap "" TERM; echo started; sleep 60`,
      timeoutMs: 1000,
      graceMs: 300
    });
    expect(result.timedOut).toBe(true);
    expect(result.durationMs).toBeLessThan(1000 + 300 + SETTLE_MARGIN_MS + 300);
    expect(result.stdout).toContain('started');
    expect(ms).toBeLessThan(1000 + 300 + SETTLE_MARGIN_MS + 3000); // Node's own start-up included
    expect(pidsWith(m).length).toBeGreaterThan(0); // escaped the group: process-group limitation
  });

  it('after the leader exits: settles at once and the caller exits', async () => {
    const m = `sleep 62.${Date.now() % 1e6}`;
    held.push(m);
    const { ms, result } = await gate({
      mode: 'shell',
      command: `setsid ${m} & echo done`,
      timeoutMs: 30_000,
      graceMs: 300
    });
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, stdout: 'done\n' });
    expect(result.durationMs).toBeLessThan(300 + SETTLE_MARGIN_MS);
    expect(ms).toBeLessThan(5000);
  });
});

function pidsWith(text: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return readFileSync(`/proc/${n}/cmdline`, 'utf8').split('\0').join(' ').trim() === text;
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter((pid) => isLiveProcess(pid));
}
