// Benchmarks the merge queue draining by itself; prints figures, asserts nothing.
// Ten pull requests opened at once on one repository, auto-land on, a test
// command that takes 5 s (`sleep 5`). The caller workflow and the reusable
// workflow run as a runner runs them (the workflow harness: each job in its
// own workspace and tool cache, the built dist bundles, the default git-ref
// state on origin), against the Gitea contract stand-in, which merges for
// real and creates the runs the wake-ups dispatch. Nobody acts: the events
// of the ten PRs start ten runs at once (one takes the lease, the others
// poll it for lease-wait-seconds and end DEFER, queued), then every landing
// dispatches the next branch, one run after another, until none waits.
//
// Figures:
//   - total wall time from the ten events to the last landing, the test time
//     in it (each test run is logged) and the rest, per landed branch; the
//     yardstick: the same edge for one pull request alone on an idle queue
//     (events to landing), and the queue's own cost, the drain's wall time
//     less the landed branches times the yardstick, per branch (goal < 1.5 s).
//     The wall time of a run here also holds what a runner adds per job (the
//     workspace checkout, spawning node per step); the split below says how
//     much of it is the gates' own steps;
//   - runner time spent polling the busy lease: per merge job that did not
//     get the lease at once, against the poll bound (lease-wait-seconds);
//   - lease hold time per branch from the merge gate taking the lease to the
//     land action releasing it (its lease-held-seconds output).
//
//   node scripts/bench-queue.ts [--prs 10] [--test-seconds 5] [--poll-seconds 30] [--dialect gitea|github]
//   QG_BENCH_STEPS=runs (each run: event, branch, merge verdict, land outputs), =1 (each step's
//   time) or =log (and its output) prints what the figures come from.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceRepo } from '../tests/helpers/service-repo.ts';
import { GiteaContractServer } from '../tests/helpers/gitea-contract-server.ts';
import { cleanupTempDirs } from '../tests/helpers/tmp.ts';
import type { InstallSpec, JobResult, RunResult } from '../tests/helpers/workflow-harness/index.ts';
import { median, numberArg, secs } from './bench-support.ts';

// The harness reads GitHub's workflow schema, which @actions/workflow-parser
// imports as JSON without an import attribute (jest transforms it; plain
// node refuses it): load .json modules as JSON.
registerHooks({
  load: (url, context, nextLoad) =>
    nextLoad(
      url,
      url.endsWith('.json')
        ? { ...context, importAttributes: { ...context.importAttributes, type: 'json' } }
        : context
    )
});
const { WorkflowHarness } = await import('../tests/helpers/workflow-harness/index.ts');

const N = numberArg('prs', 10);
const TEST_SECONDS = numberArg('test-seconds', 5);
const POLL_SECONDS = numberArg('poll-seconds', 30);
const dialectArg = process.argv.indexOf('--dialect');
const DIALECT = (dialectArg > 0 ? process.argv[dialectArg + 1] : 'gitea') as 'gitea' | 'github';
/** A bot account's token (Gitea starts runs for a user's dispatch, not for the job token's). */
const USER_TOKEN = 'qgusr_' + 'b'.repeat(34);

const work = mkdtempSync(join(tmpdir(), 'qg-bench-queue-'));
const testLog = join(work, 'tests.log');
writeFileSync(testLog, '');

function install(): InstallSpec[] {
  const dir = `docs/workflows/${DIALECT}`;
  const gates = (k: string, value: string) => ({ path: ['jobs', 'gates', 'with', k], value });
  // Each test run logs its start and end (outside the checkout), then the command's own time.
  const test = `echo "start $(date +%s%N)" >> ${testLog} && sleep ${TEST_SECONDS} && echo "end $(date +%s%N)" >> ${testLog}`;
  return [
    {
      source: `${dir}/quality-gates.yml`,
      edits: [
        gates('test-command', test),
        gates('coverage-command', 'cp coverage.lcov lcov.info'),
        gates('coverage-report', 'lcov.info'),
        gates('coverage-floor', '50'),
        gates('lease-wait-seconds', String(POLL_SECONDS)),
        gates('auto-land', 'merge')
      ]
    },
    {
      source: `${dir}/quality-gates-landed.yml`,
      edits: [
        {
          path: ['jobs', 'ratchet', 'steps', 1, 'with', 'command'],
          value: 'cp coverage.lcov lcov.info'
        },
        { path: ['jobs', 'ratchet', 'steps', 1, 'with', 'report'], value: 'lcov.info' }
      ]
    },
    { source: `${dir}/quality-gates-closed.yml` },
    { source: `${dir}/quality-gates-stop.yml` }
  ];
}

/** Test runs logged: [start, end] in ms since the epoch. */
function testRuns(): [number, number][] {
  const out: [number, number][] = [];
  let start: number | undefined;
  for (const line of readFileSync(testLog, 'utf8').split('\n')) {
    const m = /^(start|end) (\d+)$/.exec(line);
    if (!m) continue;
    const ms = Number(BigInt(m[2]) / 1_000_000n);
    if (m[1] === 'start') start = ms;
    else if (start !== undefined) {
      out.push([start, ms]);
      start = undefined;
    }
  }
  return out;
}

const stepMs = (j: JobResult): number => j.steps.reduce((n, s) => n + s.durationMs, 0);
const ours = (j: JobResult): number =>
  j.steps
    .filter((s) => /(^|\/)actions\/(?!checkout)[a-z-]+/.test(s.uses ?? ''))
    .reduce((n, s) => n + s.durationMs, 0);
const mergeStatus = (r: RunResult): string =>
  r.allJobs().find((j) => j.path === 'gates')?.outputs['merge-status'] ?? '';

let forge: GiteaContractServer | undefined;
try {
  process.stdout.write(`node ${process.version}, ${process.platform}/${process.arch}\n\n`);
  const repo = serviceRepo();
  forge = await GiteaContractServer.start({ userTokens: [USER_TOKEN] });
  const h = await WorkflowHarness.create({
    repo,
    forge,
    dialect: DIALECT,
    workflows: install(),
    vars: { QG_STATE_BACKEND: 'git-ref' },
    secrets: { QG_STATE_KEY: 'k'.repeat(16) + '-bench-state-key', QG_TOKEN: USER_TOKEN }
  });
  const push = (name: string, file: string): void => {
    repo.git('fetch', '-q', 'origin');
    repo.git('checkout', '-q', '-B', name, 'origin/main');
    repo.commitAll(`work on ${name}`, { [file]: `module.exports = '${name}';\n` });
    repo.git('push', '-q', '-f', 'origin', name);
    repo.git('checkout', '-q', '--detach');
  };
  // The yardstick: one pull request alone on an idle queue, the same edge and test.
  push('agent/solo', 'src/solo.js');
  const s0 = performance.now();
  const soloRuns = [
    ...(await h.opened(await h.openPullRequest('agent/solo'))),
    ...(await h.drain())
  ];
  const solo = performance.now() - s0;
  if (!forge.fake.merges.some((m) => m.status === 200))
    throw new Error(`the lone pull request did not land: ${soloRuns.map(mergeStatus).join(', ')}`);
  writeFileSync(testLog, '');
  forge.fake.merges.length = 0;

  const names = Array.from({ length: N }, (_, i) => `agent/q${String(i + 1).padStart(2, '0')}`);
  for (const [i, name] of names.entries()) push(name, `src/q${i + 1}.js`);
  const prs = [];
  for (const name of names) prs.push(await h.openPullRequest(name));

  const t0 = performance.now();
  const wave = (await Promise.all(prs.map((pr) => h.opened(pr)))).flat();
  const tWave = performance.now() - t0;
  const woken = await h.drain();
  const wall = performance.now() - t0;
  const runs = [...wave, ...woken];

  const landed = forge.fake.merges.filter((m) => m.status === 200);
  const tests = testRuns();
  const testMs = tests.reduce((n, [a, b]) => n + (b - a), 0);
  const overhead = wall - testMs;
  const gated = runs.filter((r) => ['PASS', 'FAIL'].includes(mergeStatus(r)));
  const deferred = runs.filter((r) => mergeStatus(r) === 'DEFER');
  const byJob = (path: string, rs: RunResult[]): number[] =>
    rs
      .flatMap((r) => r.allJobs().filter((j) => j.path === path && j.result !== 'skipped'))
      .map(stepMs);
  const jobPaths = ['gates/security', 'gates/merge', 'gates/coverage', 'gates/land'];
  const ourMs = gated.flatMap((r) => r.allJobs()).reduce((n, j) => n + ours(j), 0);
  const allStepMs = gated.flatMap((r) => r.allJobs()).reduce((n, j) => n + stepMs(j), 0);
  // The merge gate logs how long it polled a busy lease.
  const leaseLines = runs
    .flatMap((r) => r.allJobs().filter((j) => j.path === 'gates/merge'))
    .flatMap((j) =>
      j.steps.map((st) =>
        /merge lease (?:taken|still busy) after ([\d.]+) s of polling \(\d+ attempts, ([\d.]+) s with the state writes\)/.exec(
          st.stdout
        )
      )
    )
    .filter((m) => m !== null);
  const polls = leaseLines.map((m) => Number(m[1]) * 1000);
  const acquiring = leaseLines.map((m) => Number(m[2]) * 1000);
  const dispatched = runs.filter((r) => r.event === 'workflow_dispatch');
  const held = runs
    .flatMap((r) => r.allJobs().filter((j) => j.path === 'gates/land'))
    .map((j) => j.steps.find((s) => s.outputs['lease-held-seconds'] !== undefined))
    .map((s) => Number(s?.outputs['lease-held-seconds'] ?? NaN))
    .filter((x) => Number.isFinite(x) && x >= 0);
  const perBranch = landed.length ? overhead / landed.length : NaN;
  if (process.env.QG_BENCH_STEPS === 'runs')
    for (const r of runs) {
      const e = r.eventPayload() as {
        inputs?: { branch?: string };
        pull_request?: { head?: { ref?: string } };
      };
      process.stdout.write(
        `run ${r.id} ${r.workflow} ${r.event} ${e.inputs?.branch ?? e.pull_request?.head?.ref ?? ''} ${mergeStatus(r)} ${
          r
            .allJobs()
            .find((j) => j.path === 'gates/merge')
            ?.steps.find((st) => st.outputs.summary !== undefined)?.outputs.summary ?? ''
        } | land: ${JSON.stringify(
          r
            .allJobs()
            .find((j) => j.path === 'gates/land')
            ?.steps.find((st) => st.outputs.landed !== undefined)?.outputs ?? {}
        )}\n`
      );
    }
  else if (process.env.QG_BENCH_STEPS)
    for (const r of runs)
      for (const j of r.allJobs())
        for (const st of j.steps)
          process.stdout.write(
            `run ${r.id} ${j.path} ${st.name || st.uses} ${st.durationMs.toFixed(0)} ms\n` +
              (process.env.QG_BENCH_STEPS === 'log' ? st.stdout + st.stderr : '')
          );

  process.stdout.write(
    `merge queue, ${N} PRs opened at once (${DIALECT} payloads and workflows), auto-land merge, test \`sleep ${TEST_SECONDS}\`, lease poll ${POLL_SECONDS} s:\n` +
      `  landed ${landed.length} of ${N} by themselves in ${runs.length} runs: ${wave.length} from the PR events (${deferred.length} of all runs ended DEFER), ${dispatched.length} dispatched by wake-ups, ${runs.length - wave.length - dispatched.length} landed/closed runs of the merges; contract violations ${forge.violations.length}\n` +
      `  wall ${secs(wall)} s (the events' runs ${secs(tWave)} s, then the queued runs ${secs(wall - tWave)} s); test time ${secs(testMs)} s in ${tests.length} test runs; the rest ${secs(overhead)} s = ${secs(perBranch)} s per landed branch (goal < 1.5 s)\n` +
      `  the yardstick, one PR alone on an idle queue: ${secs(solo)} s (events to landing, the landed workflow's runs included); the queue's own cost, wall - ${landed.length} x that: ${secs(wall - landed.length * solo)} s = ${secs((wall - landed.length * solo) / Math.max(1, landed.length))} s per landed branch\n` +
      `  of the gated runs' step time ${secs(allStepMs)} s, the gates' own actions took ${secs(ourMs)} s (the rest: checkouts and shell steps)\n` +
      jobPaths
        .map((p) => {
          const xs = byJob(p, gated);
          return xs.length ? `    ${p}: median ${secs(median(xs))} s over ${xs.length} jobs` : '';
        })
        .filter(Boolean)
        .join('\n') +
      '\n' +
      (polls.length
        ? `  runner time polling the busy lease: ${polls.length} merge jobs found it busy; polling median ${secs(median(polls))} s, max ${secs(Math.max(...polls))} s, total ${secs(polls.reduce((a, b) => a + b, 0))} s (bound ${POLL_SECONDS} s per job); with the state writes of the attempts median ${secs(median(acquiring))} s, max ${secs(Math.max(...acquiring))} s\n`
        : '  no merge job found the lease busy\n') +
      (held.length
        ? `  lease held per landed branch (merge gate PASS ... land's release): median ${median(held)} s, max ${Math.max(...held)} s, min ${Math.min(...held)} s\n`
        : '  no lease-held-seconds output read\n')
  );
} finally {
  await forge?.close();
  cleanupTempDirs();
  rmSync(work, { recursive: true, force: true });
}
