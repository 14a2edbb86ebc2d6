// Prepared statements kept per connection: the integrity checks
// (state-chain.ts) run a handful of fixed queries on every operation, and
// preparing them each time would cost more than running them.

import type { Database, Statement } from 'better-sqlite3';

const statements = new WeakMap<Database, Map<string, Statement>>();

/**
 * The prepared statement for `sql` on `db`. Shared: use one SQL text one way
 * only (always pluck()ed or never), and never for iterate().
 */
export function stmt(db: Database, sql: string): Statement {
  let cache = statements.get(db);
  if (!cache) {
    cache = new Map();
    statements.set(db, cache);
  }
  let st = cache.get(sql);
  if (!st) {
    st = db.prepare(sql);
    cache.set(sql, st);
  }
  return st;
}
