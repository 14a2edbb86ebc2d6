// Stateful fakes behind the contract server, shaped after Gitea's handlers
// (routers/api/v1 at the contract's commit): workflow runs (newest first,
// status filter as Gitea maps it, pages of 30 by default and at most 50),
// v4 artefacts (oldest first; /zip answers 302 to a signed /zip/raw URL, or
// to another origin as object storage with ServeDirect does; an expired one
// answers 404 "Artifact has expired"), commit statuses, issue comments and
// issue labels. Tests add runs and artefacts and read what the code wrote.
//
// Pull requests and workflow dispatch (Gitea's MergePullRequest,
// IsPullRequestMerged, GetPullRequest, ActionsDispatchWorkflow) answer from
// a ForgeBackend: the workflow harness, which holds the pull requests and
// the bare origin and does the git for real. The fake keeps Gitea's order
// of checks and its answers (routers/api/v1/repo/pull.go, services/pull
// check.go and merge*.go, services/actions DispatchActionWorkflow) and
// records every merge and dispatch request (merges, dispatches):
//   merge: no such PR 404; merged 405 with an empty message; closed 404
//   (ErrIsClosed); refuseMerge (permissions, protection: 405); conflicting
//   with its base while Gitea's patch checker is current 405 "Please try
//   again later" (patchChecker 'stale': the merge runs and a conflict is 409
//   with Gitea's ErrMergeConflicts/ErrRebaseConflicts JSON, no message);
//   style not in mergeStyles 405; head_commit_id not the PR head 409 "head
//   out of date"; base moved under the merge 409 "merge push out of date"
//   (or, a concurrent push holding the ref, 409 "PushRejected with remote
//   message: ...");
//   fast-forward-only on a diverged base 409 (Gitea has no case for
//   ErrMergeDivergingFastForwardOnly and answers 500, which the contract
//   does not declare); success 200, no body.
//   dispatch: ref "" 422; refuseDispatch; unknown ref or workflow file 404;
//   no on.workflow_dispatch 422; inputs the workflow does not declare are
//   dropped and missing ones take their defaults (Gitea reads only declared
//   inputs); success 204 and, when the backend starts one, a run waiting on
//   the forge (the backend may accept a dispatch and start no run: the
//   harness's rule on who starts runs; FakeDispatch.startedRun).
// Every merge and dispatch tells the backend who made it (ForgeCaller: the
// job token or a user's token, as the contract server classified it).

import { randomBytes } from 'node:crypto';
import {
  firstQuery,
  type ContractRequest,
  type ContractResponse,
  type Handler
} from './contract-exchange.ts';

export type RunState =
  'success' | 'failure' | 'cancelled' | 'skipped' | 'running' | 'waiting' | 'blocked';

export interface FakeRun {
  id: number;
  runNumber: number;
  branch: string;
  state: RunState;
  event: string;
  headSha: string;
  startedAt: string;
  /** The workflow file name (Gitea's WorkflowID); the run's `path` is `<it>@<ref>`. Default land.yml. */
  workflowId?: string;
  /** The run's ref (Gitea's run.Ref). Default refs/heads/<branch>. */
  ref?: string;
}

export interface FakeArtifact {
  id: number;
  runId: number;
  name: string;
  zip: Buffer;
  expired: boolean;
  createdAt: string;
  expiresAt: string;
}

export interface FakeStatus {
  id: number;
  sha: string;
  state: string;
  context: string;
  description: string;
  targetUrl: string;
  createdAt: string;
}

export interface FakeComment {
  id: number;
  issue: number;
  body: string;
  createdAt: string;
  updatedAt: string;
}

export interface FakeLabel {
  id: number;
  name: string;
  color: string;
}

export type MergeStyle =
  'merge' | 'rebase' | 'rebase-merge' | 'squash' | 'fast-forward-only' | 'manually-merged';
export type GitMergeStyle = Exclude<MergeStyle, 'manually-merged'>;

/** MergePullRequestOption, as the contract declares it. */
export interface MergeBody {
  Do: MergeStyle;
  MergeCommitID?: string;
  MergeTitleField?: string;
  MergeMessageField?: string;
  delete_branch_after_merge?: boolean;
  force_merge?: boolean;
  head_commit_id?: string;
  merge_when_checks_succeed?: boolean;
}

/** A pull request as the forge knows it (the harness's PullRequest has these fields). */
export interface FakePull {
  number: number;
  title: string;
  state: 'open' | 'closed';
  merged: boolean;
  mergeCommitSha?: string;
  head: string;
  headSha: string;
  base: string;
  baseSha: string;
  labels: FakeLabel[];
  /** The PR's author (the forge's `user`). Default 'agent'. */
  author?: string;
  /** Who merged it: a maintainer, the Actions user (the merge API with the job token) or a user's token. */
  mergedBy?: string;
  /** The merge base of head and base when it was merged. */
  mergeBase?: string;
  createdAt?: string;
  mergedAt?: string;
  closedAt?: string;
}

export type GitMergeOutcome =
  | { kind: 'merged'; sha: string }
  /** A merge or squash conflict: Gitea's ErrMergeConflicts. */
  | { kind: 'conflict'; stdout: string; stderr: string }
  /** A rebase stopped at `commit`: Gitea's ErrRebaseConflicts. */
  | { kind: 'rebase-conflict'; commit: string; stdout: string; stderr: string }
  /** fast-forward-only and the base has commits the head has not. */
  | { kind: 'not-fast-forward'; stderr: string }
  /** The base moved between the merge's clone and its push (the push was non-fast-forward). */
  | { kind: 'push-out-of-date' }
  /** The push was refused (e.g. the base's ref was locked by a concurrent push): the `remote:` lines. */
  | { kind: 'push-rejected'; remote: string }
  /** manually-merged with a commit that is not on the base branch. */
  | { kind: 'wrong-commit' };

export type DispatchOutcome =
  | { kind: 'queued'; runId: number; inputs: Record<string, string>; ignored: string[] }
  /** Accepted (204) but no run created: the caller's events start no runs. */
  | { kind: 'no-run'; inputs: Record<string, string>; ignored: string[] }
  | { kind: 'no-ref' }
  | { kind: 'no-workflow' }
  | { kind: 'no-dispatch-trigger' };

/**
 * Who made a merge or a dispatch: the contract server's classification of
 * the request's token ('job': its `token`; 'user': one of its `userTokens`)
 * and the token itself (the harness compares it with its own job token).
 */
export interface ForgeCaller {
  credential: 'job' | 'user' | undefined;
  token: string | undefined;
}

/** What the forge cannot know by itself: the pull requests, the git repository, the workflows. */
export interface ForgeBackend {
  /** The pull request, its head re-read from the origin as Gitea's push hook keeps it; undefined: none. */
  pull(index: number): Promise<FakePull | undefined>;
  /** Gitea's patch checker: does the PR merge into its base without conflicts? */
  mergeable(index: number): Promise<boolean>;
  /** Merges for real (a temporary clone, pushed to the base branch), then closes the PR as merged. */
  merge(req: {
    index: number;
    style: GitMergeStyle;
    message: string;
    deleteBranch: boolean;
    caller: ForgeCaller;
  }): Promise<GitMergeOutcome>;
  /** manually-merged: marks the PR merged by `commit` when the commit is on its base branch. */
  markMerged(req: { index: number; commit: string; caller: ForgeCaller }): Promise<GitMergeOutcome>;
  /** Creates a workflow_dispatch run of the workflow file at the ref, waiting for the runner (or, by the caller, none). */
  dispatch(req: {
    workflowId: string;
    ref: string;
    inputs: Record<string, string>;
    caller: ForgeCaller;
  }): Promise<DispatchOutcome>;
}

/** One POST .../pulls/{index}/merge, whatever its answer. */
export interface FakeMerge {
  index: number;
  style: MergeStyle;
  headCommitId?: string;
  /** The PR's head when the request was answered. */
  headSha?: string;
  /** The base branch's new head (Gitea's merged_commit_id). */
  resultSha?: string;
  status: number;
  /** The answer's message, if it had one. */
  message?: string;
  deleteBranch: boolean;
  /** Who made it: the job token or a user's token (undefined: neither). */
  credential?: 'job' | 'user';
  at: string;
}

/** One POST .../actions/workflows/{workflow_id}/dispatches, whatever its answer. */
export interface FakeDispatch {
  workflowId: string;
  ref: string;
  /** The inputs as sent. */
  inputs: Record<string, string>;
  status: number;
  message?: string;
  /** The run it created (waiting on the forge until the harness drains it). */
  runId?: number;
  /** Answered 204: whether a run was created (false: the caller's dispatches start no run). */
  startedRun?: boolean;
  /** Sent inputs the workflow does not declare (Gitea drops them). */
  ignoredInputs?: string[];
  /** Who made it: the job token or a user's token (undefined: neither). */
  credential?: 'job' | 'user';
  at: string;
}

export interface Refusal {
  status: number;
  message: string;
}

/** Gitea's refusals from CheckPullMergeable, for refuseMerge. */
export const MERGE_REFUSALS = {
  notAllowed: { status: 405, message: 'User not allowed to merge PR' },
  statusChecks: {
    status: 405,
    message: 'not allowed to merge [reason: Not all required status checks successful]'
  },
  approvals: {
    status: 405,
    message: 'not allowed to merge [reason: Does not have enough approvals]'
  },
  outdatedBranch: {
    status: 405,
    message: 'not allowed to merge [reason: The head branch is behind the base branch]'
  },
  workInProgress: { status: 405, message: 'Work in progress PRs cannot be merged' },
  tryAgainLater: { status: 405, message: 'Please try again later' }
} as const satisfies Record<string, Refusal>;

const DAY = 86_400_000;
const DEFAULT_PAGE = 30;
const MAX_PAGE = 50;
const ZERO_SHA = '0'.repeat(40);

/** Gitea's shared.convertToInternal: API status filter -> run states. */
const STATUS_FILTER: Record<string, RunState[]> = {
  pending: ['blocked'],
  waiting: ['blocked'],
  requested: ['blocked'],
  action_required: ['blocked'],
  queued: ['waiting'],
  in_progress: ['running'],
  completed: ['success', 'failure', 'skipped', 'cancelled'],
  failure: ['failure'],
  success: ['success'],
  skipped: ['skipped'],
  neutral: ['skipped'],
  cancelled: ['cancelled'],
  timed_out: ['cancelled']
};

export class FakeForge {
  owner = 'acme';
  repo = 'service';
  runs: FakeRun[] = [];
  artifacts: FakeArtifact[] = [];
  statuses: FakeStatus[] = [];
  comments: FakeComment[] = [];
  repoLabels: FakeLabel[] = [
    { id: 1, name: 'gate/security-pass', color: '2ea44f' },
    { id: 2, name: 'gate/security-fail', color: 'd73a4a' },
    { id: 3, name: 'gate/coverage-pass', color: '2ea44f' },
    { id: 4, name: 'gate/coverage-fail', color: 'd73a4a' }
  ];
  issueLabels = new Map<number, number[]>();
  /** Where /zip redirects: Gitea's signed /zip/raw URL, or object storage on another origin. */
  downloads: 'signed' | 'external' = 'signed';
  /** Set by the server: origin of the fake object storage. */
  externalOrigin = '';
  /** Pull requests, git and workflows: set by the workflow harness (the newest one made on this forge). */
  backend: ForgeBackend | undefined;
  /** The repository's allowed merge styles (Gitea's defaults: all but manually-merged). */
  mergeStyles: MergeStyle[] = ['merge', 'rebase', 'rebase-merge', 'squash', 'fast-forward-only'];
  /**
   * 'current': Gitea's patch checker has tested every open PR against its
   * base (a conflicting PR is not mergeable: 405 "Please try again later");
   * 'stale': it has not yet (the merge runs, a conflict answers 409).
   */
  patchChecker: 'current' | 'stale' = 'current';
  /** A refusal from CheckPullMergeable (permissions, branch protection), after the merged/closed checks. */
  refuseMerge: ((index: number, body: MergeBody) => Refusal | undefined) | undefined;
  /** A refusal of a dispatch (e.g. 403 workflow disabled), after the ref check. */
  refuseDispatch: ((workflowId: string, ref: string) => Refusal | undefined) | undefined;
  merges: FakeMerge[] = [];
  dispatches: FakeDispatch[] = [];
  /** Classifies a request's token; set by the contract server (its `token`: 'job', its `userTokens`: 'user'). */
  credentialOf: (token: string | undefined) => 'job' | 'user' | undefined = () => undefined;
  private nextId = 100;
  private readonly signatures = new Map<string, { artifactId: number; expires: number }>();
  /** Gitea's pullWorkingPool: one merge of a PR at a time. */
  private readonly pullLocks = new Map<number, Promise<unknown>>();

  addRun(p: Partial<FakeRun> & { branch: string }): FakeRun {
    const id = p.id ?? this.nextId++;
    const run: FakeRun = {
      id,
      runNumber: p.runNumber ?? this.runs.length + 1,
      branch: p.branch,
      state: p.state ?? 'success',
      event: p.event ?? 'push',
      headSha: p.headSha ?? randomBytes(20).toString('hex'),
      startedAt: p.startedAt ?? new Date(Date.UTC(2025, 0, 1) + id * 60_000).toISOString(),
      ...(p.workflowId === undefined ? {} : { workflowId: p.workflowId }),
      ...(p.ref === undefined ? {} : { ref: p.ref })
    };
    this.runs.push(run);
    return run;
  }

  addArtifact(
    runId: number,
    name: string,
    zip: Buffer,
    opts: { expired?: boolean; expiresAt?: string; id?: number } = {}
  ): FakeArtifact {
    const created = new Date();
    const art: FakeArtifact = {
      id: opts.id ?? this.nextId++,
      runId,
      name,
      zip,
      expired: opts.expired ?? false,
      createdAt: created.toISOString(),
      expiresAt: opts.expiresAt ?? new Date(created.getTime() + 90 * DAY).toISOString()
    };
    this.artifacts.push(art);
    return art;
  }

  /** Default handlers, by operationId. */
  handlers(): Record<string, Handler> {
    return {
      getWorkflowRuns: (r) => this.scoped(r, () => this.listRuns(r)),
      GetWorkflowRun: (r) => this.scoped(r, () => this.getRun(r)),
      getArtifacts: (r) =>
        this.scoped(r, () =>
          this.artifactList(
            r,
            this.artifacts.filter((a) => matchesName(a, r))
          )
        ),
      getArtifactsOfRun: (r) =>
        this.scoped(r, () =>
          this.artifactList(
            r,
            this.artifacts.filter((a) => a.runId === Number(r.params.run) && matchesName(a, r))
          )
        ),
      getArtifact: (r) => this.scoped(r, () => this.getArtifact(r)),
      downloadArtifact: (r) => this.scoped(r, () => this.download(r)),
      repoCreateStatus: (r) => this.scoped(r, () => this.createStatus(r)),
      repoListStatuses: (r) => this.scoped(r, () => this.listStatuses(r.params.sha)),
      repoListStatusesByRef: (r) => this.scoped(r, () => this.listStatuses(r.params.ref)),
      repoGetCombinedStatusByRef: (r) => this.scoped(r, () => this.combinedStatus(r.params.ref)),
      issueGetComments: (r) =>
        this.scoped(r, () => ({
          status: 200,
          body: this.comments
            .filter((c) => c.issue === Number(r.params.index))
            .map((c) => this.comment(r, c))
        })),
      issueGetComment: (r) => this.scoped(r, () => this.getComment(r)),
      issueDeleteComment: (r) => this.scoped(r, () => this.deleteComment(r)),
      issueCreateComment: (r) => this.scoped(r, () => this.createComment(r)),
      issueEditComment: (r) => this.scoped(r, () => this.editComment(r)),
      issueGetLabels: (r) => this.scoped(r, () => this.labelsOf(Number(r.params.index))),
      issueAddLabel: (r) => this.scoped(r, () => this.setLabels(r, false)),
      issueReplaceLabels: (r) => this.scoped(r, () => this.setLabels(r, true)),
      issueRemoveLabel: (r) => this.scoped(r, () => this.removeLabel(r)),
      issueClearLabels: (r) =>
        this.scoped(r, () => {
          this.issueLabels.set(Number(r.params.index), []);
          return { status: 204 };
        }),
      repoGetPullRequest: (r) => this.scoped(r, () => this.getPull(r)),
      repoPullRequestIsMerged: (r) => this.scoped(r, () => this.isMerged(r)),
      repoMergePullRequest: (r) => this.scoped(r, () => this.mergePull(r)),
      ActionsDispatchWorkflow: (r) => this.scoped(r, () => this.dispatchWorkflow(r))
    };
  }

  /** The signed URL /zip redirects to (Gitea's DownloadArtifactRaw, or object storage). */
  serveBlob(
    artifactId: number,
    sig: string | undefined,
    expires: string | undefined
  ): ContractResponse {
    const s = sig === undefined ? undefined : this.signatures.get(sig);
    if (!s || s.artifactId !== artifactId || String(s.expires) !== expires) {
      return { status: 401, body: { message: 'Error unauthorized' } };
    }
    if (s.expires * 1000 < Date.now())
      return { status: 401, body: { message: 'Error link expired' } };
    const art = this.artifacts.find((a) => a.id === artifactId);
    if (!art) return { status: 404, body: { message: 'artifact not found' } };
    return {
      status: 200,
      raw: art.zip,
      headers: {
        'content-type': 'application/zip',
        'content-disposition': `attachment; filename="${art.name}.zip"`
      }
    };
  }

  private scoped(
    r: ContractRequest,
    fn: () => ContractResponse | Promise<ContractResponse>
  ): ContractResponse | Promise<ContractResponse> {
    if (r.params.owner !== this.owner || r.params.repo !== this.repo) {
      return { status: 404, body: { message: "The target couldn't be found.", errors: [] } };
    }
    return fn();
  }

  private listRuns(r: ContractRequest): ContractResponse {
    const branch = firstQuery(r, 'branch');
    const event = firstQuery(r, 'event');
    const headSha = firstQuery(r, 'head_sha');
    let states: RunState[] | undefined;
    for (const s of r.query.status ?? []) {
      const mapped = STATUS_FILTER[s];
      if (!mapped) return { status: 400, body: { message: `Invalid status ${s}` } };
      states = [...(states ?? []), ...mapped];
    }
    const all = this.runs
      .filter((x) => branch === undefined || branch === '' || x.branch === branch)
      .filter((x) => event === undefined || event === '' || x.event === event)
      .filter((x) => headSha === undefined || headSha === '' || x.headSha === headSha)
      .filter((x) => states === undefined || states.includes(x.state))
      .sort((a, b) => b.id - a.id);
    const page = paginate(all, r);
    return {
      status: 200,
      body: { total_count: all.length, workflow_runs: page.map((x) => this.run(r, x)) },
      headers: { 'x-total-count': String(all.length) }
    };
  }

  private getRun(r: ContractRequest): ContractResponse {
    const run = this.runs.find((x) => String(x.id) === r.params.run);
    if (!run) return { status: 404, body: { message: 'run not found' } };
    return { status: 200, body: this.run(r, run) };
  }

  private run(r: ContractRequest, x: FakeRun): Record<string, unknown> {
    const done = ['success', 'failure', 'cancelled', 'skipped'].includes(x.state);
    const status = done
      ? 'completed'
      : { waiting: 'queued', blocked: 'waiting', running: 'in_progress' }[x.state as 'waiting'];
    const repoApi = `${r.apiUrl}/repos/${this.owner}/${this.repo}`;
    return {
      id: x.id,
      url: `${repoApi}/actions/runs/${x.id}`,
      html_url: `${r.origin}/${this.owner}/${this.repo}/actions/runs/${x.runNumber}`,
      run_number: x.runNumber,
      event: x.event,
      display_title: `run ${x.runNumber}`,
      head_branch: x.branch,
      head_sha: x.headSha,
      status,
      ...(done ? { conclusion: x.state } : {}),
      path: `${x.workflowId ?? 'land.yml'}@${x.ref ?? `refs/heads/${x.branch}`}`,
      started_at: x.startedAt,
      ...(done ? { completed_at: x.startedAt } : {}),
      repository_id: 1
    };
  }

  private artifactList(r: ContractRequest, list: FakeArtifact[]): ContractResponse {
    const sorted = [...list].sort((a, b) => a.id - b.id);
    return {
      status: 200,
      body: {
        total_count: sorted.length,
        artifacts: paginate(sorted, r).map((a) => this.artifact(r, a))
      }
    };
  }

  private getArtifact(r: ContractRequest): ContractResponse {
    const art = this.artifacts.find((a) => String(a.id) === r.params.artifact_id);
    if (!art) return { status: 404, body: { message: 'artifact not found' } };
    return { status: 200, body: this.artifact(r, art) };
  }

  private artifact(r: ContractRequest, a: FakeArtifact): Record<string, unknown> {
    const url = `${r.apiUrl}/repos/${this.owner}/${this.repo}/actions/artifacts/${a.id}`;
    const run = this.runs.find((x) => x.id === a.runId);
    return {
      id: a.id,
      name: a.name,
      size_in_bytes: a.zip.length,
      expired: a.expired,
      url,
      archive_download_url: `${url}/zip`,
      created_at: a.createdAt,
      updated_at: a.createdAt,
      expires_at: a.expiresAt,
      workflow_run: { id: a.runId, repository_id: 1, head_sha: run?.headSha ?? ZERO_SHA }
    };
  }

  private download(r: ContractRequest): ContractResponse {
    const art = this.artifacts.find((a) => String(a.id) === r.params.artifact_id);
    if (!art) return { status: 404, body: { message: 'artifact not found' } };
    if (art.expired) return { status: 404, body: { message: 'Artifact has expired' } };
    const sig = randomBytes(16).toString('base64url');
    const expires = Math.floor(Date.now() / 1000) + 3600;
    this.signatures.set(sig, { artifactId: art.id, expires });
    const query = `sig=${sig}&expires=${expires}`;
    const location =
      this.downloads === 'external'
        ? `${this.externalOrigin}/blobs/${art.id}?${query}`
        : `${r.apiUrl}/repos/${this.owner}/${this.repo}/actions/artifacts/${art.id}/zip/raw?${query}`;
    return { status: 302, headers: { location } };
  }

  private createStatus(r: ContractRequest): ContractResponse {
    const b = (r.body ?? {}) as Record<string, string | undefined>;
    const s: FakeStatus = {
      id: this.nextId++,
      sha: r.params.sha,
      state: b.state ?? 'pending',
      context: b.context ?? 'default',
      description: b.description ?? '',
      targetUrl: b.target_url ?? '',
      createdAt: new Date().toISOString()
    };
    this.statuses.push(s);
    return { status: 201, body: this.status(r, s) };
  }

  private listStatuses(sha: string): ContractResponse {
    return {
      status: 200,
      body: this.statuses
        .filter((s) => s.sha === sha)
        .sort((a, b) => b.id - a.id)
        .map((s) => this.status(undefined, s))
    };
  }

  /** Gitea's combined status: the newest status of each context, and the worst state of those. */
  private combinedStatus(ref: string): ContractResponse {
    const newest = new Map<string, FakeStatus>();
    for (const s of this.statuses.filter((x) => x.sha === ref).sort((a, b) => a.id - b.id))
      newest.set(s.context, s);
    const latest = [...newest.values()];
    const order = ['success', 'pending', 'warning', 'error', 'failure'];
    const state = latest.reduce(
      (worst, s) => (order.indexOf(s.state) > order.indexOf(worst) ? s.state : worst),
      latest.length > 0 ? 'success' : 'pending'
    );
    return {
      status: 200,
      body: {
        sha: ref,
        state,
        total_count: latest.length,
        statuses: latest.map((s) => this.status(undefined, s)),
        commit_url: '',
        url: ''
      }
    };
  }

  private status(_r: ContractRequest | undefined, s: FakeStatus): Record<string, unknown> {
    return {
      id: s.id,
      status: s.state,
      context: s.context,
      description: s.description,
      target_url: s.targetUrl,
      created_at: s.createdAt,
      updated_at: s.createdAt
    };
  }

  private createComment(r: ContractRequest): ContractResponse {
    const now = new Date().toISOString();
    const c: FakeComment = {
      id: this.nextId++,
      issue: Number(r.params.index),
      body: (r.body as { body: string }).body,
      createdAt: now,
      updatedAt: now
    };
    this.comments.push(c);
    return { status: 201, body: this.comment(r, c) };
  }

  private getComment(r: ContractRequest): ContractResponse {
    const c = this.comments.find((x) => x.id === Number(r.params.id));
    if (!c) return { status: 404, body: { message: 'comment not found' } };
    return { status: 200, body: this.comment(r, c) };
  }

  private deleteComment(r: ContractRequest): ContractResponse {
    const i = this.comments.findIndex((x) => x.id === Number(r.params.id));
    if (i === -1) return { status: 404, body: { message: 'comment not found' } };
    this.comments.splice(i, 1);
    return { status: 204 };
  }

  private editComment(r: ContractRequest): ContractResponse {
    const c = this.comments.find((x) => x.id === Number(r.params.id));
    if (!c) return { status: 404, body: { message: 'comment not found' } };
    c.body = (r.body as { body: string }).body;
    c.updatedAt = new Date().toISOString();
    return { status: 200, body: this.comment(r, c) };
  }

  private comment(r: ContractRequest, c: FakeComment): Record<string, unknown> {
    return {
      id: c.id,
      body: c.body,
      html_url: `${r.origin}/${this.owner}/${this.repo}/pulls/${c.issue}#issuecomment-${c.id}`,
      issue_url: `${r.origin}/${this.owner}/${this.repo}/issues/${c.issue}`,
      user: { id: 1, login: 'quality-gates' },
      created_at: c.createdAt,
      updated_at: c.updatedAt
    };
  }

  private labelsOf(issue: number): ContractResponse {
    const ids = this.issueLabels.get(issue) ?? [];
    return {
      status: 200,
      body: this.repoLabels
        .filter((l) => ids.includes(l.id))
        .map((l) => ({
          id: l.id,
          name: l.name,
          color: l.color,
          exclusive: false,
          is_archived: false
        }))
    };
  }

  private setLabels(r: ContractRequest, replace: boolean): ContractResponse {
    const issue = Number(r.params.index);
    const asked = (r.body as { labels?: unknown[] }).labels ?? [];
    if (asked.some((v) => typeof v !== 'string' && typeof v !== 'number'))
      return { status: 400, body: { message: 'a label must be an integer or a string' } };
    // Gitea skips ids and names that match no label of the repository and answers 200.
    const ids = asked
      .map((v) => this.repoLabels.find((l) => l.id === v || l.name === v))
      .filter((l) => l !== undefined)
      .map((l) => l.id);
    const current = replace ? [] : (this.issueLabels.get(issue) ?? []);
    this.issueLabels.set(issue, [...new Set([...current, ...ids])]);
    return this.labelsOf(issue);
  }

  private removeLabel(r: ContractRequest): ContractResponse {
    const issue = Number(r.params.index);
    const id = Number(r.params.id);
    const current = this.issueLabels.get(issue) ?? [];
    if (!current.includes(id)) return { status: 404, body: { message: 'label not found' } };
    this.issueLabels.set(
      issue,
      current.filter((x) => x !== id)
    );
    return { status: 204 };
  }

  // ---- pull requests ---------------------------------------------------------------

  private async getPull(r: ContractRequest): Promise<ContractResponse> {
    const index = Number(r.params.index);
    const pr = await this.backend?.pull(index);
    if (!pr) return NOT_FOUND;
    // Gitea's Mergeable(): false while the checker has the PR as conflicting.
    const mergeable =
      pr.state === 'open' && this.patchChecker === 'current'
        ? await this.backend!.mergeable(index)
        : true;
    return { status: 200, body: this.pullJson(r, pr, mergeable) };
  }

  /** Gitea's IsPullRequestMerged: 204 when merged, else 404 (no such PR too). */
  private async isMerged(r: ContractRequest): Promise<ContractResponse> {
    const pr = await this.backend?.pull(Number(r.params.index));
    return pr?.merged ? { status: 204 } : NOT_FOUND;
  }

  private async mergePull(r: ContractRequest): Promise<ContractResponse> {
    const index = Number(r.params.index);
    const body = (r.body ?? {}) as MergeBody;
    const rec: FakeMerge = {
      index,
      style: body.Do,
      ...(body.head_commit_id === undefined ? {} : { headCommitId: body.head_commit_id }),
      status: 0,
      deleteBranch: body.delete_branch_after_merge === true,
      ...this.callerRecord(r),
      at: new Date().toISOString()
    };
    this.merges.push(rec);
    const caller = this.caller(r);
    const previous = this.pullLocks.get(index) ?? Promise.resolve();
    const answer = previous.then(() => this.mergeAnswer(index, body, rec, caller));
    this.pullLocks.set(
      index,
      answer.catch(() => undefined)
    );
    const a = await answer;
    rec.status = a.status;
    const message = (a.body as { message?: unknown } | undefined)?.message;
    if (typeof message === 'string') rec.message = message;
    return a;
  }

  /** Gitea's MergePullRequest, its checks in Gitea's order. */
  private async mergeAnswer(
    index: number,
    body: MergeBody,
    rec: FakeMerge,
    caller: ForgeCaller
  ): Promise<ContractResponse> {
    const backend = this.backend;
    const pr = await backend?.pull(index);
    if (!backend || !pr) return NOT_FOUND;
    rec.headSha = pr.headSha;
    // CheckPullMergeable
    if (pr.merged) return { status: 405, body: { message: '' } };
    if (pr.state === 'closed') return NOT_FOUND;
    const refusal = this.refuseMerge?.(index, body);
    if (refusal) return { status: refusal.status, body: { message: refusal.message } };
    if (body.merge_when_checks_succeed) {
      throw new Error(
        'merge_when_checks_succeed is not modelled (Gitea may answer 201, which the contract does not declare)'
      );
    }
    const style = body.Do;
    const notAllowed: ContractResponse = {
      status: 405,
      body: { message: `${style} is not allowed an allowed merge style for this repository` }
    };
    if (style === 'manually-merged') {
      if (!this.mergeStyles.includes(style)) return notAllowed;
      const out = await backend.markMerged({ index, commit: body.MergeCommitID ?? '', caller });
      // "Wrong commit ID" is answered as the Go error itself: {}.
      if (out.kind !== 'merged') return { status: 409, body: {} };
      rec.resultSha = out.sha;
      return { status: 200 };
    }
    if (this.patchChecker === 'current' && !(await backend.mergeable(index))) {
      return { status: 405, body: { message: 'Please try again later' } };
    }
    // pull_service.Merge
    if (!this.mergeStyles.includes(style)) return notAllowed;
    if (body.head_commit_id && body.head_commit_id !== pr.headSha) {
      return { status: 409, body: { message: 'head out of date' } };
    }
    const out = await backend.merge({
      index,
      style,
      message: mergeMessage(pr, style, body),
      deleteBranch: body.delete_branch_after_merge === true,
      caller
    });
    switch (out.kind) {
      case 'merged':
        rec.resultSha = out.sha;
        return { status: 200 };
      case 'conflict':
        return {
          status: 409,
          body: { Style: style, StdOut: out.stdout, StdErr: out.stderr, Err: {} }
        };
      case 'rebase-conflict':
        return {
          status: 409,
          body: {
            Style: style,
            CommitSHA: out.commit,
            StdOut: out.stdout,
            StdErr: out.stderr,
            Err: {}
          }
        };
      case 'not-fast-forward':
        return {
          status: 409,
          body: {
            message: `fast-forward-only merge not possible: ${pr.base} has commits that are not in the head`
          }
        };
      case 'push-out-of-date':
        return { status: 409, body: { message: 'merge push out of date' } };
      case 'push-rejected':
        return {
          status: 409,
          body: {
            message:
              out.remote === ''
                ? 'PushRejected without remote error message'
                : `PushRejected with remote message: ${out.remote}`
          }
        };
      case 'wrong-commit':
        throw new Error('the backend answered wrong-commit to a merge');
    }
  }

  /** Gitea's convert.ToAPIPullRequest, the fields that mean something here. */
  private pullJson(r: ContractRequest, pr: FakePull, mergeable: boolean): Record<string, unknown> {
    const html = `${r.origin}/${this.owner}/${this.repo}/pulls/${pr.number}`;
    const repo = this.repositoryJson(r);
    const branch = (ref: string, sha: string) => ({ label: ref, ref, sha, repo_id: 1, repo });
    const now = new Date().toISOString();
    const mergedBy = pr.mergedBy ?? 'gitea-actions';
    return {
      id: 1000 + pr.number,
      url: html,
      number: pr.number,
      user: this.userJson(r, pr.author ?? 'agent', 2),
      title: pr.title,
      body: '',
      labels: pr.labels.map((l) => ({
        id: l.id,
        name: l.name,
        color: l.color,
        description: '',
        exclusive: false,
        is_archived: false,
        url: `${r.apiUrl}/repos/${this.owner}/${this.repo}/labels/${l.id}`
      })),
      assignees: [],
      requested_reviewers: [],
      state: pr.state,
      draft: false,
      is_locked: false,
      comments: 0,
      review_comments: 0,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      mergeable,
      merged: pr.merged,
      ...(pr.merged
        ? {
            merged_at: pr.mergedAt ?? now,
            merge_commit_sha: pr.mergeCommitSha ?? '',
            // Gitea's Actions user has id -2; anyone else is a real user.
            merged_by: this.userJson(r, mergedBy, mergedBy === 'gitea-actions' ? -2 : 3)
          }
        : {}),
      allow_maintainer_edit: false,
      base: branch(pr.base, pr.baseSha),
      head: branch(pr.head, pr.headSha),
      merge_base: pr.mergeBase ?? pr.baseSha,
      created_at: pr.createdAt ?? now,
      updated_at: pr.mergedAt ?? pr.closedAt ?? pr.createdAt ?? now,
      ...(pr.state === 'closed' ? { closed_at: pr.closedAt ?? pr.mergedAt ?? now } : {}),
      pin_order: 0
    };
  }

  private userJson(r: ContractRequest, login: string, id: number): Record<string, unknown> {
    return {
      id,
      login,
      login_name: '',
      full_name: '',
      email: `${login.replace(/[^\w.-]/g, '')}@example.invalid`,
      avatar_url: '',
      html_url: `${r.origin}/${login}`
    };
  }

  private repositoryJson(r: ContractRequest): Record<string, unknown> {
    const full = `${this.owner}/${this.repo}`;
    return {
      id: 1,
      owner: this.userJson(r, this.owner, 1),
      name: this.repo,
      full_name: full,
      description: '',
      private: false,
      fork: false,
      empty: false,
      mirror: false,
      archived: false,
      html_url: `${r.origin}/${full}`,
      clone_url: `${r.origin}/${full}.git`,
      default_branch: 'main',
      has_actions: true,
      has_pull_requests: true,
      allow_merge_commits: this.mergeStyles.includes('merge'),
      allow_rebase: this.mergeStyles.includes('rebase'),
      allow_rebase_explicit: this.mergeStyles.includes('rebase-merge'),
      allow_squash_merge: this.mergeStyles.includes('squash'),
      allow_fast_forward_only_merge: this.mergeStyles.includes('fast-forward-only'),
      allow_manual_merge: this.mergeStyles.includes('manually-merged')
    };
  }

  // ---- workflow dispatch -------------------------------------------------------------

  private async dispatchWorkflow(r: ContractRequest): Promise<ContractResponse> {
    const workflowId = r.params.workflow_id;
    const body = (r.body ?? {}) as { ref?: string; inputs?: Record<string, string> };
    const rec: FakeDispatch = {
      workflowId,
      ref: body.ref ?? '',
      inputs: { ...(body.inputs ?? {}) },
      status: 0,
      ...this.callerRecord(r),
      at: new Date().toISOString()
    };
    this.dispatches.push(rec);
    const a = await this.dispatchAnswer(rec, this.caller(r));
    rec.status = a.status;
    const message = (a.body as { message?: unknown } | undefined)?.message;
    if (typeof message === 'string') rec.message = message;
    return a;
  }

  private async dispatchAnswer(rec: FakeDispatch, caller: ForgeCaller): Promise<ContractResponse> {
    if (rec.ref === '') return { status: 422, body: { message: 'ref is required parameter' } };
    const refusal = this.refuseDispatch?.(rec.workflowId, rec.ref);
    if (refusal) return { status: refusal.status, body: { message: refusal.message } };
    const noWorkflow: ContractResponse = {
      status: 404,
      body: { message: `workflow "${rec.workflowId}" doesn't exist` }
    };
    if (!this.backend) return noWorkflow;
    const out = await this.backend.dispatch({
      workflowId: rec.workflowId,
      ref: rec.ref,
      inputs: rec.inputs,
      caller
    });
    switch (out.kind) {
      case 'no-ref':
        return { status: 404, body: { message: `ref "${rec.ref}" doesn't exist` } };
      case 'no-workflow':
        return noWorkflow;
      case 'no-dispatch-trigger':
        return {
          status: 422,
          body: { message: `workflow "${rec.workflowId}" has no workflow_dispatch event trigger` }
        };
      case 'queued':
        rec.runId = out.runId;
        rec.startedRun = true;
        rec.ignoredInputs = out.ignored;
        return { status: 204 };
      case 'no-run':
        rec.startedRun = false;
        rec.ignoredInputs = out.ignored;
        return { status: 204 };
    }
  }

  private caller(r: ContractRequest): ForgeCaller {
    return { credential: this.credentialOf(r.token), token: r.token };
  }

  private callerRecord(r: ContractRequest): { credential?: 'job' | 'user' } {
    const credential = this.credentialOf(r.token);
    return credential === undefined ? {} : { credential };
  }
}

const NOT_FOUND: ContractResponse = {
  status: 404,
  body: { message: "The target couldn't be found.", errors: [] }
};

/** Gitea's merge commit message: MergeTitleField, else GetDefaultMergeMessage; then MergeMessageField. */
function mergeMessage(pr: FakePull, style: GitMergeStyle, body: MergeBody): string {
  let message = (body.MergeTitleField ?? '').trim();
  if (message === '') {
    if (style === 'squash') message = `${pr.title} (#${pr.number})`;
    else if (style !== 'rebase')
      message = `Merge pull request '${pr.title}' (#${pr.number}) from ${pr.head} into ${pr.base}`;
  }
  const extra = (body.MergeMessageField ?? '').trim();
  return extra === '' ? message : `${message}\n\n${extra}`;
}

function matchesName(a: FakeArtifact, r: ContractRequest): boolean {
  const name = firstQuery(r, 'name');
  return name === undefined || name === '' || a.name === name;
}

/** Gitea's utils.GetListOptions + ToCorrectPageSize: page from 1, limit 30 by default, 50 at most. */
function paginate<T>(list: T[], r: ContractRequest): T[] {
  const page = Math.max(1, Number(firstQuery(r, 'page') ?? '1') || 1);
  const asked = Number(firstQuery(r, 'limit') ?? '0') || 0;
  const size = asked <= 0 ? DEFAULT_PAGE : Math.min(asked, MAX_PAGE);
  return list.slice((page - 1) * size, page * size);
}
