import { groupAlive, runCommand, runShell } from '../../packages/proc/src/run.ts';
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
