// Proof of a green test run: the merge gate skips its re-test of a branch
// that already contains the target branch only when this store holds a green
// run of the same test command on the same tree. Every green re-test is
// recorded, so the proof exists the next time the same tree comes by. The
// command is kept as a digest (it may carry paths or flags nobody needs to
// read back); the tree sha, not the commit, is what was tested.

import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { branchKey, repoKey } from './keys.ts';

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
  db.transaction(() =>
    db
      .prepare(
        `INSERT INTO green_test (repo, tree_sha, command_sha, sha, branch, gate, at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (repo, tree_sha, command_sha) DO UPDATE SET
           sha = excluded.sha, branch = excluded.branch, gate = excluded.gate, at = excluded.at`
      )
      .run(
        repoKey(t.repo),
        t.treeSha,
        commandDigest(t.command),
        t.sha,
        branchKey(t.branch),
        t.gate,
        now.toISOString()
      )
  ).immediate();
}

/** The green run of `command` on `treeSha`, if this store holds one. */
export function findGreenTest(
  db: Database,
  repo: string,
  treeSha: string,
  command: string
): GreenTest | undefined {
  const row = db
    .prepare('SELECT * FROM green_test WHERE repo = ? AND tree_sha = ? AND command_sha = ?')
    .get(repoKey(repo), treeSha, commandDigest(command)) as
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
