// Which installed workflows an event starts, by Gitea's rules
// (modules/actions/workflows.go, detectMatched / matchPullRequestEvent):
// pull_request `types` are matched after translating Gitea's actions
// (synchronized -> synchronize, label_updated -> labeled, label_cleared ->
// unlabeled); without `types` only opened, reopened and synchronized start
// a run; `branches`/`branches-ignore` match the base branch's short name,
// push `branches`/`tags` the pushed ref's. With the GitHub dialect the
// payload's action is GitHub's own and is matched as it is. Filters the
// harness does not model (paths, ...) are refused.
import { HarnessError, unsupported } from './errors.ts';
import type { Dialect } from './events.ts';
import type { WorkflowDef } from './workflow-file.ts';

const GITEA_PR_ACTIONS: Record<string, string> = {
  synchronized: 'synchronize',
  label_updated: 'labeled',
  label_cleared: 'unlabeled'
};

/** GitHub's workflow filter patterns, the subset used here: literal text, `*` (not /) and `**`. */
export function patternMatches(pattern: string, value: string): boolean {
  if (/[?+[\]!]/.test(pattern)) unsupported(`filter pattern '${pattern}'`, 'on:');
  const re = pattern
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*')
    )
    .join('.*');
  return new RegExp(`^${re}$`).test(value);
}

function filterList(spec: Record<string, unknown>, key: string): string[] | undefined {
  const v = spec[key];
  return v === undefined ? undefined : ([] as unknown[]).concat(v).map(String);
}

function branchFilters(spec: Record<string, unknown>, name: string, where: string): boolean {
  const only = filterList(spec, 'branches');
  const ignore = filterList(spec, 'branches-ignore');
  if (only && ignore) throw new HarnessError(`${where}: branches and branches-ignore together`);
  if (only) return only.some((p) => patternMatches(p, name));
  if (ignore) return !ignore.some((p) => patternMatches(p, name));
  return true;
}

export interface EventInfo {
  name: string;
  payload: Record<string, unknown>;
  /** workflow_dispatch: the workflow file (path relative to the repository) it names. */
  workflowFile?: string;
}

export function triggers(def: WorkflowDef, event: EventInfo, dialect: Dialect): boolean {
  if (!(event.name in def.on)) return false;
  const spec = (def.on[event.name] ?? {}) as Record<string, unknown>;
  const where = `${def.file} on.${event.name}`;
  const known: Record<string, string[]> = {
    pull_request: ['types', 'branches', 'branches-ignore'],
    push: ['branches', 'branches-ignore', 'tags'],
    workflow_dispatch: ['inputs']
  };
  if (!known[event.name]) unsupported(`the '${event.name}' trigger`, where);
  for (const k of Object.keys(spec))
    if (!known[event.name].includes(k)) unsupported(`filter '${k}'`, where);
  switch (event.name) {
    case 'pull_request': {
      const raw = String(event.payload.action);
      const action = dialect === 'gitea' ? (GITEA_PR_ACTIONS[raw] ?? raw) : raw;
      const types = filterList(spec, 'types');
      const typeOk = types
        ? types.some((t) => patternMatches(t, action))
        : dialect === 'gitea'
          ? ['opened', 'reopened', 'synchronized'].includes(raw)
          : ['opened', 'reopened', 'synchronize'].includes(raw);
      const base = String(
        ((event.payload.pull_request as Record<string, unknown>).base as Record<string, unknown>)
          .ref
      );
      return typeOk && branchFilters(spec, base, where);
    }
    case 'push': {
      const ref = String(event.payload.ref);
      if (ref.startsWith('refs/tags/')) {
        const tags = filterList(spec, 'tags');
        return tags !== undefined && tags.some((p) => patternMatches(p, ref.slice(10)));
      }
      if (filterList(spec, 'tags') && !filterList(spec, 'branches')) return false;
      return branchFilters(spec, ref.replace(/^refs\/heads\//, ''), where);
    }
    case 'workflow_dispatch':
      return event.workflowFile === def.file;
  }
  return false;
}
