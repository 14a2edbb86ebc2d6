// The gates the CLI knows, in edge order (cheapest and most decisive first).
// Each issue that adds a gate adds it here.

import type { GateDefinition } from '../../core/src/gate.ts';
import type { ToolDefinition, ToolOutcome } from '../../core/src/tool.ts';
import { coverageBaseline } from '../../coverage/src/baseline-override.ts';
import { coverageGate } from '../../coverage/src/gate.ts';
import { coverageRatchet } from '../../coverage/src/ratchet.ts';
import { imageFreshnessGate } from '../../image/src/gate.ts';
import { securityGate } from '../../security/src/gate.ts';
import { mergeGate } from '../../merge/src/gate.ts';
import { land } from '../../merge/src/land.ts';
import { leaseRelease } from '../../merge/src/lease-release.ts';
import { status } from '../../merge/src/status.ts';
import { stateTool } from '../../store/src/state-tool.ts';
import { stopTool } from '../../stop/src/stop.ts';
import { printStatus } from './status-output.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const EDGE: readonly GateDefinition<any>[] = [
  securityGate,
  mergeGate,
  coverageGate,
  imageFreshnessGate
];

export interface ToolCommand {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  def: ToolDefinition<any>;
  /** The input the first word after the command fills (quality-gates baseline set ...). */
  positional?: string;
  help: string;
  /** What the command prints (json: --json); undefined, or no print: the summary, or the generic tool JSON. */
  print?: (r: ToolOutcome, json: boolean) => string | undefined;
}

/** Commands that are tools, not gates. */
export const TOOLS: Record<string, ToolCommand> = {
  baseline: {
    def: coverageBaseline,
    positional: 'operation',
    help: 'show | set --value N --reason R | reset --reason R'
  },
  land: {
    def: land,
    help: 'merge a pull request through the forge API pinned to the tested head (--pr-number N --head-sha SHA --branch NAME), ratchet, release the lease, wake the next branch'
  },
  'lease-release': {
    def: leaseRelease,
    help: 'release the merge lease a branch holds (--branch NAME)'
  },
  ratchet: {
    def: coverageRatchet,
    help: 'raise the coverage baseline to what landed (run on the target branch)'
  },
  stop: {
    def: stopTool,
    help: 'cancel a task branch: --branch NAME --reason "..." (releases its lease, deletes it on the remote)'
  },
  status: {
    def: status,
    help: 'show the lease holder, the merge queue (waiting branches, wake-ups), baselines, runs and counters (read-only)',
    print: printStatus
  },
  state: {
    def: stateTool,
    positional: 'operation',
    help: 'verify [--full true] | reseal --reason R [--accept tables|chain|last-written]: the state chain'
  }
};

export function findGate(name: string): GateDefinition<unknown> | undefined {
  return EDGE.find((g) => g.gate === name);
}
