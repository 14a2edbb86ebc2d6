// What the benchmark scripts share: a fixed git identity, a git runner, the
// built bundles run as a runner runs them, and order statistics.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readActionMeta } from './action-meta.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const gitEnv = {
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null'
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: { ...process.env, ...gitEnv },
    encoding: 'utf8',
    maxBuffer: 1 << 28
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** The environment a runner gives dist/<action>/index.js: INPUT_* with action.yml defaults, GITHUB_OUTPUT in `dir`. */
export function bundleEnv(
  action: string,
  workspace: string,
  inputs: Record<string, string>,
  dir: string,
  extra: NodeJS.ProcessEnv = {}
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: join(dir, 'out'),
    ...gitEnv,
    ...extra
  };
  for (const i of readActionMeta(join(ROOT, 'actions', action, 'action.yml')).inputs) {
    // `${{ github.token }}` is the runner's to fill; a bench passes its own token or none.
    env[`INPUT_${i.name.toUpperCase()}`] =
      inputs[i.name] ?? (i.default.includes('${{') ? '' : i.default);
  }
  writeFileSync(join(dir, 'out'), '');
  return env;
}

/** Runs dist/<action>/index.js as a runner would (INPUT_* with action.yml defaults); wall ms and the GITHUB_OUTPUT text. */
export function runBundle(
  action: string,
  workspace: string,
  inputs: Record<string, string>,
  repository = 'bench/repo'
): { ms: number; status: number | null; outputs: string; stdout: string } {
  const dir = mkdtempSync(join(tmpdir(), 'qg-bench-run-'));
  const env = bundleEnv(action, workspace, inputs, dir, { GITHUB_REPOSITORY: repository });
  const t = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', action, 'index.js')], {
    cwd: workspace,
    env,
    encoding: 'utf8'
  });
  const ms = performance.now() - t;
  const outputs = readFileSync(join(dir, 'out'), 'utf8');
  rmSync(dir, { recursive: true, force: true });
  return { ms, status: r.status, outputs, stdout: r.stdout + r.stderr };
}

/** One output's value from a GITHUB_OUTPUT file's text. */
export function output(text: string, name: string): string {
  const m = new RegExp(`^${name}<<(.+)\\n([\\s\\S]*?)\\n\\1$`, 'm').exec(text);
  return m ? m[2] : '';
}

/** fast-import text of `n` commits on `ref`, each adding `<prefix>/<k>.txt`; the first from `from`. */
export function commitsStream(
  ref: string,
  from: string | undefined,
  n: number,
  prefix: string,
  t0: number,
  markBase = 0,
  pathOf: (k: number) => string = (k) => `${prefix}/${k}.txt`
): string {
  const parts: string[] = [];
  for (let k = 1; k <= n; k++) {
    const msg = `${prefix} ${k}\n`;
    const body = `${prefix} line ${k}\n`;
    parts.push(
      `commit ${ref}\n`,
      markBase ? `mark :${markBase + k}\n` : '',
      `committer bench <bench@example.invalid> ${t0 + k} +0000\n`,
      `data ${Buffer.byteLength(msg)}\n${msg}`,
      k === 1 && from ? `from ${from}\n` : '',
      `M 100644 inline ${pathOf(k)}\ndata ${Buffer.byteLength(body)}\n${body}\n`
    );
  }
  return parts.join('');
}

export function fastImport(bare: string, stream: string): void {
  execFileSync('git', ['fast-import', '--quiet'], {
    cwd: bare,
    input: stream,
    env: { ...process.env, ...gitEnv },
    maxBuffer: 1 << 28
  });
}

/** A numeric `--name N` option of a bench script. */
export function numberArg(name: string, fallback: number): number {
  const v = stringArg(name);
  return v !== undefined ? Number(v) : fallback;
}

/** The value after `--<name>` on the command line, if given. */
export function stringArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** Milliseconds as seconds with two decimals. */
export const secs = (ms: number): string => (ms / 1000).toFixed(2);

/** The benchmark repository's shape, shared by the benches that measure on it (flags override). */
export function benchRepoShape(): {
  commits: number;
  behind: number;
  branchCommits: number;
  runs: number;
} {
  return {
    commits: numberArg('commits', 10000),
    behind: numberArg('behind', 3),
    branchCommits: numberArg('branch-commits', 20),
    runs: numberArg('runs', 5)
  };
}
