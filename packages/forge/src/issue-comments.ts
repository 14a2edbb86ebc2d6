// Issue and pull-request comments, same paths on Gitea v1 and GitHub: list
// the comments of one issue, read, create, edit and delete one. Gitea lists
// every comment of the issue in one answer, oldest first (the contract
// declares only since/before, no paging); GitHub pages them (per_page at
// most 100), so pages are followed there.

import { shapeError, type RepoRef } from './actions-api.ts';
import type { ForgeClient } from './client.ts';
import { ForgeError } from './forge-error.ts';

export interface IssueComment {
  id: number;
  body: string;
  created_at?: string;
  updated_at?: string;
}

const GITHUB_PAGE = 100;
/** 100 pages of 100: a PR with more comments is not a PR this tool can help. */
const MAX_PAGES = 100;

function base(repo: RepoRef): string {
  return `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.repo)}/issues`;
}

export async function listIssueComments(
  client: ForgeClient,
  repo: RepoRef,
  index: number
): Promise<IssueComment[]> {
  const path = `${base(repo)}/${index}/comments`;
  if (client.flavor !== 'github') return commentList(await client.request('GET', path), path);
  const all: IssueComment[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const items = commentList(
      await client.request('GET', path, { query: { per_page: GITHUB_PAGE, page } }),
      path
    );
    all.push(...items);
    if (items.length < GITHUB_PAGE) break;
  }
  return all;
}

/** One comment, or undefined when it is gone (404). */
export async function getIssueComment(
  client: ForgeClient,
  repo: RepoRef,
  id: number
): Promise<IssueComment | undefined> {
  const path = `${base(repo)}/comments/${id}`;
  try {
    return comment(await client.request('GET', path), path, 'GET');
  } catch (err) {
    if (err instanceof ForgeError && err.status === 404) return undefined;
    throw err;
  }
}

export async function createIssueComment(
  client: ForgeClient,
  repo: RepoRef,
  index: number,
  body: string
): Promise<IssueComment> {
  const path = `${base(repo)}/${index}/comments`;
  return comment(await client.request('POST', path, { body: { body } }), path, 'POST', 201);
}

export async function editIssueComment(
  client: ForgeClient,
  repo: RepoRef,
  id: number,
  body: string
): Promise<IssueComment> {
  const path = `${base(repo)}/comments/${id}`;
  const answer = await client.request('PATCH', path, { body: { body } });
  // Gitea answers 204 without a body for comment types that carry no text.
  if (answer === undefined) return { id, body };
  return comment(answer, path, 'PATCH');
}

export async function deleteIssueComment(
  client: ForgeClient,
  repo: RepoRef,
  id: number
): Promise<void> {
  await client.request('DELETE', `${base(repo)}/comments/${id}`);
}

function isComment(v: unknown): v is IssueComment {
  const c = v as IssueComment | null;
  return (
    typeof c === 'object' && c !== null && Number.isSafeInteger(c.id) && typeof c.body === 'string'
  );
}

function comment(v: unknown, path: string, method: string, status = 200): IssueComment {
  if (!isComment(v))
    throw shapeError(path, 'a comment with a numeric id and a body', method, status);
  return v;
}

function commentList(v: unknown, path: string): IssueComment[] {
  // Gitea serialises an empty Go slice as [] but a nil one as null.
  const list = v === null || v === undefined ? [] : v;
  if (!Array.isArray(list) || !list.every(isComment)) {
    throw shapeError(path, 'a list of comments with numeric ids and bodies');
  }
  return list;
}
