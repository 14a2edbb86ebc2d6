// The one sticky comment per PR that gathers every gate's verdict: found by
// its marker, read, changed, rendered and edited in place, or created when
// there is none. Several marked comments (a copy, an old bug): the newest is
// edited, the others are left alone.
//
// Each gate runs in its own job, and neither forge offers a compare-and-set
// on comments, so two jobs may read the same state and the later write would
// drop the earlier row. Each write is therefore read back after a short,
// jittered pause: when this job's row (or note) is missing and nothing newer
// replaced it, the round repeats, a bounded number of times. Two jobs that
// both find no comment both create one; right after creating, the oldest
// marked comment wins and the newer one merges its row there and deletes
// itself. This narrows the window; it cannot close it, which is why the
// commit statuses, not this comment, are what the PR's merge relies on.

import { randomBytes } from 'node:crypto';
import { describeError } from '../../core/src/errors.ts';
import type { Logger } from '../../core/src/logger.ts';
import type { RepoRef } from './actions-api.ts';
import type { ForgeClient } from './client.ts';
import {
  emptyEdgeState,
  isEdgeComment,
  readEdgeState,
  renderEdgeComment,
  withNote,
  withRow,
  type EdgeNoteKind,
  type EdgeState,
  type GateRowInput
} from './edge-comment.ts';
import {
  createIssueComment,
  deleteIssueComment,
  editIssueComment,
  getIssueComment,
  listIssueComments,
  type IssueComment
} from './issue-comments.ts';

export interface StickyOptions {
  logger?: Logger;
  now?: () => Date;
  /** Pause before reading a write back (jittered ±25 %). Default 1500 ms. */
  settleMs?: number;
  /** Read-change-write rounds before giving up on confirming the write. Default 3. */
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface StickyResult {
  commentId: number;
  /** True when this call created the comment (and kept it). */
  created: boolean;
  /** True when the write was read back (or found superseded by a newer one). */
  confirmed: boolean;
  /** Already logged as warnings when a logger was given. */
  warnings: string[];
}

export interface GateRowExtra {
  /** Sets the needs-human note; '' clears it; undefined leaves it as it is. */
  needsHuman?: string;
}

/** Replaces this gate's row in the PR's edge comment (creating the comment if needed). */
export async function upsertGateRow(
  client: ForgeClient,
  repo: RepoRef,
  prNumber: number,
  row: GateRowInput,
  extra: GateRowExtra = {},
  opts: StickyOptions = {}
): Promise<StickyResult> {
  const rev = randomBytes(8).toString('hex');
  return update(client, repo, prNumber, opts, `the ${row.gate} row`, {
    change: (s, at) => {
      const next = withRow(s, row, at, rev);
      return extra.needsHuman === undefined
        ? next
        : withNote(next, 'needsHuman', extra.needsHuman, at, row.headSha);
    },
    applied: (s, at) => {
      const r = s.gates[row.gate];
      const rowDone = r !== undefined && (r.rev === rev || r.at > at);
      return (
        rowDone &&
        (extra.needsHuman === undefined || noteApplied(s, 'needsHuman', extra.needsHuman, at))
      );
    }
  });
}

/** Sets (or, with '' or undefined, clears) a whole-comment note: STOP or needs-human. */
export async function setEdgeNote(
  client: ForgeClient,
  repo: RepoRef,
  prNumber: number,
  kind: EdgeNoteKind,
  text: string | undefined,
  opts: StickyOptions & { headSha?: string } = {}
): Promise<StickyResult> {
  return update(client, repo, prNumber, opts, `the ${kind} note`, {
    change: (s, at) => withNote(s, kind, text, at, opts.headSha),
    applied: (s, at) => noteApplied(s, kind, text, at)
  });
}

/** Marks the landing as stopped (a STOP request, a cancelled run) at the top of the comment. */
export async function markCancelled(
  client: ForgeClient,
  repo: RepoRef,
  prNumber: number,
  reason: string,
  opts: StickyOptions & { headSha?: string } = {}
): Promise<StickyResult> {
  return setEdgeNote(client, repo, prNumber, 'stop', reason || 'cancelled', opts);
}

/** The PR's edge comment (the newest marked one), if any. */
export async function findEdgeComment(
  client: ForgeClient,
  repo: RepoRef,
  prNumber: number
): Promise<IssueComment | undefined> {
  return (await markedComments(client, repo, prNumber)).at(-1);
}

function noteApplied(
  s: EdgeState,
  kind: EdgeNoteKind,
  text: string | undefined,
  at: string
): boolean {
  const note = s.notes[kind];
  if (note !== undefined && note.at > at) return true;
  return (text ?? '').trim() === '' ? note === undefined : note !== undefined && note.at === at;
}

async function markedComments(
  client: ForgeClient,
  repo: RepoRef,
  prNumber: number
): Promise<IssueComment[]> {
  checkPr(prNumber);
  const all = await listIssueComments(client, repo, prNumber);
  return all.filter((c) => isEdgeComment(c.body)).sort((a, b) => a.id - b.id);
}

interface Change {
  change: (s: EdgeState, at: string) => EdgeState;
  applied: (s: EdgeState, at: string) => boolean;
}

async function update(
  client: ForgeClient,
  repo: RepoRef,
  prNumber: number,
  opts: StickyOptions,
  what: string,
  c: Change
): Promise<StickyResult> {
  const at = (opts.now ?? (() => new Date()))().toISOString();
  const attempts = Math.max(1, opts.attempts ?? 3);
  const settleMs = opts.settleMs ?? 1500;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const warnings: string[] = [];
  const warn = (m: string): void => {
    warnings.push(m);
    opts.logger?.warning(m);
  };
  let id = 0;
  let created = false;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const marked = await markedComments(client, repo, prNumber);
    const target = marked.at(-1);
    if (attempt === 1 && marked.length > 1) {
      opts.logger?.info(
        `PR #${prNumber} has ${marked.length} quality-gates comments; editing the newest (${target!.id})`
      );
    }
    const state = target ? stateOf(target, warn) : emptyEdgeState();
    const body = renderEdgeComment(c.change(state, at));
    if (target) {
      id = target.id;
      if (target.body !== body) await editIssueComment(client, repo, id, body);
    } else {
      id = (await createIssueComment(client, repo, prNumber, body)).id;
      created = true;
      const oldest = (await markedComments(client, repo, prNumber))[0];
      if (oldest && oldest.id !== id) {
        // Another job created one first: merge into it (next round) and withdraw ours.
        await withdraw(client, repo, id, warn);
        created = false;
        continue;
      }
    }
    if (settleMs > 0) await sleep(Math.round(settleMs * (0.75 + Math.random() * 0.5)));
    const back = await getIssueComment(client, repo, id);
    const s = back ? readEdgeState(back.body).state : undefined;
    if (s && c.applied(s, at)) return { commentId: id, created, confirmed: true, warnings };
    opts.logger?.debug(
      `PR #${prNumber}: ${what} was not found in comment ${id} after writing it (another job wrote at the same time); round ${attempt + 1} of ${attempts}`
    );
  }
  warn(
    `could not confirm ${what} in the PR #${prNumber} comment after ${attempts} attempt(s): other jobs kept editing it at the same time`
  );
  return { commentId: id, created, confirmed: false, warnings };
}

function stateOf(target: IssueComment, warn: (m: string) => void): EdgeState {
  const r = readEdgeState(target.body);
  if (r.state) return r.state;
  const why = r.problem === 'absent' ? 'it carries no state block' : r.problem;
  warn(`quality-gates comment ${target.id}: ${why}; starting the table afresh`);
  return emptyEdgeState();
}

async function withdraw(
  client: ForgeClient,
  repo: RepoRef,
  id: number,
  warn: (m: string) => void
): Promise<void> {
  try {
    await deleteIssueComment(client, repo, id);
  } catch (err) {
    warn(`could not delete the duplicate quality-gates comment ${id}: ${describeError(err)}`);
  }
}

function checkPr(prNumber: number): void {
  if (!Number.isSafeInteger(prNumber) || prNumber < 1) {
    throw new Error(`PR comment: ${String(prNumber).slice(0, 20)} is not a pull-request number`);
  }
}
