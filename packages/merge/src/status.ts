// `quality-gates status`: a read-only view of the state of one repository:
// the merge queue (who holds the merge lease and in which phase: inside its
// merge window, gated and waiting to land, or stale; then the branches
// waiting for it in order, with the wake-ups sent to them), the coverage
// baselines of every branch, the last gate runs, the counters (landings,
// auto-land refusals by reason, wake-ups, waits, passes, fails by class,
// stale reclaims), the retry counts per branch and gate, the branches STOP
// cancelled, and whether the state verifies against its chain
// (packages/store/src/state-chain.ts): a status shows what the tables hold
// next to that line, never refuses to show it. The whole status object
// (RepositoryStatus) is also an output (`json`) for machine readers; the
// CLI prints the tables, or that object with --json (packages/cli/src/
// status-output.ts).

import type { Database } from 'better-sqlite3';
import type { RunContext } from '../../core/src/context.ts';
import { readString, type InputSource } from '../../core/src/inputs.ts';
import { markdownTable } from '../../core/src/markdown.ts';
import type { ToolDefinition, ToolResult } from '../../core/src/tool.ts';
import { oneLine } from '../../core/src/verdict.ts';
import { repositoryKey } from '../../coverage/src/config.ts';
import { repositoryBaselines, type Baseline } from '../../store/src/baseline.ts';
import { COUNTER, counters } from '../../store/src/counters.ts';
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
  /** The pull request the holder gates, when known. */
  prNumber?: number | null;
  acquiredAt?: string;
  expiresAt?: string;
  /** Milliseconds since the lease was acquired. */
  ageMs?: number;
  /** Milliseconds until expiry (negative once stale). */
  expiresInMs?: number;
  /** Set while the holder rebases, re-tests and pushes (STOP waits for it). */
  criticalSince?: string;
}

/**
 * What the lease holder is doing: `merge-window` inside its merge window
 * (rebase, re-test, push), `gated` holding the lease after PASS until its
 * pull request lands, `stale` past its TTL (the next acquire reclaims it).
 */
export type HolderPhase = 'merge-window' | 'gated' | 'stale';

/** The lease holder as the merge queue sees it (the head of the queue). */
export interface HolderStatus {
  branch: string;
  prNumber: number | null;
  headSha: string;
  runId: string;
  /** When it took the lease. */
  since: string;
  heldMs: number;
  expiresAt: string;
  /** Milliseconds until expiry (negative once stale). */
  expiresInMs: number;
  phase: HolderPhase;
  /** When it entered its merge window; null outside it. */
  windowSince: string | null;
}

/** A branch waiting for the lease, in queue order. */
export interface WaitingStatus {
  /** 1 gets the lease next, then 2, ... */
  place: number;
  branch: string;
  prNumber: number | null;
  /** When it first found the lease busy (its place in the queue). */
  since: string;
  waitingMs: number;
  /** The last wake-up sent or attempted for it; null: never. */
  wokenAt: string | null;
  wakeAttempts: number;
  /** Why the last wake-up failed; null when it was sent (or none was). */
  wakeError: string | null;
}

/** One place of the queue: the holder at place 0, then the waiting branches from 1. */
export interface QueuePlace {
  place: number;
  branch: string;
  prNumber: number | null;
  role: 'holder' | 'waiting';
}

/** Auto-land refusal reasons the merge queue counts as `land-refused:<reason>`. */
export const LAND_REFUSAL_REASONS = [
  'head-moved',
  'conflict',
  'not-allowed',
  'permission',
  'base-moved',
  'other'
] as const;

/** The store's counters of the repository, grouped. */
export interface CounterStatus {
  /** Pull requests the queue landed (`landed`). */
  landed: number;
  /** Auto-land refusals (`land-refused:<reason>`): every known reason (0 when never counted), and any other seen. */
  landRefused: { total: number; byReason: Record<string, number> };
  /** Wake-ups of waiting branches: sent (`wake`), failed (`wake-failed`), skipped (`wake-skipped`). */
  wake: { sent: number; failed: number; skipped: number };
  /** Waits for a busy lease (`defer`). */
  defer: number;
  pass: number;
  /** FAILs by class (`fail:<class>`). */
  fail: { total: number; byClass: Record<string, number> };
  staleReclaim: number;
  infraRetry: number;
  /** Every counter by its name in the store. */
  all: Record<string, number>;
}

export interface RepositoryStatus {
  repository: string;
  state: string;
  at: string;
  /** False when the store holds nothing at all for the repository. */
  hasState: boolean;
  /** The lease holder with its phase; null when the lease is free. */
  holder: HolderStatus | null;
  /** The queue in order: the holder (place 0), then the waiting branches. */
  queue: QueuePlace[];
  /** Branches waiting for the lease, longest-waiting (place 1) first. */
  waiting: WaitingStatus[];
  /** The lease row as the table holds it. */
  lease: LeaseStatus;
  counters: CounterStatus;
  baselines: Baseline[];
  runs: GateRun[];
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

// The merge queue's counter names (written by the queue, read here).
const LANDED = 'landed';
const LAND_REFUSED = 'land-refused:';
const WAKE = 'wake';
const WAKE_FAILED = 'wake-failed';
const WAKE_SKIPPED = 'wake-skipped';
const FAIL = COUNTER.fail('');

/** Groups the store's counters (`all`: every one by its name). */
export function groupCounters(all: Record<string, number>): CounterStatus {
  const n = (name: string): number => all[name] ?? 0;
  const byReason: Record<string, number> = {};
  for (const reason of LAND_REFUSAL_REASONS) byReason[reason] = 0;
  const byClass: Record<string, number> = {};
  for (const [name, value] of Object.entries(all)) {
    if (name.startsWith(LAND_REFUSED)) byReason[name.slice(LAND_REFUSED.length)] = value;
    else if (name.startsWith(FAIL)) byClass[name.slice(FAIL.length)] = value;
  }
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return {
    landed: n(LANDED),
    landRefused: { total: sum(byReason), byReason },
    wake: { sent: n(WAKE), failed: n(WAKE_FAILED), skipped: n(WAKE_SKIPPED) },
    defer: n(COUNTER.defer),
    pass: n(COUNTER.pass),
    fail: { total: sum(byClass), byClass },
    staleReclaim: n(COUNTER.staleReclaim),
    infraRetry: n(COUNTER.infraRetry),
    all: { ...all }
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
  const stale = l !== undefined && leaseExpired(l, now);
  const criticalSince = l && !stale ? liveCriticalSince(db, repo) : undefined;
  const lease: LeaseStatus = l
    ? {
        state: stale ? 'stale' : 'held',
        branch: l.branch,
        headSha: l.headSha,
        runId: l.runId,
        prNumber: l.prNumber,
        acquiredAt: l.acquiredAt,
        expiresAt: l.expiresAt,
        ageMs: t - Date.parse(l.acquiredAt),
        expiresInMs: Date.parse(l.expiresAt) - t,
        criticalSince
      }
    : { state: 'free' };
  const holder: HolderStatus | null = l
    ? {
        branch: l.branch,
        prNumber: l.prNumber,
        headSha: l.headSha,
        runId: l.runId,
        since: l.acquiredAt,
        heldMs: t - Date.parse(l.acquiredAt),
        expiresAt: l.expiresAt,
        expiresInMs: Date.parse(l.expiresAt) - t,
        phase: stale ? 'stale' : criticalSince ? 'merge-window' : 'gated',
        windowSince: criticalSince ?? null
      }
    : null;
  const waiting: WaitingStatus[] = waitingBranches(db, repo).map((w, i) => ({
    place: i + 1,
    branch: w.branch,
    prNumber: w.prNumber ?? null,
    since: w.since,
    waitingMs: t - Date.parse(w.since),
    wokenAt: w.wokenAt ?? null,
    wakeAttempts: w.wakeAttempts ?? 0,
    wakeError: w.wakeError ?? null
  }));
  const queue: QueuePlace[] = [
    ...(holder
      ? [{ place: 0, branch: holder.branch, prNumber: holder.prNumber, role: 'holder' as const }]
      : []),
    ...waiting.map((w) => ({
      place: w.place,
      branch: w.branch,
      prNumber: w.prNumber,
      role: 'waiting' as const
    }))
  ];
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
    holder,
    queue,
    waiting,
    lease,
    counters: groupCounters(counts),
    baselines,
    runs,
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

/** How a person reads a holder's phase. */
export const PHASE_TEXT: Record<HolderPhase, string> = {
  'merge-window': 'in merge window (rebase, re-test, push)',
  gated: 'gated, waiting to land',
  stale: 'stale (past its TTL)'
};

/** The longest last wake error the queue table shows (on one line). */
const WAKE_ERROR_CHARS = 160;

const pr = (n: number | null): string => (n === null ? '-' : `#${n}`);

/** The holder table's head (columns) and its one row. */
export function holderRow(h: HolderStatus): { head: string[]; row: string[] } {
  return {
    head: [
      'branch',
      'PR',
      'head',
      'run',
      'since',
      'held for',
      'expires in',
      'phase',
      'window since'
    ],
    row: [
      h.branch,
      pr(h.prNumber),
      h.headSha.slice(0, 12),
      h.runId,
      h.since,
      formatDuration(h.heldMs),
      h.expiresInMs > 0
        ? formatDuration(h.expiresInMs)
        : `expired ${formatDuration(h.expiresInMs)} ago`,
      PHASE_TEXT[h.phase],
      h.windowSince ?? '-'
    ]
  };
}

/** The queue table's head and rows, place 1 first. */
export function queueRows(waiting: readonly WaitingStatus[]): {
  head: string[];
  rows: string[][];
} {
  return {
    head: [
      'place',
      'branch',
      'PR',
      'waiting since',
      'waited',
      'last wake-up',
      'wake attempts',
      'last wake error'
    ],
    rows: waiting.map((w) => [
      String(w.place),
      w.branch,
      pr(w.prNumber),
      w.since,
      formatDuration(w.waitingMs),
      w.wokenAt ?? 'never',
      String(w.wakeAttempts),
      w.wakeError === null || w.wakeError.trim() === ''
        ? '-'
        : oneLine(w.wakeError, WAKE_ERROR_CHARS)
    ])
  };
}

/** The counters table's rows: what a person asks first, then any other counter by its name. */
export function counterRows(c: CounterStatus): string[][] {
  const rows: (string | number)[][] = [['landings', c.landed]];
  rows.push(['auto-land refusals', c.landRefused.total]);
  for (const [reason, n] of Object.entries(c.landRefused.byReason))
    if (n !== 0) rows.push([`auto-land refused: ${reason}`, n]);
  rows.push(
    ['wake-ups sent', c.wake.sent],
    ['wake-ups failed', c.wake.failed],
    ['wake-ups skipped', c.wake.skipped],
    ['waits (defer)', c.defer],
    ['passes', c.pass],
    ['fails', c.fail.total]
  );
  for (const [cls, n] of Object.entries(c.fail.byClass)) rows.push([`fails: ${cls}`, n]);
  rows.push(['stale reclaims', c.staleReclaim], ['infra retries', c.infraRetry]);
  const known = new Set([
    LANDED,
    WAKE,
    WAKE_FAILED,
    WAKE_SKIPPED,
    COUNTER.defer,
    COUNTER.pass,
    COUNTER.staleReclaim,
    COUNTER.infraRetry
  ]);
  for (const [name, n] of Object.entries(c.all))
    if (!known.has(name) && !name.startsWith(LAND_REFUSED) && !name.startsWith(FAIL))
      rows.push([name, n]);
  return rows.map((r) => r.map(String));
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
  out.push('### Merge lease holder', '');
  if (s.holder === null) out.push('free');
  else {
    const h = holderRow(s.holder);
    out.push(markdownTable(h.head, [h.row]));
  }
  out.push('', '### Merge queue (waiting for the lease)', '');
  if (s.waiting.length === 0) out.push('nobody');
  else {
    const q = queueRows(s.waiting);
    out.push(markdownTable(q.head, q.rows));
  }
  out.push('', '### Coverage baselines', '');
  out.push(
    s.baselines.length === 0
      ? 'none'
      : markdownTable(
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
      : markdownTable(
          ['at', 'branch', 'gate', 'sha', 'verdict', 'summary'],
          s.runs.map((r) => [r.at, r.branch, r.gate, r.sha, r.verdict, r.summary])
        )
  );
  out.push('', '### Retry counts', '');
  out.push(
    s.failures.length === 0
      ? 'none'
      : markdownTable(
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
      : markdownTable(
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
  out.push(markdownTable(['counter', 'value'], counterRows(s.counters)));
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
