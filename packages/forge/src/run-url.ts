// The link from a commit status, a PR comment or an alert back to the
// workflow run that produced it: a link a person opens in a browser.
//
// Where: the repository's web address from the event payload
// (GITHUB_EVENT_PATH, `repository.html_url`, which both forges send and
// Gitea builds from its public ROOT_URL). GITHUB_SERVER_URL is only the
// fallback: act_runner sets it to the address the runner registered with,
// which may be an internal host a person cannot reach.
//
// Which number: GitHub's run page takes the run id (GITHUB_RUN_ID). Gitea's
// /{owner}/{repo}/actions/runs/{n} took the run's index in the repository
// (GITHUB_RUN_NUMBER) up to 1.25; from 1.26 (go-gitea/gitea#36842) it reads
// n as a run id first and only then as an index, so a link built from the
// number opens the run whose id happens to equal it whenever one exists in
// the repository. The server version is not in a job's environment, so the
// caller passes it when it knows it (`giteaVersion`: below 1.26, and
// Forgejo, which reports "+gitea-1.2x", the number). Unknown: the id. On 1.26+
// that is right; on an older server it is right when id and index are equal
// (one busy repository) and otherwise, since an id is never below the index,
// opens no run until the repository has that many runs, rather than linking
// an existing wrong run as the number does on 1.26+ from the start.

import { readFileSync } from 'node:fs';
import { detectFlavor } from './flavor.ts';

export interface RunUrlOptions {
  /**
   * Gitea's version (GET /api/v1/version: "1.25.4", "1.26.0+dev-3-gabc",
   * Forgejo's "11.0.1+gitea-1.22.0"), when the caller knows it.
   */
  giteaVersion?: string;
}

/** The first Gitea whose run page reads the run id. */
export const GITEA_RUN_ID_ROUTE = [1, 26] as const;

/** Which number Gitea's run page takes for `version`; 'id' when the version says nothing. */
export function giteaRunPath(version: string | undefined): 'id' | 'number' {
  const v = (version ?? '').trim();
  const m = /\+gitea-(\d+)\.(\d+)/.exec(v) ?? /^v?(\d+)\.(\d+)/.exec(v);
  if (!m) return 'id';
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const [M, N] = GITEA_RUN_ID_ROUTE;
  return major > M || (major === M && minor >= N) ? 'id' : 'number';
}

function httpBase(value: unknown): URL | undefined {
  if (typeof value !== 'string' || /\s/.test(value)) return undefined;
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined;
  } catch {
    return undefined;
  }
}

/**
 * <web address of owner/name>, from the event payload's repository.html_url
 * when it names this repository, else GITHUB_SERVER_URL/owner/name.
 */
export function repositoryWebUrl(env: NodeJS.ProcessEnv): string | undefined {
  const repository = (env.GITHUB_REPOSITORY ?? '').trim();
  if (!/^[^/\s]+\/[^/\s]+$/.test(repository)) return undefined;
  const fromEvent = httpBase(eventRepositoryHtmlUrl(env.GITHUB_EVENT_PATH));
  if (fromEvent) {
    const path = fromEvent.pathname.replace(/\/+$/, '');
    if (path.toLowerCase().endsWith(`/${repository.toLowerCase()}`))
      return `${fromEvent.origin}${path}`;
  }
  const server = httpBase((env.GITHUB_SERVER_URL ?? '').trim());
  if (!server || server.search || server.hash) return undefined;
  const [owner, name] = repository.split('/');
  const root = `${server.origin}${server.pathname.replace(/\/+$/, '')}`;
  return `${root}/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
}

function eventRepositoryHtmlUrl(path: string | undefined): unknown {
  if (!path) return undefined;
  try {
    const payload = JSON.parse(readFileSync(path, 'utf8')) as {
      repository?: { html_url?: unknown } | null;
    } | null;
    return payload?.repository?.html_url;
  } catch {
    return undefined;
  }
}

/** <repository web address>/actions/runs/<id or number>, or undefined when a variable is missing. */
export function runUrl(env: NodeJS.ProcessEnv, opts: RunUrlOptions = {}): string | undefined {
  const base = repositoryWebUrl(env);
  if (!base) return undefined;
  const gitea = env.GITEA_ACTIONS === 'true' || detectFlavor(env.GITHUB_API_URL ?? '') === 'gitea';
  const useNumber = gitea && giteaRunPath(opts.giteaVersion) === 'number';
  const run = (useNumber ? env.GITHUB_RUN_NUMBER : env.GITHUB_RUN_ID)?.trim() ?? '';
  if (!/^\d+$/.test(run)) return undefined;
  return `${base}/actions/runs/${run}`;
}
