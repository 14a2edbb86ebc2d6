// Proof of a green test run: the merge gate skips its re-test of a branch
// that already contains the target branch only when this store holds a green
// run of the same test command on the same tree. Every green re-test is
// recorded, so the proof exists the next time the same tree comes by. The
// command is kept as a digest (it may carry paths or flags nobody needs to
// read back); the tree sha, not the commit, is what was tested.
//
// A proof counts only when the state chain (state-chain.ts) audited it: a
// row someone inserted or edited outside the store (a red branch's test
// writing a green row for its own tree) is not proof, nor is any row while
// the chain does not verify.

import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { chainKey } from './chained-rows.ts';
import { isTampered } from './errors.ts';
import { branchKey, repoKey } from './keys.ts';
import { keyState, recordChange, requireIntactChain } from './state-chain.ts';

export interface GreenTest {
  repo: string;
  treeSha: string;
  /** sha256 of the command line, as commandDigest() makes it. */
  commandSha: string;
  /** The commit that was tested (any commit with this tree is proven). */
  sha: string;
  branch: string;
  /** The gate that ran the command. */
  gate: string;
  at: string;
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** The digest a green run is keyed by: the exact command line, nothing normalised. */
export function commandDigest(command: string): string {
  return createHash('sha256').update(command, 'utf8').digest('hex');
}

/** Records (or refreshes) a green run of `command` on `treeSha`. */
export function recordGreenTest(
  db: Database,
  t: { repo: string; treeSha: string; command: string; sha: string; branch: string; gate: string },
  now: Date
): void {
  if (!SHA.test(t.treeSha) || !SHA.test(t.sha))
    throw new RangeError('state store: a green test needs full tree and commit shas');
  const repo = repoKey(t.repo);
  const digest = commandDigest(t.command);
  db.transaction(() => {
    // A forged row for this key is simply replaced by the real proof.
    requireIntactChain(db);
    db.prepare(
      `INSERT INTO green_test (repo, tree_sha, command_sha, sha, branch, gate, at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (repo, tree_sha, command_sha) DO UPDATE SET
         sha = excluded.sha, branch = excluded.branch, gate = excluded.gate, at = excluded.at`
    ).run(repo, t.treeSha, digest, t.sha, branchKey(t.branch), t.gate, now.toISOString());
    recordChange(db, 'green-test', chainKey(repo, t.treeSha, digest), {
      op: 'record',
      actor: t.gate,
      reason: `green at ${t.sha.slice(0, 12)} on ${branchKey(t.branch)}`,
      at: now
    });
  }).immediate();
}

export interface GreenTestCheck {
  /** The proof, when the store holds one the chain audited. */
  proof?: GreenTest;
  /** Why a row that exists is not proof (changed outside the store, or the chain does not verify). */
  ignored?: string;
}

/**
 * The green run of `command` on `treeSha`, if this store holds one the state
 * chain audited; a row changed or added outside the store is not proof.
 */
export function findGreenTest(
  db: Database,
  repo: string,
  treeSha: string,
  command: string
): GreenTest | undefined {
  return checkGreenTest(db, repo, treeSha, command).proof;
}

/** findGreenTest(), saying why an existing row was not taken as proof. */
export function checkGreenTest(
  db: Database,
  repo: string,
  treeSha: string,
  command: string
): GreenTestCheck {
  const r = repoKey(repo);
  const digest = commandDigest(command);
  try {
    const s = keyState(db, 'green-test', chainKey(r, treeSha, digest));
    if (s.problem) return { ignored: s.problem };
  } catch (err) {
    if (!isTampered(err)) throw err;
    // No proof while the chain does not verify; worth a word only when a row is there.
    return readGreenTest(db, r, treeSha, digest) ? { ignored: (err as Error).message } : {};
  }
  return { proof: readGreenTest(db, r, treeSha, digest) };
}

function readGreenTest(
  db: Database,
  repo: string,
  treeSha: string,
  digest: string
): GreenTest | undefined {
  const row = db
    .prepare('SELECT * FROM green_test WHERE repo = ? AND tree_sha = ? AND command_sha = ?')
    .get(repo, treeSha, digest) as
    | {
        repo: string;
        tree_sha: string;
        command_sha: string;
        sha: string;
        branch: string;
        gate: string;
        at: string;
      }
    | undefined;
  return (
    row && {
      repo: row.repo,
      treeSha: row.tree_sha,
      commandSha: row.command_sha,
      sha: row.sha,
      branch: row.branch,
      gate: row.gate,
      at: row.at
    }
  );
}
