// Adding a label to a PR by name. Gitea's POST /issues/{index}/labels takes
// IssueLabelsOption, whose `labels` are label ids or label names (not both
// in one request); names are looked up in the repository (and its
// organisation), and a name that matches nothing is silently skipped: the
// answer is the labels, 200 either way (routers/api/v1/repo/
// issue_label.go, prepareForReplaceOrAdd). The contract offers no endpoint
// to list or create repository labels, so a missing label is reported, not
// created. GitHub creates a missing label itself.

import { shapeError, type RepoRef } from './actions-api.ts';
import type { ForgeClient } from './client.ts';

/**
 * Adds the label; resolves undefined when the PR carries it afterwards, or
 * with a one-line reason when the repository has no such label. Other
 * failures (401/403/404, 5xx) reject with the client's ForgeError.
 */
export async function addLabel(
  client: ForgeClient,
  repo: RepoRef,
  prNumber: number,
  name: string
): Promise<string | undefined> {
  const label = name.trim();
  if (label === '' || /[\r\n]/.test(label)) {
    throw new Error('label: the name must be a single non-empty line');
  }
  if (!Number.isSafeInteger(prNumber) || prNumber < 1) {
    throw new Error(`label: ${String(prNumber).slice(0, 20)} is not a pull-request number`);
  }
  const path = `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.repo)}/issues/${prNumber}/labels`;
  // Adding a label twice changes nothing, so a 5xx may be retried.
  const answer = await client.request('POST', path, {
    body: { labels: [label] },
    idempotent: true
  });
  if (!Array.isArray(answer) || !answer.every((l) => typeof l?.name === 'string')) {
    throw shapeError(path, 'the list of the issue labels', 'POST');
  }
  // MySQL and MSSQL compare label names without regard to case.
  const wanted = label.toLowerCase();
  if ((answer as { name: string }[]).some((l) => l.name.toLowerCase() === wanted)) {
    return undefined;
  }
  return `label '${label}' does not exist in ${repo.owner}/${repo.repo}: create it once in the repository's labels`;
}
