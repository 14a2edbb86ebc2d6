// The run context: what a gate learns from its environment (workspace, repo,
// event payload, clock, logger). Built once from env; tests build it directly.

import { readFileSync } from 'node:fs';
import type { Logger } from './logger.ts';

export interface EventInfo {
  name: string;
  /** The payload's `action` (opened, synchronize, reopened, closed, labeled...), when it has one. */
  action?: string;
  /** The PR's target branch (pull_request.base.ref), when the event is a PR. */
  baseRef?: string;
  headRef?: string;
  headSha?: string;
  prNumber?: number;
  /** owner/name of the repository the PR's head branch lives in (a fork's differs from the base). */
  headRepo?: string;
  /** The PR's state in the payload: open or closed. */
  prState?: string;
  /** Set when GITHUB_EVENT_PATH was given but could not be read or parsed. */
  problem?: string;
}

export interface RunContext {
  env: NodeJS.ProcessEnv;
  workspace: string;
  /** owner/name, '' when unknown (a local CLI run outside any forge). */
  repository: string;
  event: EventInfo;
  logger: Logger;
  now: () => Date;
}

export function readEvent(env: NodeJS.ProcessEnv): EventInfo {
  const info: EventInfo = { name: env.GITHUB_EVENT_NAME ?? '' };
  // GITHUB_BASE_REF / GITHUB_HEAD_REF are set on PR events by GitHub and Gitea alike.
  if (env.GITHUB_BASE_REF) info.baseRef = env.GITHUB_BASE_REF;
  if (env.GITHUB_HEAD_REF) info.headRef = env.GITHUB_HEAD_REF;
  const path = env.GITHUB_EVENT_PATH;
  if (!path) return info;
  let payload: unknown;
  try {
    payload = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    info.problem = `event payload ${path} is not readable JSON`;
    return info;
  }
  const action = (payload as { action?: unknown } | null)?.action;
  if (typeof action === 'string') info.action = action;
  const pr = (payload as { pull_request?: Record<string, unknown> } | null)?.pull_request;
  if (pr && typeof pr === 'object') {
    const base = pr.base as { ref?: unknown } | undefined;
    const head = pr.head as
      { ref?: unknown; sha?: unknown; repo?: { full_name?: unknown } | null } | undefined;
    if (typeof base?.ref === 'string') info.baseRef = base.ref;
    if (typeof head?.ref === 'string') info.headRef = head.ref;
    if (typeof head?.sha === 'string') info.headSha = head.sha;
    if (typeof head?.repo?.full_name === 'string') info.headRepo = head.repo.full_name;
    if (typeof pr.state === 'string') info.prState = pr.state;
    const num = (payload as { number?: unknown }).number ?? pr.number;
    if (typeof num === 'number') info.prNumber = num;
  }
  // The merge queue's wake-up: the edge dispatched for a waiting branch
  // (workflow_dispatch with inputs branch and pr-number) gates that branch
  // and publishes on that pull request.
  const inputs = (payload as { inputs?: Record<string, unknown> } | null)?.inputs;
  if (!pr && info.name === 'workflow_dispatch' && inputs && typeof inputs === 'object') {
    const branch = typeof inputs.branch === 'string' ? inputs.branch.trim() : '';
    if (branch !== '') info.headRef = branch.replace(/^refs\/heads\//, '');
    const n = inputs['pr-number'];
    const num =
      typeof n === 'number'
        ? n
        : typeof n === 'string' && /^[1-9]\d{0,9}$/.test(n.trim())
          ? Number(n)
          : undefined;
    if (num !== undefined && Number.isSafeInteger(num)) info.prNumber = num;
  }
  return info;
}

export function contextFromEnv(env: NodeJS.ProcessEnv, logger: Logger): RunContext {
  return {
    env,
    workspace: env.GITHUB_WORKSPACE || process.cwd(),
    repository: env.GITHUB_REPOSITORY ?? '',
    event: readEvent(env),
    logger,
    now: () => new Date()
  };
}
