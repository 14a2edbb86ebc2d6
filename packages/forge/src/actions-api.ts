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

  /** One page of runs, newest first. */
  async listWorkflowRuns(filter: RunFilter, page = 1, perPage = 50): Promise<Page<WorkflowRun>> {
    const path = `${this.base}/runs`;
    const body = await this.client.request('GET', path, {
      query: {
        branch: filter.branch,
        status: filter.status,
        event: filter.event,
        head_sha: filter.headSha,
        page,
        [this.client.flavor === 'github' ? 'per_page' : 'limit']: perPage
      }
    });
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
