// The trailer every git-ref state commit carries, so the backend can tell a
// commit quality-gates wrote from one anything else pushed to the state ref:
//
//   Quality-Gates-State: v1 sha256=<state file> chain=<newest chain row> [hmac=<signature>]
//
// sha256 is the digest of the state file's bytes (the blob), chain the hash
// of the newest state-chain row its checkpoint names. With a state-key, hmac
// is HMAC-SHA256 over the parent commit, the digest and the chain head: only
// a holder of the key can sign a commit, and a signature cannot be moved to
// another place in the history. Without a key the trailer detects a state
// committed by hand or by a tool, not a forger who knows this format.

import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalJson } from './chained-rows.ts';

export const STATE_TRAILER = 'Quality-Gates-State';
const FORM = 'v1';
const DOMAIN = 'quality-gates state commit v1';

export interface StateTrailer {
  form: string;
  sha256?: string;
  chain?: string;
  hmac?: string;
}

export interface StateCommitFacts {
  /** The commit's first parent (undefined for a root commit). */
  parent?: string;
  /** SHA-256 of the state file's bytes. */
  digest: string;
  /** Hash of the newest chain row (undefined: no chain). */
  chain?: string;
}

/** SHA-256 of a file's bytes, hex. */
export function fileDigest(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function signature(facts: StateCommitFacts, key: string): string {
  return createHmac('sha256', key)
    .update(canonicalJson([DOMAIN, facts.parent ?? '', facts.digest, facts.chain ?? 'none']))
    .digest('hex');
}

/** The trailer line of a state commit. */
export function stateTrailer(facts: StateCommitFacts, key: string | undefined): string {
  const line = `${STATE_TRAILER}: ${FORM} sha256=${facts.digest} chain=${facts.chain ?? 'none'}`;
  return key ? `${line} hmac=${signature(facts, key)}` : line;
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
    const m = /^(sha256|chain|hmac)=([0-9a-z]+)$/.exec(f);
    if (m) t[m[1] as 'sha256' | 'chain' | 'hmac'] = m[2];
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

/** Why a trailer does not hold for a commit with these facts (undefined: it holds). */
export function trailerProblem(
  t: StateTrailer,
  facts: StateCommitFacts,
  key: string | undefined
): string | undefined {
  if (t.form !== FORM || !t.sha256 || !t.chain)
    return `its ${STATE_TRAILER} trailer is not one this release writes (${t.form || 'empty'})`;
  if (t.sha256 !== facts.digest) return "its state file does not match the trailer's sha256";
  if (t.chain !== (facts.chain ?? 'none'))
    return "its state chain's newest row differs from the one the trailer names";
  if (t.hmac && !key) return 'it is signed with a state-key and this run has none';
  if (!t.hmac && key)
    return 'it carries no state-key signature and this run has a state-key (adopt the key once with quality-gates state reseal)';
  if (key && t.hmac !== signature(facts, key))
    return 'its signature does not verify (forged, or signed with a different state-key)';
  return undefined;
}
