// Event payloads as jobs see them (`github.event`, GITHUB_EVENT_PATH), in
// Gitea's real shapes (tests/fixtures/contracts/gitea-event-payloads.md, a copy of ../shared/contracts; from
// Gitea's modules/structs: PullRequestPayload, PushPayload,
// WorkflowDispatchPayload) and, as a second dialect, GitHub's. The
// differences that matter to workflows: Gitea's pull_request `action` is
// `synchronized` and `label_updated` where GitHub says `synchronize` and
// `labeled`, and Gitea's payload has no top-level `label` (the labels are in
// pull_request.labels, the change in changes.added_labels from 1.25).

export type Dialect = 'gitea' | 'github';

export interface RepoInfo {
  owner: string;
  name: string;
  serverUrl: string;
  defaultBranch: string;
}

export interface Label {
  id: number;
  name: string;
  color: string;
}

function user(login: string, id = 1, serverUrl = ''): Record<string, unknown> {
  return {
    id,
    login,
    login_name: '',
    full_name: '',
    email: `${login}@example.invalid`,
    avatar_url: '',
    html_url: `${serverUrl}/${login}`,
    username: login
  };
}

export function repository(repo: RepoInfo, dialect: Dialect): Record<string, unknown> {
  const full = `${repo.owner}/${repo.name}`;
  const base = {
    id: 1,
    owner: user(repo.owner, 1, repo.serverUrl),
    name: repo.name,
    full_name: full,
    description: '',
    private: false,
    fork: false,
    html_url: `${repo.serverUrl}/${full}`,
    clone_url: `${repo.serverUrl}/${full}.git`,
    default_branch: repo.defaultBranch
  };
  return dialect === 'gitea'
    ? { ...base, empty: false, mirror: false, archived: false, has_actions: true }
    : { ...base, node_id: 'R_1', url: `${repo.serverUrl}/api/v3/repos/${full}` };
}

export interface PullRequestState {
  number: number;
  title: string;
  base: string;
  baseSha: string;
  head: string;
  headSha: string;
  labels: Label[];
  state: 'open' | 'closed';
  merged: boolean;
  mergeCommitSha?: string;
}

export type PullRequestAction = 'opened' | 'reopened' | 'synchronized' | 'label_updated' | 'closed';

const GITHUB_ACTION: Record<PullRequestAction, string> = {
  opened: 'opened',
  reopened: 'reopened',
  synchronized: 'synchronize',
  label_updated: 'labeled',
  closed: 'closed'
};

export function pullRequestEvent(
  repo: RepoInfo,
  pr: PullRequestState,
  action: PullRequestAction,
  opts: { dialect: Dialect; sender?: string; added?: Label; before?: string }
): Record<string, unknown> {
  const r = repository(repo, opts.dialect);
  const full = `${repo.owner}/${repo.name}`;
  const now = new Date().toISOString();
  const branch = (ref: string, sha: string) => ({
    label: ref,
    ref,
    sha,
    repo_id: 1,
    repo: r,
    ...(opts.dialect === 'github' ? { user: user(repo.owner) } : {})
  });
  const pull = {
    id: 1000 + pr.number,
    url: `${repo.serverUrl}/${full}/pulls/${pr.number}`,
    number: pr.number,
    user: user(opts.sender ?? 'agent', 2),
    title: pr.title,
    body: '',
    labels: pr.labels.map((l) => ({
      ...l,
      description: '',
      exclusive: false,
      is_archived: false,
      url: ''
    })),
    milestone: null,
    assignee: null,
    assignees: [],
    state: pr.state,
    draft: false,
    is_locked: false,
    comments: 0,
    html_url: `${repo.serverUrl}/${full}/pulls/${pr.number}`,
    diff_url: `${repo.serverUrl}/${full}/pulls/${pr.number}.diff`,
    patch_url: `${repo.serverUrl}/${full}/pulls/${pr.number}.patch`,
    mergeable: true,
    merged: pr.merged,
    merged_at: pr.merged ? now : null,
    merge_commit_sha: pr.mergeCommitSha ?? null,
    merged_by: pr.merged ? user(opts.sender ?? 'maintainer', 3) : null,
    allow_maintainer_edit: false,
    base: branch(pr.base, pr.baseSha),
    head: branch(pr.head, pr.headSha),
    merge_base: pr.baseSha,
    due_date: null,
    created_at: now,
    updated_at: now,
    closed_at: pr.state === 'closed' ? now : null,
    pin_order: 0
  };
  if (opts.dialect === 'gitea') {
    return {
      action,
      number: pr.number,
      ...(action === 'label_updated' && opts.added
        ? {
            changes: {
              added_labels: [
                { ...opts.added, description: '', exclusive: false, is_archived: false, url: '' }
              ]
            }
          }
        : {}),
      pull_request: pull,
      requested_reviewer: null,
      repository: r,
      sender: user(opts.sender ?? 'agent', 2),
      commit_id: '',
      review: null
    };
  }
  return {
    action: GITHUB_ACTION[action],
    number: pr.number,
    pull_request: { ...pull, locked: false, node_id: `PR_${pr.number}` },
    ...(action === 'label_updated' && opts.added ? { label: opts.added } : {}),
    ...(action === 'synchronized' && opts.before ? { before: opts.before, after: pr.headSha } : {}),
    repository: r,
    sender: user(opts.sender ?? 'agent', 2)
  };
}

export interface PushCommit {
  id: string;
  message: string;
}

export function pushEvent(
  repo: RepoInfo,
  p: { ref: string; before: string; after: string; commits: PushCommit[]; pusher?: string },
  dialect: Dialect
): Record<string, unknown> {
  const r = repository(repo, dialect);
  const full = `${repo.owner}/${repo.name}`;
  const commits = p.commits.map((c) => ({
    id: c.id,
    message: c.message,
    url: `${repo.serverUrl}/${full}/commit/${c.id}`,
    author: { name: 'Test Author', email: 'author@example.invalid', username: '' },
    committer: { name: 'Test Committer', email: 'committer@example.invalid', username: '' },
    timestamp: new Date().toISOString(),
    added: [],
    removed: [],
    modified: []
  }));
  const pusher = user(p.pusher ?? 'maintainer', 3);
  const common = {
    ref: p.ref,
    before: p.before,
    after: p.after,
    commits,
    head_commit: commits.at(-1) ?? null,
    repository: r,
    pusher,
    sender: pusher
  };
  return dialect === 'gitea'
    ? {
        ...common,
        compare_url: `${repo.serverUrl}/${full}/compare/${p.before}...${p.after}`,
        total_commits: commits.length
      }
    : {
        ...common,
        compare: `${repo.serverUrl}/${full}/compare/${p.before}...${p.after}`,
        created: false,
        deleted: false,
        forced: false,
        base_ref: null,
        pusher: { name: p.pusher ?? 'maintainer', email: 'maintainer@example.invalid' }
      };
}

export function workflowDispatchEvent(
  repo: RepoInfo,
  p: { workflow: string; ref: string; inputs: Record<string, string>; sender?: string },
  dialect: Dialect
): Record<string, unknown> {
  return {
    workflow: p.workflow,
    ref: p.ref,
    inputs: p.inputs,
    repository: repository(repo, dialect),
    sender: user(p.sender ?? 'maintainer', 3)
  };
}
