// What the domain functions need to know about an open state database beyond
// its tables: the state key that signs its chain (state-chain.ts), where it
// lives (for messages), and what the opener found. openStateDatabase() binds
// it to the connection, so the domain functions keep their (db, ...) shape
// and no caller has to thread a key through them. A connection nobody bound
// (a test opening a file by hand) has no key and is named by its path.

import type { Database } from 'better-sqlite3';

export interface StateContext {
  /** The state-key input: chain hashes are HMAC-SHA256 with it, plain SHA-256 without. */
  key?: string;
  /** Where messages say the state lives. */
  location: string;
  /** The schema version the file had before this open migrated it (0: new). */
  openedAtVersion?: number;
  /**
   * git-ref: the tip commit the store refused (not written by quality-gates),
   * set only for an operation that was allowed to see it (a reseal).
   */
  foreign?: { commit: string; why: string };
}

const contexts = new WeakMap<Database, StateContext>();

export function bindStateContext(db: Database, ctx: StateContext): void {
  contexts.set(db, ctx);
}

export function stateContext(db: Database): StateContext {
  let ctx = contexts.get(db);
  if (!ctx) {
    ctx = { location: db.name };
    contexts.set(db, ctx);
  }
  return ctx;
}
