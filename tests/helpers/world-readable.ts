// For tests that run a Node script as another, unprivileged user (uid 65534):
// that user may not be able to traverse the directory the clone sits in (a
// clone under /root, or in a `mktemp -d` directory, mode 0700), so it could
// execute neither the project's node nor the script. This copies the script
// and every relative import it reaches (sources only: scripts that need
// node_modules cannot run from the copy) into a temporary directory anyone
// can read, with the project's node linked (or copied) beside them.
import { chmodSync, copyFileSync, linkSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?['"](\.{1,2}\/[^'"]+)['"]/g;

export interface ReadableCopy {
  /** The project's node, where any user can execute it. */
  node: string;
  /** The script's copy. */
  script: string;
}

function readableDirs(from: string, to: string): void {
  for (let d = from; d.startsWith(to); d = dirname(d)) {
    chmodSync(d, 0o755);
    if (d === to) break;
  }
}

/** Copies `script` (inside the repository) and its relative imports; links node beside them. */
export function worldReadableCopy(script: string): ReadableCopy {
  const base = tempDir('qg-readable-');
  chmodSync(base, 0o755);
  const node = join(base, 'node');
  try {
    linkSync(process.execPath, node);
  } catch {
    copyFileSync(process.execPath, node);
  }
  chmodSync(node, 0o755);
  const seen = new Set<string>();
  const pending = [resolve(script)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const rel = relative(ROOT, file);
    if (rel.startsWith('..')) throw new Error(`${file} is outside the repository`);
    const target = join(base, rel);
    mkdirSync(dirname(target), { recursive: true });
    readableDirs(dirname(target), base);
    const text = readFileSync(file, 'utf8');
    copyFileSync(file, target);
    chmodSync(target, 0o644);
    for (const m of text.matchAll(IMPORT)) pending.push(resolve(dirname(file), m[1]));
  }
  return { node, script: join(base, relative(ROOT, resolve(script))) };
}
