// Which --options a command accepts and which gate reads each. A gate
// command takes the inputs of the gate's action.yml. `edge` takes the root
// action's input names (action.yml at the repository root: --coverage-command,
// --image-freshness-mode, ...), so a workflow's `with:` for the root action
// translates one to one, and also each gate's own names (--command), as it
// always did; both names for one input with different values is a usage error.

import { COMMON_INPUTS, type GateDefinition } from '../../core/src/gate.ts';
import { PUBLISH_INPUT_NAMES } from '../../publish/src/config.ts';
import { UsageError } from './args.ts';
import { edgeInputName, edgeInputs } from './edge-inputs.ts';

/** Inputs every gate command takes besides the gate's own: report-dir, repos, publishing. */
export const GATE_COMMON_INPUTS: readonly string[] = [
  ...new Set([...Object.values(COMMON_INPUTS), ...PUBLISH_INPUT_NAMES])
];

/** The options of a gate command, or of `edge` over `gates` (root names first, then the gates' own). */
export function gateOptionNames(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  gates: readonly GateDefinition<any>[],
  edge: boolean
): string[] {
  const own = [...gates.flatMap((g) => g.inputs), ...GATE_COMMON_INPUTS];
  return [...new Set([...(edge ? edgeInputs(gates).map((e) => e.name) : []), ...own])];
}

/**
 * One gate's inputs, under its own names, from the command line's options.
 * For `edge` an input is read under the root action's name (coverage-command)
 * or the gate's own (command); giving both with different values throws.
 */
export function gateInputsFromOptions(
  gate: GateDefinition<unknown>,
  options: Readonly<Record<string, string>>,
  edge: boolean
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const input of new Set([...gate.inputs, ...GATE_COMMON_INPUTS])) {
    const root = edge ? edgeInputName(gate.gate, input) : input;
    const byRoot = Object.hasOwn(options, root) ? options[root] : undefined;
    const byOwn = Object.hasOwn(options, input) ? options[input] : undefined;
    if (byRoot !== undefined && byOwn !== undefined && root !== input && byRoot !== byOwn)
      throw new UsageError(
        `options --${root} and --${input} both set the ${gate.gate} gate's '${input}' (${JSON.stringify(byRoot)} and ${JSON.stringify(byOwn)}): give one`
      );
    const value = byRoot ?? byOwn;
    if (value !== undefined) out[input] = value;
  }
  return out;
}
