// Benchmark of the coverage report readers: generates a ~100 MB LCOV
// tracefile and a ~100 MB coverage.py JSON report (realistic shapes, many
// files), then parses each in a child process of its own and reports wall
// time and peak memory (the child's maxRSS). Beside them, on the same files:
// the npm package lcov-parse (when a path to it is given and it is installed)
// and a plain JSON.parse of the whole coverage.py file, as ratios.
//
//   node scripts/bench-coverage.ts [--mb 100] [--lcov-parse /tmp/lcovbench/node_modules/lcov-parse] [--keep]
//
// lcov-parse is not a dependency: install it apart, e.g.
//   npm i --prefix /tmp/lcovbench lcov-parse
// benchCoverage() is exported for scripts/bench.ts.

import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCoverageReport } from '../packages/coverage/src/formats/index.ts';
import { stringArg } from './bench-support.ts';

export interface CoverageBenchOptions {
  /** Size of each generated report, in MiB. */
  mb?: number;
  /** Directory of an installed lcov-parse package (its require path). */
  lcovParse?: string;
  /** Keep the generated files (their directory is in the figures). */
  keep?: boolean;
}

export interface ParseFigures {
  /** Wall time of the parse. */
  ms: number;
  /** CPU time (user + system) of the parse: steadier than wall time on a busy machine. */
  cpuMs: number;
  maxRssMb: number;
  /** What the parser concluded, to show the runs read the same thing. */
  result: string;
}

export interface CoverageBenchFigures {
  dir: string;
  lcovMb: number;
  coveragePyMb: number;
  lcov: ParseFigures;
  coveragePy: ParseFigures;
  /** lcov-parse on the same tracefile, or why it did not run. */
  lcovParse: ParseFigures | 'not installed';
  /** JSON.parse of the whole coverage.py file (read as one string). */
  jsonParse: ParseFigures;
  /** A child that loads the readers and parses nothing: the floor under every maxRSS. */
  idleRssMb: number;
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

/** Writes text through a stream in ~1 MiB pieces, honouring back-pressure. */
async function writeFileStreaming(
  path: string,
  produce: (emit: (s: string) => void) => boolean
): Promise<void> {
  const out = createWriteStream(path);
  let pending: string[] = [];
  let size = 0;
  const emit = (s: string): void => {
    pending.push(s);
    size += s.length;
  };
  let more = true;
  while (more) {
    more = produce(emit);
    if (size >= 1 << 20 || !more) {
      if (!out.write(pending.join(''))) await once(out, 'drain');
      pending = [];
      size = 0;
    }
  }
  out.end();
  await once(out, 'finish');
}

const NAMES =
  'parse render update fetch create remove handle build load save resolve validate format apply merge'.split(
    ' '
  );

/** An LCOV tracefile as geninfo/istanbul write it: FN/FNDA, DA, BRDA, counts, per file. */
export async function generateLcov(path: string, bytes: number): Promise<void> {
  const rnd = prng(7);
  let written = 0;
  let file = 0;
  await writeFileStreaming(path, (emit) => {
    const lines = 50 + Math.floor(rnd() * 1500);
    const parts: string[] = [
      'TN:',
      `SF:/home/runner/work/app/app/src/module${file % 97}/sub${file % 13}/file${file}.ts`
    ];
    const fns = Math.max(1, Math.floor(lines / 40));
    let fnHit = 0;
    for (let f = 0; f < fns; f++) parts.push(`FN:${f * 40 + 1},${NAMES[f % NAMES.length]}${f}`);
    for (let f = 0; f < fns; f++) {
      const hits = rnd() < 0.2 ? 0 : Math.floor(rnd() * 50);
      if (hits > 0) fnHit++;
      parts.push(`FNDA:${hits},${NAMES[f % NAMES.length]}${f}`);
    }
    parts.push(`FNF:${fns}`, `FNH:${fnHit}`);
    let lf = 0;
    let lh = 0;
    for (let l = 1; l <= lines; l++) {
      if (rnd() < 0.35) continue;
      const hits = rnd() < 0.2 ? 0 : Math.floor(rnd() * 1000);
      lf++;
      if (hits > 0) lh++;
      parts.push(`DA:${l},${hits}`);
    }
    let brf = 0;
    let brh = 0;
    for (let l = 5; l <= lines; l += 17) {
      for (let b = 0; b < 2; b++) {
        const taken = rnd() < 0.3 ? '-' : String(Math.floor(rnd() * 20));
        brf++;
        if (taken !== '-' && taken !== '0') brh++;
        parts.push(`BRDA:${l},0,${b},${taken}`);
      }
    }
    parts.push(`BRF:${brf}`, `BRH:${brh}`, `LF:${lf}`, `LH:${lh}`, 'end_of_record', '');
    const text = parts.join('\n');
    emit(text);
    written += text.length;
    file++;
    return written < bytes;
  });
}

function pySummary(executed: number[], missing: number[]): Record<string, unknown> {
  const n = executed.length + missing.length;
  const pc = n === 0 ? 100 : (executed.length / n) * 100;
  return {
    covered_lines: executed.length,
    num_statements: n,
    percent_covered: pc,
    percent_covered_display: String(Math.round(pc)),
    missing_lines: missing.length,
    excluded_lines: 0
  };
}

/** A coverage.py 7.x JSON report (format 3: files with functions and classes). */
export async function generateCoveragePy(path: string, bytes: number): Promise<void> {
  const rnd = prng(11);
  let written = 0;
  let file = 0;
  let totalCovered = 0;
  let totalStatements = 0;
  let done = false;
  let header = false;
  // Python's json.dump separators: ', ' and ': '.
  const dump = (v: unknown): string => JSON.stringify(v).replace(/,/g, ', ').replace(/":/g, '": ');
  await writeFileStreaming(path, (emit) => {
    if (!header) {
      emit(
        `{"meta": {"format": 3, "version": "7.6.1", "timestamp": "2026-11-22T04:00:00.000000", "branch_coverage": false, "show_contexts": false}, "files": {`
      );
      header = true;
    }
    if (done) {
      const pc = (totalCovered / totalStatements) * 100;
      emit(
        `}, "totals": ${dump({ covered_lines: totalCovered, num_statements: totalStatements, percent_covered: pc, percent_covered_display: String(Math.round(pc)), missing_lines: totalStatements - totalCovered, excluded_lines: 0 })}}\n`
      );
      return false;
    }
    const lines = 30 + Math.floor(rnd() * 1200);
    const executed: number[] = [];
    const missing: number[] = [];
    for (let l = 1; l <= lines; l++) {
      if (rnd() < 0.3) continue;
      (rnd() < 0.18 ? missing : executed).push(l);
    }
    const functions: Record<string, unknown> = {};
    const step = 40;
    for (let start = 1, f = 0; start <= lines; start += step, f++) {
      const fe = executed.filter((l) => l >= start && l < start + step);
      const fm = missing.filter((l) => l >= start && l < start + step);
      functions[f === 0 ? '' : `${NAMES[f % NAMES.length]}_${f}`] = {
        executed_lines: fe,
        summary: pySummary(fe, fm),
        missing_lines: fm,
        excluded_lines: []
      };
    }
    const entry = {
      executed_lines: executed,
      summary: pySummary(executed, missing),
      missing_lines: missing,
      excluded_lines: [],
      functions,
      classes: {
        '': {
          executed_lines: executed,
          summary: pySummary(executed, missing),
          missing_lines: missing,
          excluded_lines: []
        }
      }
    };
    const text = `${file > 0 ? ', ' : ''}"src/pkg${file % 50}/module_${file}.py": ${dump(entry)}`;
    emit(text);
    totalCovered += executed.length;
    totalStatements += executed.length + missing.length;
    written += text.length;
    file++;
    if (written >= bytes) done = true;
    return true;
  });
}

/** Runs one parse in a fresh child process; its maxRSS is that parse's peak. */
function runChild(kind: string, file: string, extra = ''): ParseFigures {
  const r = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--child', kind, file, extra],
    { encoding: 'utf8', maxBuffer: 1 << 20 }
  );
  if (r.status !== 0) throw new Error(`${kind} child failed: ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as ParseFigures;
}

async function child(kind: string, file: string, extra: string): Promise<void> {
  const t = performance.now();
  const cpu = process.cpuUsage();
  let result: string;
  if (kind === 'idle') {
    result = 'nothing parsed';
  } else if (kind === 'lcov' || kind === 'coverage-py') {
    const r = await readCoverageReport(file, kind);
    result = `${r.covered}/${r.total} lines in ${r.files.length} files`;
  } else if (kind === 'lcov-parse') {
    const parse = createRequire(import.meta.url)(extra) as (
      f: string,
      cb: (err: unknown, data: { lines: { found: number; hit: number } }[]) => void
    ) => void;
    const data = await new Promise<{ lines: { found: number; hit: number } }[]>((res, rej) =>
      parse(file, (err, d) => (err ? rej(new Error(String(err))) : res(d)))
    );
    let hit = 0;
    let found = 0;
    for (const d of data) {
      hit += d.lines.hit;
      found += d.lines.found;
    }
    result = `${hit}/${found} lines in ${data.length} files`;
  } else {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as {
      totals: { covered_lines: number; num_statements: number };
      files: Record<string, unknown>;
    };
    result = `${doc.totals.covered_lines}/${doc.totals.num_statements} lines in ${Object.keys(doc.files).length} files`;
  }
  const ms = Math.round(performance.now() - t);
  const used = process.cpuUsage(cpu);
  const cpuMs = Math.round((used.user + used.system) / 1000);
  const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`${JSON.stringify({ ms, cpuMs, maxRssMb, result })}\n`);
}

function lcovParseInstalled(path: string | undefined): path is string {
  if (!path) return false;
  try {
    createRequire(import.meta.url).resolve(path);
    return true;
  } catch {
    return false;
  }
}

export async function benchCoverage(
  opts: CoverageBenchOptions = {}
): Promise<CoverageBenchFigures> {
  const bytes = (opts.mb ?? 100) * 1024 * 1024;
  const dir = mkdtempSync(join(tmpdir(), 'qg-bench-coverage-'));
  try {
    const lcovFile = join(dir, 'lcov.info');
    const pyFile = join(dir, 'coverage.json');
    await generateLcov(lcovFile, bytes);
    await generateCoveragePy(pyFile, bytes);
    const lcov = runChild('lcov', lcovFile);
    const coveragePy = runChild('coverage-py', pyFile);
    const lcovParse = lcovParseInstalled(opts.lcovParse)
      ? runChild('lcov-parse', lcovFile, opts.lcovParse)
      : 'not installed';
    const jsonParse = runChild('json-parse', pyFile);
    const idleRssMb = runChild('idle', lcovFile).maxRssMb;
    return {
      dir,
      lcovMb: Math.round(statSync(lcovFile).size / 1048576),
      coveragePyMb: Math.round(statSync(pyFile).size / 1048576),
      lcov,
      coveragePy,
      lcovParse,
      jsonParse,
      idleRssMb
    };
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

function ratio(a: ParseFigures, b: ParseFigures): string {
  return `time ${(a.ms / b.ms).toFixed(2)}x, memory ${(a.maxRssMb / b.maxRssMb).toFixed(2)}x`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = stringArg;
  const childKind = arg('child');
  if (childKind !== undefined) {
    const i = process.argv.indexOf('--child');
    await child(childKind, process.argv[i + 2], process.argv[i + 3] ?? '');
  } else {
    const lcovParse = arg('lcov-parse');
    const f = await benchCoverage({
      mb: Number(arg('mb') ?? 100),
      lcovParse,
      keep: process.argv.includes('--keep')
    });
    const line = (label: string, p: ParseFigures): string =>
      `${label}: ${(p.ms / 1000).toFixed(2)} s (cpu ${(p.cpuMs / 1000).toFixed(2)} s), peak RSS ${p.maxRssMb} MB (${p.result})`;
    const out = [
      `node ${process.version}, ${process.platform}/${process.arch}; each parse in its own process (one that parses nothing peaks at ${f.idleRssMb} MB RSS)`,
      line(`LCOV ${f.lcovMb} MB, this reader`, f.lcov) + ' (target < 3 s)',
      typeof f.lcovParse === 'string'
        ? `LCOV ${f.lcovMb} MB, lcov-parse: not installed${lcovParse ? ` at ${lcovParse}` : ' (pass --lcov-parse <path>)'}`
        : `${line(`LCOV ${f.lcovMb} MB, lcov-parse`, f.lcovParse)}; this reader / lcov-parse: ${ratio(f.lcov, f.lcovParse)}`,
      line(`coverage.py JSON ${f.coveragePyMb} MB, this reader`, f.coveragePy) + ' (target < 3 s)',
      `${line(`coverage.py JSON ${f.coveragePyMb} MB, JSON.parse of the whole file`, f.jsonParse)}; this reader / JSON.parse: ${ratio(f.coveragePy, f.jsonParse)}`
    ];
    if (process.argv.includes('--keep')) out.push(`files kept in ${f.dir}`);
    process.stdout.write(`${out.join('\n')}\n`);
  }
}
