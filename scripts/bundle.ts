// npm run bundle: builds every action (and the CLI) into dist/<name>/ with
// ncc. `--out DIR` builds elsewhere (check-dist uses it to compare).

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { entries } from './entries.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outIdx = process.argv.indexOf('--out');
const outRoot = outIdx > 0 ? resolve(process.argv[outIdx + 1]) : join(root, 'dist');
const only = process.argv
  .slice(2)
  .filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--out');

const ncc = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
const selected = entries(root).filter((e) => only.length === 0 || only.includes(e.name));

/** Native prebuilds for platforms we do not support only make dist/ heavy. */
function prune(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) prune(p);
    else if (/\.(map|d\.ts)$/.test(name)) unlinkSync(p);
  }
}

for (const e of selected) {
  const out = join(outRoot, e.name);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const started = Date.now();
  execFileSync(
    process.execPath,
    [
      ncc,
      'build',
      join(root, e.source),
      '-o',
      out,
      '--minify',
      '--license',
      'licenses.txt',
      '--quiet',
      '--target',
      'es2023'
    ],
    {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit']
    }
  );
  prune(out);
  process.stdout.write(`bundled ${e.name} -> ${out} (${Date.now() - started} ms)\n`);
}
