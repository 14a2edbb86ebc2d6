// Benchmarks the whole edge's own overhead; prints figures, asserts nothing.
// The four gate bundles run one after another as a runner runs four jobs
// (a node process each), on the benchmark repository (10,000 commits on
// main, a 20-commit task branch 3 behind, so the merge gate rebases and
// pushes), publishing to a forge that checks every request against the
// Gitea contract, with a real OCI registry for the image gate. The user's
// commands are `true` (test) and an existing LCOV report (coverage), so the
// figure is the gates' own time. Target: under 5 s. Also: forge API calls
// per run, per gate.
//
//   node scripts/bench-edge.ts [--commits 10000] [--behind 3] [--branch-commits 20] [--runs 5]

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bundleEnv,
  commitsStream,
  fastImport,
  git as gitRun,
  median,
  output,
  ROOT,
  secs,
  benchRepoShape
} from './bench-support.ts';
import { GiteaContractServer, TEST_TOKEN } from '../tests/helpers/gitea-contract-server.ts';
import { OciLayout } from '../tests/helpers/oci-images.ts';
import { LocalRegistry, requireRegistryTools } from '../tests/helpers/oci-registry.ts';

const git = (cwd: string, ...args: string[]): string => gitRun(cwd, ...args).trim();
const REPO = 'acme/service';
const GATES = ['security-gate', 'merge-gate', 'coverage-gate', 'image-freshness-gate'] as const;

interface Run {
  ms: number;
  outputs: string;
  log: string;
}

/** dist/<action>/index.js as a runner runs it, without blocking this process (the forge answers from here). */
function runAction(
  action: string,
  workspace: string,
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv
): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'qg-bench-edge-run-'));
  const out = join(dir, 'out');
  const full = bundleEnv(action, workspace, inputs, dir, env);
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', action, 'index.js')], {
      cwd: workspace,
      env: full
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('error', reject);
    child.on('close', () => {
      const ms = performance.now() - t;
      const outputs = readFileSync(out, 'utf8');
      rmSync(dir, { recursive: true, force: true });
      resolve({ ms, outputs, log });
    });
  });
}

const work = mkdtempSync(join(tmpdir(), 'qg-bench-edge-'));
let forge: GiteaContractServer | undefined;
let registry: LocalRegistry | undefined;
try {
  process.stdout.write(`node ${process.version}, ${process.platform}/${process.arch}\n\n`);
  const { commits, behind, branchCommits, runs } = benchRepoShape();

  const origin = join(work, 'origin.git');
  mkdirSync(origin);
  git(origin, 'init', '-q', '--bare', '-b', 'main');
  const t0 = 1_700_000_000;
  fastImport(
    origin,
    commitsStream('refs/heads/main', undefined, commits, 'main', t0, 1) +
      commitsStream(
        'refs/heads/task',
        `:${commits - behind + 1}`,
        branchCommits,
        'task',
        t0 + commits + 10
      )
  );
  const ws = join(work, 'ws');
  git(work, 'clone', '-q', origin, ws);
  git(ws, 'checkout', '-q', 'task');
  const taskHead = git(ws, 'rev-parse', 'HEAD');
  // The coverage report the user's command would have written (kept outside the checkout).
  const lcov = join(work, 'lcov.info');
  writeFileSync(lcov, 'TN:\nSF:src/a.js\nDA:1,1\nDA:2,1\nDA:3,0\nLF:3\nLH:2\nend_of_record\n');

  forge = await GiteaContractServer.start();
  let imageRef = '';
  try {
    requireRegistryTools();
    registry = await LocalRegistry.start();
  } catch (err) {
    process.stdout.write(`image gate not measured: ${(err as Error).message}\n`);
  }
  const state = join(work, 'state', 'state.sqlite');
  const common = { token: TEST_TOKEN, 'state-path': state, 'report-dir': join(work, 'reports') };
  const perGate: Record<string, Record<string, string>> = {
    'security-gate': { 'base-ref': 'main', 'dep-audit': 'false' },
    'merge-gate': { 'base-ref': 'main', 'test-command': 'true', 'lease-wait-minutes': '0' },
    'coverage-gate': { 'base-ref': 'main', measure: 'false', report: lcov, format: 'lcov' },
    'image-freshness-gate': { 'registry-insecure': 'true' }
  };

  const totals: number[] = [];
  const byGate: Record<string, number[]> = Object.fromEntries(GATES.map((g) => [g, []]));
  const calls: Record<string, number[]> = Object.fromEntries(GATES.map((g) => [g, []]));
  let last = '';
  for (let i = 0; i < runs; i++) {
    git(origin, 'update-ref', 'refs/heads/task', taskHead);
    git(ws, 'reset', '-q', '--hard', taskHead);
    const pr = 100 + i;
    const event = join(work, `event-${i}.json`);
    writeFileSync(
      event,
      JSON.stringify({
        action: 'synchronize',
        number: pr,
        pull_request: { number: pr, base: { ref: 'main' }, head: { ref: 'task', sha: taskHead } }
      })
    );
    const env = {
      GITHUB_API_URL: forge.apiUrl,
      GITHUB_SERVER_URL: forge.origin,
      GITHUB_REPOSITORY: REPO,
      GITHUB_RUN_ID: String(5000 + i),
      GITHUB_RUN_NUMBER: String(i + 1),
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: event,
      GITHUB_HEAD_REF: 'task',
      GITHUB_BASE_REF: 'main'
    };
    let total = 0;
    const verdicts: string[] = [];
    for (const gate of GATES) {
      if (gate === 'image-freshness-gate') {
        if (!registry) continue;
        // The image the workflow built from the gated commit (the merge gate's new head).
        const head = git(ws, 'rev-parse', 'HEAD');
        const layout = new OciLayout();
        layout.image('t', { labels: { 'org.opencontainers.image.revision': head } });
        imageRef = `${registry.host}/acme/app:run-${i}`;
        await layout.pushAsync('t', imageRef);
        perGate[gate].image = imageRef;
        // As the reusable workflow passes it: the merge job's new-head output.
        perGate[gate].sha = head;
      }
      const before = forge.requests.length;
      const r = await runAction(gate, ws, { ...common, ...perGate[gate] }, env);
      const status = output(r.outputs, 'status');
      verdicts.push(`${gate.replace(/-gate$/, '')} ${status}`);
      if (status !== 'PASS')
        throw new Error(
          `${gate} did not PASS (${status}): ${output(r.outputs, 'summary')}\n${r.log}`
        );
      byGate[gate].push(r.ms);
      calls[gate].push(forge.requests.length - before);
      total += r.ms;
    }
    totals.push(total);
    last = verdicts.join(', ');
    // Landing is not part of the edge: free the lease for the next run.
    await runAction('lease-release', ws, { ...common, branch: 'task', 'base-ref': 'main' }, env);
  }
  const callsPerRun = GATES.reduce((n, g) => n + (calls[g].length ? median(calls[g]) : 0), 0);
  process.stdout.write(
    `whole edge (${registry ? 4 : 3} gate bundles as separate jobs), ${branchCommits}-commit branch ${behind} behind main (${commits} commits), ` +
      `test command \`true\`, ${runs} runs: median ${secs(median(totals))} s, min ${secs(Math.min(...totals))} s, max ${secs(Math.max(...totals))} s (target < 5 s)\n` +
      GATES.filter((g) => byGate[g].length)
        .map(
          (g) => `  ${g}: median ${secs(median(byGate[g]))} s, ${median(calls[g])} forge API calls`
        )
        .join('\n') +
      `\n  forge API calls per run: ${callsPerRun} (statuses, the sticky comment's read and write, labels only on the retry cap)\n` +
      `  contract violations: ${forge.violations.length}\n  last: ${last}\n`
  );
} finally {
  await forge?.close();
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
}
