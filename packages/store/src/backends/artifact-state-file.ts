// Puts a downloaded state database in place. The bytes go to a temporary
// file beside the local path and are opened there the way every backend
// opens a state file (open-database.ts: SQLite header, quick_check, that it
// is a quality-gates database of a known schema version), in rollback-journal
// mode so every change lands in the one file the workflow uploads (WAL would
// leave it in a -wal side file). Only a file that passes is renamed over the
// local path; one that fails never reaches it.

import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ensureDir } from '../../../core/src/artefact.ts';
import { asStoreError } from '../errors.ts';
import { openStateDatabase } from '../open-database.ts';

/** `location` names the file for messages, e.g. "state file 'state.sqlite' in artefact 'x' (id 3, run 9)". */
export function installStateFile(
  bytes: Buffer,
  dest: string,
  location: string,
  now?: () => Date
): void {
  const dir = dirname(dest);
  const tmp = join(dir, `.${basename(dest)}.${process.pid}.${Date.now()}.download`);
  try {
    ensureDir(dir);
    writeFileSync(tmp, bytes, { mode: 0o644 });
    openStateDatabase(tmp, { journal: 'delete', writable: true, location, now }).close();
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw asStoreError(location, err);
  }
}
