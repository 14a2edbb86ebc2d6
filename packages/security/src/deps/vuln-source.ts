// Where vulnerability records come from, behind one interface, and the errors
// a source raises. A source answers what it can and lists what it could not
// (an ecosystem missing from an offline database, a batch the feed would not
// answer, a record that does not parse): one failure never hides the answers
// to the rest. Every source error is a ToolError of kind 'dep-audit', so the
// gate's fail-open/fail-closed policy for the feed applies to all of them.

import { ToolError } from '../../../core/src/errors.ts';
import type { OsvVuln } from './osv-record.ts';
import type { PackageRef } from './package-ref.ts';

export const FEED_ERROR_KIND = 'dep-audit';

/**
 * What could not be looked up, or read, and why.
 * - ecosystem: a whole ecosystem is missing from the source (its `keys` were not looked up);
 * - lookup: a request failed (its `keys` were not looked up);
 * - budget: the audit's time budget ran out before `keys` were looked up;
 * - record: one record could not be read or evaluated; the packages were still
 *   looked up against every other record (`keys` names those it concerned, if known).
 */
export interface LookupFailure {
  kind: 'ecosystem' | 'lookup' | 'budget' | 'record';
  /** What failed, as a user finds it: an ecosystem, a request, a record id or file. */
  what: string;
  /** One line: what was wrong. */
  problem: string;
  /** pkgKey()s this failure left without an answer (or, for a record, that it concerned). */
  keys: string[];
  /** A few words for the one-line summary ("PyPI not in the offline database"). */
  short?: string;
}

export interface QueryResult {
  /**
   * The records that affect each package version, keyed by pkgKey(): an empty
   * list when nothing affects it. A queried key absent here was not looked up,
   * and some failure lists it.
   */
  answers: Map<string, OsvVuln[]>;
  failures: LookupFailure[];
}

export interface QueryOptions {
  /** Epoch ms by which the source answers, with whatever it has by then. Default: no limit. */
  deadline?: number;
}

export interface VulnSource {
  /** Never rejects for a feed or record problem: those are `failures`. */
  query(pkgs: readonly PackageRef[], opts?: QueryOptions): Promise<QueryResult>;
  /** Non-fatal notes gathered so far (a range that could not be evaluated, say). */
  notes?(): string[];
}

/** Base of every feed error; one line, and printed without a stack. */
export class FeedError extends ToolError {
  constructor(message: string) {
    super(FEED_ERROR_KIND, message.replace(/\s+/g, ' ').trim());
    this.name = 'FeedError';
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** The feed could not be reached or kept failing: the gate's fail-open policy applies. */
export class FeedUnavailableError extends FeedError {
  constructor(message: string) {
    super(message);
    this.name = 'FeedUnavailableError';
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** The audit's time budget ran out before the feed answered. */
export class FeedBudgetError extends FeedUnavailableError {
  constructor(message: string) {
    super(message);
    this.name = 'FeedBudgetError';
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** The feed answered, but with something that breaks its contract (a bad response, a corrupt record). */
export class FeedDataError extends FeedError {
  constructor(message: string) {
    super(message);
    this.name = 'FeedDataError';
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** Time left before `deadline` (Infinity without one), never negative. */
export function timeLeft(deadline: number | undefined, now = Date.now()): number {
  return deadline === undefined ? Infinity : Math.max(0, deadline - now);
}
