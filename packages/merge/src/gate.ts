// The merge gate: take the repository's merge lease, catch the branch up
// with the current target branch, re-test the combined tree, and keep the
// lease on PASS (released when the branch lands, closes, or a later gate
// fails). FAIL and DEFER hold no lease afterwards. Everything here is
// fail-closed: a merge that cannot be proven safe does not go ahead.
//
// Two proofs stand behind a PASS. The tree: a re-test is skipped only when
// the store holds a green run of this very test command on this very tree
// (every green re-test is recorded so the proof exists next time); nothing
// assumes an earlier job tested anything. The lease: the gate confirms it
// still holds the lease with its fencing token when it decides, so a lease
// released or reclaimed behind its back is FAIL lease-lost, never two PASSes.

import type { RunContext } from '../../core/src/context.ts';
import { describeError } from '../../core/src/errors.ts';
import type { GateDefinition } from '../../core/src/gate.ts';
import { markdownTable } from '../../core/src/markdown.ts';
import type { GateOutcome, Verdict } from '../../core/src/verdict.ts';
import { Git } from '../../git/src/git.ts';
import { gateCredential } from '../../git/src/credentials.ts';
import { guardGitConfig } from '../../git/src/config-guard.ts';
import type { StateBackend } from '../../store/src/backend.ts';
import { bumpCounter, COUNTER } from '../../store/src/counters.ts';
import { recordGateRun } from '../../store/src/gate-run.ts';
import {
  acquireLeaseWithWait,
  confirmLease,
  releaseLease,
  waitingBranches
} from '../../store/src/lease.ts';
import { wakeNext, type WakeResult } from './wake.ts';
import { findGreenTest, recordGreenTest, type GreenTest } from '../../store/src/green-test.ts';
import { stateBackendFor } from '../../store/src/state-inputs.ts';
import { isTampered } from '../../store/src/errors.ts';
import { catchUp, type CatchUpResult } from './catch-up.ts';
import { CatchUpError } from './errors.ts';
import { classifyError, type MergeFailureClass } from './classify.ts';
import { MERGE_INPUT_NAMES, readMergeConfig, type MergeConfig } from './config.ts';
import { retest, type RetestResult } from './retest.ts';
import { redactText } from '../../security/src/secrets/redact.ts';
import { CANCELLED_BY_STOP, enterWindow, finishDeferredStop, leaveWindow } from './merge-window.ts';

export const MERGE_REPORT_FILE = '19-merge-report.md';

interface Decision {
  verdict: Verdict;
  failureClass: MergeFailureClass | null;
  summary: string;
  catchUp?: CatchUpResult;
  retest?: RetestResult;
  /** The recorded green run that let a no-op skip the re-test. */
  proof?: GreenTest;
  holdLease: boolean;
}

async function treeOf(git: Git, commit: string): Promise<string> {
  return (await git.run(['rev-parse', '--verify', '--end-of-options', `${commit}^{tree}`])).trim();
}

async function release(
  backend: StateBackend,
  c: MergeConfig,
  branch: string,
  leaseId: string | undefined
): Promise<void> {
  await backend.withDb(
    'write',
    (db) => releaseLease(db, { repo: c.repository, branch, runId: c.runId, leaseId }, new Date()),
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
  ctx: RunContext,
  backend: StateBackend,
  notes: string[]
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
    // The branch already contains the target, so its tree is the tree that
    // would land. Skip the re-test only when this store has seen this test
    // command green on this tree; an earlier job running tests is not proof.
    const tree = await treeOf(git, up.newHead);
    const proof = await backend.withDb('read', (db) =>
      findGreenTest(db, c.repository, tree, c.testCommand)
    );
    if (proof) {
      return {
        verdict: 'PASS',
        failureClass: null,
        summary: `already up to date with ${c.baseRef}; re-test skipped: this test command was green on tree ${tree.slice(0, 12)} (${proof.sha.slice(0, 12)}, ${proof.at})`,
        catchUp: up,
        proof,
        holdLease: true
      };
    }
    ctx.logger.info(
      `merge: '${branch}' already contains ${c.baseRef}, but no green run of the test command on tree ${tree.slice(0, 12)} is recorded; re-testing`
    );
  }
  // The test command is the branch's code: whatever it plants in .git
  // (hooks, fsmonitor, insteadOf, a credential helper) is put back before
  // the gate's own git runs again.
  const guard = await guardGitConfig(c.workspace);
  let t: RetestResult;
  try {
    t = await retest({
      command: c.testCommand,
      cwd: c.workspace,
      timeoutMs: c.retestTimeoutMs,
      infraRetries: c.infraRetries,
      logger: ctx.logger,
      env: ctx.env,
      passEnv: c.user.passEnv,
      isolation: c.user.isolation
    });
  } finally {
    const restored = await guard.restore();
    if (restored.changed) {
      const w = `the test command changed the workspace's git configuration (${restored.changes.join(', ')}); restored before the gate's own git ran again`;
      ctx.logger.warning(w);
      notes.push(w);
    }
  }
  for (const w of t.warnings) ctx.logger.warning(w);
  if (t.outcome === 'pass') {
    return {
      verdict: 'PASS',
      failureClass: null,
      summary: up.noop
        ? `already up to date with ${c.baseRef}; the tree is green`
        : `rebased ${up.commits} commit(s) onto ${c.baseRef} and the combined tree is green`,
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
  // Before anything of the branch runs: the checkout's persisted credential
  // leaves the workspace, and only the gate's own git processes get one.
  const cred = await gateCredential({ workspace: c.workspace, token: c.state.token, env: ctx.env });
  ctx.logger.info(`merge: ${cred.describe()}`);
  const notes: string[] = [...cred.warnings];
  const git = new Git(c.workspace, {
    protectedBranches: c.protectedBranches,
    credential: cred,
    env: ctx.env
  });
  const head = (await git.resolveCommit('HEAD')) ?? '';
  const current = await git.exec(['symbolic-ref', '--quiet', '--short', 'HEAD']);
  const branch = c.branch || (current.exitCode === 0 ? current.stdout.trim() : '');
  const backend = stateBackendFor(c.state, c.baseRef, ctx, cred);
  const lease = await acquireLeaseWithWait(
    backend,
    {
      repo: c.repository,
      branch: branch || 'HEAD',
      headSha: head,
      runId: c.runId,
      ttlMs: c.leaseTtlMs,
      ...(ctx.event.prNumber !== undefined ? { prNumber: ctx.event.prNumber } : {}),
      ...(ctx.event.headRepo ? { headRepo: ctx.event.headRepo } : {})
    },
    {
      // The critical window (rebase, re-test, push) is entered in the write that takes the lease.
      whenAcquired: (db, r, at) =>
        enterWindow(db, c.repository, { branch: branch || 'HEAD', leaseId: r.leaseId }, at),
      waitMs: c.leaseWaitMs,
      // DEFER keeps the branch's place: the release wakes it (wake.ts).
      queue: {
        ...(ctx.event.prNumber !== undefined ? { prNumber: ctx.event.prNumber } : {}),
        woken: ctx.event.name === 'workflow_dispatch'
      }
    }
  );
  const holder = `${lease.holder.branch}@${lease.holder.headSha.slice(0, 12)} (run ${lease.holder.runId})`;
  // The runner time spent polling a busy lease (bounded by lease-wait-seconds).
  const waited = Math.round(lease.sleptMs / 100) / 10;
  const took = Math.round(lease.waitedMs / 100) / 10;
  if (lease.attempts > 1 || !lease.acquired)
    ctx.logger.info(
      `merge lease ${lease.acquired ? 'taken' : 'still busy'} after ${waited} s of polling ` +
        `(${lease.attempts} attempts, ${took} s with the state writes)${lease.acquired ? '' : ': DEFER'}`
    );
  let d: Decision;
  let wake: WakeResult | undefined;
  if (!lease.acquired) {
    const queue = await backend.withDb('read', (db) => waitingBranches(db, c.repository));
    const place = queue.findIndex((w) => w.branch === (branch || 'HEAD')) + 1;
    const then =
      c.wake.workflow === ''
        ? 'run the edge again when the lock is free (wake-ups are off)'
        : `the edge runs again for it when the lock is free (${c.wake.workflow} dispatched)`;
    d = {
      verdict: 'DEFER',
      failureClass: 'lock-busy',
      summary:
        `merge lock busy, held by ${lease.holder.branch} since ${lease.holder.acquiredAt}` +
        (place > 0 ? `; queued ${place} of ${queue.length}: ${then}` : ''),
      holdLease: false
    };
  } else {
    if (lease.outcome === 'reclaimed')
      ctx.logger.warning(`merge lease reclaimed from a stale holder (past its TTL)`);
    // The critical window (rebase, re-test, push): STOP waits for it to end.
    const holder = { branch: branch || 'HEAD', leaseId: lease.leaseId };
    const entry = lease.acquiredWith ?? 'lost';
    try {
      d =
        entry === 'entered'
          ? await decide(c, git, branch, ctx, backend, notes)
          : entry === 'cancelled'
            ? stopped(CANCELLED_BY_STOP)
            : { ...stopped('merge lease lost before rebasing'), failureClass: 'lease-lost' };
    } catch (err) {
      d =
        err instanceof CatchUpError &&
        err.reason === 'already-merged' &&
        ctx.event.name === 'workflow_dispatch'
          ? {
              // A wake-up that arrived after its branch landed (a dispatch
              // sent twice, or one whose answer was lost): nothing to gate.
              verdict: 'SKIPPED',
              failureClass: null,
              summary: `${branch || 'HEAD'} has already landed on ${c.baseRef}: this wake-up came after it; nothing to do`,
              holdLease: false
            }
          : {
              verdict: 'FAIL',
              failureClass: classifyError(err),
              summary: describeError(err),
              holdLease: false
            };
    }
    // A green re-test is a fact about the tree, whoever holds the lease now.
    const green =
      d.retest?.outcome === 'pass' && d.catchUp && !d.catchUp.conflict
        ? { sha: d.catchUp.newHead, tree: await treeOf(git, d.catchUp.newHead) }
        : undefined;
    const verdict = d.verdict;
    // One write: leave the window (honouring a STOP that waited), record the
    // green tree, and, for PASS, the fencing check: PASS only while the lease
    // is still ours, with our token.
    const after = await backend.withDb(
      'write',
      (db) =>
        db
          .transaction(() => {
            const now = new Date();
            const stop = leaveWindow(db, c.repository, holder, now);
            if (green)
              recordGreenTest(
                db,
                {
                  repo: c.repository,
                  treeSha: green.tree,
                  command: c.testCommand,
                  sha: green.sha,
                  branch: holder.branch,
                  gate: 'merge'
                },
                now
              );
            const fence =
              verdict === 'PASS' && !stop
                ? confirmLease(
                    db,
                    c.repository,
                    {
                      branch: holder.branch,
                      leaseId: lease.leaseId ?? '',
                      token: lease.holder.token,
                      ttlMs: c.leaseTtlMs
                    },
                    now
                  )
                : undefined;
            return { stop, fence };
          })
          .immediate(),
      {
        message: (r) =>
          [
            `merge window of ${holder.branch} left`,
            r.stop ? `STOP by ${r.stop.by} honoured, branch cancelled` : '',
            green ? `green re-test on tree ${green.tree.slice(0, 12)}` : '',
            r.fence
              ? r.fence.held
                ? `lease confirmed (token ${r.fence.lease.token})`
                : 'merge lease lost'
              : ''
          ]
            .filter(Boolean)
            .join('; ')
      }
    );
    if (after.stop) {
      d = { ...d, ...stopped(CANCELLED_BY_STOP) };
      await finishDeferredStop(git, c.remote, holder.branch, after.stop, ctx.logger);
    }
    if (after.fence && !after.fence.held) {
      ctx.logger.error(
        `merge: the lease was lost while the gate held it (${after.fence.why}); not saying PASS`
      );
      d = {
        ...d,
        verdict: 'FAIL',
        failureClass: 'lease-lost',
        summary: `merge lease lost before PASS: ${after.fence.why}; run the edge again`,
        holdLease: false
      };
    }
    if (!d.holdLease && d.failureClass !== 'lease-lost') {
      await release(backend, c, branch || 'HEAD', lease.leaseId);
      wake = await wakeNext(backend, c.wake, ctx);
    }
  }
  const now = new Date();
  const newHead = d.catchUp && !d.catchUp.conflict ? d.catchUp.newHead : head;
  await backend.withDb('write', (db) => {
    const repo = c.repository;
    if (d.verdict === 'PASS') bumpCounter(db, repo, COUNTER.pass);
    else if (d.verdict === 'DEFER') bumpCounter(db, repo, COUNTER.defer);
    else if (d.verdict === 'SKIPPED') bumpCounter(db, repo, COUNTER.lateWake);
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
    lease_token: lease.acquired ? lease.holder.token : null,
    state_integrity: backend.tamper && backend.tamper.length > 0 ? 'tampered' : 'ok',
    retest_proof: d.proof ? `${d.proof.sha}@${d.proof.at}` : null,
    attempts: d.retest?.attempts ?? 0,
    duration_s: Math.round((Date.now() - started) / 100) / 10,
    lease_waited_s: waited,
    queue_wake: wake ? wake.line : null
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
          d.retest
            ? d.retest.outcome
            : fields.retest_skipped
              ? 'skipped (green on this tree before)'
              : '-',
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
    ...(wake ? ['### Merge queue', '', wake.line, ''] : []),
    ...(tail ? ['### Last test output', '', '```', tail, '```', ''] : [])
  ].join('\n');
  return {
    verdict: d.verdict,
    summary: d.summary,
    fields,
    body,
    warnings: [...notes, ...(d.retest?.warnings ?? []), ...(backend.warnings ?? [])].map((w) =>
      cred.mask(w)
    )
  };
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
  errorFields: (_c, err) => ({
    ...(isTampered(err) ? { state_integrity: 'tampered' } : {}),
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
