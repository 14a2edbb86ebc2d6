// Typed helpers for the workflow-run and artifact endpoints, identical in
// path on Gitea v1 and GitHub: list runs (filtered by branch, status, event),
// one run, artifacts of the repository or of a run (filtered by name), one
// artifact, and its zip. Answers are checked for the fields callers rely on,
// so a proxy's surprise becomes a clear ForgeError instead of a TypeError.
//
// Gitea facts (routers/api/v1 at the contract's commit): runs are listed
// newest first (id DESC), artifacts oldest first (id ASC); pages default to
// 30 items, at most 50. Only artifacts uploaded with the v4 protocol are
// visible here: v1-v3 uploads (actions/upload-artifact@v3) are never listed
// and /zip answers 404 for them.
//
// Listing a repository's runs is what Gitea grants least: before 1.25 there
// is no GET .../actions/runs at all (404; the artifact routes came in 1.24),
// 1.25 answers it only for the repository's owner or a site admin (403 to the
// job token), and from 1.26 a job token needs `actions: read`. Callers that
// can do without the run list (the artifact state backend falls back to the
// artefact list on 403) must treat the missing endpoint the same way, so on
// Gitea listWorkflowRuns reports that 404 as RunListUnavailable: a refusal
// (status 403, what such callers test) whose message keeps the server's 404.

import type { ForgeClient } from './client.ts';
import { ForgeError } from './forge-error.ts';

export interface RepoRef {
  owner: string;
  repo: string;
}

/** The fields of a workflow run this project reads (Gitea ActionWorkflowRun, GitHub workflow-run). */
export interface WorkflowRun {
  id: number;
  run_number?: number;
  head_branch?: string;
  head_sha?: string;
  event?: string;
  /** queued, in_progress, waiting, completed (both forges). */
  status?: string;
  /** success, failure, cancelled, skipped once completed; '' or null before. */
  conclusion?: string | null;
  html_url?: string;
  started_at?: string;
  completed_at?: string;
}

export interface Artifact {
  id: number;
  name: string;
  size_in_bytes?: number;
  expired?: boolean;
  created_at?: string;
  expires_at?: string | null;
  archive_download_url?: string;
  workflow_run?: { id?: number; head_branch?: string; head_sha?: string } | null;
}

export interface Page<T> {
  /** total_count as the server reports it: items on other pages included. */
  total: number;
  items: T[];
}

export interface RunFilter {
  branch?: string;
  /** Gitea: pending, queued, in_progress, failure, success, skipped, completed… */
  status?: string;
  event?: string;
  headSha?: string;
}

export class ActionsApi {
  readonly client: ForgeClient;
  readonly repo: RepoRef;
  private readonly base: string;

  constructor(client: ForgeClient, repo: RepoRef) {
    this.client = client;
    this.repo = repo;
    this.base = `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.repo)}/actions`;
  }

  /**
   * One page of runs, newest first. On Gitea a 404 (no run list before 1.25)
   * is thrown as RunListUnavailable, like the 403 a token that may not list
   * runs gets.
   */
  async listWorkflowRuns(filter: RunFilter, page = 1, perPage = 50): Promise<Page<WorkflowRun>> {
    const path = `${this.base}/runs`;
    let body: unknown;
    try {
      body = await this.client.request('GET', path, {
        query: {
          branch: filter.branch,
          status: filter.status,
          event: filter.event,
          head_sha: filter.headSha,
          page,
          [this.client.flavor === 'github' ? 'per_page' : 'limit']: perPage
        }
      });
    } catch (err) {
      if (this.client.flavor === 'gitea' && err instanceof ForgeError && err.status === 404)
        throw new RunListUnavailable(err);
      throw err;
    }
    return page_(body, 'workflow_runs', path, isRun);
  }

  async getWorkflowRun(runId: number): Promise<WorkflowRun> {
    const path = `${this.base}/runs/${runId}`;
    const body = await this.client.request('GET', path);
    if (!isRun(body)) throw shapeError(path, 'a workflow run with a numeric id');
    return body;
  }

  /** The repository's artifacts (one page: the Gitea contract declares no paging here). */
  async listArtifacts(name?: string): Promise<Page<Artifact>> {
    const path = `${this.base}/artifacts`;
    const body = await this.client.request('GET', path, { query: { name } });
    return page_(body, 'artifacts', path, isArtifact);
  }

  async listRunArtifacts(runId: number, name?: string): Promise<Page<Artifact>> {
    const path = `${this.base}/runs/${runId}/artifacts`;
    const body = await this.client.request('GET', path, { query: { name } });
    return page_(body, 'artifacts', path, isArtifact);
  }

  async getArtifact(artifactId: number): Promise<Artifact> {
    const path = `${this.base}/artifacts/${artifactId}`;
    const body = await this.client.request('GET', path);
    if (!isArtifact(body)) throw shapeError(path, 'an artifact with a numeric id and a name');
    return body;
  }

  /** The artifact's zip; both forges answer 302 to a signed URL first. */
  async downloadArtifact(artifactId: number): Promise<Buffer> {
    return this.client.download(`${this.base}/artifacts/${artifactId}/zip`);
  }
}

function page_<T>(
  body: unknown,
  key: string,
  path: string,
  isItem: (v: unknown) => v is T
): Page<T> {
  const obj = body as Record<string, unknown> | null;
  const items = obj && typeof obj === 'object' ? obj[key] : undefined;
  // Gitea serialises an empty Go slice as [] but a nil one as null.
  const list = items === null ? [] : items;
  if (!Array.isArray(list)) throw shapeError(path, `an object with a '${key}' list`);
  for (const item of list)
    if (!isItem(item)) throw shapeError(path, `'${key}' entries with a numeric id`);
  const total = typeof obj?.total_count === 'number' ? obj.total_count : list.length;
  return { total, items: list };
}

function isRun(v: unknown): v is WorkflowRun {
  return typeof v === 'object' && v !== null && Number.isSafeInteger((v as WorkflowRun).id);
}

function isArtifact(v: unknown): v is Artifact {
  return (
    typeof v === 'object' &&
    v !== null &&
    Number.isSafeInteger((v as Artifact).id) &&
    typeof (v as Artifact).name === 'string'
  );
}

/**
 * Gitea answered the run list with 404: the server has no such endpoint
 * (before 1.25), or the repository is not visible to the token, which the
 * next request (the artefact list) tells apart. A refusal to list runs, as
 * the owner-only 403 is: `status` is 403, `answered` and the message keep
 * the 404.
 */
export class RunListUnavailable extends ForgeError {
  readonly answered: number;
  constructor(cause: ForgeError) {
    super(
      `404 from ${cause.method} ${cause.path}: this Gitea has no run list (GET .../actions/runs came in Gitea 1.25), or the repository is not visible to the token`,
      { method: cause.method, path: cause.path, status: 403 }
    );
    this.name = 'RunListUnavailable';
    this.answered = 404;
  }
}

/** A 2xx answer whose body lacks what the caller relies on. */
export function shapeError(
  path: string,
  expected: string,
  method = 'GET',
  status = 200
): ForgeError {
  return new ForgeError(`${status} from ${method} ${path}: expected ${expected}`, {
    method,
    path,
    status
  });
}
