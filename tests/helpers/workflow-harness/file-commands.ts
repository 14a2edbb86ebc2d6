// What a step says back to the runner: the file commands (GITHUB_OUTPUT,
// GITHUB_ENV, GITHUB_PATH, GITHUB_STEP_SUMMARY, GITHUB_STATE, a fresh file
// of each per step) and the workflow commands on stdout (::error::,
// ::warning::, ::notice::, ::debug::, ::add-mask::, ::group::,
// ::endgroup::). A workflow command the harness does not model (the
// disabled ::set-output::, ::set-env::, ::save-state::, ::stop-commands::)
// is a HarnessError, not ignored.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOutputFile } from '../runner.ts';
import { HarnessError } from './errors.ts';

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  title?: string;
  message: string;
}

export interface StepFiles {
  output: string;
  env: string;
  path: string;
  summary: string;
  state: string;
}

export function stepFiles(dir: string, n: number): StepFiles {
  const f = (name: string) => {
    const p = join(dir, `step${n}-${name}`);
    writeFileSync(p, '');
    return p;
  };
  return {
    output: f('output'),
    env: f('env'),
    path: f('path'),
    summary: f('summary'),
    state: f('state')
  };
}

export function fileCommandEnv(files: StepFiles): Record<string, string> {
  return {
    GITHUB_OUTPUT: files.output,
    GITHUB_ENV: files.env,
    GITHUB_PATH: files.path,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_STATE: files.state
  };
}

export interface FileCommandResults {
  outputs: Record<string, string>;
  env: Record<string, string>;
  path: string[];
  summary: string;
}

export function readFileCommands(files: StepFiles): FileCommandResults {
  return {
    outputs: parseOutputFile(readFileSync(files.output, 'utf8')),
    env: parseOutputFile(readFileSync(files.env, 'utf8')),
    path: readFileSync(files.path, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
    summary: readFileSync(files.summary, 'utf8')
  };
}

/** The runner's unescaping of command data and properties. */
function unescape(s: string, property: boolean): string {
  let out = s.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n');
  if (property) out = out.replace(/%3A/gi, ':').replace(/%2C/gi, ',');
  return out.replace(/%25/g, '%');
}

export interface WorkflowCommands {
  annotations: Annotation[];
  masks: string[];
}

/** Reads the workflow commands in a step's stdout. */
export function workflowCommands(stdout: string, where: string): WorkflowCommands {
  const annotations: Annotation[] = [];
  const masks: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^::([a-zA-Z-]+)( [^:]*)?::(.*)$/.exec(line.replace(/\r$/, ''));
    if (!m) continue;
    const [, name, rawProps, rawData] = m;
    const props: Record<string, string> = {};
    for (const kv of (rawProps ?? '').trim().split(',').filter(Boolean)) {
      const i = kv.indexOf('=');
      props[kv.slice(0, i).trim()] = unescape(kv.slice(i + 1), true);
    }
    const message = unescape(rawData, false);
    switch (name) {
      case 'error':
      case 'warning':
      case 'notice':
        annotations.push({ level: name, message, ...(props.title ? { title: props.title } : {}) });
        break;
      case 'add-mask':
        if (message !== '') masks.push(message);
        break;
      case 'debug':
      case 'group':
      case 'endgroup':
        break;
      default:
        throw new HarnessError(`${where}: workflow command '::${name}::' is not modelled`);
    }
  }
  return { annotations, masks };
}

/** Replaces every secret and masked value with ***, as the runner's log does. */
export function maskText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].filter((x) => x.length > 0).sort((a, b) => b.length - a.length)) {
    out = out.split(s).join('***');
  }
  return out;
}
