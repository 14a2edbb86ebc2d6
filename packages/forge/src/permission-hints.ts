// One sentence per 401/403/404 that says what is missing, for the endpoint
// that was refused. Facts behind the Gitea wording (Gitea v1 API, checked
// against routers/api/v1/api.go): every /repos route requires a token scope
// of the repository category (read:repository for GET, write:repository
// otherwise), issue and label routes the issue category; the actions
// artifact and single-run routes require read access to the repository's
// Actions unit, which the job token has; listing a repository's runs
// (GET /repos/{owner}/{repo}/actions/runs) is reserved to the repository's
// owner or a site admin, so the job token gets 403 there.

import type { ForgeFlavor } from './flavor.ts';

interface Rule {
  test: RegExp;
  methods?: readonly string[];
  gitea: string;
  github: string;
}

const REPO = '^/repos/[^/]+/[^/]+';

const RULES: readonly Rule[] = [
  {
    test: new RegExp(`${REPO}/actions/runs/?$`),
    methods: ['GET'],
    gitea:
      "the token may not list this repository's workflow runs (Gitea lists runs only for the repository owner, an owner-team member or a site admin, so the job token is not enough; use such a user's token with the 'read:repository' scope)",
    github:
      'the token lacks read access to actions (GitHub: give the job `permissions: actions: read`)'
  },
  {
    test: new RegExp(`${REPO}/actions/`),
    methods: ['GET'],
    gitea:
      "the token lacks read access to actions (Gitea: a token with the 'read:repository' scope whose user can read the repository's Actions; the job token can)",
    github:
      'the token lacks read access to actions (GitHub: give the job `permissions: actions: read`)'
  },
  {
    test: new RegExp(`${REPO}/actions/`),
    gitea:
      "the token lacks write access to actions (Gitea: the 'write:repository' scope and write access to the repository's Actions)",
    github:
      'the token lacks write access to actions (GitHub: give the job `permissions: actions: write`)'
  },
  {
    test: new RegExp(`${REPO}/statuses/`),
    methods: ['POST'],
    gitea:
      "the token lacks write access to commit statuses (Gitea: the 'write:repository' scope and write access to the repository's code)",
    github:
      'the token lacks write access to commit statuses (GitHub: give the job `permissions: statuses: write`)'
  },
  {
    test: new RegExp(`${REPO}/(statuses|commits)/`),
    gitea:
      "the token lacks read access to commit statuses (Gitea: the 'read:repository' scope and read access to the repository's code)",
    github:
      'the token lacks read access to commit statuses (GitHub: give the job `permissions: statuses: read`)'
  },
  {
    test: new RegExp(`${REPO}/issues/`),
    methods: ['GET'],
    gitea:
      "the token lacks read access to issues and pull requests (Gitea: the 'read:issue' scope)",
    github:
      'the token lacks read access to issues (GitHub: give the job `permissions: issues: read` or `pull-requests: read`)'
  },
  {
    test: new RegExp(`${REPO}/issues/`),
    gitea:
      "the token lacks write access to issues and pull requests (Gitea: the 'write:issue' scope and write access to the repository's issues or pull requests)",
    github:
      'the token lacks write access to issues (GitHub: give the job `permissions: issues: write` or `pull-requests: write`)'
  },
  {
    test: new RegExp(`${REPO}/pulls`),
    methods: ['GET'],
    gitea:
      "the token lacks read access to pull requests (Gitea: the 'read:repository' scope and read access to the repository's pull requests)",
    github:
      'the token lacks read access to pull requests (GitHub: give the job `permissions: pull-requests: read`)'
  },
  {
    test: new RegExp(`${REPO}/pulls`),
    gitea:
      "the token lacks write access to pull requests (Gitea: the 'write:repository' scope and write access to the repository's pull requests)",
    github:
      'the token lacks write access to pull requests (GitHub: give the job `permissions: pull-requests: write`)'
  }
];

export function permissionHint(
  status: number,
  method: string,
  path: string,
  flavor: ForgeFlavor
): string {
  if (status === 401) {
    return "the token was rejected (missing, malformed, expired or revoked); check the 'token' input";
  }
  if (status === 404) {
    const repo = /^\/repos\/([^/]+\/[^/]+)/.exec(path)?.[1];
    const where = repo ? `the repository ${repo}` : 'the resource';
    return `${where} was not found or the token cannot see it (a private repository needs read access; for actions endpoints, Actions must be enabled), or the object it names is gone`;
  }
  if (/^\/repos\/[^/]+\/[^/]+\/?$/.test(path) && method !== 'GET') {
    return flavor === 'gitea'
      ? "the token lacks admin rights on the repository (Gitea: the 'write:repository' scope and repository admin or owner)"
      : 'the token lacks admin rights on the repository (GitHub: `administration: write`)';
  }
  for (const r of RULES) {
    if (r.methods && !r.methods.includes(method)) continue;
    if (r.test.test(path)) return flavor === 'gitea' ? r.gitea : r.github;
  }
  return `the token lacks the permission ${method} ${path} needs`;
}
