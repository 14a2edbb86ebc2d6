// Which artefact holds the newest state: walk the target branch's successful
// runs newest first and yield, per run, its non-expired artefact of the
// state name. A run without one is normal (the workflow uploads only after a
// change), so the walk goes on to older runs, up to a bound.
//
// Gitea lists a repository's runs only for its owner or a site admin; with
// the job token the run list answers 403. Then the walk starts from the
// other side: the repository's artefacts of that name (readable with the job
// token), newest id first, each kept only if its run is on the branch and
// succeeded. That list has no paging in the contract and comes oldest first,
// so it is used only when it is complete (total_count fits in the page);
// otherwise the 403 stands, because a partial list would hand back an old
// baseline as if it were the newest.

import { RunListUnavailable } from '../../../forge/src/actions-api.ts';
import type { ActionsApi, Artifact, WorkflowRun } from '../../../forge/src/actions-api.ts';
import { ForgeError } from '../../../forge/src/forge-error.ts';

export interface Candidate {
  run: WorkflowRun;
  artifact: Artifact;
}

export interface SearchOptions {
  branch: string;
  name: string;
  /** Successful runs (or artefacts, on the fallback) examined at most. */
  maxRuns: number;
  now: () => Date;
  /** Receives one line per thing skipped worth telling (expired artefacts, the fallback). */
  note: (line: string) => void;
}

const PER_PAGE = 50;

export async function* stateArtifactCandidates(
  api: ActionsApi,
  opts: SearchOptions
): AsyncGenerator<Candidate> {
  let examined = 0;
  for (let page = 1; ; page++) {
    let runs: WorkflowRun[];
    try {
      runs = (
        await api.listWorkflowRuns({ branch: opts.branch, status: 'success' }, page, PER_PAGE)
      ).items;
    } catch (err) {
      if (
        page === 1 &&
        err instanceof ForgeError &&
        err.status === 403 &&
        api.client.flavor === 'gitea'
      ) {
        yield* byArtifactList(api, opts, err);
        return;
      }
      throw err;
    }
    // Newest first whatever order a proxy or forge version returns.
    runs.sort((a, b) => b.id - a.id);
    for (const run of runs) {
      // The server filtered already; a run that slipped through is not trusted.
      if (run.head_branch !== undefined && run.head_branch !== opts.branch) continue;
      if (run.conclusion !== undefined && run.conclusion !== null && run.conclusion !== 'success')
        continue;
      if (++examined > opts.maxRuns) {
        opts.note(`stopped after the newest ${opts.maxRuns} successful runs on ${opts.branch}`);
        return;
      }
      const arts = (await api.listRunArtifacts(run.id, opts.name)).items
        .filter((a) => a.name === opts.name)
        .sort((a, b) => b.id - a.id);
      for (const artifact of arts) {
        if (isExpired(artifact, opts.now())) {
          opts.note(
            `artefact '${opts.name}' of run ${describeRun(run)} has expired; looking at older runs`
          );
          continue;
        }
        yield { run, artifact };
      }
    }
    if (runs.length < PER_PAGE) return;
  }
}

async function* byArtifactList(
  api: ActionsApi,
  opts: SearchOptions,
  refused: ForgeError
): AsyncGenerator<Candidate> {
  const list = await api.listArtifacts(opts.name);
  if (list.total > list.items.length) {
    throw new ForgeError(
      `${refused.message}; the fallback through the artefact list cannot help: it shows ${list.items.length} of ${list.total} '${opts.name}' artefacts, oldest first, and the newest may be among the missing`,
      { method: refused.method, path: refused.path, status: refused.status }
    );
  }
  const answered = refused instanceof RunListUnavailable ? refused.answered : refused.status;
  const why =
    refused instanceof RunListUnavailable
      ? 'this Gitea has no run list'
      : 'the token may not list runs';
  opts.note(
    `${why} (${answered} from ${refused.method} ${refused.path}); found the state through the repository's artefact list instead`
  );
  const arts = list.items.filter((a) => a.name === opts.name).sort((a, b) => b.id - a.id);
  let examined = 0;
  for (const artifact of arts) {
    if (isExpired(artifact, opts.now())) continue;
    const runId = artifact.workflow_run?.id;
    if (runId === undefined) continue;
    if (++examined > opts.maxRuns) return;
    const run = await api.getWorkflowRun(runId);
    if (run.head_branch !== opts.branch || run.conclusion !== 'success') continue;
    yield { run, artifact };
  }
}

export function isExpired(a: Artifact, now: Date): boolean {
  if (a.expired === true) return true;
  if (a.expires_at) {
    const t = Date.parse(a.expires_at);
    // Go's zero time (0001-01-01) means "never set", not "long expired".
    if (!Number.isNaN(t) && t > Date.parse('1971-01-01T00:00:00Z') && t <= now.getTime())
      return true;
  }
  return false;
}

export function describeRun(run: WorkflowRun): string {
  return run.run_number !== undefined ? `#${run.run_number} (id ${run.id})` : `id ${run.id}`;
}
