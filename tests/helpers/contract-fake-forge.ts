// Stateful fakes behind the contract server, shaped after Gitea's handlers
// (routers/api/v1 at the contract's commit): workflow runs (newest first,
// status filter as Gitea maps it, pages of 30 by default and at most 50),
// v4 artefacts (oldest first; /zip answers 302 to a signed /zip/raw URL, or
// to another origin as object storage with ServeDirect does; an expired one
// answers 404 "Artifact has expired"), commit statuses, issue comments and
// issue labels. Tests add runs and artefacts and read what the code wrote.

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
  private nextId = 100;
  private readonly signatures = new Map<string, { artifactId: number; expires: number }>();

  addRun(p: Partial<FakeRun> & { branch: string }): FakeRun {
    const id = p.id ?? this.nextId++;
    const run: FakeRun = {
      id,
      runNumber: p.runNumber ?? this.runs.length + 1,
      branch: p.branch,
      state: p.state ?? 'success',
      event: p.event ?? 'push',
      headSha: p.headSha ?? randomBytes(20).toString('hex'),
      startedAt: p.startedAt ?? new Date(Date.UTC(2025, 0, 1) + id * 60_000).toISOString()
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
        })
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

  private scoped(r: ContractRequest, fn: () => ContractResponse): ContractResponse {
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
      path: `land.yml@refs/heads/${x.branch}`,
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
