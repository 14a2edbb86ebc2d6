// How a repository, a branch and a percentage are keyed in the state. Forges
// treat owner/name case-insensitively, so 'Acme/App' and 'acme/app' must
// share one baseline (two keys would let the second bootstrap lower). Branch
// names are case-sensitive in git and are kept as given. Percentages are
// compared and stored in hundredths, so float noise never moves a baseline.

/** The stored key of a repository: owner/name, trimmed and lower-cased. */
export function repoKey(repo: string): string {
  const key = repo.trim().toLowerCase();
  if (key === '') throw new RangeError('state store: repository must not be empty');
  return key;
}

export function branchKey(branch: string): string {
  if (branch.trim() === '') throw new RangeError('state store: branch must not be empty');
  return branch;
}

/** A percentage in hundredths (81.456 -> 8146). */
export function hundredths(percent: number): number {
  return Math.round(percent * 100);
}

/** Validates 0..100 and rounds to two decimals: the value that is stored and compared. */
export function storedPercent(percent: number): number {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100)
    throw new RangeError(`state store: percent must be a number from 0 to 100 (got ${percent})`);
  return hundredths(percent) / 100;
}
