// Static checks of workflow files against the actions and reusable workflows
// they call, the way a forge would resolve them: every `uses:` exists, every
// `with:`/`secrets:` key is declared by what it calls, every `needs:` and
// every `${{ needs|steps|inputs|secrets|jobs ... }}` reference names
// something that exists, and no `${{ }}` is spliced into a `run:` script.
// Each check returns problems as lines naming the file and the place.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { readActionMeta } from '../../scripts/action-meta.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Yaml = any;

export interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}

export interface Job {
  needs?: string | string[];
  if?: string;
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown> | 'inherit';
  outputs?: Record<string, string>;
  env?: Record<string, unknown>;
  steps?: Step[];
  'runs-on'?: unknown;
}

/** This repository as callers name it: `<owner>/quality-gates/<path>@<ref>`. */
export const SELF = /^([A-Za-z0-9_.-]+)\/quality-gates(?:\/(.+?))?@([A-Za-z0-9_.\/-]+)$/;

/**
 * Third-party actions the workflows may use, with the inputs we rely on
 * (from each action's own action.yml at that major version).
 */
export const EXTERNAL_ACTIONS: Record<string, readonly string[]> = {
  'actions/checkout@v4': ['ref', 'fetch-depth', 'token', 'persist-credentials', 'repository'],
  'actions/upload-artifact@v4': [
    'name',
    'path',
    'if-no-files-found',
    'retention-days',
    'overwrite',
    'include-hidden-files'
  ],
  // v4-protocol fork of upload-artifact that accepts Gitea hosts (Gitea >= 1.23).
  'christopherhx/gitea-upload-artifact@v4': [
    'name',
    'path',
    'if-no-files-found',
    'retention-days',
    'overwrite',
    'include-hidden-files'
  ]
};

export const UPLOAD_ACTIONS = [
  'actions/upload-artifact@v4',
  'christopherhx/gitea-upload-artifact@v4'
] as const;

export function loadYaml(path: string): Yaml {
  return load(readFileSync(path, 'utf8'));
}

export function ymlFiles(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => join(dir, f))
    : [];
}

export function jobsOf(doc: Yaml): [string, Job][] {
  return Object.entries((doc?.jobs ?? {}) as Record<string, Job>);
}

export function needsOf(job: Job): string[] {
  return job.needs === undefined ? [] : ([] as string[]).concat(job.needs);
}

/** `on.workflow_call`, or undefined when the workflow is not reusable. */
export function workflowCall(doc: Yaml): Yaml | undefined {
  const on = doc?.on;
  return on && typeof on === 'object' && 'workflow_call' in on
    ? (on.workflow_call ?? {})
    : undefined;
}

/** Where a `uses:` of this repository points, relative to the repository root. */
export function selfPath(uses: string): string | undefined {
  const m = SELF.exec(uses);
  if (!m) return undefined;
  const sub = m[2];
  if (sub === undefined) return 'action.yml';
  return sub.endsWith('.yml') ? sub : join(sub, 'action.yml');
}

/** Every `${{ ... }}` expression in a value, stringified. */
export function expressions(value: unknown): string[] {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? '');
  return [...text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1].trim());
}

/** The inputs a `uses:` target declares, or a problem when it cannot be resolved. */
function declaredInputs(root: string, uses: string): { inputs?: string[]; problem?: string } {
  const ext = EXTERNAL_ACTIONS[uses];
  if (ext) return { inputs: [...ext] };
  const rel = uses.startsWith('./') ? uses.slice(2) : selfPath(uses);
  if (rel === undefined) return { problem: `uses '${uses}' is not an allowed third-party action` };
  const path = join(root, rel);
  if (!existsSync(path)) return { problem: `uses '${uses}': ${rel} does not exist` };
  if (rel.endsWith('action.yml')) return { inputs: readActionMeta(path).inputs.map((i) => i.name) };
  const call = workflowCall(loadYaml(path));
  if (!call) return { problem: `uses '${uses}': ${rel} has no on.workflow_call` };
  return { inputs: Object.keys(call.inputs ?? {}) };
}

function outputsOf(root: string, uses: string | undefined): string[] | undefined {
  if (!uses) return undefined;
  const rel = selfPath(uses);
  if (!rel || !rel.endsWith('action.yml') || !existsSync(join(root, rel))) return undefined;
  return readActionMeta(join(root, rel)).outputs.map((o) => o.name);
}

/** Every check on one parsed workflow; `name` is used in the messages. */
export function lintWorkflow(root: string, name: string, doc: Yaml): string[] {
  const problems: string[] = [];
  const say = (where: string, what: string) => problems.push(`${name}: ${where}: ${what}`);
  if (!doc || typeof doc !== 'object' || !doc.on || !doc.jobs) {
    return [`${name}: not a workflow (needs 'on' and 'jobs')`];
  }
  const call = workflowCall(doc);
  const jobs = jobsOf(doc);
  const jobIds = new Set(jobs.map(([id]) => id));
  const dispatchInputs = Object.keys(doc.on?.workflow_dispatch?.inputs ?? {});
  const declaredWorkflowInputs = new Set([...Object.keys(call?.inputs ?? {}), ...dispatchInputs]);
  const declaredSecrets = new Set(Object.keys(call?.secrets ?? {}));

  const checkExpressions = (
    where: string,
    value: unknown,
    job?: Job,
    stepIds?: Map<string, Step>
  ) => {
    for (const expr of expressions(value)) {
      for (const m of expr.matchAll(/\binputs\.([A-Za-z0-9_-]+)/g))
        if (!declaredWorkflowInputs.has(m[1])) say(where, `inputs.${m[1]} is not a declared input`);
      for (const m of expr.matchAll(/\bsecrets\.([A-Za-z0-9_-]+)/g))
        if (call && m[1] !== 'GITHUB_TOKEN' && !declaredSecrets.has(m[1]))
          say(where, `secrets.${m[1]} is not a declared workflow_call secret`);
      for (const m of expr.matchAll(/\bneeds\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g)) {
        if (!job || !needsOf(job).includes(m[1])) {
          say(where, `needs.${m[1]} is read but the job does not need '${m[1]}'`);
          continue;
        }
        const outs = Object.keys(doc.jobs[m[1]]?.outputs ?? {});
        if (!outs.includes(m[2])) say(where, `job '${m[1]}' has no output '${m[2]}'`);
      }
      for (const m of expr.matchAll(/\bsteps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g)) {
        const step = stepIds?.get(m[1]);
        if (!step) {
          say(where, `steps.${m[1]} is not an earlier step of this job`);
          continue;
        }
        const outs = outputsOf(root, step.uses);
        if (outs && !outs.includes(m[2]))
          say(where, `step '${m[1]}' (${step.uses}) has no output '${m[2]}'`);
      }
      for (const m of expr.matchAll(/\bjobs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g)) {
        if (!jobIds.has(m[1])) say(where, `jobs.${m[1]} is not a job`);
        else if (!Object.keys(doc.jobs[m[1]]?.outputs ?? {}).includes(m[2]))
          say(where, `job '${m[1]}' has no output '${m[2]}'`);
      }
    }
  };

  for (const [key, out] of Object.entries((call?.outputs ?? {}) as Record<string, Yaml>))
    checkExpressions(`on.workflow_call.outputs.${key}`, out?.value);
  checkExpressions('concurrency', doc.concurrency);

  for (const [id, job] of jobs) {
    const where = `job '${id}'`;
    for (const n of needsOf(job))
      if (!jobIds.has(n)) say(where, `needs '${n}', which is not a job`);
    checkExpressions(`${where} if`, job.if, job);
    checkExpressions(`${where} env`, job.env, job);
    checkExpressions(`${where} runs-on`, job['runs-on'], job);
    if (job.uses) {
      const target = declaredInputs(root, job.uses);
      if (target.problem) say(where, target.problem);
      const path = job.uses.startsWith('./') ? job.uses.slice(2) : selfPath(job.uses);
      const called =
        path && existsSync(join(root, path)) ? workflowCall(loadYaml(join(root, path))) : undefined;
      for (const k of Object.keys(job.with ?? {}))
        if (target.inputs && !target.inputs.includes(k))
          say(where, `passes input '${k}', which ${job.uses} does not declare`);
      for (const [k, spec] of Object.entries((called?.inputs ?? {}) as Record<string, Yaml>))
        if (spec?.required === true && !(k in (job.with ?? {})))
          say(where, `does not pass required input '${k}' of ${job.uses}`);
      if (job.secrets && job.secrets !== 'inherit')
        for (const k of Object.keys(job.secrets))
          if (!Object.keys(called?.secrets ?? {}).includes(k))
            say(where, `passes secret '${k}', which ${job.uses} does not declare`);
      checkExpressions(`${where} with`, job.with, job);
      checkExpressions(`${where} secrets`, job.secrets, job);
      continue;
    }
    const stepIds = new Map<string, Step>();
    for (const [i, step] of (job.steps ?? []).entries()) {
      const at = `${where} step ${i + 1}${step.id ? ` (${step.id})` : ''}`;
      checkExpressions(`${at} if`, step.if, job, stepIds);
      checkExpressions(`${at} env`, step.env, job, stepIds);
      checkExpressions(`${at} with`, step.with, job, stepIds);
      if (step.run !== undefined && expressions(step.run).length > 0)
        say(at, `run: contains \${{ ${expressions(step.run)[0]} }}: pass it through env:`);
      if (step.uses) {
        const target = declaredInputs(root, step.uses);
        if (target.problem) say(at, target.problem);
        for (const k of Object.keys(step.with ?? {}))
          if (target.inputs && !target.inputs.includes(k))
            say(at, `passes input '${k}', which ${step.uses} does not declare`);
      }
      if (step.id) stepIds.set(step.id, step);
    }
    for (const [k, v] of Object.entries(job.outputs ?? {}))
      checkExpressions(`${where} outputs.${k}`, v, job, stepIds);
  }
  return problems;
}

/** The gate (`security`, `merge`, ...) a step's action is, when it is one of ours. */
export function gateOfStep(step: Step): string | undefined {
  const rel = step.uses ? selfPath(step.uses) : undefined;
  const m = rel ? /^actions\/(.+)-gate\/action\.yml$/.exec(rel) : null;
  return m?.[1];
}
