// A repository for the dependency audit's tests: main holds `base`, the
// branch commit holds `head`, and an npm lockfile (v3) written from a
// name -> version map.
import { Git } from '../../packages/git/src/git.ts';
import { GIT_ENV, makeLocalRepo } from './git-repo.ts';

export interface AuditRepo {
  git: Git;
  base: string;
  head: string;
}

/** A repo whose main commit holds `base` and whose branch commit holds `head` (undefined deletes). */
export async function auditRepo(
  base: Record<string, string>,
  head: Record<string, string | undefined>
): Promise<AuditRepo> {
  const r = makeLocalRepo();
  const baseSha = r.commitAll('base', { 'README.md': 'x\n', ...base });
  r.git('checkout', '-q', '-b', 'feature');
  const headSha = r.commitAll('branch', head);
  return {
    git: new Git(r.work, { env: { ...process.env, ...GIT_ENV } }),
    base: baseSha,
    head: headSha
  };
}

/** package-lock.json (lockfileVersion 3) with these top-level packages. */
export function packageLock(deps: Record<string, string>): string {
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0' } };
  for (const [name, version] of Object.entries(deps))
    packages[`node_modules/${name}`] = { version };
  return `${JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 2)}\n`;
}
