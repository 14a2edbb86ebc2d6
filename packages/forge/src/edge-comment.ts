// The sticky PR comment as data and text, without I/O: the state every gate's
// job reads back (one row per gate, notes for STOP and needs-human), the
// markdown a reviewer sees (a table in edge order, then the blocking
// findings), and the hidden block that carries the state between jobs.
//
// The state travels as base64 JSON inside an HTML comment, so no text in it
// can close the comment early; every visible piece of text (branch names,
// test output) is escaped so it can neither break the table nor inject HTML,
// links or mentions. The state is a convenience for the next job, not a
// record to trust: anyone who may edit the comment may edit it, so a block
// that does not parse is dropped and the comment starts afresh. The commit
// statuses, not this comment, decide whether the PR may merge.

import { escapeCell } from '../../core/src/markdown.ts';
import { GATES, VERDICTS, oneLine, type GateName, type Verdict } from '../../core/src/verdict.ts';

export const EDGE_MARKER = '<!-- quality-gates:edge -->';
const STATE_OPEN = '<!-- quality-gates:state ';
const STATE_BLOCK = /<!-- quality-gates:state ([A-Za-z0-9+/=]*) -->/g;

/** Limits that keep the comment far below GitHub's 65,536 characters. */
export const MAX_BLOCKING_PER_GATE = 10;
const MAX_ITEM = 240;
const MAX_SUMMARY = 240;
const MAX_FIGURE = 80;
const MAX_NOTE = 500;

export interface GateRowInput {
  gate: GateName;
  verdict: Verdict;
  /** The key figure: '0 findings', '81.2 % (baseline 80.0 %)'. */
  figure: string;
  summary: string;
  /** http(s) link to the run or report. */
  link?: string;
  /** Blocking findings, already redacted by the caller. */
  blocking?: string[];
  /** How many blocking findings there are in all, when `blocking` lists only the first. */
  blockingTotal?: number;
  /**
   * Lines a reviewer should see whatever the verdict, under a title (the
   * coverage gate's changed lines that no test ran, per file), already
   * redacted by the caller; `more` counts those left out.
   */
  details?: { title: string; items: string[]; more?: number };
  /** The commit the gate ran on. */
  headSha: string;
}

export interface EdgeRow extends GateRowInput {
  /** When the row was written (ISO 8601). */
  at: string;
  /** Random id of the write, so a job can tell its own row from a newer one. */
  rev: string;
  /** Blocking findings beyond those kept. */
  blockingMore?: number;
}

export interface EdgeNote {
  text: string;
  at: string;
  headSha?: string;
}

export type EdgeNoteKind = 'stop' | 'needsHuman';

export interface EdgeState {
  v: 1;
  /** The newest commit any gate reported on; rows for another commit are older. */
  headSha?: string;
  gates: Partial<Record<GateName, EdgeRow>>;
  notes: Partial<Record<EdgeNoteKind, EdgeNote>>;
}

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export function emptyEdgeState(): EdgeState {
  return { v: 1, gates: {}, notes: {} };
}

export function isEdgeComment(body: string): boolean {
  return body.trimStart().startsWith(EDGE_MARKER);
}

/** The state with this gate's row replaced; the row's commit becomes the current one. */
export function withRow(state: EdgeState, input: GateRowInput, at: string, rev: string): EdgeState {
  if (!(GATES as readonly string[]).includes(input.gate)) {
    throw new Error(`edge comment: unknown gate '${String(input.gate).slice(0, 40)}'`);
  }
  if (!(VERDICTS as readonly string[]).includes(input.verdict)) {
    throw new Error(`edge comment: unknown verdict '${String(input.verdict).slice(0, 40)}'`);
  }
  if (!SHA.test(input.headSha)) {
    throw new Error('edge comment: headSha must be a full commit id (40 lower-case hex digits)');
  }
  const all = (input.blocking ?? []).map((b) => oneLine(b, MAX_ITEM)).filter((b) => b !== '');
  const row: EdgeRow = {
    gate: input.gate,
    verdict: input.verdict,
    figure: oneLine(input.figure, MAX_FIGURE),
    summary: oneLine(input.summary, MAX_SUMMARY),
    headSha: input.headSha,
    at,
    rev
  };
  if (input.link && safeLink(input.link)) row.link = input.link;
  if (all.length > 0) row.blocking = all.slice(0, MAX_BLOCKING_PER_GATE);
  const total = Math.max(
    all.length,
    Number.isSafeInteger(input.blockingTotal) ? (input.blockingTotal as number) : 0
  );
  if (all.length > 0 && total > (row.blocking?.length ?? 0))
    row.blockingMore = total - (row.blocking?.length ?? 0);
  const items = (input.details?.items ?? []).map((d) => oneLine(d, MAX_ITEM)).filter(Boolean);
  if (input.details && items.length > 0) {
    const kept = items.slice(0, MAX_BLOCKING_PER_GATE);
    const more =
      items.length -
      kept.length +
      (Number.isSafeInteger(input.details.more) ? Math.max(0, input.details.more as number) : 0);
    row.details = {
      title: oneLine(input.details.title, MAX_FIGURE),
      items: kept,
      ...(more > 0 ? { more } : {})
    };
  }
  return {
    ...state,
    headSha: input.headSha,
    gates: { ...state.gates, [input.gate]: row }
  };
}

/** The state with a note set (text) or cleared (undefined or ''). */
export function withNote(
  state: EdgeState,
  kind: EdgeNoteKind,
  text: string | undefined,
  at: string,
  headSha?: string
): EdgeState {
  const notes = { ...state.notes };
  const flat = oneLine(text ?? '', MAX_NOTE);
  if (flat === '') delete notes[kind];
  else notes[kind] = { text: flat, at, ...(headSha && SHA.test(headSha) ? { headSha } : {}) };
  return { ...state, notes };
}

/** Text for a table cell or a list item: one line, no HTML, no table breaks, no links or mentions. */
export function escapeInline(text: string, max = MAX_ITEM): string {
  return escapeCell(oneLine(text, max))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[[\]*_~]/g, (c) => `\\${c}`)
    .replace(/@|#(?=\d)/g, (c) => `${c}&#8203;`);
}

const NOTE_TITLE: Record<EdgeNoteKind, string> = {
  stop: 'Stopped',
  needsHuman: 'Needs a human'
};

export function renderEdgeComment(state: EdgeState): string {
  const head = state.headSha;
  const lines: string[] = [EDGE_MARKER, '### quality-gates: edge checks', ''];
  const noteKinds = (['stop', 'needsHuman'] as const).filter((k) => state.notes[k]);
  for (const kind of noteKinds) {
    const n = state.notes[kind]!;
    const from = n.headSha && n.headSha !== head ? ` (commit \`${short(n.headSha)}\`)` : '';
    lines.push(`> **${NOTE_TITLE[kind]}:** ${escapeInline(n.text, MAX_NOTE)}${from}`);
  }
  if (noteKinds.length > 0) lines.push('');
  lines.push('| Gate | Verdict | Key figure | Summary | Run |', '| --- | --- | --- | --- | --- |');
  let older = false;
  for (const gate of GATES) {
    const row = state.gates[gate];
    if (!row) {
      lines.push(`| ${gate} | not run | - | - | - |`);
      continue;
    }
    const stale = head !== undefined && row.headSha !== head;
    older ||= stale;
    const verdict = stale ? `${row.verdict} (older commit \`${short(row.headSha)}\`)` : row.verdict;
    const link = row.link && safeLink(row.link) ? `[run](${linkTarget(row.link)})` : '-';
    lines.push(
      `| ${gate} | ${verdict} | ${escapeInline(row.figure, MAX_FIGURE) || '-'} | ${escapeInline(row.summary, MAX_SUMMARY) || '-'} | ${link} |`
    );
  }
  if (older && head) {
    lines.push('', `Rows marked "older commit" ran before the head moved to \`${short(head)}\`.`);
  }
  const blocking = GATES.map((g) => state.gates[g]).filter(
    (r): r is EdgeRow => r !== undefined && (r.blocking?.length ?? 0) > 0
  );
  if (blocking.length > 0) {
    lines.push('', '#### Blocking findings');
    for (const row of blocking) {
      lines.push('', `**${row.gate}**`, '');
      for (const item of row.blocking ?? []) lines.push(`- ${escapeInline(item)}`);
      if (row.blockingMore) lines.push(`- … and ${row.blockingMore} more (see the run)`);
    }
  }
  for (const gate of GATES) {
    const d = state.gates[gate]?.details;
    if (!d || d.items.length === 0) continue;
    lines.push('', `#### ${escapeInline(d.title, MAX_FIGURE)} (${gate})`, '');
    for (const item of d.items) lines.push(`- ${escapeInline(item)}`);
    if (d.more) lines.push(`- … and ${d.more} more (see the run)`);
  }
  const at = latest(state);
  lines.push(
    '',
    `<sub>Edited in place by each gate's job${at ? `; last update ${escapeInline(at, 40)}` : ''}.</sub>`,
    `${STATE_OPEN}${Buffer.from(JSON.stringify(state), 'utf8').toString('base64')} -->`
  );
  return lines.join('\n');
}

/** The state carried by a comment body; undefined when absent or not trustworthy. */
export function parseEdgeState(body: string): EdgeState | undefined {
  return readEdgeState(body).state;
}

/** The state, or why none could be read ('absent' when there is no block at all). */
export function readEdgeState(body: string): { state?: EdgeState; problem?: string } {
  const blocks = [...body.matchAll(STATE_BLOCK)];
  if (blocks.length === 0) {
    return { problem: body.includes(STATE_OPEN) ? 'the state block is garbled' : 'absent' };
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(blocks[blocks.length - 1][1], 'base64').toString('utf8'));
  } catch {
    return { problem: 'the state block is not base64 JSON' };
  }
  const problem = stateProblem(value);
  return problem ? { problem } : { state: value as EdgeState };
}

function stateProblem(v: unknown): string | undefined {
  if (!isObject(v) || v.v !== 1) return 'the state block has an unknown version';
  if (v.headSha !== undefined && !isSha(v.headSha)) return 'the state head is not a commit id';
  if (!isObject(v.gates) || !isObject(v.notes)) return 'the state block lacks gates or notes';
  for (const [gate, row] of Object.entries(v.gates)) {
    if (!(GATES as readonly string[]).includes(gate) || !rowValid(row) || row.gate !== gate) {
      return `the row for '${gate.slice(0, 40)}' is not valid`;
    }
  }
  for (const [kind, note] of Object.entries(v.notes)) {
    const valid =
      (kind === 'stop' || kind === 'needsHuman') &&
      isObject(note) &&
      typeof note.text === 'string' &&
      typeof note.at === 'string' &&
      (note.headSha === undefined || isSha(note.headSha));
    if (!valid) return `the note '${kind.slice(0, 40)}' is not valid`;
  }
  return undefined;
}

function rowValid(r: unknown): r is EdgeRow {
  return (
    isObject(r) &&
    (VERDICTS as readonly unknown[]).includes(r.verdict) &&
    ['figure', 'summary', 'at', 'rev'].every((k) => typeof r[k] === 'string') &&
    isSha(r.headSha) &&
    (r.link === undefined || typeof r.link === 'string') &&
    (r.blockingMore === undefined || Number.isSafeInteger(r.blockingMore)) &&
    (r.blocking === undefined ||
      (Array.isArray(r.blocking) && r.blocking.every((b) => typeof b === 'string'))) &&
    (r.details === undefined ||
      (isObject(r.details) &&
        typeof r.details.title === 'string' &&
        Array.isArray(r.details.items) &&
        r.details.items.every((b) => typeof b === 'string') &&
        (r.details.more === undefined || Number.isSafeInteger(r.details.more))))
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSha(v: unknown): v is string {
  return typeof v === 'string' && SHA.test(v);
}

function short(sha: string): string {
  return sha.slice(0, 7);
}

function safeLink(link: string): boolean {
  try {
    const u = new URL(link);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** A link destination markdown cannot misread: spaces, brackets and parentheses percent-encoded. */
function linkTarget(link: string): string {
  return new URL(link)
    .toString()
    .replace(
      /[()[\]<>|`\s]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`
    );
}

function latest(state: EdgeState): string | undefined {
  const times = [
    ...Object.values(state.gates).map((r) => r?.at),
    ...Object.values(state.notes).map((n) => n?.at)
  ].filter((t): t is string => typeof t === 'string');
  return times.sort().at(-1);
}
