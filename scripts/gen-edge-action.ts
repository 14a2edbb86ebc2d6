// Writes the root action.yml (the whole edge in one step) from the gates'
// own action.yml files and the name mapping in packages/cli/src/edge-inputs.ts:
// one input per root name, with the gate's description and default. Run it
// after a gate gains, loses or renames an input; `--check` only compares
// (tests/unit/edge-action-metadata.test.ts does the same).
//
//   node scripts/gen-edge-action.ts [--check]

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import type { GateDefinition } from '../packages/core/src/gate.ts';
import type { GateName } from '../packages/core/src/verdict.ts';
import { edgeInputName, edgeInputs, TESTED_HEAD_INPUTS } from '../packages/cli/src/edge-inputs.ts';
import { ACTIVATED_BY } from '../packages/cli/src/edge-optional.ts';
import { EDGE } from '../packages/cli/src/gates.ts';
import { readActionMeta, type ActionInput } from './action-meta.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Shared inputs whose first declaration speaks for one gate only. */
const NEUTRAL_DESCRIPTIONS: Record<string, string> = {
  'base-ref':
    "Target branch the task branch will land in. Default: the pull request's base branch, else main.",
  remote: 'Git remote of the target and task branches.'
};

export interface RootInput {
  name: string;
  description: string;
  default: string;
}

export interface RootOutput {
  name: string;
  description: string;
}

export function gateActionPath(repoRoot: string, gate: string): string {
  return join(repoRoot, 'actions', `${gate}-gate`, 'action.yml');
}

/** The root action's inputs: names from the mapping, descriptions and defaults from the gates. */
export function rootInputs(
  repoRoot: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  gates: readonly GateDefinition<any>[] = EDGE
): RootInput[] {
  const declared = new Map<string, Map<string, ActionInput>>();
  for (const g of gates) {
    const path = gateActionPath(repoRoot, g.gate);
    if (!existsSync(path)) throw new Error(`gate ${g.gate} has no ${path}`);
    declared.set(g.gate, new Map(readActionMeta(path).inputs.map((i) => [i.name, i])));
  }
  return edgeInputs(gates).map((e) => {
    // A gate that reads an input but does not declare it is caught by
    // tests/unit/action-metadata.test.ts; here one declaration is enough.
    const decls = e.reads.flatMap((r) => declared.get(r.gate)?.get(r.input) ?? []);
    if (decls.length === 0)
      throw new Error(
        `no action.yml of ${e.reads.map((r) => r.gate).join(', ')} declares '${e.reads[0].input}'`
      );
    const defaults = [...new Set(decls.map((d) => d.default))];
    if (defaults.length > 1)
      throw new Error(
        `input '${e.name}' has different defaults in ${e.reads.map((r) => r.gate).join(', ')} (${defaults.join(' / ')}): prefix it (EDGE_PREFIXED_INPUTS) or align the defaults`
      );
    let description = NEUTRAL_DESCRIPTIONS[e.name] ?? decls[0].description;
    if (e.reads.length > 1) description += ` Read by: ${e.reads.map((r) => r.gate).join(', ')}.`;
    const gateOf = Object.entries(ACTIVATED_BY).find(([, input]) => input === e.name)?.[0];
    if (gateOf)
      description = `${description.replace(/\s*Required\.$/, '')} Empty: the ${gateOf} gate is SKIPPED.`;
    const testedHead = Object.entries(TESTED_HEAD_INPUTS).find(
      ([g, input]) => edgeInputName(g as GateName, input) === e.name
    );
    if (testedHead)
      description +=
        " In the root action the default is the commit the earlier gates tested (the merge gate's new head).";
    return { name: e.name, description, default: defaults[0] };
  });
}

export function rootOutputs(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  gates: readonly GateDefinition<any>[] = EDGE
): RootOutput[] {
  return [
    {
      name: 'status',
      description:
        'PASS | FAIL | DEFER | SKIPPED for the whole edge: FAIL or DEFER of the gate that stopped it, PASS when every gate that ran passed or was skipped, SKIPPED when all were skipped.'
    },
    {
      name: 'summary',
      description:
        'One line: each gate and its verdict, why the edge stopped, which gates did not run.'
    },
    {
      name: 'new-head',
      description:
        "The commit later steps must use: the merge gate's new head (rebased or unchanged), else the checked-out HEAD."
    },
    { name: 'report-dir', description: 'Directory holding every gate report of this run.' },
    {
      name: 'needs-human',
      description:
        'true when a FAIL reached max-developer-retries and the PR was labelled needs-human.'
    },
    {
      name: 'lease-release',
      description:
        'When a gate after a passed merge gate failed: the outcome of releasing the merge lease (empty otherwise).'
    },
    ...gates.map((g) => ({
      name: `${g.gate}-status`,
      description: `Verdict of the ${g.gate} gate; empty when an earlier gate stopped the edge.`
    }))
  ];
}

function quote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function renderRootAction(inputs: RootInput[], outputs: RootOutput[]): string {
  return [
    '# Generated by scripts/gen-edge-action.ts from actions/<gate>-gate/action.yml: do not edit by hand.',
    "name: 'quality-gates: the whole edge'",
    'description: >-',
    '  Runs every gate in one step, in order (security, merge, coverage, image',
    '  freshness), stopping at the first FAIL or DEFER; releases the merge lease',
    '  when a later gate fails. For repositories that want one job; the reusable',
    '  workflow .gitea/workflows/deploy-staging-gates.yml runs one job per gate.',
    'author: quality-gates',
    'branding:',
    '  icon: check-circle',
    '  color: green',
    'inputs:',
    ...inputs.flatMap((i) => [
      `  ${i.name}:`,
      `    description: ${quote(i.description)}`,
      '    required: false',
      `    default: ${quote(i.default)}`
    ]),
    'outputs:',
    ...outputs.flatMap((o) => [`  ${o.name}:`, `    description: ${quote(o.description)}`]),
    'runs:',
    '  using: node24',
    '  main: dist/edge/index.js',
    ''
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = join(root, 'action.yml');
  const next = renderRootAction(rootInputs(root), rootOutputs());
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const same = current !== '' && JSON.stringify(load(current)) === JSON.stringify(load(next));
  if (process.argv.includes('--check')) {
    if (!same) {
      process.stderr.write("action.yml is out of date: run 'node scripts/gen-edge-action.ts'\n");
      process.exitCode = 1;
    }
  } else if (!same) {
    writeFileSync(file, next);
    process.stdout.write('action.yml regenerated (run prettier on it)\n');
  }
}
