// `quality-gates state`: the maintainers' view of the state's integrity and
// their recovery after a change made outside quality-gates.
//
//   quality-gates state verify [--full true]
//       checks the state chain (state-chain.ts); --full walks every row.
//       Exit 1 when something does not verify.
//   quality-gates state reseal --reason "..." [--accept tables|chain|last-written]
//       tables (default): what the tables hold now becomes the audited state;
//       chain: every key whose audited value still verifies gets it back (an
//       edit is undone); last-written (git-ref): the state of the newest
//       commit quality-gates wrote is committed on top of the refused tip.
//       One reseal row records who, why, what was wrong and what was kept.
//       Also how a state adopts a state-key (run it once with the key).

import type { RunContext } from '../../core/src/context.ts';
import { ConfigurationError } from '../../core/src/errors.ts';
import { readBoolean, readEnum, readString, type InputSource } from '../../core/src/inputs.ts';
import type { ToolDefinition, ToolResult } from '../../core/src/tool.ts';
import {
  resealState,
  verifyState,
  type IntegrityReport,
  type ResealResult
} from './state-chain.ts';
import {
  readStateConfig,
  STATE_INPUTS,
  openStateBackend,
  type StateConfig
} from './state-inputs.ts';
import { tamperedReport } from './tampered-report.ts';

export const STATE_TOOL_INPUTS = {
  operation: 'operation',
  reason: 'reason',
  accept: 'accept',
  full: 'full',
  baseRef: 'base-ref'
} as const;

export const STATE_OPERATIONS = ['verify', 'reseal'] as const;
export const RESEAL_ACCEPTS = ['tables', 'chain', 'last-written'] as const;

export interface StateToolConfig {
  operation: (typeof STATE_OPERATIONS)[number];
  reason: string;
  accept: (typeof RESEAL_ACCEPTS)[number];
  full: boolean;
  branch: string;
  actor: string;
  state: StateConfig;
}

export function readStateToolConfig(src: InputSource, ctx: RunContext): StateToolConfig {
  const I = STATE_TOOL_INPUTS;
  const operation = readEnum(src, I.operation, STATE_OPERATIONS, 'verify');
  const reason = readString(src, I.reason);
  if (operation === 'reseal' && reason === '')
    throw new ConfigurationError(
      I.reason,
      'a reason for the reseal (it goes into the state chain)'
    );
  const state = readStateConfig(src, ctx);
  const accept = readEnum(src, I.accept, RESEAL_ACCEPTS, 'tables');
  if (accept === 'last-written' && state.backend !== 'git-ref')
    throw new ConfigurationError(
      I.accept,
      "'tables' or 'chain' ('last-written' restores a commit of the git-ref backend)",
      accept
    );
  return {
    operation,
    reason,
    accept,
    full: readBoolean(src, I.full, false),
    branch: readString(src, I.baseRef, ctx.event.baseRef || 'main'),
    actor: ctx.env.GITHUB_ACTOR || ctx.env.USER || 'unknown',
    state
  };
}

export async function runStateTool(c: StateToolConfig, ctx: RunContext): Promise<ToolResult> {
  const backend = await openStateBackend(c.state, c.branch, ctx);
  const where = backend.describe();
  if (c.operation === 'verify') {
    let report: IntegrityReport;
    try {
      report = await backend.withDb('read', (db) => verifyState(db, { full: c.full }));
    } catch (err) {
      return tamperedReport(err, `State integrity: ${where}`, () => ({ ok: 'false' }));
    }
    const summary = report.ok
      ? report.sealed
        ? `state ${where} verifies: ${report.length} chain rows, newest ${report.head?.slice(0, 12)}, ${signing(report.keyed)}${c.full ? ', every row checked' : ''}`
        : `state ${where} has no state chain yet (schema before v5)`
      : `state ${where} does not verify: ${report.lines[0]}${report.lines.length > 1 ? ` (and ${report.lines.length - 1} more)` : ''}`;
    return {
      ok: report.ok,
      summary,
      outputs: { ok: String(report.ok), json: JSON.stringify(report) },
      body: body(where, summary, report.lines),
      warnings: []
    };
  }
  const now = ctx.now();
  const r: ResealResult = await backend.withDb(
    'write',
    (db) =>
      resealState(
        db,
        {
          actor: c.actor,
          reason: c.reason,
          accept: c.accept === 'last-written' ? 'tables' : c.accept
        },
        now
      ),
    {
      message: (x) =>
        `state resealed by ${c.actor} (accept ${c.accept}, ${x.changes.length} key(s)): ${c.reason}`,
      integrity: c.accept === 'last-written' ? 'restore-last-written' : 'accept-foreign'
    }
  );
  const summary = `state ${where} resealed by ${c.actor} (accept ${c.accept}): ${r.changes.length} key(s) ${c.accept === 'chain' ? 'restored or accepted' : 'accepted'}, ${r.before.length} problem(s) before, ${signing(r.keyed)}; ${c.reason}`;
  const lines = [
    ...r.before.map((l) => `before: ${l}`),
    ...r.changes.map(
      (x) =>
        `${x.name}: ${x.restored ? `restored to ${x.now} (the table said ${x.table})` : `accepted ${x.now}`}`
    )
  ];
  return {
    summary,
    outputs: { ok: 'true', json: JSON.stringify(r) },
    body: body(where, summary, lines),
    warnings: []
  };
}

function signing(keyed: boolean): string {
  return keyed ? 'signed with the state-key (HMAC-SHA256)' : 'unsigned (SHA-256, no state-key)';
}

function body(where: string, summary: string, lines: readonly string[]): string {
  return [
    `## State integrity: ${where}`,
    '',
    summary,
    '',
    ...(lines.length > 0 ? lines.map((l) => `- ${l}`) : ['Nothing to report.']),
    ''
  ].join('\n');
}

export const stateTool: ToolDefinition<StateToolConfig> = {
  name: 'state',
  inputs: [...Object.values(STATE_TOOL_INPUTS), ...Object.values(STATE_INPUTS)],
  buildConfig: readStateToolConfig,
  run: runStateTool
};
