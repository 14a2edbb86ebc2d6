// Workflow and action files as the harness runs them: parsed and validated
// against GitHub's workflow and action schemas by @actions/workflow-parser
// (unknown keys, wrong types and contexts not allowed at a key are errors;
// `needs` of unknown jobs, cycles and a reusable workflow's inputs are
// checked by its converter), then read into the small model the harness
// executes. Keys the harness does not execute are refused by name here,
// before anything runs.
//
// Gitea dialect: the GitHub schema refuses `runs-on` on a job that calls a
// reusable workflow; Gitea before 1.27 needs it there (it picks the runner
// that runs the whole called workflow) and 1.27 ignores it. The harness
// blanks that one key before parsing (keeping every line and column) and
// records the adjustment; nothing else is rewritten.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAction, convertActionTemplate } from '@actions/workflow-parser/actions/index';
import type { ActionTemplate } from '@actions/workflow-parser/actions/action-template';
import {
  convertWorkflowTemplate,
  isMapping,
  isSequence,
  isString,
  NoOperationTraceWriter,
  parseWorkflow
} from '@actions/workflow-parser';
import { convertToIfCondition } from '@actions/workflow-parser/model/converter/if-condition';
import type { TemplateContext } from '@actions/workflow-parser/templates/template-context';
import type { MappingToken } from '@actions/workflow-parser/templates/tokens/mapping-token';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { TokenType } from '@actions/workflow-parser/templates/tokens/types';
import type { FileReference } from '@actions/workflow-parser/workflows/file-reference';
import { isMap, isScalar, parseDocument } from 'yaml';
import { HarnessError, unsupported } from './errors.ts';

/** This repository, as workflows name it: `<owner>/quality-gates[/<path>]@v1`. */
export const SELF_USES = /^([A-Za-z0-9_.-]+)\/quality-gates(?:\/(.+?))?@(v1)$/;

export interface Condition {
  /** The expression with the runner's implicit `success() &&` added when it has no status function. */
  expression: string;
  /** Contexts and functions the schema allows there. */
  allowed?: string[];
}

export interface StepDef {
  index: number;
  id?: string;
  name?: string;
  if: Condition;
  uses?: string;
  run?: TemplateToken;
  with?: TemplateToken;
  env?: TemplateToken;
  shell?: string;
  workingDirectory?: TemplateToken;
  where: string;
}

export interface JobDef {
  id: string;
  name?: string;
  needs: string[];
  if: Condition;
  runsOn?: TemplateToken;
  env?: TemplateToken;
  outputs?: TemplateToken;
  permissions?: unknown;
  concurrency?: TemplateToken;
  steps: StepDef[];
  /** A reusable-workflow call. */
  uses?: string;
  with?: TemplateToken;
  secrets?: TemplateToken | 'inherit';
  where: string;
}

export interface CallInput {
  type: string;
  required: boolean;
  default?: TemplateToken;
}

export interface WorkflowDef {
  /** Path relative to the repository that holds it, e.g. .gitea/workflows/quality-gates.yml. */
  file: string;
  name: string;
  /** `on:` as plain data: event name -> its filter mapping (or null). */
  on: Record<string, Record<string, unknown> | null>;
  env?: TemplateToken;
  permissions?: unknown;
  concurrency?: TemplateToken;
  jobs: JobDef[];
  call?: {
    inputs: Record<string, CallInput>;
    secrets: Record<string, { required: boolean }>;
    outputs: Record<string, TemplateToken>;
  };
  dispatchInputs?: Record<string, { required: boolean; default?: string; type: string }>;
  /** Dialect adjustments made before parsing (see the header). */
  adjustments: string[];
}

const WORKFLOW_KEYS = ['name', 'on', 'env', 'permissions', 'concurrency', 'jobs'];
const JOB_KEYS = [
  'name',
  'needs',
  'if',
  'runs-on',
  'env',
  'outputs',
  'permissions',
  'concurrency',
  'steps',
  'uses',
  'with',
  'secrets'
];
const STEP_KEYS = ['id', 'name', 'if', 'uses', 'run', 'with', 'env', 'shell', 'working-directory'];

/** Blanks `runs-on` of jobs that call a reusable workflow (Gitea < 1.27 needs it, GitHub's schema refuses it). */
export function giteaDialect(text: string): { text: string; adjustments: string[] } {
  const doc = parseDocument(text, { keepSourceTokens: false });
  const jobs = isMap(doc.contents) ? doc.contents.get('jobs') : undefined;
  const chars = [...text];
  const adjustments: string[] = [];
  if (isMap(jobs)) {
    for (const pair of jobs.items) {
      const job = pair.value;
      if (!isMap(job) || !job.has('uses') || !job.has('runs-on')) continue;
      const runsOn = job.items.find((p) => isScalar(p.key) && p.key.value === 'runs-on')!;
      const start = (runsOn.key as { range?: [number, number, number] }).range![0];
      const end = (runsOn.value as { range?: [number, number, number] }).range![1];
      for (let i = start; i < end; i++) if (chars[i] !== '\n') chars[i] = ' ';
      adjustments.push(
        `job '${String(isScalar(pair.key) ? pair.key.value : pair.key)}': runs-on on a reusable-workflow call (Gitea < 1.27) ignored`
      );
    }
  }
  return { text: chars.join(''), adjustments };
}

/** Applies the edits an adopter makes to a copied companion (commands, inputs): YAML paths set to values. */
export function editWorkflowText(
  text: string,
  edits: readonly { path: readonly (string | number)[]; value: unknown }[]
): string {
  if (edits.length === 0) return text;
  const doc = parseDocument(text);
  for (const e of edits) {
    if (!doc.hasIn(e.path.slice(0, -1))) {
      throw new HarnessError(`edit ${e.path.join('.')}: no such place in the workflow`);
    }
    doc.setIn(e.path, e.value);
  }
  return String(doc);
}

function literal(token: TemplateToken, where: string): unknown {
  if (isString(token)) return token.value;
  if (token.templateTokenType === TokenType.Boolean || token.templateTokenType === TokenType.Number)
    return (token as unknown as { value: unknown }).value;
  if (token.templateTokenType === TokenType.Null) return null;
  if (isSequence(token)) return [...token].map((t) => literal(t, where));
  if (isMapping(token)) {
    const out: Record<string, unknown> = {};
    for (const p of token)
      out[(p.key as unknown as { value: string }).value] = literal(p.value, where);
    return out;
  }
  throw new HarnessError(`${where}: an expression where the harness needs a literal`);
}

function entries(token: TemplateToken, where: string): [string, TemplateToken][] {
  if (!isMapping(token)) throw new HarnessError(`${where}: expected a mapping`);
  return [...token].map((p) => {
    if (!isString(p.key)) throw new HarnessError(`${where}: an expression as a key`);
    return [p.key.value, p.value];
  });
}

function condition(
  ctx: TemplateContext,
  token: TemplateToken | undefined,
  where: string
): Condition {
  if (token === undefined) return { expression: 'success()' };
  const converted = convertToIfCondition(ctx, token);
  if (!converted) {
    throw new HarnessError(
      `${where}: if does not parse: ${ctx.errors
        .getErrors()
        .map((e) => e.message)
        .join('; ')}`
    );
  }
  return { expression: converted.expression, allowed: converted.definitionInfo?.allowedContext };
}

function readSteps(ctx: TemplateContext, token: TemplateToken, where: string): StepDef[] {
  if (!isSequence(token)) throw new HarnessError(`${where}: steps is not a sequence`);
  return [...token].map((item, index) => {
    const at = `${where} step ${index + 1}`;
    const step: StepDef = { index, if: { expression: 'success()' }, where: at };
    let ifToken: TemplateToken | undefined;
    for (const [key, value] of entries(item, at)) {
      if (!STEP_KEYS.includes(key)) unsupported(`step key '${key}'`, at);
      if (key === 'id') step.id = String(literal(value, at));
      else if (key === 'name') step.name = String(literal(value, at));
      else if (key === 'if') ifToken = value;
      else if (key === 'uses') step.uses = String(literal(value, `${at} uses`));
      else if (key === 'run') step.run = value;
      else if (key === 'with') step.with = value;
      else if (key === 'env') step.env = value;
      else if (key === 'shell') {
        step.shell = String(literal(value, at));
        if (step.shell !== 'bash') unsupported(`shell '${step.shell}'`, at);
      } else if (key === 'working-directory') step.workingDirectory = value;
    }
    if (step.id) step.where = `${at} (${step.id})`;
    step.if = condition(ctx, ifToken, `${step.where} if`);
    if ((step.uses === undefined) === (step.run === undefined)) {
      throw new HarnessError(`${step.where}: a step needs exactly one of uses and run`);
    }
    return step;
  });
}

function readJob(ctx: TemplateContext, id: string, token: TemplateToken, file: string): JobDef {
  const where = `${file} job '${id}'`;
  const job: JobDef = { id, needs: [], if: { expression: 'success()' }, steps: [], where };
  let ifToken: TemplateToken | undefined;
  for (const [key, value] of entries(token, where)) {
    if (!JOB_KEYS.includes(key)) unsupported(`job key '${key}'`, where);
    if (key === 'name') job.name = String(literal(value, where));
    else if (key === 'needs') job.needs = ([] as string[]).concat(literal(value, where) as string);
    else if (key === 'if') ifToken = value;
    else if (key === 'runs-on') job.runsOn = value;
    else if (key === 'env') job.env = value;
    else if (key === 'outputs') job.outputs = value;
    else if (key === 'permissions') job.permissions = literal(value, where);
    else if (key === 'concurrency') job.concurrency = value;
    else if (key === 'steps') job.steps = readSteps(ctx, value, where);
    else if (key === 'uses') job.uses = String(literal(value, where));
    else if (key === 'with') job.with = value;
    else if (key === 'secrets')
      job.secrets = isString(value) && value.value === 'inherit' ? 'inherit' : value;
  }
  job.if = condition(ctx, ifToken, `${where} if`);
  return job;
}

function readOn(token: TemplateToken, where: string): WorkflowDef['on'] {
  const on: WorkflowDef['on'] = {};
  if (isMapping(token)) {
    // workflow_call carries expressions (output values): readCall reads its tokens.
    for (const [event, spec] of entries(token, where)) {
      on[event] =
        event === 'workflow_call'
          ? null
          : ((literal(spec, `${where}.${event}`) ?? null) as Record<string, unknown> | null);
    }
    return on;
  }
  const raw = literal(token, where);
  for (const e of ([] as unknown[]).concat(raw)) on[String(e)] = null;
  return on;
}

function readCall(token: TemplateToken, where: string): NonNullable<WorkflowDef['call']> {
  const call: NonNullable<WorkflowDef['call']> = { inputs: {}, secrets: {}, outputs: {} };
  if (token.templateTokenType === TokenType.Null) return call;
  for (const [key, value] of entries(token, where)) {
    if (key === 'inputs') {
      for (const [name, spec] of entries(value, `${where}.inputs`)) {
        const input: CallInput = { type: 'string', required: false };
        for (const [k, v] of entries(spec, `${where}.inputs.${name}`)) {
          if (k === 'type') input.type = String(literal(v, where));
          else if (k === 'required') input.required = literal(v, where) === true;
          else if (k === 'default') input.default = v;
        }
        if (input.type !== 'string' && input.type !== 'boolean' && input.type !== 'number') {
          unsupported(`workflow_call input type '${input.type}'`, `${where}.inputs.${name}`);
        }
        call.inputs[name] = input;
      }
    } else if (key === 'secrets') {
      for (const [name, spec] of entries(value, `${where}.secrets`)) {
        const s = (literal(spec, where) ?? {}) as { required?: boolean };
        call.secrets[name] = { required: s.required === true };
      }
    } else if (key === 'outputs') {
      for (const [name, spec] of entries(value, `${where}.outputs`)) {
        const v = entries(spec, `${where}.outputs.${name}`).find(([k]) => k === 'value');
        if (!v) throw new HarnessError(`${where}.outputs.${name}: no value`);
        call.outputs[name] = v[1];
      }
    }
  }
  return call;
}

export interface ParsedFile {
  def: WorkflowDef;
  context: TemplateContext;
}

/**
 * Parses one workflow's text. `resolve` returns the text of a reusable
 * workflow a job calls (for the converter's checks of the call).
 */
export async function parseWorkflowText(
  file: string,
  original: string,
  resolve: (uses: string) => string
): Promise<WorkflowDef> {
  const { text, adjustments } = giteaDialect(original);
  const parsed = parseWorkflow({ name: file, content: text }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (errors.length > 0 || !parsed.value) {
    throw new HarnessError(`${file} does not parse:\n${errors.join('\n')}`);
  }
  const template = await convertWorkflowTemplate(
    parsed.context,
    parsed.value,
    {
      getFileContent: async (ref: FileReference) => {
        const uses =
          'repository' in ref
            ? `${ref.owner}/${ref.repository}/${ref.path}@${ref.version}`
            : `./${ref.path}`;
        return { name: ref.path, content: giteaDialect(resolve(uses)).text };
      }
    },
    { fetchReusableWorkflowDepth: 1 }
  );
  if (template.errors && template.errors.length > 0) {
    throw new HarnessError(
      `${file} is refused:\n${template.errors.map((e) => e.Message).join('\n')}`
    );
  }
  const root = parsed.value as MappingToken;
  const def: WorkflowDef = { file, name: file, on: {}, jobs: [], adjustments };
  for (const [key, value] of entries(root, file)) {
    if (!WORKFLOW_KEYS.includes(key)) unsupported(`workflow key '${key}'`, file);
    if (key === 'name') def.name = String(literal(value, file));
    else if (key === 'on') def.on = readOn(value, `${file} on`);
    else if (key === 'env') def.env = value;
    else if (key === 'permissions') def.permissions = literal(value, file);
    else if (key === 'concurrency') def.concurrency = value;
    else if (key === 'jobs') {
      for (const [id, job] of entries(value, file))
        def.jobs.push(readJob(parsed.context, id, job, file));
    }
  }
  // The raw `on:` mapping again, for workflow_call's tokens (defaults and output values are expressions).
  const onToken = entries(root, file).find(([k]) => k === 'on')?.[1];
  if (onToken && isMapping(onToken)) {
    for (const [event, spec] of entries(onToken, `${file} on`)) {
      if (event === 'workflow_call') def.call = readCall(spec, `${file} on.workflow_call`);
      if (event === 'workflow_dispatch' && spec.templateTokenType !== TokenType.Null) {
        const inputs =
          (literal(spec, file) as { inputs?: Record<string, Record<string, unknown>> }).inputs ??
          {};
        def.dispatchInputs = {};
        for (const [name, s] of Object.entries(inputs)) {
          def.dispatchInputs[name] = {
            required: s.required === true,
            default: s.default === undefined ? undefined : String(s.default),
            type: String(s.type ?? 'string')
          };
        }
      }
    }
  }
  if ('workflow_dispatch' in def.on && !def.dispatchInputs) def.dispatchInputs = {};
  return def;
}

export interface ActionDef {
  /** Directory of the action.yml. */
  dir: string;
  template: ActionTemplate;
}

/** An action.yml of this repository, parsed and validated against the action schema. */
export function readAction(dir: string): ActionDef {
  const path = join(dir, 'action.yml');
  const parsed = parseAction(
    { name: path, content: readFileSync(path, 'utf8') },
    new NoOperationTraceWriter()
  );
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (errors.length > 0 || !parsed.value)
    throw new HarnessError(`${path} does not parse:\n${errors.join('\n')}`);
  const template = convertActionTemplate(parsed.context, parsed.value);
  const more = parsed.context.errors.getErrors().map((e) => e.message);
  if (more.length > 0) throw new HarnessError(`${path} is refused:\n${more.join('\n')}`);
  return { dir, template };
}
