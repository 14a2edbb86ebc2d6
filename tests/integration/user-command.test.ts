// runUserCommand with real processes and the real kernel: PID namespace
// isolation (setsid children, a SIGKILLed gate, the gate's /proc), the hard
// wall-clock bound, exit codes and signals through the namespace's init,
// the fallback to a process group. Where the kernel refuses namespaces here,
// the namespace cases are skipped (their names say why) and the rest still run.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  fallbackWarning,
  namespaceSupport,
  resetNamespaceProbe,
  runUserCommand,
  wrappedResult
} from '../../packages/proc/src/user-command.ts';
import type { RunResult } from '../../packages/proc/src/run.ts';
import { userCommandEnv } from '../../packages/proc/src/user-env.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';
import { goneWithin, liveWith, sleepMarker } from '../helpers/processes.ts';
import { worldReadableCopy } from '../helpers/world-readable.ts';

const CHILD = fileURLToPath(new URL('../helpers/user-command-child.ts', import.meta.url));
const support = await namespaceSupport();
const isRoot = process.geteuid?.() === 0;
const hasPerl = existsSync('/usr/bin/perl') || existsSync('/bin/perl');

const itNs = support.available ? it : it.skip;
const nsNote = support.available ? '' : ` [skipped: ${support.reason}]`;
const itNsRoot = support.available && isRoot ? it : it.skip;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const marker = sleepMarker;

/** Survivors a test expects (documented limitations) or leaves behind on failure: ours, by pid. */
const started: string[] = [];
function track(text: string): string {
  started.push(text);
  return text;
}
afterAll(() => {
  for (const text of started) {
    for (const pid of liveWith(text)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  cleanupTempDirs();
});

interface Child {
  proc: ChildProcess;
  output: () => string;
  waitFor: (text: string, ms: number) => Promise<void>;
  result: () => Promise<Record<string, unknown>>;
}

/** The gate stand-in (tests/helpers/user-command-child.ts), optionally as uid/gid 65534. */
function startChild(
  options: Record<string, unknown>,
  extra: { env?: NodeJS.ProcessEnv; asNobody?: boolean; cwd?: string } = {}
): Child {
  const json = JSON.stringify(options);
  // uid 65534 may not traverse the clone's directory: it runs a copy any user can read.
  const asNobody = extra.asNobody ? worldReadableCopy(CHILD) : undefined;
  const node = asNobody
    ? [asNobody.node, '--no-warnings', asNobody.script, json]
    : [process.execPath, '--no-warnings', CHILD, json];
  const [file, ...args] = asNobody
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...node]
    : node;
  const proc = spawn(file, args, {
    cwd: extra.cwd,
    env: { ...process.env, ...extra.env },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => proc.on('close', () => r()));
  return {
    proc,
    output: () => out,
    waitFor: async (text, ms) => {
      const deadline = Date.now() + ms;
      while (!out.includes(text)) {
        if (Date.now() > deadline) throw new Error(`no '${text}' in child output: ${out}`);
        await sleep(20);
      }
    },
    result: async () => {
      await exited;
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) throw new Error(`child gave no result: ${out}`);
      return JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>;
    }
  };
}

describe(`runUserCommand: exit codes and signals through the namespace${nsNote}`, () => {
  const inits = hasPerl ? (['perl', 'node'] as const) : (['node'] as const);
  for (const init of inits) {
    itNs(`init ${init}: exit 0, 1, 3, 127 and 143 come through as exit codes`, async () => {
      for (const [command, code] of [
        ['exit 0', 0],
        ['echo out; echo err >&2; exit 1', 1],
        ['exit 3', 3],
        ['qg-no-such-command-anywhere', 127],
        ['exit 143', 143]
      ] as const) {
        const r = await runUserCommand(command, { timeoutMs: 10_000, graceMs: 300, init });
        expect({ command, code: r.exitCode, signal: r.signal, isolation: r.isolation }).toEqual({
          command,
          code,
          signal: null,
          isolation: 'namespace'
        });
        expect(r.timedOut).toBe(false);
        if (code === 1) expect([r.stdout, r.stderr]).toEqual(['out\n', 'err\n']);
      }
    });

    itNs(`init ${init}: a command that kills itself reports the signal`, async () => {
      // The shell is not the namespace's PID 1 (which ignores signals it has no handler for).
      for (const [command, signal] of [
        ['kill -TERM $$; sleep 5; exit 0', 'SIGTERM'],
        ['kill -KILL $$; exit 5', 'SIGKILL'],
        ['kill -INT $$; sleep 5', 'SIGINT']
      ] as const) {
        const r = await runUserCommand(command, { timeoutMs: 10_000, graceMs: 300, init });
        expect({ command, code: r.exitCode, signal: r.signal }).toEqual({
          command,
          code: null,
          signal
        });
      }
    });
  }

  itNs(
    'stdin is closed, output streams as it arrives, the command is PID 2 under init',
    async () => {
      const chunks: string[] = [];
      const r = await runUserCommand('cat; echo "pid $$ ppid $PPID"', {
        timeoutMs: 10_000,
        onStdout: (s) => chunks.push(s)
      });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe('pid 2 ppid 1\n');
      expect(chunks.join('')).toBe(r.stdout);
    }
  );

  itNs('PERL*/NODE_* variables reach the command but not the init', async () => {
    const r = await runUserCommand('echo "$PERL5OPT|$NODE_OPTIONS"', {
      timeoutMs: 10_000,
      env: { PATH: process.env.PATH, PERL5OPT: '-Mqg::nonexistent', NODE_OPTIONS: '--bogus-flag' }
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('-Mqg::nonexistent|--bogus-flag\n');
  });
});

describe(`runUserCommand: nothing outlives the bound or the run${nsNote}`, () => {
  itNs(
    'a setsid child holding stdout open: settled by timeout + grace + 1.5 s, nothing left',
    async () => {
      const m = track(marker(61));
      const started = Date.now();
      const r = await runUserCommand(
        `setsid sh -c 'trap "" TERM; sleep ${m}' & echo started; sleep 60`,
        { timeoutMs: 2000, graceMs: 500 }
      );
      expect(Date.now() - started).toBeLessThan(2000 + 500 + 1500);
      expect(r).toMatchObject({ timedOut: true, isolation: 'namespace' });
      expect(r.stdout).toContain('started');
      expect(await goneWithin(m, 300)).toEqual([]);
    }
  );

  itNs('a setsid daemon left by a command that exits 0 is gone after the run', async () => {
    const m = track(marker(62));
    const r = await runUserCommand(`setsid sleep ${m} & sleep 0.2; echo ok`, {
      timeoutMs: 10_000,
      graceMs: 300
    });
    expect(r).toMatchObject({ exitCode: 0, timedOut: false, isolation: 'namespace' });
    expect(await goneWithin(m, 300)).toEqual([]);
  });

  itNs(
    'a daemon that ignores SIGTERM goes after the grace period, and the run is not held',
    async () => {
      const m = track(marker(63));
      const started = Date.now();
      const r = await runUserCommand(
        `setsid sh -c 'trap "" TERM; sleep ${m}' > /dev/null & sleep 0.2; exit 0`,
        { timeoutMs: 10_000, graceMs: 400 }
      );
      expect(r.exitCode).toBe(0);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await goneWithin(m, 300)).toEqual([]);
    }
  );

  itNs('a gate SIGKILLed mid-run takes the command with it, setsid children included', async () => {
    const m1 = track(marker(64));
    const m2 = track(marker(65));
    const child = startChild({
      command: `setsid sleep ${m1} & sleep ${m2} & echo ready; wait`,
      timeoutMs: 120_000
    });
    await child.waitFor('ready', 10_000);
    await sleep(100);
    expect(liveWith(m1).length).toBeGreaterThan(0);
    expect(liveWith(m2).length).toBeGreaterThan(0);
    child.proc.kill('SIGKILL');
    expect(await goneWithin(m1, 2000)).toEqual([]);
    expect(await goneWithin(m2, 2000)).toEqual([]);
  });

  it('process-group mode: the same setsid holder is bounded too, but survives (documented)', async () => {
    const m = track(marker(66));
    const started = Date.now();
    const r = await runUserCommand(`setsid sleep ${m} & echo started; sleep 60`, {
      timeoutMs: 1000,
      graceMs: 300,
      isolation: 'process-group'
    });
    expect(Date.now() - started).toBeLessThan(1000 + 300 + 1500);
    expect(r).toMatchObject({ timedOut: true, isolation: 'process-group', warnings: [] });
    expect(liveWith(m).length).toBeGreaterThan(0); // the limitation namespace mode removes
  });
});

describe(`runUserCommand: the gate's secrets${nsNote}`, () => {
  const SENTINEL = `qg-sentinel-${marker(1)}`;
  const gateEnv = {
    INPUT_TOKEN: SENTINEL,
    'INPUT_TELEGRAM-BOT-TOKEN': SENTINEL,
    ACTIONS_RUNTIME_TOKEN: SENTINEL,
    GITHUB_OUTPUT: '/tmp/qg-not-for-tests',
    CI: 'true',
    GITHUB_SHA: 'abc123',
    HOME: '/tmp',
    MY_TOOL_FLAGS: 'passed-by-name'
  };
  // Everything the command can find: its env, its parent's environ, any environ in its /proc.
  const probe = [
    'echo "token=${INPUT_TOKEN:-none} output=${GITHUB_OUTPUT:-none}"',
    'echo "ci=$CI sha=$GITHUB_SHA home=$HOME tool=$MY_TOOL_FLAGS path=${PATH:+set}"',
    `echo "parent=$(tr '\\0' '\\n' < /proc/$PPID/environ 2>/dev/null | grep -c ${SENTINEL})"`,
    `echo "anywhere=$(cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c ${SENTINEL})"`
  ].join('; ');

  const expectIsolated = (out: string): void => {
    expect(out).toContain('token=none output=none');
    expect(out).toContain('ci=true sha=abc123 home=/tmp tool=passed-by-name path=set');
    expect(out).toContain('parent=0');
    expect(out).toContain('anywhere=0');
  };

  itNs(
    'namespace: no INPUT_*, no runtime token, no parent environ; the allowed names are there',
    async () => {
      const child = startChild({ command: probe, passEnv: ['MY_TOOL_*'] }, { env: gateEnv });
      const r = await child.result();
      expect(r).toMatchObject({ exitCode: 0, isolation: 'namespace' });
      expectIsolated(child.output());
    }
  );

  itNsRoot(
    'as an unprivileged user (uid 65534) too: secrets, the bound, a SIGKILLed gate',
    async () => {
      const cwd = tempDir('qg-user-cmd-');
      chmodSync(cwd, 0o777);
      const nobody = { asNobody: true, cwd };
      const env = startChild(
        { command: `${probe}; echo "uid=$(id -u)"`, passEnv: ['MY_TOOL_*'] },
        { ...nobody, env: gateEnv }
      );
      const r = await env.result();
      if (r.isolation === 'process-group') {
        // This kernel lets root, but not an unprivileged user, have namespaces.
        expect(String(r.warnings)).toMatch(/PID namespace unavailable/);
        console.warn(`unprivileged namespace unavailable here: ${String(r.warnings)}`);
        return;
      }
      expect(r).toMatchObject({ exitCode: 0, isolation: 'namespace' });
      expectIsolated(env.output());
      expect(env.output()).toContain('uid=65534');

      const m = track(marker(67));
      const t = startChild(
        {
          command: `setsid sh -c 'trap "" TERM; sleep ${m}' & echo started; sleep 60`,
          timeoutMs: 2000,
          graceMs: 500
        },
        nobody
      );
      const tr = await t.result();
      expect(tr).toMatchObject({ timedOut: true, isolation: 'namespace' });
      expect(Number(tr.durationMs)).toBeLessThan(2000 + 500 + 1500);
      expect(await goneWithin(m, 300)).toEqual([]);

      const k1 = track(marker(68));
      const k = startChild(
        { command: `setsid sleep ${k1} & echo ready; wait`, timeoutMs: 120_000 },
        nobody
      );
      await k.waitFor('ready', 10_000);
      await sleep(100);
      expect(liveWith(k1).length).toBeGreaterThan(0);
      k.proc.kill('SIGKILL');
      expect(await goneWithin(k1, 2000)).toEqual([]);
    }
  );

  it('process-group mode: the parent environ is readable by the same user (the documented limitation)', async () => {
    const child = startChild(
      { command: probe, passEnv: ['MY_TOOL_*'], isolation: 'process-group' },
      { env: gateEnv }
    );
    const r = await child.result();
    expect(r).toMatchObject({ exitCode: 0, isolation: 'process-group' });
    expect(child.output()).toContain('token=none output=none'); // the env filter still applies
    expect(child.output()).toMatch(/parent=[1-9]/);
  });
});

describe('runUserCommand: isolation modes', () => {
  afterEach(() => resetNamespaceProbe());

  it('auto falls back to a process group with one warning line when the namespace is unavailable', async () => {
    resetNamespaceProbe(['/nonexistent-qg-tools']);
    expect(await namespaceSupport()).toEqual({
      available: false,
      reason: 'setpriv and unshare not found (util-linux)'
    });
    const r = await runUserCommand('echo hi', { timeoutMs: 5000 });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'hi\n', isolation: 'process-group' });
    expect(r.warnings).toEqual([fallbackWarning('setpriv and unshare not found (util-linux)')]);
    expect(r.warnings[0]).toMatch(
      /^user command isolation: PID namespace unavailable \(setpriv and unshare not found \(util-linux\)\); falling back to a process group: setsid children may outlive the command and the gate's \/proc is readable$/
    );
  });

  it("'namespace' refuses to run without it, with a clear error", async () => {
    resetNamespaceProbe(['/nonexistent-qg-tools']);
    const cwd = tempDir('qg-user-cmd-');
    const r = await runUserCommand('touch ran', { timeoutMs: 5000, cwd, isolation: 'namespace' });
    expect(r.spawnError).toBe(
      "input 'isolation': 'namespace' is unavailable here (setpriv and unshare not found (util-linux)); expected auto or process-group on this runner"
    );
    expect(r.exitCode).toBeNull();
    expect(existsSync(join(cwd, 'ran'))).toBe(false);
  });

  it("'process-group' runs without probing and warns nothing", async () => {
    resetNamespaceProbe(['/nonexistent-qg-tools']);
    const r = await runUserCommand('echo $$', { timeoutMs: 5000, isolation: 'process-group' });
    expect(r).toMatchObject({ exitCode: 0, isolation: 'process-group', warnings: [] });
    expect(Number(r.stdout)).toBeGreaterThan(2);
  });

  it('a missing working directory is a spawn error in every mode', async () => {
    for (const isolation of ['auto', 'namespace', 'process-group'] as const) {
      const r = await runUserCommand('true', {
        timeoutMs: 5000,
        cwd: '/nonexistent-qg-dir',
        isolation
      });
      expect(r.spawnError).toMatch(/ENOENT: working directory \/nonexistent-qg-dir/);
    }
  });

  itNs('the env filter composes: userCommandEnv output is all the command sees', async () => {
    const env = userCommandEnv({ PATH: process.env.PATH, INPUT_TOKEN: 'x', CI: 'true' }, []);
    const r = await runUserCommand('env | cut -d= -f1 | sort | tr "\\n" " "', {
      timeoutMs: 5000,
      env
    });
    // sh itself adds PWD (and dash nothing else).
    expect(
      r.stdout
        .trim()
        .split(' ')
        .filter((n) => n !== 'PWD' && n !== 'OLDPWD')
    ).toEqual(['CI', 'PATH']);
  });
});

describe('wrappedResult: what the wrapper says, mapped to the command', () => {
  const raw = (r: Partial<RunResult>): RunResult => ({
    exitCode: 0,
    signal: null,
    timedOut: false,
    stdout: '',
    stderr: '',
    durationMs: 1,
    ...r
  });

  it("init's report wins: exit codes as they are, signal numbers as names", () => {
    expect(wrappedResult(raw({ exitCode: 3 }), 'exit 3\n')).toMatchObject({
      exitCode: 3,
      signal: null
    });
    expect(wrappedResult(raw({ exitCode: 143 }), 'signal 15\n')).toMatchObject({
      exitCode: null,
      signal: 'SIGTERM'
    });
    expect(wrappedResult(raw({ exitCode: 143 }), 'exit 143\n')).toMatchObject({
      exitCode: 143,
      signal: null
    });
    expect(
      wrappedResult(raw({ exitCode: null, signal: 'SIGKILL', timedOut: true }), 'signal 15\n')
    ).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: true });
  });

  it('no report and an exit code: the wrapper never ran the command, a spawn error', () => {
    const r = wrappedResult(
      raw({ exitCode: 1, stderr: 'unshare: unshare failed: Operation not permitted\n' }),
      ''
    );
    expect(r).toMatchObject({
      exitCode: null,
      spawnError:
        'the PID namespace wrapper failed (exit 1): unshare: unshare failed: Operation not permitted'
    });
  });

  it('no report after a timeout or a signal: the whole namespace was killed, as it says', () => {
    const timedOut = raw({ exitCode: null, signal: 'SIGKILL', timedOut: true });
    expect(wrappedResult(timedOut, '')).toEqual(timedOut);
    const killed = raw({ exitCode: null, signal: 'SIGKILL' });
    expect(wrappedResult(killed, '')).toEqual(killed);
  });
});
