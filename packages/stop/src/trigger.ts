// Did this event ask for STOP? A pull_request label event fires the STOP
// workflow, and the two forges describe it differently (docs/gitea-setup.md,
// "Platform facts and minimum versions"):
//
// - GitHub: `action: labeled` and a top-level `label` (the one just added).
// - Gitea: `action: label_updated` for any label added or removed (trigger
//   matching translates it to `labeled`, the payload keeps Gitea's word) and
//   no `label` field at all. From 1.25 `changes.added_labels` /
//   `changes.removed_labels` may say what changed; before, only the
//   pull request's current `labels` tell.
//
// Both carry `pull_request.labels`, so the shipped workflows fire on
// `contains(github.event.pull_request.labels.*.name, 'stop')`, which is also
// true when some other label changes on a pull request that already has
// `stop`. This decides, from the payload, whether the `stop` label is what
// this event added, so such a repeat does nothing. Events that are not label
// events (workflow_dispatch, the CLI) always mean STOP.

import { readFileSync } from 'node:fs';

/** The label the shipped workflows react to. */
export const STOP_LABEL = 'stop';

/** GitHub's and Gitea's `action` for a label put on a pull request. */
const LABEL_ACTIONS = ['labeled', 'label_updated'];
/** ... and for a label taken off (Gitea: all labels cleared): never a request. */
const UNLABEL_ACTIONS = ['unlabeled', 'label_cleared'];

export interface StopRequest {
  /** false: a label event that did not add the stop label; STOP does nothing. */
  requested: boolean;
  /** One line: how the payload was read (for the summary). */
  why: string;
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;

/** Label names of a `labels`-like list ({name} objects); undefined when it is not a list. */
function labelNames(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((l) => obj(l)?.name).filter((n): n is string => typeof n === 'string');
}

/** Expression `contains()` compares strings case-insensitively: so does this. */
const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * Whether a pull_request label event asks for STOP; undefined when the event
 * is not a label event (then nothing in the payload speaks against STOP).
 */
export function stopRequest(
  eventName: string,
  payload: unknown,
  label = STOP_LABEL
): StopRequest | undefined {
  if (eventName !== 'pull_request' && eventName !== 'pull_request_target') return undefined;
  const p = obj(payload);
  const action = p?.action;
  if (typeof action !== 'string') return undefined;
  if (UNLABEL_ACTIONS.includes(action))
    return { requested: false, why: `a label was removed (${action})` };
  if (!LABEL_ACTIONS.includes(action)) return undefined;

  // GitHub: the label this event added.
  const added = obj(p?.label)?.name;
  if (typeof added === 'string') {
    return same(added, label)
      ? { requested: true, why: `label '${added}' added` }
      : { requested: false, why: `label '${added}' added, not '${label}'` };
  }

  // Gitea 1.25+: what changed, when the payload says.
  const changes = obj(p?.changes);
  const addedList = labelNames(changes?.added_labels);
  const removedList = labelNames(changes?.removed_labels);
  if ((addedList?.length ?? 0) > 0 || (removedList?.length ?? 0) > 0) {
    const hit = (addedList ?? []).find((n) => same(n, label));
    return hit !== undefined
      ? { requested: true, why: `label '${hit}' added` }
      : {
          requested: false,
          why: `labels changed (added: ${(addedList ?? []).join(', ') || 'none'}; removed: ${(removedList ?? []).join(', ') || 'none'}), '${label}' not added`
        };
  }

  // Older Gitea: only the labels the pull request carries now.
  const current = labelNames(obj(p?.pull_request)?.labels);
  const has = (current ?? []).find((n) => same(n, label));
  return has !== undefined
    ? {
        requested: true,
        why: `the pull request carries the '${has}' label (the event does not say which label changed)`
      }
    : { requested: false, why: `the pull request does not carry the '${label}' label` };
}

/** stopRequest() for the event the runner describes (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH). */
export function stopRequestFromEnv(env: NodeJS.ProcessEnv): StopRequest | undefined {
  const name = env.GITHUB_EVENT_NAME ?? '';
  const path = env.GITHUB_EVENT_PATH;
  if (!path || (name !== 'pull_request' && name !== 'pull_request_target')) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    // The context reader reports an unreadable payload; nothing here says "not STOP".
    return undefined;
  }
  return stopRequest(name, payload);
}
