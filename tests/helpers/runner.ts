// Runs a built action bundle exactly as a runner does: every declared input
// as INPUT_<NAME> (defaults filled in from action.yml), GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files, GITHUB_WORKSPACE, GITHUB_EVENT_PATH.
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readActionMeta } from '../../scripts/action-meta.ts';
import { tempDir } from './tmp.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ActionRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

/** Parses the GITHUB_OUTPUT file format (name<<DELIM ... DELIM). */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]);
    if (m) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]);
      out[m[1]] = value.join('\n');
    } else if (lines[i].includes('=')) {
      const k = lines[i].slice(0, lines[i].indexOf('='));
      out[k] = lines[i].slice(k.length + 1);
    }
  }
  return out;
}

export function giteaPullRequestEvent(opts: {
  base: string;
  head: string;
  headSha: string;
  repo: string;
  number?: number;
}): object {
  // Shape of Gitea's pull_request webhook payload (the fields the gates read, and their neighbours).
  const [owner, name] = opts.repo.split('/');
  const repository = {
    id: 1,
    name,
    full_name: opts.repo,
    owner: { id: 1, login: owner, username: owner },
    default_branch: 'main',
    private: false
  };
  return {
    action: 'opened',
    number: opts.number ?? 7,
    pull_request: {
      id: 100,
      number: opts.number ?? 7,
      title: 'agent change',
      state: 'open',
      base: { label: opts.base, ref: opts.base, sha: '', repo_id: 1, repo: repository },
      head: { label: opts.head, ref: opts.head, sha: opts.headSha, repo_id: 1, repo: repository },
      merge_base: ''
    },
    repository,
    sender: { id: 1, login: owner, username: owner }
  };
}

export interface BundleOptions {
  workspace: string;
  inputs?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  event?: object;
  node?: string;
}

interface Invocation {
  bundle: string;
  env: NodeJS.ProcessEnv;
  outputFile: string;
  summaryFile: string;
}

/** The environment and entry a runner gives an action bundle. */
function invocation(action: string, opts: BundleOptions): Invocation {
  const dir = tempDir('qg-runner-');
  const outputFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: opts.workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_REPOSITORY: 'acme/service',
    GITHUB_SERVER_URL: 'http://127.0.0.1:1',
    GITHUB_API_URL: 'http://127.0.0.1:1/api/v1',
    GITHUB_RUN_ID: '42',
    RUNNER_TEMP: dir,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null'
  };
  if (opts.event) {
    const eventPath = join(dir, 'event.json');
    writeFileSync(eventPath, JSON.stringify(opts.event));
    env.GITHUB_EVENT_PATH = eventPath;
    env.GITHUB_EVENT_NAME = 'pull_request';
  }
  // '.' is the root action.yml (`uses: owner/quality-gates@ref`); runs.main is relative to it.
  const actionYml =
    action === '.' ? join(ROOT, 'action.yml') : join(ROOT, 'actions', action, 'action.yml');
  const meta = readActionMeta(actionYml);
  for (const input of meta.inputs) {
    env[`INPUT_${input.name.toUpperCase()}`] = opts.inputs?.[input.name] ?? input.default;
  }
  Object.assign(env, opts.env);
  const bundle = resolve(dirname(actionYml), meta.runs.main ?? '');
  return { bundle, env, outputFile, summaryFile };
}

function finished(
  inv: Invocation,
  exitCode: number | null,
  stdout: string,
  stderr: string
): ActionRun {
  return {
    exitCode,
    stdout,
    stderr,
    outputs: parseOutputFile(readFileSync(inv.outputFile, 'utf8')),
    summary: readFileSync(inv.summaryFile, 'utf8')
  };
}

export function runActionBundle(action: string, opts: BundleOptions): ActionRun {
  const inv = invocation(action, opts);
  const r = spawnSync(opts.node ?? process.execPath, [inv.bundle], {
    cwd: opts.workspace,
    env: inv.env,
    encoding: 'utf8',
    timeout: 120_000
  });
  return finished(inv, r.status, r.stdout, r.stderr);
}

/** The same, started in the background: the test can watch, signal or kill it. */
export function startActionBundle(
  action: string,
  opts: BundleOptions
): { child: ChildProcess; done: Promise<ActionRun & { signal: NodeJS.Signals | null }> } {
  const inv = invocation(action, opts);
  const child = spawn(opts.node ?? process.execPath, [inv.bundle], {
    cwd: opts.workspace,
    env: inv.env
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<ActionRun & { signal: NodeJS.Signals | null }>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => res({ ...finished(inv, code, stdout, stderr), signal }));
  });
  return { child, done };
}
