// The one comparison that decides freshness: the image's revision against the
// gated commit, as full shas, case-insensitively. A short sha is refused even
// when it is a prefix of the gated one: a prefix names a set of commits, not
// one, and an image label is read long after the repository has grown.

import { oneLine } from '../../core/src/verdict.ts';

export interface Freshness {
  fresh: boolean;
  /** One line: why. */
  reason: string;
}

const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** The label value as shown in a report: one line, bounded, whatever the image holds. */
export function shownRevision(revision: string): string {
  return oneLine(revision, 80);
}

export function compareRevision(revision: string | null, sha: string, label: string): Freshness {
  if (revision === null) {
    return {
      fresh: false,
      reason: `the image has no ${label} label or annotation, so nothing ties it to a commit`
    };
  }
  const rev = revision.trim().toLowerCase();
  const want = sha.toLowerCase();
  if (rev === want) return { fresh: true, reason: `built from ${want}` };
  if (/^[0-9a-f]{4,39}$/.test(rev) && want.startsWith(rev)) {
    return {
      fresh: false,
      reason: `${label} holds the short sha ${rev}, a prefix of ${want} but ambiguous; label the image with the full 40-character sha`
    };
  }
  if (FULL_SHA.test(rev)) return { fresh: false, reason: `built from ${rev}, not ${want}` };
  return {
    fresh: false,
    reason: `${label} is ${JSON.stringify(shownRevision(revision))}, not a full commit sha (want ${want})`
  };
}
