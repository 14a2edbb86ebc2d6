// Reads action.yml files: the generated README tables and the consistency
// tests (code reads exactly the inputs action.yml declares) share it.

import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';

export interface ActionInput {
  name: string;
  description: string;
  required: boolean;
  default: string;
}

export interface ActionMeta {
  name: string;
  description: string;
  inputs: ActionInput[];
  outputs: { name: string; description: string }[];
  runs: { using: string; main?: string };
}

export function readActionMeta(path: string): ActionMeta {
  const doc = load(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const inputs = Object.entries((doc.inputs ?? {}) as Record<string, Record<string, unknown>>).map(
    ([name, v]) => ({
      name,
      description: String(v.description ?? ''),
      required: v.required === true,
      default: v.default === undefined ? '' : String(v.default)
    })
  );
  const outputs = Object.entries(
    (doc.outputs ?? {}) as Record<string, Record<string, unknown>>
  ).map(([name, v]) => ({
    name,
    description: String(v.description ?? '')
  }));
  return {
    name: String(doc.name ?? ''),
    description: String(doc.description ?? '').trim(),
    inputs,
    outputs,
    runs: doc.runs as ActionMeta['runs']
  };
}
