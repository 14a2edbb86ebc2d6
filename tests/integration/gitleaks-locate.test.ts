import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError, ToolError } from '../../packages/core/src/errors.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { findOnPath, locateGitleaks } from '../../packages/security/src/gitleaks/locate.ts';
import { probeGitleaks } from '../../packages/security/src/gitleaks/probe.ts';
import { FAKE_GITLEAKS, NODE_BIN_DIR, fakeEnv } from '../fixtures/fake-gitleaks/helpers.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

function script(dir: string, body: string): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, 'gitleaks');
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

/** A PATH holding `dirs` then node (for the fake's shebang), and nothing else. */
function pathEnv(dirs: string[], extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...fakeEnv(extra), PATH: [...dirs, NODE_BIN_DIR, '/usr/bin', '/bin'].join(':') };
}

describe('locateGitleaks', () => {
  it('takes the gitleaks-path input when it runs and is supported', async () => {
    expect(await locateGitleaks({ explicitPath: FAKE_GITLEAKS, env: fakeEnv() })).toBe(
      FAKE_GITLEAKS
    );
  });

  it('resolves a relative gitleaks-path against the workspace', async () => {
    const ws = tempDir();
    copyFileSync(FAKE_GITLEAKS, join(ws, 'gitleaks'));
    chmodSync(join(ws, 'gitleaks'), 0o755);
    const found = await locateGitleaks({
      explicitPath: 'gitleaks',
      env: { ...fakeEnv(), GITHUB_WORKSPACE: ws }
    });
    expect(found).toBe(join(ws, 'gitleaks'));
  });

  it('a gitleaks-path that is not an executable file is a configuration error', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'not-exec'), 'x');
    for (const p of [join(dir, 'missing'), join(dir, 'not-exec'), dir]) {
      await expect(locateGitleaks({ explicitPath: p, env: fakeEnv() })).rejects.toThrow(
        ConfigurationError
      );
    }
    await expect(
      locateGitleaks({ explicitPath: join(dir, 'missing'), env: fakeEnv() })
    ).rejects.toThrow(/input 'gitleaks-path': expected the path of an executable gitleaks binary/);
  });

  it('a gitleaks-path that fails or is too old is a secrets tool error', async () => {
    const broken = script(tempDir(), "echo 'FTL boom' >&2; exit 3");
    await expect(locateGitleaks({ explicitPath: broken, env: fakeEnv() })).rejects.toThrow(
      new ToolError(
        'secrets',
        `gitleaks at ${broken} (input 'gitleaks-path') failed 'version' with exit code 3: boom`
      )
    );
    await expect(
      locateGitleaks({
        explicitPath: FAKE_GITLEAKS,
        env: fakeEnv({ FAKE_GITLEAKS_VERSION: '8.16.0' })
      })
    ).rejects.toThrow(/is gitleaks 8\.16\.0; quality-gates needs 8\.x from 8\.18\.1 on/);
  });

  it('finds gitleaks on PATH', async () => {
    const bin = tempDir();
    copyFileSync(FAKE_GITLEAKS, join(bin, 'gitleaks'));
    chmodSync(join(bin, 'gitleaks'), 0o755);
    expect(await locateGitleaks({ env: pathEnv([join(tempDir(), 'empty'), bin]) })).toBe(
      join(bin, 'gitleaks')
    );
  });

  it('is undefined when PATH has none', async () => {
    const log = new RecordingLogger();
    expect(
      await locateGitleaks({ explicitPath: '', env: pathEnv([]), logger: log })
    ).toBeUndefined();
    expect(log.text()).toBe('debug: gitleaks is not on PATH');
  });

  it('never looks in the current directory through an empty or relative PATH entry', () => {
    const cwd = tempDir();
    script(cwd, 'echo 8.30.1');
    const prev = process.cwd();
    process.chdir(cwd);
    try {
      expect(findOnPath({ PATH: ':.:gitleaks-dir' })).toBeUndefined();
    } finally {
      process.chdir(prev);
    }
  });

  it('skips an unusable gitleaks on PATH with a warning (auto falls back)', async () => {
    const log = new RecordingLogger();
    const old = script(tempDir(), 'echo 8.10.0');
    const dir = old.slice(0, -'/gitleaks'.length);
    expect(await locateGitleaks({ env: pathEnv([dir]), logger: log })).toBeUndefined();
    expect(log.text()).toBe(
      `warning: ignoring gitleaks at ${old}: it is gitleaks 8.10.0; quality-gates needs 8.x from 8.18.1 on`
    );
  });

  it('gives up on a gitleaks that hangs on `version`', async () => {
    const log = new RecordingLogger();
    const hang = script(tempDir(), 'sleep 30');
    const dir = hang.slice(0, -'/gitleaks'.length);
    const started = Date.now();
    expect(
      await locateGitleaks({ env: pathEnv([dir]), logger: log, timeoutMs: 300 })
    ).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(log.text()).toMatch(/did not answer 'version' within 300 ms/);
  });

  it('accepts a build that prints no release version, with a warning', async () => {
    const dev = script(tempDir(), 'echo "version is set by build process"');
    const log = new RecordingLogger();
    expect(await locateGitleaks({ explicitPath: dev, env: fakeEnv(), logger: log })).toBe(dev);
    expect(log.text()).toMatch(/printed no release version .*assuming a current 8\.x/);
    const probe = await probeGitleaks(dev, fakeEnv());
    expect(probe).toEqual(
      expect.objectContaining({ ok: true, binary: { path: dev, command: 'git' } })
    );
  });
});
