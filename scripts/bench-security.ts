// npm run bench (first part): prints figures, asserts nothing. Security gate:
//   1. action cold start: process start to exit of dist/security-gate on a
//      clean 1-commit range, beside a bare `node -e ''` (target < 0.5 s on
//      Node 24);
//   2. throughput on the project's yardstick: a branch adding ~30 MB of
//      vendored JavaScript/TypeScript (real files from node_modules) in one
//      commit; the gate (the bundle, as a runner runs it) beside
//      `git log -p --cc --text -U0 main..feature > /dev/null` on the same
//      range, with MB/s for each and their ratio (target: gate within 3x);
//   3. adversarial lines: 2 MB single-line texts made to make a backtracking
//      regex engine work hard, each through one heavy rule alone (the
//      named-value rules, generic-api-key, private-key, jwt,
//      curl-auth-header, kubernetes-secret-yaml) and through the whole
//      default ruleset; the worst cases per rule and overall (target: no
//      2 MB line > 100 ms; each case runs alone in a worker thread, cut at
//      20 s; after a cut, the rule's other texts are not run, nor the text
//      for the other rules of the named-value shape, so the bench stays in
//      minutes even when the engine is slow);
//   4. recall and false positives of the default ruleset on the generated
//      samples, overall and per family (targets: recall >= 95 % overall and
//      per family, false positives <= 2 %).
//
//   node scripts/bench-security.ts [--runs 10] [--runs-throughput 3] [--mb 30]
//                                  [--case-timeout 20] [--workers 2]
//                                  [--only cold-start|throughput|adversarial|recall]

import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { defaultRules } from '../packages/security/src/secrets/ruleset/config.ts';
import { DEFAULT_RULES } from '../packages/security/src/secrets/ruleset/defaults.ts';
import { Ruleset } from '../packages/security/src/secrets/ruleset/engine.ts';
import type { GitleaksRule } from '../packages/security/src/secrets/ruleset/schema.ts';
import { measure, pct } from '../tests/helpers/secret-samples/figures.ts';
import { git, gitEnv, median, numberArg, output, ROOT, runBundle, secs } from './bench-support.ts';

const arg = numberArg;
const MB = 1024 * 1024;
const mbps = (bytes: number, ms: number): string => (bytes / MB / (ms / 1000)).toFixed(1);

// ---------------------------------------------------------------- 3. texts

/** Length of each adversarial line. */
const LINE = 2 * MB;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64 = ALNUM + '+/';

/** `unit` repeated to `n` characters. */
const fill = (unit: string, n = LINE): string =>
  unit.repeat(Math.ceil(n / unit.length)).slice(0, n);

/** `n` characters of `alphabet`, the same on every run. */
function chars(alphabet: string, n = LINE): string {
  let a = 0x2545f491;
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    out[i] = alphabet[(a >>> 16) % alphabet.length];
  }
  return out.join('');
}

/** Every keyword of the default rules, each followed by ' = ', cycled to a line. */
const allKeywords = (): string =>
  fill([...new Set(DEFAULT_RULES.flatMap((r) => r.keywords ?? []))].map((k) => `${k} = `).join(''));

/** The texts, by name; `kw` is the rule's first keyword (shown in the name where it is used). */
const TEXTS: Record<string, (kw: string) => string> = {
  "'key' x": () => fill('key'),
  "'key=' x": () => fill('key='),
  "'a' x": () => fill('a'),
  "'api_key = ' + alnum": () => 'api_key = ' + chars(ALNUM),
  'BEGIN PRIVATE KEY, no END': () => '-----BEGIN PRIVATE KEY-----' + chars(B64),
  "'eyJ' + base64": () => 'eyJ' + chars(B64),
  "'.-' x": () => fill('.-'),
  "'kw=' x": (kw) => fill(`${kw}=`),
  "'kw = ' + alnum": (kw) => `${kw} = ` + chars(ALNUM),
  "'a' x + kw": (kw) => fill('a') + kw,
  "'.-' x + kw": (kw) => fill('.-') + kw,
  "every keyword + ' = ', x": () => allKeywords(),
  "'curl -H \"Authorization: Bearer ' x": () => fill('curl -H "Authorization: Bearer '),
  "'curl ' + 'a -H ' x": () => 'curl ' + fill('a -H '),
  "'kind: secret data: ' x": () => fill('kind: secret data: '),
  "'eyJhbGciOiJIUzI1NiJ9.' x": () => fill('eyJhbGciOiJIUzI1NiJ9.'),
  "'-----BEGIN RSA ' x": () => fill('-----BEGIN RSA ')
};
/** Every rule gets these (the prefilter keeps most rules off the ones without their keyword). */
const COMMON = [
  "'key' x",
  "'key=' x",
  "'a' x",
  "'api_key = ' + alnum",
  'BEGIN PRIVATE KEY, no END',
  "'eyJ' + base64",
  "'.-' x"
];
/** A rule with keywords also gets these, with its first keyword (so its regex runs at all). */
const WITH_KEYWORD = ["'kw=' x", "'kw = ' + alnum", "'a' x + kw", "'.-' x + kw"];
const EXTRA: Record<string, string[]> = {
  'curl-auth-header': ["'curl -H \"Authorization: Bearer ' x", "'curl ' + 'a -H ' x"],
  'kubernetes-secret-yaml': ["'kind: secret data: ' x"],
  jwt: ["'eyJhbGciOiJIUzI1NiJ9.' x"],
  'private-key': ["'-----BEGIN RSA ' x"]
};
const WHOLE_TEXTS = [...COMMON, "every keyword + ' = ', x"];

/** A rule whose regex starts with the bounded lazy name prefix of namedValue(). */
const NAMED_PREFIX = /^(?:\(\?[a-z]+\))?\[\\w\.-\]\{0,50\}\?/;
const HEAVY = [
  'generic-api-key',
  'private-key',
  'jwt',
  'curl-auth-header',
  'kubernetes-secret-yaml'
];

interface Case {
  /** Rule id, or '*' for the whole default ruleset. */
  rule: string;
  text: string;
  kw: string;
}
interface CaseResult extends Case {
  /** undefined (and no error, not skipped): cut at the time limit. */
  ms?: number;
  hits?: number;
  error?: string;
  /** Not run, and why. */
  skipped?: string;
}

const label = (c: Case): string => c.text.replace(/\bkw\b/g, JSON.stringify(c.kw).slice(1, -1));

/** Worker side: runs cases on request, one at a time, and answers with the detect() time. */
function adversarialWorker(): void {
  const rulesets = new Map<string, Ruleset>();
  const texts = new Map<string, string>();
  parentPort!.on('message', (c: Case) => {
    try {
      let rs = rulesets.get(c.rule);
      if (!rs) {
        const rule = DEFAULT_RULES.find((r) => r.id === c.rule);
        rs = c.rule === '*' ? defaultRules().ruleset : new Ruleset([rule as GitleaksRule]);
        rulesets.clear();
        rulesets.set(c.rule, rs);
      }
      const key = `${c.text}\0${c.kw}`;
      let text = texts.get(key);
      if (text === undefined) {
        if (texts.size > 16) texts.clear();
        texts.set(key, (text = TEXTS[c.text](c.kw)));
      }
      const t = performance.now();
      const hits = rs.detect(text).length;
      parentPort!.postMessage({ ms: performance.now() - t, hits });
    } catch (err) {
      parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) });
    }
  });
  parentPort!.postMessage('ready');
}

type Answer = { ms?: number; hits?: number; error?: string } | 'ready' | 'cut';

/** One worker thread; a case over `limitMs` (or an error) ends it, and the next case starts a new one. */
class Slot {
  private worker: Worker | undefined;
  private waiting: ((m: Answer) => void) | undefined;
  private readonly limitMs: number;
  constructor(limitMs: number) {
    this.limitMs = limitMs;
  }

  private ask(c: Case | undefined): Promise<Answer> {
    return new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => resolve('cut'), this.limitMs);
      this.waiting = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
      if (c) this.worker!.postMessage(c);
    });
  }

  async run(c: Case): Promise<CaseResult> {
    if (!this.worker) {
      const w = (this.worker = new Worker(new URL(import.meta.url)));
      const next = (m: Answer): void => {
        if (w === this.worker) this.waiting?.(m);
      };
      w.on('message', next);
      w.on('error', (e: Error) => next({ error: e.message }));
      w.on('exit', (code) => next({ error: `worker exited (${code})` }));
      const ready = await this.ask(undefined);
      if (ready !== 'ready')
        throw new Error(`adversarial worker did not start: ${JSON.stringify(ready)}`);
    }
    const answer = await this.ask(c);
    if (answer === 'cut' || answer === 'ready') {
      await this.stop();
      return { ...c };
    }
    if (answer.error !== undefined) await this.stop();
    return { ...c, ...answer };
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.waiting = undefined;
    await w?.terminate();
  }
}

/** A case cut at the time limit (not an error, not skipped). */
const isCut = (r: CaseResult): boolean => r.ms === undefined && !r.error && !r.skipped;

/**
 * Runs the cases on `workers` threads, each case alone in its thread with a
 * time limit. Cases sharing a key never run at the same time, and once one
 * of them is cut, the later ones are not run (`why` says so).
 */
async function runCases(
  cases: Case[],
  limitMs: number,
  workers: number,
  keys: (c: Case) => string[],
  why: (key: string, cut: CaseResult) => string
): Promise<CaseResult[]> {
  const out: CaseResult[] = new Array<CaseResult>(cases.length);
  const pending = cases.map((_, i) => i);
  const running = new Set<string>();
  const cutBy = new Map<string, CaseResult>();
  const waiters: (() => void)[] = [];
  const loop = async (slot: Slot): Promise<void> => {
    while (pending.length > 0) {
      const k = pending.findIndex((i) => keys(cases[i]).every((key) => !running.has(key)));
      if (k < 0) {
        await new Promise<void>((resolve) => waiters.push(resolve));
        continue;
      }
      const i = pending.splice(k, 1)[0];
      const c = cases[i];
      const key = keys(c).find((x) => cutBy.has(x));
      if (key !== undefined) {
        out[i] = { ...c, skipped: why(key, cutBy.get(key)!) };
        continue;
      }
      for (const x of keys(c)) running.add(x);
      const r = await slot.run(c);
      for (const x of keys(c)) running.delete(x);
      if (isCut(r)) for (const x of keys(c)) if (!cutBy.has(x)) cutBy.set(x, r);
      out[i] = r;
      for (const w of waiters.splice(0)) w();
    }
    await slot.stop();
    for (const w of waiters.splice(0)) w();
  };
  await Promise.all(Array.from({ length: workers }, () => loop(new Slot(limitMs))));
  return out;
}

/** 3. Adversarial single lines through the heaviest rules and the whole ruleset. */
async function adversarial(): Promise<void> {
  const limitMs = arg('case-timeout', 20) * 1000;
  const workers = arg('workers', Math.min(2, availableParallelism()));
  const rules = DEFAULT_RULES.filter(
    (r) => HEAVY.includes(r.id) || NAMED_PREFIX.test(r.regex ?? '')
  );
  // The named-value rules other than generic-api-key share one regex shape (namedValue()).
  const shape = new Set(
    rules
      .filter((r) => r.id !== 'generic-api-key' && NAMED_PREFIX.test(r.regex ?? ''))
      .map((r) => r.id)
  );
  const cases: Case[] = [];
  for (const text of WHOLE_TEXTS) cases.push({ rule: '*', text, kw: '' });
  for (const r of rules) {
    const kw = r.keywords?.[0] ?? '';
    const names = [...COMMON, ...(kw ? WITH_KEYWORD : []), ...(EXTRA[r.id] ?? [])];
    for (const text of names) cases.push({ rule: r.id, text, kw });
  }
  // So that a few pathological texts cannot make the bench take hours: once
  // a rule is cut at the limit, its other texts are not run (its worst is
  // known), and a text cut for one rule of the named-value shape is not run
  // for the others. The whole ruleset runs every text.
  const t = performance.now();
  const results = await runCases(
    cases,
    limitMs,
    workers,
    (c) =>
      c.rule === '*'
        ? [`*\0${c.text}`]
        : [`rule\0${c.rule}`, ...(shape.has(c.rule) ? [`shape\0${c.text}`] : [])],
    (key, cut) =>
      key.startsWith('rule') ? `already cut [${label(cut)}]` : `cut for ${cut.rule} [${label(cut)}]`
  );
  const wallMs = performance.now() - t;

  const cut = `> ${limitMs / 1000} s`;
  const shown = (r: CaseResult): string =>
    r.skipped
      ? 'not run'
      : r.error
        ? `error: ${r.error}`
        : r.ms === undefined
          ? cut
          : `${r.ms.toFixed(0)} ms`;
  const cost = (r: CaseResult): number => (r.skipped ? -2 : r.error ? -1 : (r.ms ?? Infinity));
  const worstFirst = (xs: CaseResult[]): CaseResult[] => [...xs].sort((a, b) => cost(b) - cost(a));
  const ran = results.filter((x) => !x.skipped);
  const skipped = results.length - ran.length;
  process.stdout.write(
    `3. adversarial single lines of ${LINE / MB} MB, detect() timed per (rule alone, text) and for the whole default ruleset (${DEFAULT_RULES.length} rules);` +
      ` ${rules.length} rules: the ${shape.size + 1} named-value rules (regex starting [\\w.-]{0,50}?, generic-api-key among them), private-key, jwt, curl-auth-header, kubernetes-secret-yaml.` +
      ` ${ran.length} cases run in ${secs(wallMs)} s on ${workers} worker thread(s), each case cut at ${limitMs / 1000} s` +
      (skipped
        ? `; ${skipped} not run (after a cut, the rule's other texts; and a text cut for one rule of the named-value shape, for the other ${shape.size - 1})`
        : '') +
      ' (target: no line > 100 ms)\n' +
      "   per rule, the 3 worst texts (kw: the rule's first keyword):\n"
  );
  const width = Math.max(...rules.map((r) => r.id.length));
  for (const r of rules) {
    const mine = worstFirst(results.filter((x) => x.rule === r.id));
    const after = mine.filter((x) => x.skipped?.startsWith('already'));
    const same = mine.filter((x) => x.skipped && !x.skipped.startsWith('already'));
    process.stdout.write(
      `     ${r.id.padEnd(width)}  ${mine
        .filter((x) => !x.skipped)
        .slice(0, 3)
        .map((x) => `${shown(x)} [${label(x)}]`)
        .join(', ')}` +
        same.map((x) => `; [${label(x)}] not run (${x.skipped})`).join('') +
        (after.length ? `; ${after.length} more text(s) not run after the cut` : '') +
        '\n'
    );
  }
  process.stdout.write('   whole default ruleset, per text:\n');
  const whole = results.filter((x) => x.rule === '*');
  const tw = Math.max(...whole.map((x) => label(x).length));
  for (const x of whole) process.stdout.write(`     ${label(x).padEnd(tw)}  ${shown(x)}\n`);
  const over = ran.filter((x) => isCut(x) || (x.ms ?? 0) > 100);
  const errors = ran.filter((x) => x.error !== undefined);
  process.stdout.write(
    `   overall worst:\n${worstFirst(ran)
      .slice(0, 10)
      .map(
        (x) =>
          `     ${shown(x).padStart(8)}  ${x.rule === '*' ? '(whole ruleset)' : x.rule} [${label(x)}]\n`
      )
      .join('')}` +
      `   ${over.length} of ${ran.length} cases run over 100 ms (${ran.filter(isCut).length} cut at ${limitMs / 1000} s)` +
      `${errors.length ? `, ${errors.length} errors` : ''}; target: none over 100 ms\n\n`
  );
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'qg-bench-'));
  try {
    process.stdout.write(`node ${process.version}, ${process.platform}/${process.arch}\n\n`);
    // --only cold-start|throughput|adversarial|recall: one part alone.
    const i = process.argv.indexOf('--only');
    const only = i > 0 ? process.argv[i + 1] : undefined;
    const part = (name: string): boolean => only === undefined || only === name;
    if (part('cold-start')) coldStart(work);
    if (part('throughput')) throughput(work);
    if (part('adversarial')) await adversarial();
    if (part('recall')) recall();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** 1. Cold start on a clean 1-commit range. */
function coldStart(work: string): void {
  const repo = join(work, 'small');
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'README.md'), '# small\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'base');
  git(repo, 'checkout', '-q', '-b', 'feature');
  writeFileSync(join(repo, 'app.js'), 'console.log("hi");\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'one');
  const runs = arg('runs', 10);
  const bare: number[] = [];
  const cold: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    spawnSync(process.execPath, ['-e', '']);
    bare.push(performance.now() - t);
    const r = runBundle('security-gate', repo, {
      'base-ref': 'main',
      'report-dir': join(work, 'r1')
    });
    if (r.status !== 0) throw new Error(`cold-start run failed: ${output(r.outputs, 'summary')}`);
    cold.push(r.ms);
  }
  process.stdout.write(
    `1. security-gate cold start (1-commit range, ${runs} runs): median ${median(cold).toFixed(0)} ms, min ${Math.min(...cold).toFixed(0)} ms` +
      ` (bare node start: median ${median(bare).toFixed(0)} ms; target < 500 ms)\n\n`
  );
}

/** Real .js/.ts/.mjs/.cjs files of node_modules, in path order, until `bytes`. */
function vendorFiles(bytes: number): { files: string[]; total: number } {
  const files: string[] = [];
  let total = 0;
  const walk = (dir: string): boolean => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0
    );
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (walk(p)) return true;
      } else if (e.isFile() && /\.(?:js|ts|mjs|cjs)$/.test(e.name)) {
        files.push(p);
        total += statSync(p).size;
        if (total >= bytes) return true;
      }
    }
    return false;
  };
  walk(join(ROOT, 'node_modules'));
  return { files, total };
}

/** 2. The gate beside git printing the same range: one commit adding ~30 MB of vendored sources. */
function throughput(work: string): void {
  const runs = arg('runs-throughput', 3);
  const mb = arg('mb', 30);
  const repo = join(work, 'vendor');
  mkdirSync(repo);
  let t = performance.now();
  git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'README.md'), '# vendor\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'base');
  git(repo, 'checkout', '-q', '-b', 'feature');
  const nm = join(ROOT, 'node_modules');
  const { files, total } = vendorFiles(mb * MB);
  for (const f of files) {
    const to = join(repo, 'vendor', relative(nm, f));
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(f, to);
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'vendor');
  const buildMs = performance.now() - t;

  const gitMs: number[] = [];
  const gateMs: number[] = [];
  const evalMs: number[] = [];
  let last: ReturnType<typeof runBundle> | undefined;
  let report = '';
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    const g = spawnSync('git', ['log', '-p', '--cc', '--text', '-U0', 'main..feature'], {
      cwd: repo,
      env: { ...process.env, ...gitEnv },
      stdio: ['ignore', 'ignore', 'pipe']
    });
    gitMs.push(performance.now() - t);
    if (g.status !== 0) throw new Error(`git log failed: ${g.stderr.toString()}`);
    const reportDir = join(work, `r2-${i}`);
    last = runBundle('security-gate', repo, {
      'base-ref': 'main',
      'secrets-engine': 'embedded',
      'report-dir': reportDir
    });
    gateMs.push(last.ms);
    try {
      report = readFileSync(join(reportDir, '17-security-report.md'), 'utf8');
    } catch {
      throw new Error(
        `security-gate wrote no report (exit ${last.status}): ${last.stdout.slice(-2000)}`
      );
    }
    // The report's Duration: the gate's evaluation (range, scan, dependency audit), without process start.
    const d = /\|\s*([\d.]+) s\s*\|\s*$/m.exec(report);
    if (d) evalMs.push(Number(d[1]) * 1000);
  }
  const bytesScanned = Number(/^bytes_scanned: (\d+)$/m.exec(report)?.[1] ?? 0);
  const gitMed = median(gitMs);
  const gateMed = median(gateMs);
  const o = last!.outputs;
  process.stdout.write(
    `2. throughput: one commit adding ${(total / MB).toFixed(1)} MB (${files.length} .js/.ts/.mjs/.cjs files of node_modules under vendor/; repo built in ${secs(buildMs)} s), median of ${runs}:\n` +
      `   git log -p --cc --text -U0 main..feature > /dev/null: ${secs(gitMed)} s, ${mbps(total, gitMed)} MB/s (yardstick)\n` +
      `   security-gate bundle (embedded engine):              ${secs(gateMed)} s, ${mbps(total, gateMed)} MB/s` +
      ` (verdict ${output(o, 'status') || '?'}, ${output(o, 'secrets-found') || '?'} findings, exit ${last!.status}, bytes_scanned ${bytesScanned})\n` +
      (evalMs.length === runs
        ? `   gate's evaluation alone (report's Duration: range, scan, audit; 0.1 s steps): ${secs(median(evalMs))} s, ${mbps(total, median(evalMs))} MB/s\n`
        : '') +
      `   gate / git log = ${(gateMed / gitMed).toFixed(2)}` +
      (evalMs.length === runs
        ? ` (evaluation alone: ${(median(evalMs) / gitMed).toFixed(2)})`
        : '') +
      ' (target: within 3x)\n\n'
  );
}

/** 4. Recall and false positives on the generated samples. */
function recall(): void {
  const t = performance.now();
  const f = measure(defaultRules().ruleset);
  const ms = performance.now() - t;
  process.stdout.write(
    `4. recall and false positives of the default ruleset on the generated samples (measured in ${secs(ms)} s):\n` +
      `   recall ${pct(f.found, f.samples)} (${f.found} of ${f.samples}; target >= 95 % overall and per family),` +
      ` false positives ${pct(f.falsePositives, f.negatives)} (${f.falsePositives} of ${f.negatives} negatives; target <= 2 %)\n`
  );
  const head = ['family', 'samples', 'found', 'recall', 'negatives', 'false positives'];
  const rows = f.families.map((x) => [
    x.family,
    String(x.samples),
    String(x.found),
    pct(x.found, x.samples),
    String(x.negatives),
    `${x.falsePositives} (${pct(x.falsePositives, x.negatives)})`
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string =>
    `   ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')}\n`;
  process.stdout.write(line(head));
  for (const r of rows) process.stdout.write(line(r));
  const low = f.families.filter((x) => x.samples > 0 && x.found / x.samples < 0.95);
  const fpHigh = f.families.filter((x) => x.negatives > 0 && x.falsePositives / x.negatives > 0.02);
  process.stdout.write(
    `   families under 95 % recall: ${low.map((x) => x.family).join(', ') || 'none'};` +
      ` over 2 % false positives: ${fpHigh.map((x) => x.family).join(', ') || 'none'}\n`
  );
}

if (isMainThread) await main();
else adversarialWorker();
