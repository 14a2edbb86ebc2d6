// The maintainers' override (a workflow_dispatch workflow or the CLI): show,
// set or reset the baseline by hand. A change needs a reason and is written
// to the audit table with the actor; show lists the recent audit trail.

import type { RunContext } from '../../core/src/context.ts';
import { ConfigurationError } from '../../core/src/errors.ts';
import { readDecimal, readEnum, readString, type InputSource } from '../../core/src/inputs.ts';
import { markdownTable } from '../../core/src/markdown.ts';
import type { ToolDefinition, ToolResult } from '../../core/src/tool.ts';
import { validBranchName } from '../../git/src/git.ts';
import { auditLog, getBaseline, resetBaseline, setBaseline } from '../../store/src/baseline.ts';
import {
  readStateConfig,
  STATE_INPUTS,
  openStateBackend,
  type StateConfig
} from '../../store/src/state-inputs.ts';
import { repositoryKey } from './config.ts';

export const BASELINE_INPUTS = {
  operation: 'operation',
  value: 'value',
  reason: 'reason',
  baseRef: 'base-ref'
} as const;
export const OPERATIONS = ['show', 'set', 'reset'] as const;

export interface BaselineConfig {
  operation: (typeof OPERATIONS)[number];
  value?: number;
  reason: string;
  branch: string;
  repository: string;
  actor: string;
  state: StateConfig;
}

export function readBaselineConfig(src: InputSource, ctx: RunContext): BaselineConfig {
  const I = BASELINE_INPUTS;
  const operation = readEnum(src, I.operation, OPERATIONS, 'show');
  const reason = readString(src, I.reason);
  if (operation !== 'show' && reason === '')
    throw new ConfigurationError(
      I.reason,
      `a reason for '${operation}' (it goes into the audit log)`
    );
  const value = operation === 'set' ? readDecimal(src, I.value, NaN, 0, 100) : undefined;
  if (value !== undefined && Number.isNaN(value))
    throw new ConfigurationError(I.value, "the new baseline in percent for 'set', such as 82.5");
  const branch = readString(src, I.baseRef, ctx.event.baseRef || 'main');
  if (!validBranchName(branch))
    throw new ConfigurationError(I.baseRef, 'a branch name such as main', branch);
  return {
    operation,
    value,
    reason,
    branch,
    repository: repositoryKey(ctx),
    actor: ctx.env.GITHUB_ACTOR || ctx.env.USER || 'unknown',
    state: readStateConfig(src, ctx)
  };
}

const fmt = (x: number | null | undefined): string =>
  x === null || x === undefined ? '' : x.toFixed(2);

export async function runBaseline(c: BaselineConfig, ctx: RunContext): Promise<ToolResult> {
  const backend = await openStateBackend(c.state, c.branch, ctx);
  const repo = c.repository;
  const now = ctx.now();
  let before: number | null;
  let after: number | null;
  let summary: string;
  // The state was changed outside the store: say so, whatever the operation.
  const warnings: string[] = [];
  const noteTamper = (t: string | undefined): void => {
    if (t) warnings.push(`state tampering: ${t}; the audited value is shown and used`);
  };
  if (c.operation === 'show') {
    const b = await backend.withDb('read', (db) => getBaseline(db, repo, c.branch));
    before = after = b?.percent ?? null;
    noteTamper(b?.tampered);
    summary = b
      ? `baseline for ${repo} ${c.branch}: ${fmt(b.percent)}% (set ${b.updatedAt} by ${b.updatedBy}: ${b.reason})`
      : `no baseline for ${repo} ${c.branch}: the next landing bootstraps it`;
  } else if (c.operation === 'set') {
    const r = await backend.withDb(
      'write',
      (db) =>
        setBaseline(
          db,
          { repo, branch: c.branch, percent: c.value!, sha: '', actor: c.actor, reason: c.reason },
          now
        ),
      {
        message: (x) =>
          `coverage baseline set by ${c.actor}: ${x.old ?? '-'} -> ${x.new} (${c.reason})`
      }
    );
    before = r.old;
    after = r.new;
    noteTamper(r.tampered);
    summary = `baseline for ${repo} ${c.branch} set from ${fmt(r.old) || 'none'} to ${fmt(r.new)}% by ${c.actor}: ${c.reason}`;
  } else {
    const r = await backend.withDb(
      'write',
      (db) => resetBaseline(db, { repo, branch: c.branch, actor: c.actor, reason: c.reason }, now),
      {
        message: (x) =>
          `coverage baseline reset by ${c.actor}: ${x.old ?? '-'} -> none (${c.reason})`
      }
    );
    before = r.old;
    after = null;
    noteTamper(r.tampered);
    summary =
      r.outcome === 'removed'
        ? `baseline for ${repo} ${c.branch} reset (was ${fmt(r.old)}%) by ${c.actor}: ${c.reason}; the next landing bootstraps it`
        : `no baseline for ${repo} ${c.branch} to reset`;
  }
  const audit = await backend.withDb('read', (db) => auditLog(db, repo, c.branch, 10));
  const body = [
    `## Coverage baseline: ${c.operation}`,
    '',
    summary,
    '',
    '### Recent changes',
    '',
    audit.length === 0
      ? 'None.'
      : markdownTable(
          ['When', 'How', 'Old', 'New', 'Who', 'Why'],
          audit.map((a) => [a.at, a.how, fmt(a.old), fmt(a.new), a.actor, a.reason])
        ),
    ''
  ].join('\n');
  for (const w of warnings) ctx.logger.warning(w);
  return {
    summary,
    outputs: { baseline: fmt(after), previous: fmt(before) },
    body,
    warnings: [...warnings, ...(backend.tamper ?? []).filter((t) => !warnings.includes(t))]
  };
}

export const coverageBaseline: ToolDefinition<BaselineConfig> = {
  name: 'coverage-baseline',
  inputs: [...Object.values(BASELINE_INPUTS), ...Object.values(STATE_INPUTS)],
  buildConfig: readBaselineConfig,
  run: runBaseline
};
