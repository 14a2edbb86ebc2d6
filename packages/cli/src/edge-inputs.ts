// The root action runs every gate in one step, so its inputs are the union of
// the gates' inputs. A name that means the same for every gate reading it
// (base-ref, the state store, the publishing inputs) is one root input that
// feeds them all. A gate-specific name too generic to stay unambiguous next to
// the other gates' inputs gets the gate's name as prefix: the coverage gate's
// `command` is the root action's `coverage-command`. The root action.yml is
// generated from this mapping (scripts/gen-edge-action.ts) and tested against
// it, so the two cannot drift.

import { USER_COMMAND_INPUTS } from '../../proc/src/user-command-inputs.ts';
import { ConfigurationError } from '../../core/src/errors.ts';
import { COMMON_INPUTS, type GateDefinition } from '../../core/src/gate.ts';
import type { InputSource } from '../../core/src/inputs.ts';
import type { GateName } from '../../core/src/verdict.ts';
import { PUBLISH_INPUT_NAMES } from '../../publish/src/config.ts';
import { withPublishInputs } from '../../publish/src/run.ts';

/**
 * Names that mean the same for every gate that reads them. A name two gates
 * read must be here or in EDGE_PREFIXED_INPUTS (tests/unit/edge-inputs.test.ts).
 */
export const EDGE_SHARED_INPUTS: readonly string[] = [
  ...new Set([
    'base-ref',
    'branch',
    'remote',
    'protected-branches',
    // How the merge gate's test command and the coverage command run: the same for both.
    ...Object.values(USER_COMMAND_INPUTS),
    ...Object.values(COMMON_INPUTS),
    ...PUBLISH_INPUT_NAMES
  ])
];

/**
 * Gate inputs whose root-action name is `<gate>-<name>`: generic words that
 * would say nothing about which gate they configure, or that two gates use
 * with different meanings (`timeout-seconds` of coverage and image).
 */
export const EDGE_PREFIXED_INPUTS: readonly string[] = [
  'command',
  'epsilon',
  'floor',
  'format',
  'measure',
  'mode',
  'patch-floor',
  'patch-path-map',
  'platform',
  'policy',
  'python',
  'report',
  'sha',
  'timeout-seconds'
];

/** The root action's name for one gate's input. */
export function edgeInputName(gate: GateName, input: string): string {
  return EDGE_PREFIXED_INPUTS.includes(input) ? `${gate}-${input}` : input;
}

/** Every input a gate reads when it runs published: its own, the publishing ones, report-dir, repos. */
export function gateInputNames(def: GateDefinition<unknown>): string[] {
  return [...new Set([...withPublishInputs(def).inputs, ...Object.values(COMMON_INPUTS)])];
}

export interface EdgeInput {
  /** The root action's input name. */
  name: string;
  /** Which gates read it, under which of their own names. */
  reads: { gate: GateName; input: string }[];
}

/** The root action's inputs, in edge order (first gate's inputs first). */
export function edgeInputs(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  gates: readonly GateDefinition<any>[]
): EdgeInput[] {
  const byName = new Map<string, EdgeInput>();
  for (const def of gates) {
    for (const input of gateInputNames(def)) {
      const name = edgeInputName(def.gate, input);
      const entry = byName.get(name) ?? { name, reads: [] };
      entry.reads.push({ gate: def.gate, input });
      byName.set(name, entry);
    }
  }
  return [...byName.values()];
}

/**
 * Inputs naming the commit a gate checks. Their own default (the pull
 * request's head sha) is wrong after the merge gate rebased the branch: in
 * the root action they default to the commit the earlier gates tested.
 */
export const TESTED_HEAD_INPUTS: Partial<Record<GateName, string>> = { 'image-freshness': 'sha' };

/**
 * What one gate sees inside the root action: its own input names, read under
 * the root names; `testedHead` (called only when needed) fills TESTED_HEAD_INPUTS.
 */
export function edgeInputSource(
  root: InputSource,
  gate: GateName,
  testedHead: () => string = () => ''
): InputSource {
  return withTestedHead(gate, { get: (name) => root.get(edgeInputName(gate, name)) }, testedHead);
}

/** A gate's own input source with TESTED_HEAD_INPUTS defaulting to `testedHead()` (the CLI's edge). */
export function withTestedHead(
  gate: GateName,
  src: InputSource,
  testedHead: () => string
): InputSource {
  return {
    get(name) {
      const value = src.get(name);
      return value === '' && TESTED_HEAD_INPUTS[gate] === name ? testedHead() : value;
    }
  };
}

/** The gate with configuration errors naming the root action's input (`coverage-floor`, not `floor`). */
export function withRootInputNames<C>(def: GateDefinition<C>): GateDefinition<C> {
  return {
    ...def,
    buildConfig: (src, ctx) => {
      try {
        return def.buildConfig(src, ctx);
      } catch (err) {
        if (!(err instanceof ConfigurationError)) throw err;
        const root = edgeInputName(def.gate, err.input);
        if (root === err.input) throw err;
        const renamed = new ConfigurationError(root, err.expected);
        renamed.message = err.message.replace(`input '${err.input}'`, `input '${root}'`);
        throw renamed;
      }
    }
  };
}
