// The merge queue's wake-up. A branch that finds the lease busy stays on the
// waiting list (store) and its run ends with DEFER; whoever frees the lease
// (the landing, a failed gate, the lease-release action, STOP) then starts
// the edge again for the longest-waiting live branch by dispatching the
// caller workflow (workflow_dispatch with inputs `branch` and `pr-number`),
// first come first served. A branch whose pull request is closed, that
// STOP cancelled or whose branch is gone leaves the queue and the next one
// is woken. A dispatch that fails stays on record (status shows it) and is
// tried again by the next release; the branches behind it are tried in the
// meantime (a few per release), so one branch whose workflow cannot be
// dispatched does not hold the line. A branch woken a moment ago is not
// woken twice: its run is on its way.
//
// The dispatch runs on the waiting branch's own ref, not the target's: the
// run's job statuses then land on the branch's head (where the pull
// request shows them, never on main's tip), and Gitea before 1.25, which
// cancels the running workflow_dispatch runs of the same workflow and ref
// on every dispatch, cancels only that branch's older wake-up, not the
// run that is waking it. The run reads the caller workflow of that branch,
// as its pull_request runs do.
//
// Gitea starts no run for events caused by the Actions job token, so the
// wake-up needs a real user's token (QG_TOKEN); GitHub lets the job token
// dispatch (with `actions: write`).

import type { RunContext } from '../../core/src/context.ts';
import { ConfigurationError, describeError } from '../../core/src/errors.ts';
import { readString, type InputSource } from '../../core/src/inputs.ts';
import { ForgeClient } from '../../forge/src/client.ts';
import { ForgeError } from '../../forge/src/forge-error.ts';
import type { FetchLike } from '../../forge/src/fetch-like.ts';
import { dispatchWorkflow, getPullRequest } from '../../forge/src/pulls.ts';
import type { StateBackend } from '../../store/src/backend.ts';
import { isCancelled } from '../../store/src/branch-state.ts';
import { bumpCounter } from '../../store/src/counters.ts';
import {
  claimWake,
  clearWaiting,
  failClaimedWake,
  liveLease,
  noteWake,
  waitingBranches,
  type Waiting
} from '../../store/src/lease.ts';

export const WAKE_INPUTS = { wakeWorkflow: 'wake-workflow' } as const;

/** Counter names of the queue. */
export const QUEUE_COUNTER = {
  wake: 'wake',
  wakeFailed: 'wake-failed',
  wakeSkipped: 'wake-skipped'
} as const;

export interface WakeConfig {
  /** File name of the workflow to dispatch (the caller of the edge); '' = no wake-ups. */
  workflow: string;
  /** Store key of the repository. */
  repository: string;
  /** owner/name on the forge ('' off a forge). */
  forgeRepo: string;
  apiUrl: string;
  token: string;
  /** A branch woken less than this long ago (without error) is not woken again. Default 10 min. */
  graceMs?: number;
}

export function readWakeConfig(
  src: InputSource,
  ctx: RunContext,
  s: { repository: string; token: string }
): WakeConfig {
  const raw = readString(src, WAKE_INPUTS.wakeWorkflow, 'quality-gates.yml');
  const workflow = ['off', 'false', 'none'].includes(raw.toLowerCase()) ? '' : raw;
  if (workflow !== '' && !/^[A-Za-z0-9._-]+\.ya?ml$/.test(workflow))
    throw new ConfigurationError(
      WAKE_INPUTS.wakeWorkflow,
      "the file name of the workflow that calls the edge (e.g. quality-gates.yml, declaring workflow_dispatch inputs branch and pr-number), or 'off'",
      raw
    );
  return {
    workflow,
    repository: s.repository,
    forgeRepo: ctx.repository,
    apiUrl: (ctx.env.GITHUB_API_URL ?? '').trim().replace(/\/+$/, ''),
    token: s.token
  };
}

export interface WakeResult {
  /** The branch a run was dispatched for. */
  woke?: Waiting;
  /** Branches taken off the queue on the way (closed PR, STOP). */
  skipped: { branch: string; why: string }[];
  /** One line for the log and the report. */
  line: string;
  /** The dispatch failed (kept on record, retried by the next release). */
  error?: string;
}

/** Failed dispatches one wake-up tries before it leaves the rest to the next release. */
const MAX_FAILED_DISPATCHES = 3;

/** The dispatch failed because the ref is not there (Gitea 404 `ref "x" doesn't exist`, GitHub 422 `No ref found for: x`). */
function branchGone(err: unknown): boolean {
  if (!(err instanceof ForgeError) || (err.status !== 404 && err.status !== 422)) return false;
  return /^ref\b.*\b(doesn't|does not) exist|^no ref found/i.test(err.said);
}

export interface WakeDeps {
  fetch?: FetchLike;
  backoffMs?: number;
}

/** Wakes the longest-waiting live branch if the lease is free. Never throws. */
export async function wakeNext(
  backend: StateBackend,
  cfg: WakeConfig,
  ctx: Pick<RunContext, 'logger' | 'now'>,
  deps: WakeDeps = {}
): Promise<WakeResult> {
  const skipped: WakeResult['skipped'] = [];
  const done = (line: string, extra: Partial<WakeResult> = {}): WakeResult => {
    ctx.logger.info(`merge queue: ${line}`);
    return { skipped, line, ...extra };
  };
  try {
    if (cfg.workflow === '') return done('wake-ups are off (wake-workflow: off)');
    const view = await backend.withDb('read', (db) => ({
      holder: liveLease(db, cfg.repository),
      waiting: waitingBranches(db, cfg.repository).map((w) => ({
        w,
        cancelled: isCancelled(db, cfg.repository, w.branch)
      }))
    }));
    // A lease past its TTL holds nobody back: the woken run reclaims it.
    if (view.holder && Date.parse(view.holder.expiresAt) > ctx.now().getTime())
      return done(
        `the lease is held by ${view.holder.branch}: the queue moves when it is released`
      );
    if (view.waiting.length === 0) return done('nobody is waiting for the lease');
    const [owner, name] = cfg.forgeRepo.split('/');
    const missing =
      cfg.token === ''
        ? "input 'token' is empty"
        : cfg.apiUrl === ''
          ? 'GITHUB_API_URL is not set'
          : !owner || !name
            ? 'GITHUB_REPOSITORY is not set'
            : undefined;
    const client = missing
      ? undefined
      : new ForgeClient({
          apiUrl: cfg.apiUrl,
          token: cfg.token,
          logger: ctx.logger,
          ...(deps.fetch ? { fetch: deps.fetch } : {}),
          ...(deps.backoffMs !== undefined ? { backoffMs: deps.backoffMs } : {})
        });
    const repo = { owner: owner ?? '', repo: name ?? '' };
    const grace = cfg.graceMs ?? 10 * 60_000;
    const failures: string[] = [];
    for (const { w, cancelled } of view.waiting) {
      let why: string | undefined = cancelled ? 'cancelled by STOP' : undefined;
      if (!why && client && w.prNumber !== null) {
        try {
          const pr = await getPullRequest(client, repo, w.prNumber);
          if (pr.state === 'closed')
            why = `pull request #${w.prNumber} is ${pr.merged ? 'merged' : 'closed'}`;
        } catch (err) {
          // Unknown state: wake it; its run will find out.
          ctx.logger.warning(
            `merge queue: state of pull request #${w.prNumber} unknown (${describeError(err)})`
          );
        }
      }
      if (why) {
        const reason = why;
        await backend.withDb(
          'write',
          (db) => {
            clearWaiting(db, cfg.repository, w.branch);
            bumpCounter(db, cfg.repository, QUEUE_COUNTER.wakeSkipped);
          },
          { message: () => `merge queue: ${w.branch} left the queue (${reason})` }
        );
        skipped.push({ branch: w.branch, why });
        continue;
      }
      const now = ctx.now();
      if (w.wokenAt && w.wakeError === null && now.getTime() - Date.parse(w.wokenAt) < grace)
        return done(`${w.branch} was woken at ${w.wokenAt}; its run is on its way`);
      if (!client) {
        const error = `cannot wake ${w.branch}: ${missing}`;
        await backend.withDb('write', (db) => {
          noteWake(db, cfg.repository, w.branch, now, error);
          bumpCounter(db, cfg.repository, QUEUE_COUNTER.wakeFailed);
        });
        return done(error, { error });
      }
      // Claimed before it is sent, in one write that also counts it: a
      // waker that read the queue at the same moment, or one whose record
      // of a sent dispatch was lost, finds the claim and sends nothing.
      const claimed = await backend.withDb(
        'write',
        (db) => {
          const ok = claimWake(db, cfg.repository, w.branch, now, grace);
          if (ok) bumpCounter(db, cfg.repository, QUEUE_COUNTER.wake);
          return ok;
        },
        { message: (ok) => `merge queue: ${ok ? 'waking' : 'already woken:'} ${w.branch}` }
      );
      if (!claimed) return done(`${w.branch} was woken a moment ago; its run is on its way`);
      const inputs = {
        branch: w.branch,
        'pr-number': w.prNumber === null ? '' : String(w.prNumber)
      };
      try {
        await dispatchWorkflow(client, repo, cfg.workflow, w.branch, inputs);
      } catch (err) {
        const said = describeError(err);
        if (branchGone(err)) {
          const why = `its branch is gone (${said})`;
          await backend.withDb(
            'write',
            (db) => {
              clearWaiting(db, cfg.repository, w.branch);
              bumpCounter(db, cfg.repository, QUEUE_COUNTER.wake, -1);
              bumpCounter(db, cfg.repository, QUEUE_COUNTER.wakeSkipped);
            },
            { message: () => `merge queue: ${w.branch} left the queue (branch gone)` }
          );
          skipped.push({ branch: w.branch, why });
          continue;
        }
        const error = `dispatch of ${cfg.workflow} on ${w.branch} failed: ${said}`;
        await backend.withDb(
          'write',
          (db) => {
            // The claim counted it sent; it was not. (A dispatch that timed
            // out may still have started a run: the woken run that finds its
            // branch landed ends SKIPPED, never FAIL.)
            failClaimedWake(db, cfg.repository, w.branch, error);
            bumpCounter(db, cfg.repository, QUEUE_COUNTER.wake, -1);
            bumpCounter(db, cfg.repository, QUEUE_COUNTER.wakeFailed);
          },
          { message: () => `merge queue: wake-up of ${w.branch} failed` }
        );
        failures.push(error);
        if (failures.length >= MAX_FAILED_DISPATCHES) break;
        continue;
      }
      const pr = w.prNumber === null ? '' : ` (PR #${w.prNumber})`;
      const before = failures.length ? ` (before it: ${failures.join('; ')})` : '';
      return done(
        `woke ${w.branch}${pr}, waiting since ${w.since}: ${cfg.workflow} dispatched on its branch${before}`,
        { woke: w, ...(failures.length ? { error: failures.join('; ') } : {}) }
      );
    }
    if (failures.length > 0) {
      const error = failures.join('; ');
      return done(`${error}; the next release tries again`, { error });
    }
    return done(`nobody left waiting (${skipped.map((s) => `${s.branch}: ${s.why}`).join('; ')})`);
  } catch (err) {
    const error = `merge queue: wake-up not sent: ${describeError(err)}`;
    ctx.logger.warning(error);
    return { skipped, line: error, error };
  }
}
