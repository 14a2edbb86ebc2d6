// The link from a commit status or a PR comment back to the workflow run that
// produced it, built from the variables every runner sets. GitHub addresses a
// run by its id (GITHUB_RUN_ID). Gitea's web route /{owner}/{repo}/actions/
// runs/{run} took the run's index within the repository (GITHUB_RUN_NUMBER)
// up to the 1.25 releases and in the forks the contract follows (kmup at
// 30b9ce95: getRunIndex -> GetRunByIndex); Gitea's main branch moved to the
// run id later. act_runner sets GITHUB_RUN_ID to the id and
// GITHUB_RUN_NUMBER to the index, so the id would open another run on an
// older server: no link is better than a wrong one.

import { detectFlavor } from './flavor.ts';

export interface RunUrlOptions {
  /** Which number Gitea's run page takes. Default 'number' (the index). */
  giteaRunPath?: 'number' | 'id';
}

/** <server>/<owner>/<repo>/actions/runs/<id or number>, or undefined when a variable is missing. */
export function runUrl(env: NodeJS.ProcessEnv, opts: RunUrlOptions = {}): string | undefined {
  const server = (env.GITHUB_SERVER_URL ?? '').trim().replace(/\/+$/, '');
  const repository = (env.GITHUB_REPOSITORY ?? '').trim();
  if (!/^https?:\/\/[^/\s]+(\/\S*)?$/.test(server)) return undefined;
  if (!/^[^/\s]+\/[^/\s]+$/.test(repository)) return undefined;
  const gitea = env.GITEA_ACTIONS === 'true' || detectFlavor(env.GITHUB_API_URL ?? '') === 'gitea';
  const useNumber = gitea && (opts.giteaRunPath ?? 'number') === 'number';
  const run = (useNumber ? env.GITHUB_RUN_NUMBER : env.GITHUB_RUN_ID)?.trim() ?? '';
  if (!/^\d+$/.test(run)) return undefined;
  const [owner, name] = repository.split('/');
  return `${server}/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/actions/runs/${run}`;
}
