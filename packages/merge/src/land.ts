// Auto-land (actions/land, the edge's last job when input auto-land is set):
// after every gate passed, the pull request is merged through the forge's
// merge API pinned to the head the gates tested, and in the same run the
// coverage baseline ratchets from the gated measurement, the lease is
// released and the next waiting branch is woken. Pushes and merges made
// with the Actions job token start no workflow on Gitea, so nothing else
// would do these steps.
//
// Refused before the API is asked: the run does not hold the lease (someone
// else's landing would be untested), or the target branch moved since the
// gate caught up (the merge would combine trees nobody tested): then the
// branch goes back to the queue at its old place and is woken again. A
// refusal by the forge (the PR moved on, a conflict, a protection rule, a
// missing permission) releases the lease, says why on the pull request in
// one line, and counts the reason.

import type { RunContext } from '../../core/src/context.ts';
import { ConfigurationError, describeError } from '../../core/src/errors.ts';
import { readString, type InputSource } from '../../core/src/inputs.ts';
import { markdownTable } from '../../core/src/markdown.ts';
import type { ToolDefinition, ToolResult } from '../../core/src/tool.ts';
import { ForgeClient } from '../../forge/src/client.ts';
import type { FetchLike } from '../../forge/src/fetch-like.ts';
import { createIssueComment } from '../../forge/src/issue-comments.ts';
import {
  getPullRequest,
  MERGE_STYLES,
  mergePullRequest,
  stylesOf,
  type MergeResult,
  type MergeStyle
} from '../../forge/src/pulls.ts';
import { detectFlavor } from '../../forge/src/flavor.ts';
import { gateCredential } from '../../git/src/credentials.ts';
import { Git, validBranchName } from '../../git/src/git.ts';
import { repositoryKey } from '../../coverage/src/config.ts';
import { ratchetBaseline } from '../../store/src/baseline.ts';
import { bumpCounter } from '../../store/src/counters.ts';
import { currentLease, markWaiting, releaseLease } from '../../store/src/lease.ts';
import { findMeasurementByTree, recordMeasurement } from '../../store/src/measurement.ts';
import {
  openStateBackend,
  readStateConfig,
  STATE_INPUTS,
  type StateConfig
} from '../../store/src/state-inputs.ts';
import { readWakeConfig, wakeNext, WAKE_INPUTS, type WakeConfig } from './wake.ts';

export const LAND_INPUTS = {
  style: 'style',
  branch: 'branch',
  prNumber: 'pr-number',
  headSha: 'head-sha',
  baseRef: 'base-ref',
  remote: 'remote'
} as const;

export const LAND_COUNTER = {
  landed: 'landed',
  refused: (reason: string): string => `land-refused:${reason}`
} as const;

export type RefusalReason =
  | 'not-holder'
  | 'base-moved'
  | 'head-moved'
  | 'conflict'
  | 'not-allowed'
  | 'permission'
  | 'closed'
  | 'other';

export interface LandConfig {
  style: MergeStyle;
  branch: string;
  prNumber: number;
  headSha: string;
  baseRef: string;
  remote: string;
  repository: string;
  forgeRepo: string;
  apiUrl: string;
  state: StateConfig;
  wake: WakeConfig;
}

export function readLandConfig(src: InputSource, ctx: RunContext): LandConfig {
  const I = LAND_INPUTS;
  const style = readString(src, I.style, 'merge').toLowerCase();
  if (!(MERGE_STYLES as readonly string[]).includes(style))
    throw new ConfigurationError(I.style, `one of ${MERGE_STYLES.join(', ')}`, style);
  const apiUrl = (ctx.env.GITHUB_API_URL ?? '').trim().replace(/\/+$/, '');
  const flavor = detectFlavor(apiUrl);
  if (apiUrl !== '' && !stylesOf(flavor).includes(style as MergeStyle))
    throw new ConfigurationError(
      I.style,
      `a merge style ${flavor} offers (${stylesOf(flavor).join(', ')})`,
      style
    );
  const branch = readString(src, I.branch, ctx.event.headRef ?? '').replace(/^refs\/heads\//, '');
  if (!validBranchName(branch))
    throw new ConfigurationError(
      I.branch,
      'the task branch to land (default: the pull request head branch)',
      branch
    );
  const rawPr = readString(src, I.prNumber, ctx.event.prNumber?.toString() ?? '');
  if (!/^[1-9]\d{0,9}$/.test(rawPr))
    throw new ConfigurationError(
      I.prNumber,
      "the number of the pull request to merge (default: the event's)",
      rawPr
    );
  const headSha = readString(src, I.headSha).toLowerCase();
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(headSha))
    throw new ConfigurationError(
      I.headSha,
      "the full commit id the gates tested (the merge job's new-head output)",
      headSha
    );
  const remote = readString(src, I.remote, 'origin');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(remote))
    throw new ConfigurationError(I.remote, 'a git remote name such as origin', remote);
  const baseRef = readString(src, I.baseRef, ctx.event.baseRef || 'main').replace(
    /^refs\/heads\//,
    ''
  );
  if (!validBranchName(baseRef))
    throw new ConfigurationError(I.baseRef, 'a branch name such as main', baseRef);
  const state = readStateConfig(src, ctx);
  const repository = repositoryKey(ctx);
  return {
    style: style as MergeStyle,
    branch,
    prNumber: Number(rawPr),
    headSha,
    baseRef,
    remote,
    repository,
    forgeRepo: ctx.repository,
    apiUrl,
    state,
    wake: readWakeConfig(src, ctx, { repository, token: state.token })
  };
}

export interface LandDeps {
  fetch?: FetchLike;
  backoffMs?: number;
}

/** What each refusal of the forge means, in the one line the pull request gets. */
const REFUSED: Record<RefusalReason, string> = {
  'not-holder': 'the run does not hold the merge lease',
  'base-moved':
    'the target branch moved while the forge merged; the branch is queued to be gated again',
  'head-moved':
    'the pull request moved after the gates tested it; its new head is gated by its own run',
  conflict: 'the forge finds that it does not merge cleanly (or is still checking it)',
  'not-allowed': "a protection rule or the repository's merge settings refuse it",
  permission: 'the token may not merge it (code write, and a user allowed to merge)',
  closed: 'the pull request is closed or gone',
  other: 'the forge refused the merge'
};

/**
 * The forge's refusal as a reason. Gitea: 405 "Please try again later" is
 * its not-mergeable answer (a conflict, or the patch check still running),
 * 405 "User not allowed to merge PR" a permission, other 405s protection
 * rules or styles; 409 a head that moved ("head out of date") or a merge
 * that failed (a conflict found while merging, a base pushed under it);
 * 404 a closed or missing pull request. GitHub: 405 "not mergeable" or a
 * protection rule, 409 "Head branch was modified", 422 a style the
 * repository does not allow.
 */
export function classify(status: number | undefined, said: string): RefusalReason {
  if (status === 401 || status === 403) return 'permission';
  if (status === 404) return 'closed';
  if (status === 409) {
    if (/push/i.test(said)) return 'base-moved';
    return /head|modified|\bsha\b/i.test(said) ? 'head-moved' : 'conflict';
  }
  if (status === 405) {
    if (/conflict|try again later|not mergeable/i.test(said)) return 'conflict';
    // "User not allowed to merge PR"; protection rules say "not allowed to merge [reason: ...]".
    if (/^user not allowed to merge/i.test(said)) return 'permission';
    return 'not-allowed';
  }
  if (status === 422) return 'not-allowed';
  return 'other';
}

export async function runLand(
  c: LandConfig,
  ctx: RunContext,
  deps: LandDeps = {}
): Promise<ToolResult> {
  const [owner, name] = c.forgeRepo.split('/');
  if (c.apiUrl === '' || c.state.token === '' || !owner || !name)
    throw new ConfigurationError(
      c.state.token === '' ? 'token' : 'GITHUB_API_URL',
      'a forge to merge through (GITHUB_API_URL, GITHUB_REPOSITORY and a token with code and pull request write)'
    );
  const repo = { owner, repo: name };
  const client = new ForgeClient({
    apiUrl: c.apiUrl,
    token: c.state.token,
    logger: ctx.logger,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.backoffMs !== undefined ? { backoffMs: deps.backoffMs } : {})
  });
  const backend = await openStateBackend(c.state, c.baseRef, ctx);
  const credential = await gateCredential({
    workspace: ctx.workspace,
    token: c.state.token,
    env: ctx.env
  });
  const git = new Git(ctx.workspace, { credential, env: ctx.env });
  const pr = `PR #${c.prNumber}`;
  const warnings: string[] = [];

  const holder = await backend.withDb('read', (db) => currentLease(db, c.repository));
  const ours =
    holder !== undefined &&
    holder.branch === c.branch &&
    (holder.prNumber === null || holder.prNumber === c.prNumber) &&
    Date.parse(holder.expiresAt) > ctx.now().getTime();

  // Refusals: release what is ours, comment, count, wake the next.
  const refuse = async (
    reason: RefusalReason,
    line: string,
    opts: { requeue?: boolean; comment?: boolean } = {}
  ): Promise<ToolResult> => {
    const now = ctx.now();
    await backend.withDb(
      'write',
      (db) => {
        if (ours)
          releaseLease(db, { repo: c.repository, branch: c.branch, leaseId: holder!.leaseId }, now);
        // Back to the queue at the place it had when it took the lease.
        if (opts.requeue)
          markWaiting(db, c.repository, c.branch, new Date(holder?.acquiredAt ?? now), c.prNumber);
        bumpCounter(db, c.repository, LAND_COUNTER.refused(reason));
      },
      { message: () => `land: ${c.branch} not landed (${reason})` }
    );
    if (opts.comment !== false) {
      try {
        await createIssueComment(client, repo, c.prNumber, `quality-gates: not landed: ${line}`);
      } catch (err) {
        warnings.push(`comment on ${pr} not written: ${describeError(err)}`);
      }
    }
    const wake = ours || opts.requeue ? await wakeNext(backend, c.wake, ctx, deps) : undefined;
    if (wake?.error) warnings.push(wake.error);
    return {
      ok: false,
      summary: `${c.branch} not landed: ${line}`,
      outputs: { landed: 'false', reason, 'merge-sha': '' },
      body: `## Land\n\n${c.branch} (${pr}) not landed: ${line}\n${wake ? `\n${wake.line}\n` : ''}`,
      warnings
    };
  };

  if (!ours) {
    const who = holder
      ? `${holder.branch}${holder.prNumber !== null ? ` (PR #${holder.prNumber})` : ''}`
      : 'nobody';
    return refuse(
      'not-holder',
      `${c.branch} does not hold the merge lease (held by ${who}); only the holder lands`,
      { comment: false }
    );
  }

  // The target must not have moved since the gate caught up: the tested head contains it.
  if (!(await git.fetchBranch(c.remote, c.baseRef)))
    return refuse('other', `cannot fetch ${c.baseRef} from ${c.remote}`);
  const baseTip = (await git.resolveCommit(`refs/remotes/${c.remote}/${c.baseRef}`)) ?? '';
  const contains = await git.exec(['merge-base', '--is-ancestor', baseTip, c.headSha]);
  // A run repeated after a merge that went through (the job died before the
  // release): the target moved by that very merge, and the PR says so.
  const mergedAtHead = async (): Promise<boolean> => {
    const state = await getPullRequest(client, repo, c.prNumber).catch(() => undefined);
    return state?.merged === true && state.headSha === c.headSha;
  };
  const repeated = contains.exitCode !== 0 && (await mergedAtHead());
  if (contains.exitCode !== 0 && !repeated)
    return refuse(
      'base-moved',
      `${c.baseRef} moved to ${baseTip.slice(0, 12)} after the gates tested ${c.headSha.slice(0, 12)}; the branch is queued to be gated again`,
      { requeue: true, comment: false }
    );

  let result: MergeResult;
  try {
    result = repeated
      ? { merged: true }
      : await mergePullRequest(client, repo, c.prNumber, {
          style: c.style,
          headSha: c.headSha,
          title: `Merge ${c.branch} (${pr}) gated by quality-gates`
        });
  } catch (err) {
    // No answer (network, 5xx after the retries): the PR says whether it went through;
    // otherwise the lease is not kept until its TTL: released, the next branch woken.
    if (!(await mergedAtHead()))
      return refuse('other', `the forge did not answer the merge: ${describeError(err)}`);
    result = { merged: true };
  }
  if (!result.merged) {
    // Merged meanwhile at the tested head (a repeated request): landed.
    if (!(await mergedAtHead())) {
      const reason = classify(result.status, result.said);
      const said = result.said ? `"${result.said}"` : `HTTP ${result.status ?? '?'}`;
      return refuse(reason, `${REFUSED[reason]} (the forge said: ${said})`, {
        requeue: reason === 'base-moved'
      });
    }
  }

  // Landed: the ratchet from the gated measurement, the release, the wake-up.
  if (!(await git.fetchBranch(c.remote, c.baseRef)))
    warnings.push(`cannot fetch ${c.baseRef} after the merge: baseline not ratcheted`);
  const mergeSha = (await git.resolveCommit(`refs/remotes/${c.remote}/${c.baseRef}`)) ?? '';
  const trees = await git.exec(['rev-parse', `${c.headSha}^{tree}`, `${mergeSha}^{tree}`]);
  const [testedTree, landedTree] = trees.stdout.trim().split('\n');
  const now = ctx.now();
  const actor = ctx.env.GITHUB_ACTOR || 'quality-gates';
  const after = await backend.withDb(
    'write',
    (db) => {
      let ratchet: string;
      const m = testedTree ? findMeasurementByTree(db, c.repository, testedTree) : undefined;
      if (!m) ratchet = 'no coverage measurement of the tested tree: baseline unchanged';
      else if (trees.exitCode !== 0 || testedTree !== landedTree)
        ratchet = `${c.baseRef} at ${mergeSha.slice(0, 12)} is not the tested tree: baseline unchanged (the landed workflow's ratchet measures it)`;
      else {
        recordMeasurement(
          db,
          {
            repo: c.repository,
            branch: c.baseRef,
            sha: mergeSha,
            treeSha: landedTree,
            percent: m.percent,
            format: m.format,
            files: m.files
          },
          now
        );
        const r = ratchetBaseline(
          db,
          {
            repo: c.repository,
            branch: c.baseRef,
            percent: m.percent,
            sha: mergeSha,
            actor,
            reason: `landed ${mergeSha.slice(0, 12)} (${pr})`
          },
          now
        );
        ratchet = `baseline ${r.outcome}: ${r.old === null ? '-' : `${r.old.toFixed(2)}%`} -> ${r.new.toFixed(2)}%`;
      }
      const released = releaseLease(
        db,
        { repo: c.repository, branch: c.branch, leaseId: holder!.leaseId },
        now
      );
      bumpCounter(db, c.repository, LAND_COUNTER.landed);
      return { ratchet, released };
    },
    {
      message: () => `land: ${c.branch} landed on ${c.baseRef} at ${mergeSha.slice(0, 12)} (${pr})`
    }
  );
  const wake = await wakeNext(backend, c.wake, ctx, deps);
  if (wake.error) warnings.push(wake.error);
  const heldSeconds = Math.round((now.getTime() - Date.parse(holder!.acquiredAt)) / 1000);
  const summary = `${c.branch} (${pr}) landed on ${c.baseRef} at ${mergeSha.slice(0, 12)} (${c.style}); ${after.ratchet}; lease ${after.released}`;
  return {
    summary,
    outputs: {
      landed: 'true',
      reason: '',
      'merge-sha': mergeSha,
      'lease-held-seconds': String(heldSeconds),
      woke: wake.woke?.branch ?? ''
    },
    body: [
      '## Land',
      '',
      summary,
      '',
      markdownTable(
        ['Branch', 'Pull request', 'Tested head', 'Merged as', 'Style', 'Lease held', 'Baseline'],
        [
          [
            c.branch,
            pr,
            c.headSha.slice(0, 12),
            mergeSha.slice(0, 12),
            c.style,
            `${heldSeconds} s`,
            after.ratchet
          ]
        ]
      ),
      '',
      '### Merge queue',
      '',
      wake.line,
      ''
    ].join('\n'),
    warnings: [...warnings, ...(backend.warnings ?? [])]
  };
}

export const land: ToolDefinition<LandConfig> = {
  name: 'land',
  inputs: [
    ...Object.values(LAND_INPUTS),
    ...Object.values(STATE_INPUTS),
    ...Object.values(WAKE_INPUTS)
  ],
  buildConfig: readLandConfig,
  run: (c, ctx) => runLand(c, ctx)
};
