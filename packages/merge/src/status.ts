// `quality-gates status`: a read-only view of the state of one repository:
// who holds the merge lease (and whether it is stale), who waits for it, the
// coverage baselines of every branch, the last gate runs and the counters,
// the retry counts per branch and gate, and the branches STOP cancelled,
// and whether the state verifies against its chain (packages/store/src/
// state-chain.ts): a status shows what the tables hold next to that line,
// never refuses to show it. The whole status object is also an output
// (`json`) for machine readers.

import type { Database } from 'better-sqlite3';
import type { RunContext } from '../../core/src/context.ts';
import { readString, type InputSource } from '../../core/src/inputs.ts';
import type { ToolDefinition, ToolResult } from '../../core/src/tool.ts';
import { repositoryKey } from '../../coverage/src/config.ts';
import { repositoryBaselines, type Baseline } from '../../store/src/baseline.ts';
import { counters } from '../../store/src/counters.ts';
import { recentGateRuns, type GateRun } from '../../store/src/gate-run.ts';
import { stoppedBranches, type BranchState } from '../../store/src/branch-state.ts';
import { repoKey } from '../../store/src/keys.ts';
import { leaseExpired, liveLease, waitingBranches } from '../../store/src/lease.ts';
import { liveCriticalSince } from '../../store/src/merge-window.ts';
import { verifyState } from '../../store/src/state-chain.ts';
import { tamperedReport } from '../../store/src/tampered-report.ts';
import { repositoryFailures, type GateFailure } from '../../store/src/retries.ts';
import {
  readStateConfig,
  STATE_INPUTS,
  openStateBackend,
  type StateConfig
} from '../../store/src/state-inputs.ts';

export const STATUS_INPUTS = { baseRef: 'base-ref' } as const;

/** How many gate runs the status lists. */
export const STATUS_RUNS = 10;

export interface StatusConfig {
  baseRef: string;
  repository: string;
  state: StateConfig;
}

export interface LeaseStatus {
  state: 'held' | 'stale' | 'free';
  branch?: string;
  headSha?: string;
  runId?: string;
  acquiredAt?: string;
  expiresAt?: string;
  /** Milliseconds since the lease was acquired. */
  ageMs?: number;
  /** Milliseconds until expiry (negative once stale). */
  expiresInMs?: number;
  /** Set while the holder rebases, re-tests and pushes (STOP waits for it). */
  criticalSince?: string;
}

export interface WaitingStatus {
  branch: string;
  since: string;
  waitingMs: number;
}

export interface RepositoryStatus {
  repository: string;
  state: string;
  at: string;
  /** False when the store holds nothing at all for the repository. */
  hasState: boolean;
  lease: LeaseStatus;
  waiting: WaitingStatus[];
  baselines: Baseline[];
  runs: GateRun[];
  counters: Record<string, number>;
  /** FAIL counts (the retry cap) and defer streaks, by branch and gate. */
  failures: GateFailure[];
  /** Branches cancelled by STOP, or with a STOP waiting for the merge window. */
  stopped: BranchState[];
  /** Whether the state verifies against its chain; `lines` says what does not. */
  integrity: IntegrityStatus;
}

export interface IntegrityStatus {
  ok: boolean;
  /** False for a state from before the chain. */
  sealed: boolean;
  /** Signed with a state-key. */
  keyed: boolean;
  /** Chain rows. */
  length: number;
  lines: string[];
}

export function readStatusConfig(src: InputSource, ctx: RunContext): StatusConfig {
  return {
    baseRef: readString(src, STATUS_INPUTS.baseRef, ctx.event.baseRef || 'main').replace(
      /^refs\/heads\//,
      ''
    ),
    repository: repositoryKey(ctx),
    state: readStateConfig(src, ctx)
  };
}

/** Reads the status of `repo` from an open database at `now`. */
export function readStatus(
  db: Database,
  repo: string,
  now: Date
): Omit<RepositoryStatus, 'state' | 'repository'> {
  const t = now.getTime();
  const report = verifyState(db);
  const integrity: IntegrityStatus = {
    ok: report.ok,
    sealed: report.sealed,
    keyed: report.keyed,
    length: report.length,
    lines: report.lines
  };
  // As the table holds it; the integrity line says whether to believe it.
  const l = liveLease(db, repo);
  const lease: LeaseStatus = l
    ? {
        state: leaseExpired(l, now) ? 'stale' : 'held',
        branch: l.branch,
        headSha: l.headSha,
        runId: l.runId,
        acquiredAt: l.acquiredAt,
        expiresAt: l.expiresAt,
        ageMs: t - Date.parse(l.acquiredAt),
        expiresInMs: Date.parse(l.expiresAt) - t,
        criticalSince: leaseExpired(l, now) ? undefined : liveCriticalSince(db, repo)
      }
    : { state: 'free' };
  const waiting = waitingBranches(db, repo).map((w) => ({
    branch: w.branch,
    since: w.since,
    waitingMs: t - Date.parse(w.since)
  }));
  const baselines = repositoryBaselines(db, repo);
  const runs = recentGateRuns(db, repo, STATUS_RUNS);
  const counts = counters(db, repo);
  const failures = repositoryFailures(db, repo);
  const stopped = stoppedBranches(db, repo);
  const hasState =
    l !== undefined ||
    waiting.length > 0 ||
    baselines.length > 0 ||
    runs.length > 0 ||
    Object.keys(counts).length > 0 ||
    failures.length > 0 ||
    stopped.length > 0;
  return {
    at: now.toISOString(),
    hasState,
    lease,
    waiting,
    baselines,
    runs,
    counters: counts,
    failures,
    stopped,
    integrity
  };
}

/** A duration as 45s, 3m, 2h 5m or 1d 4h (negative durations as their size). */
export function formatDuration(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

function cell(v: string | number): string {
  return String(v)
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

function table(head: string[], rows: (string | number)[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)
  ].join('\n');
}

function leaseLine(l: LeaseStatus): string {
  if (l.state === 'free') return 'lease free';
  const age = formatDuration(l.ageMs ?? 0);
  return l.state === 'stale'
    ? `lease stale, held by ${l.branch} for ${age} (expired ${formatDuration(l.expiresInMs ?? 0)} ago)`
    : `lease held by ${l.branch} for ${age}`;
}

function integrityLine(i: IntegrityStatus): string {
  if (!i.sealed) return 'state not sealed yet (schema before v5)';
  if (i.ok)
    return `state verifies (${i.length} chain rows, ${i.keyed ? 'signed with the state-key' : 'unsigned'})`;
  return `STATE DOES NOT VERIFY: ${i.lines[0]}${i.lines.length > 1 ? ` (and ${i.lines.length - 1} more)` : ''}`;
}

export function statusSummary(s: RepositoryStatus, baseRef: string): string {
  if (!s.hasState)
    return `no state yet for ${s.repository} (${s.state})${s.integrity.ok ? '' : `; ${integrityLine(s.integrity)}`}`;
  const base = s.baselines.find((b) => b.branch === baseRef);
  const parts = [
    leaseLine(s.lease),
    `${s.waiting.length} waiting`,
    base ? `baseline ${base.branch} ${base.percent.toFixed(2)}%` : `no baseline on ${baseRef}`,
    `${s.runs.length} runs`
  ];
  const cancelled = s.stopped.filter((b) => b.state === 'cancelled').length;
  if (cancelled > 0) parts.push(`${cancelled} cancelled`);
  // Said only when it matters: a state that verifies is the normal case.
  if (!s.integrity.ok) parts.push(integrityLine(s.integrity));
  return parts.join('; ');
}

export function statusBody(s: RepositoryStatus, summary: string): string {
  const out = [`## Quality gates status: ${s.repository}`, '', summary, ''];
  out.push('### State integrity', '', integrityLine(s.integrity), '');
  for (const line of s.integrity.lines) out.push(`- ${line}`);
  if (s.integrity.lines.length > 0) out.push('');
  if (!s.hasState) return `${out.join('\n')}\n`;
  const l = s.lease;
  out.push('### Merge lease', '');
  if (l.state === 'free') out.push('free');
  else
    out.push(
      table(
        ['state', 'branch', 'head', 'run', 'acquired', 'age', 'expires', 'expiry', 'merge window'],
        [
          [
            l.state,
            l.branch ?? '',
            l.headSha ?? '',
            l.runId ?? '',
            l.acquiredAt ?? '',
            formatDuration(l.ageMs ?? 0),
            l.expiresAt ?? '',
            (l.expiresInMs ?? 0) > 0
              ? `in ${formatDuration(l.expiresInMs ?? 0)}`
              : `${formatDuration(l.expiresInMs ?? 0)} ago`,
            l.criticalSince ? `since ${l.criticalSince}` : '-'
          ]
        ]
      )
    );
  out.push('', '### Waiting for the lease', '');
  out.push(
    s.waiting.length === 0
      ? 'nobody'
      : table(
          ['branch', 'since', 'waiting'],
          s.waiting.map((w) => [w.branch, w.since, formatDuration(w.waitingMs)])
        )
  );
  out.push('', '### Coverage baselines', '');
  out.push(
    s.baselines.length === 0
      ? 'none'
      : table(
          ['branch', 'percent', 'sha', 'updated', 'by', 'reason'],
          s.baselines.map((b) => [
            b.branch,
            `${b.percent.toFixed(2)}%`,
            b.sha,
            b.updatedAt,
            b.updatedBy,
            b.reason
          ])
        )
  );
  out.push('', `### Recent gate runs (last ${STATUS_RUNS})`, '');
  out.push(
    s.runs.length === 0
      ? 'none'
      : table(
          ['at', 'branch', 'gate', 'sha', 'verdict', 'summary'],
          s.runs.map((r) => [r.at, r.branch, r.gate, r.sha, r.verdict, r.summary])
        )
  );
  out.push('', '### Retry counts', '');
  out.push(
    s.failures.length === 0
      ? 'none'
      : table(
          ['branch', 'gate', 'failures', 'defer streak', 'last verdict', 'last sha', 'updated'],
          s.failures.map((f) => [
            f.branch,
            f.gate,
            f.failures,
            f.deferStreak,
            f.lastVerdict ?? '-',
            f.lastSha || '-',
            f.updatedAt
          ])
        )
  );
  out.push('', '### Cancelled branches (STOP)', '');
  out.push(
    s.stopped.length === 0
      ? 'none'
      : table(
          ['branch', 'state', 'at', 'by', 'reason'],
          s.stopped.map((b) =>
            b.state === 'cancelled'
              ? [b.branch, 'cancelled', b.cancelledAt ?? '', b.cancelledBy ?? '', b.reason ?? '']
              : [
                  b.branch,
                  'STOP waiting for the merge window',
                  b.stopRequestedAt ?? '',
                  b.stopRequestedBy ?? '',
                  b.reason ?? ''
                ]
          )
        )
  );
  out.push('', '### Counters', '');
  const names = Object.keys(s.counters);
  out.push(
    names.length === 0
      ? 'none'
      : table(
          ['counter', 'value'],
          names.map((n) => [n, s.counters[n] ?? 0])
        )
  );
  return `${out.join('\n')}\n`;
}

export async function runStatus(c: StatusConfig, ctx: RunContext): Promise<ToolResult> {
  const backend = await openStateBackend(c.state, c.baseRef, ctx);
  const now = ctx.now();
  // A read never creates the state: an absent file is read as an empty schema.
  let r: Omit<RepositoryStatus, 'state' | 'repository'>;
  try {
    r = await backend.withDb('read', (db) => readStatus(db, c.repository, now));
  } catch (err) {
    // git-ref refuses a state commit quality-gates did not write: say so, show nothing from it.
    return tamperedReport(
      err,
      `Quality gates status: ${repoKey(c.repository)}`,
      (line) => ({ json: JSON.stringify({ repository: repoKey(c.repository), tampered: line }) }),
      backend.warnings ?? []
    );
  }
  const status: RepositoryStatus = {
    repository: repoKey(c.repository),
    state: backend.describe(),
    ...r
  };
  const summary = statusSummary(status, c.baseRef);
  return {
    summary,
    outputs: { json: JSON.stringify(status) },
    body: statusBody(status, summary),
    warnings: [...(backend.warnings ?? [])]
  };
}

export const status: ToolDefinition<StatusConfig> = {
  name: 'status',
  inputs: [...Object.values(STATUS_INPUTS), ...Object.values(STATE_INPUTS)],
  buildConfig: readStatusConfig,
  run: runStatus
};
