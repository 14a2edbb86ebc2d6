// npm run check-dist: rebuilds every bundle into a temp dir and fails when
// the committed dist/ differs, so runners never execute stale code.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'qg-check-dist-'));

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

try {
  execFileSync(process.execPath, [join(root, 'scripts', 'bundle.ts'), '--out', tmp], {
    stdio: ['ignore', 'ignore', 'inherit']
  });
  const built = new Set(files(tmp).map((f) => relative(tmp, f)));
  const committed = new Set(files(join(root, 'dist')).map((f) => relative(join(root, 'dist'), f)));
  const problems: string[] = [];
  for (const f of built) {
    if (!committed.has(f)) problems.push(`missing from dist/: ${f}`);
    else if (!readFileSync(join(tmp, f)).equals(readFileSync(join(root, 'dist', f))))
      problems.push(`stale: dist/${f}`);
  }
  for (const f of committed)
    if (!built.has(f)) problems.push(`not produced by the build: dist/${f}`);
  if (problems.length > 0) {
    process.stderr.write(
      `dist/ does not match the sources; run 'npm run bundle' and commit dist/:\n${problems.map((p) => `  ${p}`).join('\n')}\n`
    );
    process.exitCode = 1;
  } else {
    process.stdout.write(`dist/ is up to date (${built.size} files)\n`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
