// The upgrade path to `state-backend: auto`. Earlier releases kept the state
// by default in <RUNNER_TOOL_CACHE>/quality-gates/state.sqlite, which on
// act_runner up to v3.1 is a Docker volume every job of the host mounts (and
// on a persistent self-hosted runner a directory that stays). When the state
// now resolves to the git-ref backend and its ref does not exist yet, that
// file's rows of this repository are imported once, as one state commit:
//
//   - the file is read through SQLite (its WAL included) into a private copy,
//     never written; the copy is migrated and must verify (state-chain.ts)
//     under this run's state-key, or nothing is imported and every state
//     operation refuses with one line (a changed state is not laundered into
//     the ref);
//   - only this repository's rows are copied (the file is shared by every
//     repository whose jobs ran on the host; the ref of a public repository
//     must not carry another's branches and numbers);
//   - each imported baseline, lease and green-test proof gets an `import`
//     row of the state chain (recordChange, the store's own append), so the
//     new state verifies and its history says where the values came from.
//
// The ref's existence is the "once": a later job finds it and imports
// nothing, whatever the file holds. The file is left as it was.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import type { StateBackend } from './backend.ts';
import { CHAINED_KINDS, CHAINED_ROWS, type ChainedKind } from './chained-rows.ts';
import { StoreError, asStoreError } from './errors.ts';
import { userTables } from './migrations.ts';
import { openStateDatabase } from './open-database.ts';
import { recordChange, verifyState } from './state-chain.ts';
import { stateContext } from './state-context.ts';

export interface LegacyImport {
  /** The file of earlier releases. */
  path: string;
  /** owner/name: whose rows are imported. */
  repository: string;
  stateKey?: string;
  now: () => Date;
}

export interface ImportCounts {
  /** Chain keys imported, by kind. */
  keys: Record<ChainedKind, number>;
  /** The merge lease imported held by a branch (undefined: none held). */
  leaseHolder?: string;
  rows: number;
}

/**
 * Imports the repository's rows of `legacy.path` into `backend` (git-ref)
 * when its state does not exist yet. Returns the line saying what was
 * imported, or undefined when there was nothing to do.
 */
export async function importLegacyState(
  backend: StateBackend,
  legacy: LegacyImport
): Promise<string | undefined> {
  const where = backend.describe();
  const absent = await backend.withDb('read', (db) => isNewState(db));
  if (!absent) return undefined;
  const copy = verifiedCopy(legacy, where);
  try {
    if (copy.rows === 0) return undefined;
    const counts = await backend.withDb(
      'write',
      (db) => (isNewState(db) ? copyRows(db, copy.file, legacy) : undefined),
      {
        message: (c) =>
          c
            ? `imported ${legacy.repository} from ${legacy.path} (${describeCounts(c)})`
            : 'quality-gates state update'
      }
    );
    if (!counts) return undefined;
    return `state: imported ${legacy.repository}'s state from ${legacy.path} (the default file of earlier releases) into ${where}: ${describeCounts(counts)}; the file was left as it was and is no longer read`;
  } finally {
    rmSync(copy.dir, { recursive: true, force: true });
  }
}

/** The backend opened a state that did not exist (a git ref not pushed yet). */
function isNewState(db: Database): boolean {
  return stateContext(db).openedAtVersion === 0;
}

/** A migrated private copy of the file that verifies; how many rows of the repository it holds. */
function verifiedCopy(
  legacy: LegacyImport,
  where: string
): { dir: string; file: string; rows: number } {
  // The fix first: a long problem line is what a one-line summary cuts.
  const refuse = (why: string, code?: 'tampered'): StoreError =>
    new StoreError(
      legacy.path,
      code
        ? `tampered, so not imported into ${where}: move it away to start afresh, or check it and run quality-gates state reseal on it outside a job; ${why}`
        : `not imported into ${where}: move it away to start afresh, or repair it; ${why}`,
      undefined,
      code
    );
  const dir = mkdtempSync(join(tmpdir(), 'qg-import-'));
  const file = join(dir, 'state.sqlite');
  let db: Database;
  try {
    const src = new BetterSqlite3(legacy.path, { readonly: true, fileMustExist: true });
    try {
      writeFileSync(file, src.serialize(), { mode: 0o600 });
    } finally {
      src.close();
    }
    db = openStateDatabase(file, {
      journal: 'delete',
      writable: true,
      durable: false,
      location: legacy.path,
      now: legacy.now,
      stateKey: legacy.stateKey
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = asStoreError(legacy.path, err);
    throw refuse(e instanceof Error ? e.message.replace(/^state store [^:]*: /, '') : String(e));
  }
  let rows = 0;
  let problem: string | undefined;
  try {
    const report = verifyState(db);
    if (!report.ok) problem = report.lines[0] ?? 'the state chain does not verify';
    else
      for (const t of repoTables(db, 'main'))
        rows += db
          .prepare(`SELECT COUNT(*) FROM main.${quote(t)} WHERE repo = ?`)
          .pluck()
          .get(legacy.repository) as number;
  } finally {
    db.close();
  }
  if (problem !== undefined) {
    rmSync(dir, { recursive: true, force: true });
    throw refuse(problem, 'tampered');
  }
  return { dir, file, rows };
}

/** Copies the repository's rows of every table into the new state, and chains each imported key. */
function copyRows(db: Database, file: string, legacy: LegacyImport): ImportCounts {
  const at = legacy.now();
  const reason = `imported from ${legacy.path}, the default state file of earlier releases`;
  db.prepare('ATTACH DATABASE ? AS legacy').run(file);
  try {
    const counts = db
      .transaction((): ImportCounts => {
        const c: ImportCounts = { keys: { baseline: 0, lease: 0, 'green-test': 0 }, rows: 0 };
        const theirs = new Set(repoTables(db, 'legacy'));
        for (const t of repoTables(db, 'main')) {
          if (!theirs.has(t)) continue;
          const cols = columns(db, 'main', t).map(quote).join(', ');
          c.rows += db
            .prepare(
              `INSERT INTO main.${quote(t)} (${cols}) SELECT ${cols} FROM legacy.${quote(t)} WHERE repo = ?`
            )
            .run(legacy.repository).changes;
        }
        const held = db
          .prepare('SELECT branch FROM main.merge_lease WHERE repo = ?')
          .pluck()
          .get(legacy.repository);
        if (typeof held === 'string') c.leaseHolder = held;
        for (const kind of CHAINED_KINDS)
          for (const key of CHAINED_ROWS[kind].all(db).keys()) {
            recordChange(db, kind, key, { op: 'import', actor: 'quality-gates', reason, at });
            c.keys[kind]++;
          }
        return c;
      })
      .immediate();
    const report = verifyState(db);
    if (!report.ok)
      throw new StoreError(
        stateContext(db).location,
        `the imported state does not verify (${report.lines[0]}); nothing was pushed`
      );
    return counts;
  } finally {
    db.prepare('DETACH DATABASE legacy').run();
  }
}

/** Tables of `schema` with a repo column (every table of a repository's rows). */
function repoTables(db: Database, schema: 'main' | 'legacy'): string[] {
  const names =
    schema === 'main'
      ? userTables(db)
      : (db
          .prepare(
            "SELECT name FROM legacy.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
          )
          .pluck()
          .all() as string[]);
  return names.filter((t) => columns(db, schema, t).includes('repo'));
}

function columns(db: Database, schema: 'main' | 'legacy', table: string): string[] {
  return (
    db.prepare(`SELECT name FROM pragma_table_info(?, ?)`).all(table, schema) as { name: string }[]
  ).map((r) => r.name);
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function describeCounts(c: ImportCounts): string {
  const n = (k: number, one: string, many: string): string => `${k} ${k === 1 ? one : many}`;
  return [
    n(c.keys.baseline, 'coverage baseline', 'coverage baselines'),
    c.leaseHolder === undefined
      ? 'no merge lease held'
      : `the merge lease held by ${c.leaseHolder}`,
    n(c.keys['green-test'], 'green-test proof', 'green-test proofs'),
    `${n(c.rows, 'row', 'rows')} in all`
  ].join(', ');
}
