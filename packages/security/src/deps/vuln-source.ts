// Where vulnerability records come from, behind one interface, and the errors
// a source raises. Every source error is a ToolError of kind 'dep-audit', so
// the gate's fail-open/fail-closed policy for the feed applies to all of them.

import { ToolError } from '../../../core/src/errors.ts';
import type { OsvVuln } from './osv-record.ts';
import type { PackageRef } from './package-ref.ts';

export const FEED_ERROR_KIND = 'dep-audit';

export interface VulnSource {
  /**
   * The records that affect each package version, keyed by pkgKey(); every
   * queried key is present (an empty list when nothing affects it).
   */
  query(pkgs: readonly PackageRef[]): Promise<Map<string, OsvVuln[]>>;
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

/** The feed answered, but with something that breaks its contract (a bad response, a corrupt record). */
export class FeedDataError extends FeedError {
  constructor(message: string) {
    super(message);
    this.name = 'FeedDataError';
    this.stack = `${this.name}: ${this.message}`;
  }
}
