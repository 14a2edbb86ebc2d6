// The merge gate: take the repository's merge lease, catch the branch up
// with the current target branch, re-test the combined tree, and keep the
// lease on PASS (released when the branch lands, closes, or a later gate
// fails). FAIL and DEFER hold no lease afterwards. Everything here is
// fail-closed: a merge that cannot be proven safe does not go ahead.

import type { RunContext } from '../../core/src/context.ts';
import { describeError } from '../../core/src/errors.ts';
import type { GateDefinition } from '../../core/src/gate.ts';
import { markdownTable } from '../../core/src/markdown.ts';
import type { GateOutcome, Verdict } from '../../core/src/verdict.ts';
import { Git } from '../../git/src/git.ts';
import type { StateBackend } from '../../store/src/backend.ts';
import { bumpCounter, COUNTER } from '../../store/src/counters.ts';
import { recordGateRun } from '../../store/src/gate-run.ts';
import { acquireLeaseWithWait, releaseLease } from '../../store/src/lease.ts';
import { stateBackendFor } from '../../store/src/state-inputs.ts';
import { catchUp, type CatchUpResult } from './catch-up.ts';
import { classifyError, type MergeFailureClass } from './classify.ts';
import { MERGE_INPUT_NAMES, readMergeConfig, type MergeConfig } from './config.ts';
import { retest, type RetestResult } from './retest.ts';
import { redactText } from '../../security/src/secrets/redact.ts';
import type { PendingStop } from '../../store/src/branch-state.ts';
import { CANCELLED_BY_STOP, enterWindow, finishDeferredStop, leaveWindow } from './merge-window.ts';

export const MERGE_REPORT_FILE = '19-merge-report.md';

interface Decision {
  verdict: Verdict;
  failureClass: MergeFailureClass | null;
  summary: string;
  catchUp?: CatchUpResult;
  retest?: RetestResult;
  holdLease: boolean;
}

async function release(backend: StateBackend, c: MergeConfig, branch: string): Promise<void> {
  await backend.withDb(
    'write',
    (db) => releaseLease(db, { repo: c.repository, branch, runId: c.runId }, new Date()),
    {
      message: () => `merge lease released by ${branch}`
    }
  );
}

function stopped(summary: string): Decision {
  return { verdict: 'FAIL', failureClass: 'other', summary, holdLease: false };
}

async function decide(
  c: MergeConfig,
  git: Git,
  branch: string,
  ctx: RunContext
): Promise<Decision> {
  const up = await catchUp({
    git,
    remote: c.remote,
    baseRef: c.baseRef,
    branch,
    protectedBranches: c.protectedBranches,
    logger: ctx.logger
  });
  if (up.conflict) {
    return {
      verdict: 'FAIL',
      failureClass: 'conflict',
      summary: `rebase onto ${c.baseRef} conflicts in ${up.files.join(', ')}`,
      catchUp: up,
      holdLease: false
    };
  }
  if (up.noop) {
    // Proven no-op: the branch already contains the target, so the tree the
    // earlier jobs tested is exactly the tree that would land.
    return {
      verdict: 'PASS',
      failureClass: null,
      summary: `already up to date with ${c.baseRef}; re-test skipped (tested HEAD unchanged)`,
      catchUp: up,
      holdLease: true
    };
  }
  const t = await retest({
    command: c.testCommand,
    cwd: c.workspace,
    timeoutMs: c.retestTimeoutMs,
    infraRetries: c.infraRetries,
    logger: ctx.logger,
    env: ctx.env
  });
  if (t.outcome === 'pass') {
    return {
      verdict: 'PASS',
      failureClass: null,
      summary: `rebased ${up.commits} commit(s) onto ${c.baseRef} and the combined tree is green`,
      catchUp: up,
      retest: t,
      holdLease: true
    };
  }
  const cls: MergeFailureClass =
    t.outcome === 'red' ? 'red' : t.outcome === 'timeout' ? 'timeout' : 'other';
  if (cls === 'timeout')
    ctx.logger.error(
      `infrastructure alert: the re-test timed out ${t.attempts} time(s) on ${branch}; not the branch's fault`
    );
  return {
    verdict: 'FAIL',
    failureClass: cls,
    summary: `re-test after catching up with ${c.baseRef}: ${await redactText(t.reason, ctx.env)}`,
    catchUp: up,
    retest: t,
    holdLease: false
  };
}

export async function evaluateMerge(c: MergeConfig, ctx: RunContext): Promise<GateOutcome> {
  const started = Date.now();
  const git = new Git(c.workspace, { protectedBranches: c.protectedBranches });
  const head = (await git.resolveCommit('HEAD')) ?? '';
  const current = await git.exec(['symbolic-ref', '--quiet', '--short', 'HEAD']);
  const branch = c.branch || (current.exitCode === 0 ? current.stdout.trim() : '');
  const backend = stateBackendFor(c.state, c.baseRef, ctx);
  const lease = await acquireLeaseWithWait(
    backend,
    {
      repo: c.repository,
      branch: branch || 'HEAD',
      headSha: head,
      runId: c.runId,
      ttlMs: c.leaseTtlMs
    },
    { waitMs: c.leaseWaitMs }
  );
  const holder = `${lease.holder.branch}@${lease.holder.headSha.slice(0, 12)} (run ${lease.holder.runId})`;
  let d: Decision;
  if (!lease.acquired) {
    d = {
      verdict: 'DEFER',
      failureClass: 'lock-busy',
      summary: `merge lock busy, held by ${lease.holder.branch} since ${lease.holder.acquiredAt}`,
      holdLease: false
    };
  } else {
    if (lease.outcome === 'reclaimed')
      ctx.logger.warning(`merge lease reclaimed from a stale holder (past its TTL)`);
    // The critical window (rebase, re-test, push): STOP waits for it to end.
    const holder = { branch: branch || 'HEAD', leaseId: lease.leaseId };
    let stop: PendingStop | undefined;
    try {
      const entry = await enterWindow(backend, c.repository, holder, new Date());
      d =
        entry === 'entered'
          ? await decide(c, git, branch, ctx)
          : stopped(entry === 'cancelled' ? CANCELLED_BY_STOP : 'merge lease lost before rebasing');
    } catch (err) {
      d = {
        verdict: 'FAIL',
        failureClass: classifyError(err),
        summary: describeError(err),
        holdLease: false
      };
    } finally {
      stop = await leaveWindow(backend, c.repository, holder, new Date());
    }
    if (stop) {
      d = { ...d, ...stopped(CANCELLED_BY_STOP) };
      await finishDeferredStop(git, c.remote, holder.branch, stop, ctx.logger);
    }
    if (!d.holdLease) await release(backend, c, branch || 'HEAD');
  }
  const now = new Date();
  const newHead = d.catchUp && !d.catchUp.conflict ? d.catchUp.newHead : head;
  await backend.withDb('write', (db) => {
    const repo = c.repository;
    if (d.verdict === 'PASS') bumpCounter(db, repo, COUNTER.pass);
    else if (d.verdict === 'DEFER') bumpCounter(db, repo, COUNTER.defer);
    else bumpCounter(db, repo, COUNTER.fail(d.failureClass ?? 'other'));
    if (d.retest && d.retest.attempts > 1)
      bumpCounter(db, repo, COUNTER.infraRetry, d.retest.attempts - 1);
    recordGateRun(
      db,
      {
        repo,
        branch: branch || 'HEAD',
        gate: 'merge',
        sha: newHead,
        verdict: d.verdict,
        summary: d.summary
      },
      now
    );
  });
  const fields = {
    head_sha: newHead,
    failure_class: d.failureClass,
    rebased: d.catchUp ? d.catchUp.rebased : false,
    retest_skipped: d.retest === undefined && d.verdict === 'PASS',
    old_head: head,
    new_head: newHead,
    base_sha: d.catchUp?.baseSha ?? null,
    lease_holder: d.holdLease
      ? `${branch}@${newHead.slice(0, 12)} (run ${c.runId})`
      : lease.acquired
        ? null
        : holder,
    attempts: d.retest?.attempts ?? 0,
    duration_s: Math.round((Date.now() - started) / 100) / 10
  };
  // Test output is the user's, and may echo a token: mask before publishing it.
  const tail =
    d.retest && d.verdict === 'FAIL' ? await redactText(d.retest.tail.slice(-4000), ctx.env) : '';
  const body = [
    `## Merge gate: ${d.verdict}`,
    '',
    d.summary,
    '',
    markdownTable(
      [
        'Branch',
        'Old head',
        'New head',
        'Rebased',
        'Re-test',
        'Attempts',
        'Failure class',
        'Lease'
      ],
      [
        [
          branch,
          head.slice(0, 12),
          newHead.slice(0, 12),
          fields.rebased ? 'yes' : 'no',
          d.retest ? d.retest.outcome : fields.retest_skipped ? 'skipped (no-op)' : '-',
          fields.attempts,
          d.failureClass ?? '-',
          d.holdLease ? 'held until the branch lands or a later gate fails' : 'not held'
        ]
      ]
    ),
    '',
    ...(d.catchUp?.conflict
      ? ['### Conflicting files', '', ...d.catchUp.files.map((f) => `- ${f}`), '']
      : []),
    ...(tail ? ['### Last test output', '', '```', tail, '```', ''] : [])
  ].join('\n');
  return { verdict: d.verdict, summary: d.summary, fields, body, warnings: [] };
}

export const mergeGate: GateDefinition<MergeConfig> = {
  gate: 'merge',
  reportFile: MERGE_REPORT_FILE,
  statusKey: 'merge_status',
  inputs: MERGE_INPUT_NAMES,
  // Nothing about a merge is fail-open: if it cannot be shown safe, it waits.
  policy: () => ({ byKind: {}, default: 'fail-closed' }),
  buildConfig: readMergeConfig,
  evaluate: evaluateMerge,
  errorFields: () => ({
    failure_class: 'other',
    rebased: false,
    retest_skipped: false,
    lease_holder: null,
    attempts: 0
  }),
  headSha: (o) =>
    typeof o.fields.head_sha === 'string' && o.fields.head_sha !== ''
      ? o.fields.head_sha
      : undefined
};
