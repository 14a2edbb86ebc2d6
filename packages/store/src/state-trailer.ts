// The trailer every git-ref state commit carries, so the backend can tell a
// commit quality-gates wrote from one anything else pushed to the state ref:
//
//   Quality-Gates-State: v1 sha256=<state file> chain=<newest chain row> prev=<tip replaced|none> [hmac=<signature>]
//
// sha256 is the digest of the state file's bytes (the blob), chain the hash
// of the newest state-chain row its checkpoint names, prev the state commit
// this one replaced (the ref's tip it was written on; none for the first).
// With a state-key, hmac is HMAC-SHA256 over prev, the digest and the chain
// head: only a holder of the key can sign a commit, and a signature names
// the one state it replaced. State commits are root commits (the ref never
// grows a history), so prev in the signed trailer is what binds a state to
// the one before it; a commit that has a parent all the same (a reseal on
// top of a refused tip) must name that parent as prev.
//
// Commits written before prev existed carry no prev field; their signature
// covers the parent commit instead, and they still verify. A prev field
// removed from a newer trailer turns it into that older form, whose
// signature then does not verify.
//
// Without a key the trailer detects a state committed by hand or by a tool,
// not a forger who knows this format.

import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalJson } from './chained-rows.ts';

export const STATE_TRAILER = 'Quality-Gates-State';
const FORM = 'v1';
const DOMAIN = 'quality-gates state commit v1';
const NONE = 'none';
const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export interface StateTrailer {
  form: string;
  sha256?: string;
  chain?: string;
  /** The state commit replaced ('none': the first); absent in trailers written before it existed. */
  prev?: string;
  hmac?: string;
}

export interface StateCommitFacts {
  /** The commit's first parent (undefined for a root commit). */
  parent?: string;
  /**
   * Writing: the tip this state replaces (null: there was none). Checking:
   * not used; the trailer's own prev is checked against the parent.
   */
  prev?: string | null;
  /** SHA-256 of the state file's bytes. */
  digest: string;
  /** Hash of the newest chain row (undefined: no chain). */
  chain?: string;
}

/** SHA-256 of a file's bytes, hex. */
export function fileDigest(path: string): string {
  return bytesDigest(readFileSync(path));
}

/** SHA-256 of bytes, hex. */
export function bytesDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * What the HMAC covers: with a prev field, prev (a form of its own, so a
 * trailer stripped of its prev cannot pass for the older form); without
 * one, the parent commit.
 */
function signature(
  signed: { prev?: string; parent?: string; digest: string; chain?: string },
  key: string
): string {
  const place = signed.prev !== undefined ? ['prev', signed.prev] : [signed.parent ?? ''];
  return createHmac('sha256', key)
    .update(canonicalJson([DOMAIN, ...place, signed.digest, signed.chain ?? NONE]))
    .digest('hex');
}

/** The trailer line of a state commit that replaces `facts.prev` (null or undefined: none). */
export function stateTrailer(facts: StateCommitFacts, key: string | undefined): string {
  const prev = facts.prev ?? NONE;
  const line = `${STATE_TRAILER}: ${FORM} sha256=${facts.digest} chain=${facts.chain ?? NONE} prev=${prev}`;
  return key ? `${line} hmac=${signature({ ...facts, prev }, key)}` : line;
}

/** The last trailer line of a commit message, parsed; undefined when there is none. */
export function parseTrailer(message: string): StateTrailer | undefined {
  const lines = message.split('\n').filter((l) => l.startsWith(`${STATE_TRAILER}:`));
  const last = lines.at(-1);
  if (last === undefined) return undefined;
  const [form = '', ...fields] = last
    .slice(STATE_TRAILER.length + 1)
    .trim()
    .split(/\s+/);
  const t: StateTrailer = { form };
  for (const f of fields) {
    const m = /^(sha256|chain|prev|hmac)=([0-9a-z]+)$/.exec(f);
    if (m) t[m[1] as 'sha256' | 'chain' | 'prev' | 'hmac'] = m[2];
  }
  return t;
}

/** A raw commit object (git cat-file commit): its parents and message. */
export function parseCommit(raw: string): { parents: string[]; message: string } {
  const split = raw.indexOf('\n\n');
  const headers = split < 0 ? raw : raw.slice(0, split);
  const parents = headers
    .split('\n')
    .filter((l) => l.startsWith('parent '))
    .map((l) => l.slice('parent '.length).trim());
  return { parents, message: split < 0 ? '' : raw.slice(split + 2) };
}

/**
 * Why a trailer does not hold for a commit with these facts (undefined: it
 * holds). `facts.parent` is the commit's first parent.
 */
export function trailerProblem(
  t: StateTrailer,
  facts: StateCommitFacts,
  key: string | undefined
): string | undefined {
  if (
    t.form !== FORM ||
    !t.sha256 ||
    !t.chain ||
    (t.prev !== undefined && t.prev !== NONE && !SHA.test(t.prev))
  )
    return `its ${STATE_TRAILER} trailer is not one this release writes (${t.form || 'empty'})`;
  if (t.sha256 !== facts.digest) return "its state file does not match the trailer's sha256";
  if (t.prev !== undefined && facts.parent !== undefined && facts.parent !== t.prev)
    return `its trailer says it replaced ${t.prev === NONE ? 'no state' : t.prev.slice(0, 12)}, but its parent is ${facts.parent.slice(0, 12)} (a trailer copied from another commit)`;
  if (t.chain !== (facts.chain ?? 'none'))
    return "its state chain's newest row differs from the one the trailer names";
  if (t.hmac && !key) return 'it is signed with a state-key and this run has none';
  if (!t.hmac && key)
    return 'it carries no state-key signature and this run has a state-key (adopt the key once with quality-gates state reseal)';
  if (
    key &&
    t.hmac !==
      signature(
        { prev: t.prev, parent: facts.parent, digest: facts.digest, chain: facts.chain },
        key
      )
  )
    return 'its signature does not verify (forged, or signed with a different state-key)';
  return undefined;
}
