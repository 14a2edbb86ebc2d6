// npm run bundle: builds every action (and the CLI) into dist/<name>/ with
// ncc. `--out DIR` builds elsewhere (check-dist uses it to compare).

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  renameSync,
  unlinkSync,
  writeFileSync
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { entries, type Entry } from './entries.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outIdx = process.argv.indexOf('--out');
const outRoot = outIdx > 0 ? resolve(process.argv[outIdx + 1]) : join(root, 'dist');
const only = process.argv
  .slice(2)
  .filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--out');

const ncc = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
const selected = entries(root).filter((e) => only.length === 0 || only.includes(e.name));

/**
 * Actions run on Linux runners (glibc or musl containers, x64 or arm64): the
 * better-sqlite3 prebuilds for other platforms only make dist/ heavy. The CLI
 * keeps every platform, since people run it on their own machines.
 */
const RUNNER_PREBUILD = /^linux(musl)?-(x64|arm64)\.node$/;

function prune(dir: string, keepAllPlatforms: boolean): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) prune(p, keepAllPlatforms);
    else if (/\.(map|d\.ts)$/.test(name)) unlinkSync(p);
    else if (!keepAllPlatforms && name.endsWith('.node') && !RUNNER_PREBUILD.test(name))
      unlinkSync(p);
  }
}

/**
 * ncc emits ESM (the entries use top-level await), but bundled CommonJS code
 * such as better-sqlite3's loader still reads __dirname/__filename, which ESM
 * does not define. Defining them once at the top of the bundle, from the
 * bundle's own URL, gives that code the values it would have had.
 */
const ESM_BANNER =
  "import { fileURLToPath as __qgFileURLToPath } from 'node:url';\n" +
  "import { dirname as __qgDirname } from 'node:path';\n" +
  'const __filename = __qgFileURLToPath(import.meta.url);\n' +
  'const __dirname = __qgDirname(__filename);\n';

function addEsmBanner(out: string): void {
  const file = join(out, 'index.js');
  const code = readFileSync(file, 'utf8');
  if (/^import|^export/m.test(code.slice(0, 200)) && !code.startsWith(ESM_BANNER))
    writeFileSync(file, ESM_BANNER + code);
}

/**
 * One bundle: built into a sibling temp dir and swapped in only when whole,
 * so an interrupted build never leaves dist/<name> half deleted.
 */
function build(e: Entry): Promise<void> {
  const out = join(outRoot, e.name);
  const tmp = `${out}.building`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const started = Date.now();
  const args = [
    ncc,
    'build',
    join(root, e.source),
    '-o',
    tmp,
    '--minify',
    '--license',
    'licenses.txt',
    '--quiet',
    // Types are checked once by `npm run typecheck`; checking them again per bundle halves the speed.
    '--transpile-only',
    '--target',
    'es2023'
  ];
  return new Promise((resolveBuild, rejectBuild) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit']
    });
    child.on('error', rejectBuild);
    child.on('exit', (code) => {
      if (code !== 0) {
        rmSync(tmp, { recursive: true, force: true });
        rejectBuild(new Error(`ncc failed for ${e.name} (exit ${code})`));
        return;
      }
      prune(tmp, e.name === 'cli');
      addEsmBanner(tmp);
      rmSync(out, { recursive: true, force: true });
      renameSync(tmp, out);
      process.stdout.write(`bundled ${e.name} -> ${out} (${Date.now() - started} ms)\n`);
      resolveBuild();
    });
  });
}

/** Files whose content can change a bundle: sources, the lockfile, the build script, the config. */
function inputFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const d of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = join(dir, d.name);
      if (d.isDirectory()) walk(rel);
      else files.push(rel);
    }
  };
  for (const dir of ['packages', 'actions']) walk(dir);
  files.push('package-lock.json', 'tsconfig.json', 'scripts/bundle.ts', 'scripts/entries.ts');
  return files.sort();
}

/**
 * What the last full build into dist/ was made from and what it produced:
 * when both still match, rebuilding would write the same bytes (dist/ is
 * deterministic), so it is skipped. Kept in node_modules/.cache, never in
 * dist/; check-dist (--out) and partial builds always build.
 */
function buildKey(): string {
  const h = createHash('sha256');
  for (const f of inputFiles())
    h.update(`${f}\0`)
      .update(readFileSync(join(root, f)))
      .update('\0');
  for (const e of selected) {
    const index = join(outRoot, e.name, 'index.js');
    h.update(`${e.name}\0`).update(existsSync(index) ? readFileSync(index) : 'absent');
  }
  return h.digest('hex');
}

const keyFile = join(root, 'node_modules', '.cache', 'quality-gates', 'bundle.key');
const cacheable = outIdx < 0 && only.length === 0 && !process.argv.includes('--force');
if (cacheable && existsSync(keyFile) && readFileSync(keyFile, 'utf8') === buildKey()) {
  process.stdout.write(
    'dist/ is up to date: sources and bundles unchanged since the last build (--force rebuilds)\n'
  );
} else {
  // ncc is single-threaded: two builds at a time use both cores of a CI machine.
  const queue = [...selected];
  await Promise.all(
    [0, 1].map(async () => {
      for (let e = queue.shift(); e; e = queue.shift()) await build(e);
    })
  );
  if (cacheable) {
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, buildKey());
  }
}
