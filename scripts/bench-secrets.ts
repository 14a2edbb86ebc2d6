// Benchmark of the embedded secrets engine: builds a throwaway repository
// with `git fast-import` (default 2,000 commits adding 20 MB, a handful of
// planted fake tokens), scans base..head end to end and reports wall time and
// throughput, plus the cost of git alone. Optionally times secretlint's own
// CLI over the same content checked out as a tree, for comparison.
//
//   node scripts/bench-secrets.ts [--commits 2000] [--mb 20] [--secretlint /tmp/x/node_modules/.bin/secretlint]
//
// benchSecrets() is exported for scripts/bench.ts.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forEachAddedLines } from '../packages/git/src/added-lines.ts';
import { scanRangeEmbedded } from '../packages/security/src/secrets/scan.ts';
import { tokenSamples } from '../packages/security/src/secrets/token-samples.ts';
import { stringArg } from './bench-support.ts';

export interface SecretsBenchOptions {
  commits?: number;
  /** Total bytes of added text across the range. */
  totalBytes?: number;
  /** Fake tokens planted in the range (spread over commits). */
  planted?: number;
  /** Path of a secretlint CLI to time over the same content (whole-tree scan). */
  secretlintBin?: string;
  /** Keep the generated repository (its path is in the figures). */
  keep?: boolean;
}

export interface SecretsBenchFigures {
  repoDir: string;
  commits: number;
  bytesAdded: number;
  /** Time to build the repository (not part of the scan). */
  buildMs: number;
  /** git log -p streamed and parsed, no rules run. */
  gitOnlyMs: number;
  /** scanRangeEmbedded end to end. */
  scanMs: number;
  mbPerSecond: number;
  findings: number;
  plantedFound: number;
  planted: number;
  peakRssMb: number;
  /** Present when secretlintBin was given. */
  secretlintCliMs?: number;
  secretlintCliExit?: number | null;
}

/** Small deterministic generator so runs are comparable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'const let value result request response handler config options index count total buffer stream parse render update delete create fetch client server token user account session cache query filter map reduce items error retry timeout logger event payload header status module export import return await async function class interface type string number boolean'.split(
    ' '
  );

function sourceLine(rnd: () => number): string {
  const w = (): string => WORDS[Math.floor(rnd() * WORDS.length)];
  const n = Math.floor(rnd() * 1e6);
  switch (Math.floor(rnd() * 4)) {
    case 0:
      return `  const ${w()}${n} = ${w()}(${w()}, '${w()}-${n.toString(16)}');`;
    case 1:
      return `  // ${w()} ${w()} ${w()} the ${w()} before ${w()} ${w()} (${n})`;
    case 2:
      return `  if (${w()}.${w()} > ${n}) return ${w()}.${w()}(${w()}, ${w()});`;
    default:
      return `  ${w()}: '${w()} ${w()} ${n.toString(36)} ${w()}',`;
  }
}

function git(cwd: string, args: string[], input?: string): string {
  const r = spawnSync('git', args, { cwd, input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`git ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
}

/** Streams a fast-import script into git; resolves when the import is done. */
function fastImport(
  cwd: string,
  write: (emit: (s: string) => Promise<void>) => Promise<void>
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['fast-import', '--quiet', '--done'], {
      cwd,
      stdio: ['pipe', 'ignore', 'pipe']
    });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`git fast-import failed: ${err}`))
    );
    const emit = async (s: string): Promise<void> => {
      if (!child.stdin.write(s)) await once(child.stdin, 'drain');
    };
    write(emit).then(
      () => child.stdin.end(),
      (e: unknown) => {
        child.kill();
        reject(e as Error);
      }
    );
  });
}

/** Builds base (one commit) and head (`commits` more), returns their shas. */
export async function buildBenchRepo(
  dir: string,
  commits: number,
  totalBytes: number,
  planted: number
): Promise<{ base: string; head: string; plantedSecrets: string[] }> {
  git(dir, ['init', '-q', '-b', 'main']);
  const rnd = prng(42);
  const perCommit = Math.max(1, Math.floor(totalBytes / commits));
  const samples = tokenSamples().filter((s) => s.lines.length === 1);
  const plantAt = new Map<number, string>();
  for (let i = 0; i < planted; i++) {
    plantAt.set(Math.floor(((i + 0.5) * commits) / planted), samples[i % samples.length].lines[0]);
  }
  const plantedSecrets = [...plantAt.values()];
  const when = 1_700_000_000;
  const data = (s: string): string => `data ${Buffer.byteLength(s)}\n${s}\n`;
  await fastImport(dir, async (emit) => {
    await emit(
      `commit refs/heads/main\nmark :1\ncommitter Bench <bench@example.com> ${when} +0000\n`
    );
    await emit(data('base') + `M 100644 inline README.md\n${data('# bench\n')}\n`);
    for (let i = 0; i < commits; i++) {
      const lines: string[] = [];
      let size = 0;
      while (size < perCommit) {
        const l = sourceLine(rnd);
        lines.push(l);
        size += l.length + 1;
      }
      const secret = plantAt.get(i);
      if (secret) lines.splice(Math.floor(lines.length / 2), 0, secret);
      const file = `src/mod${i % 50}/file${i}.ts`;
      const author = `Bench <bench@example.com> ${when + i + 1} +0000`;
      await emit(
        `commit refs/heads/branch\nmark :${i + 2}\nauthor ${author}\ncommitter ${author}\n${data(`commit ${i}`)}from :${i + 1}\nM 100644 inline ${file}\n${data(lines.join('\n') + '\n')}\n`
      );
    }
    await emit('done\n');
  });
  return {
    base: git(dir, ['rev-parse', 'refs/heads/main']).trim(),
    head: git(dir, ['rev-parse', 'refs/heads/branch']).trim(),
    plantedSecrets
  };
}

export async function benchSecrets(opts: SecretsBenchOptions = {}): Promise<SecretsBenchFigures> {
  const commits = opts.commits ?? 2000;
  const totalBytes = opts.totalBytes ?? 20 * 1024 * 1024;
  const planted = opts.planted ?? 20;
  const dir = mkdtempSync(join(tmpdir(), 'qg-bench-secrets-'));
  try {
    let t = performance.now();
    const { base, head } = await buildBenchRepo(dir, commits, totalBytes, planted);
    const buildMs = performance.now() - t;

    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      t = performance.now();
      await forEachAddedLines({ repoDir: dir, base, head }, () => undefined);
      const gitOnlyMs = performance.now() - t;

      t = performance.now();
      const result = await scanRangeEmbedded({ repoDir: dir, base, head });
      const scanMs = performance.now() - t;
      peak = Math.max(peak, process.memoryUsage().rss);

      const figures: SecretsBenchFigures = {
        repoDir: dir,
        commits: result.commitsScanned,
        bytesAdded: result.bytesScanned,
        buildMs: Math.round(buildMs),
        gitOnlyMs: Math.round(gitOnlyMs),
        scanMs: Math.round(scanMs),
        mbPerSecond: Math.round((result.bytesScanned / 1048576 / (scanMs / 1000)) * 10) / 10,
        findings: result.findings.length,
        plantedFound: new Set(result.findings.map((f) => f.commit)).size,
        planted,
        peakRssMb: Math.round(peak / 1048576)
      };
      if (opts.secretlintBin) {
        const tree = join(dir, '..', `${dir.split('/').pop()}-tree`);
        mkdirSync(tree);
        try {
          spawnSync('sh', [
            '-c',
            `git -C "$1" archive "$2" | tar -x -C "$3"`,
            'sh',
            dir,
            head,
            tree
          ]);
          writeFileSync(
            join(tree, '.secretlintrc.json'),
            JSON.stringify({ rules: [{ id: '@secretlint/secretlint-rule-preset-recommend' }] })
          );
          t = performance.now();
          const r = spawnSync(opts.secretlintBin, ['**/*', '--maskSecrets', '--format', 'json'], {
            cwd: tree,
            encoding: 'utf8',
            maxBuffer: 1 << 28
          });
          figures.secretlintCliMs = Math.round(performance.now() - t);
          figures.secretlintCliExit = r.status;
        } finally {
          rmSync(tree, { recursive: true, force: true });
        }
      }
      return figures;
    } finally {
      clearInterval(sampler);
    }
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = stringArg;
  const figures = await benchSecrets({
    commits: Number(arg('commits') ?? 2000),
    totalBytes: Number(arg('mb') ?? 20) * 1024 * 1024,
    secretlintBin: arg('secretlint')
  });
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}
