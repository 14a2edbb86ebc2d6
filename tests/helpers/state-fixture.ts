// A quality-gates state database holding one coverage baseline (acme/service,
// main), as bytes: what an artefact of the artifact backend carries.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import { tempDir } from './tmp.ts';

export function stateDbWithBaseline(percent: number): Buffer {
  const path = join(tempDir('qg-db-'), 'state.sqlite');
  const db = openStateDatabase(path, { journal: 'delete', writable: true });
  db.prepare(
    `INSERT INTO coverage_baseline (repo, branch, percent, sha, updated_at, updated_by, reason)
     VALUES ('acme/service', 'main', ?, ?, '2025-01-01T00:00:00Z', 'test', 'fixture')`
  ).run(percent, 'f'.repeat(40));
  db.close();
  return readFileSync(path);
}
