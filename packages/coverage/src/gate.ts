// The coverage gate: measure, compare with the repository's ratcheting
// baseline for the target branch, record the measurement. Measuring and the
// store failing are tool errors: PASS with a loud warning by default,
// FAIL with coverage-tool-fail-closed.

import type { RunContext } from '../../core/src/context.ts';
import type { GateDefinition } from '../../core/src/gate.ts';
import type { GatePolicy } from '../../core/src/policy.ts';
import type { GateOutcome } from '../../core/src/verdict.ts';
import { getBaseline } from '../../store/src/baseline.ts';
import { recordGateRun } from '../../store/src/gate-run.ts';
import { latestMeasurement, recordMeasurement } from '../../store/src/measurement.ts';
import { stateBackendFor } from '../../store/src/state-inputs.ts';
import { isTampered } from '../../store/src/errors.ts';
import { gateCredential } from '../../git/src/credentials.ts';
import { guardGitConfig, type GitConfigGuard } from '../../git/src/config-guard.ts';
import { describeError } from '../../core/src/errors.ts';
import {
  MEASURE_INPUT_NAMES,
  readCoverageGateConfig,
  VERDICT_INPUTS,
  type CoverageGateConfig
} from './config.ts';
import { COVERAGE_TOOL, measureCoverage, RedSuiteError } from './measure.ts';
import { renderCoverageBody } from './report.ts';
import { currentRevision } from './revision.ts';
import { computeCoverageVerdict } from './verdict.ts';
import { patchFields, patchOutcome, renderPatchSection, takeChangedLines } from './patch-gate.ts';
import { Git } from '../../git/src/git.ts';
import { redactText } from '../../security/src/secrets/redact.ts';

export const COVERAGE_REPORT_FILE = '18-coverage-report.md';

export function coveragePolicy(config: CoverageGateConfig | undefined): GatePolicy {
  const mode = config?.toolFailClosed ? 'fail-closed' : 'fail-open';
  // The store ('state') and the forge behind the artifact backend fail the same way
  // as the coverage tool: without them there is no comparison to make.
  return {
    byKind: { [COVERAGE_TOOL]: mode, state: mode, 'forge-api': mode },
    default: 'fail-closed'
  };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export async function evaluateCoverage(
  config: CoverageGateConfig,
  ctx: RunContext
): Promise<GateOutcome> {
  const rev = await currentRevision(config.workspace);
  // Before the branch's code runs: the checkout's persisted credential
  // leaves the workspace; the gate's own git (a git-ref state) gets its own.
  const cred = await gateCredential({
    workspace: config.workspace,
    token: config.state.token,
    env: ctx.env
  });
  const notes: string[] = [...cred.warnings];
  // The branch's changed lines are taken before its code runs (patch-gate.ts).
  const changed = await takeChangedLines(
    new Git(config.workspace, { credential: cred, env: ctx.env }),
    config.baseRef,
    rev.sha
  );
  const guard =
    config.command !== undefined ? await guardOrNote(config.workspace, notes) : undefined;
  let measured;
  try {
    measured = await measureCoverage(config, ctx.logger, ctx.env);
  } catch (err) {
    if (err instanceof RedSuiteError) return redSuite(config, rev, err);
    throw err;
  } finally {
    const restored = await guard?.restore();
    if (restored?.changed) {
      const w = `the coverage command changed the workspace's git configuration (${restored.changes.join(', ')}); restored before the gate's own git ran again`;
      ctx.logger.warning(w);
      notes.push(w);
    }
  }
  const report = measured.report;
  const patch = await patchOutcome(changed, report, config);
  // git's and the mapping's words can carry the branch's file names: masked like every output.
  if (patch.error)
    notes.push(await redactText(`patch coverage not measured: ${patch.error}`, ctx.env));
  const backend = stateBackendFor(config.state, config.baseRef, ctx, cred);
  const repo = config.repository;
  const branch = ctx.event.headRef || rev.branch || 'HEAD';
  const now = ctx.now();
  const { baseline, previous, result } = await backend.withDb(
    'write',
    (db) => {
      const base = getBaseline(db, repo, config.baseRef);
      const prev = latestMeasurement(db, repo, config.baseRef);
      const total = computeCoverageVerdict({
        measured: report.percent,
        baseline: base?.percent ?? null,
        floor: config.floor,
        policy: config.policy,
        epsilon: config.epsilon
      });
      const verdict = {
        ...total,
        verdict: total.verdict === 'PASS' && patch.pass ? ('PASS' as const) : ('FAIL' as const),
        // The patch part is in the summary when it is enforced; the body's patch section always shows it.
        reasons: config.patchFloor === null ? total.reasons : [...total.reasons, patch.reason]
      };
      recordMeasurement(
        db,
        {
          repo,
          branch,
          sha: rev.sha,
          treeSha: rev.tree,
          percent: report.percent,
          format: report.format,
          files: report.files
        },
        now
      );
      recordGateRun(
        db,
        {
          repo,
          branch,
          gate: 'coverage',
          sha: rev.sha,
          verdict: verdict.verdict,
          summary: verdict.reasons[0] ?? ''
        },
        now
      );
      return { baseline: base?.percent ?? null, previous: prev, result: verdict };
    },
    {
      message: () =>
        `coverage: measured ${round2(report.percent)}% on ${branch} at ${rev.sha.slice(0, 12)}`
    }
  );
  const warnings = [...notes, ...measured.warnings, ...(backend.warnings ?? [])];
  const summary = `${result.verdict === 'PASS' ? 'coverage holds' : 'coverage fell'}: ${result.reasons.join('; ')}`;
  // File names are the branch's: a name that carries a secret is masked.
  const pf = patchFields(patch, config);
  pf.patch_missing = await Promise.all(
    (pf.patch_missing as string[]).map((l) => redactText(l, ctx.env))
  );
  return {
    verdict: result.verdict,
    summary,
    fields: {
      measured: round2(report.percent),
      baseline: baseline === null ? null : round2(baseline),
      floor: config.floor,
      policy: config.policy,
      epsilon: config.epsilon,
      delta: result.delta === null ? null : round2(result.delta),
      bootstrap: result.bootstrap,
      format: report.format,
      measure: 'lines',
      lines_covered: report.covered,
      lines_total: report.total,
      head_sha: rev.sha,
      tree_sha: rev.tree,
      base_ref: config.baseRef,
      state_backend: backend.name,
      state_integrity: backend.tamper && backend.tamper.length > 0 ? 'tampered' : 'ok',
      ...pf
    },
    body: renderCoverageBody({
      verdict: result.verdict,
      summary,
      config,
      report,
      result,
      baseline,
      previous,
      warnings,
      patch: await renderPatchSection(patch, config, ctx.env)
    }),
    warnings
  };
}

/** The .git guard around the coverage command; a checkout it cannot guard (a worktree) is noted, not fatal. */
async function guardOrNote(
  workspace: string,
  notes: string[]
): Promise<GitConfigGuard | undefined> {
  try {
    return await guardGitConfig(workspace);
  } catch (err) {
    notes.push(
      `the workspace's git configuration is not guarded around the coverage command: ${describeError(err)}`
    );
    return undefined;
  }
}

/** The tree that lands must be green: a red suite FAILs, class red, with no figure recorded. */
function redSuite(
  config: CoverageGateConfig,
  rev: { sha: string; tree: string },
  err: RedSuiteError
): GateOutcome {
  const summary = `coverage command: ${err.message}`;
  return {
    verdict: 'FAIL',
    summary,
    fields: {
      failure_class: 'red',
      measured: null,
      baseline: null,
      floor: config.floor,
      policy: config.policy,
      epsilon: config.epsilon,
      delta: null,
      bootstrap: null,
      format: null,
      head_sha: rev.sha,
      tree_sha: rev.tree,
      base_ref: config.baseRef
    },
    body: [
      '## Coverage gate: FAIL',
      '',
      summary,
      '',
      'The tests the coverage command ran failed on this tree, so no coverage figure was taken and nothing was recorded. A red tree never lands, whatever `coverage-tool-fail-closed` says; that input is for a tool that cannot run or a report that cannot be read.',
      ''
    ].join('\n'),
    warnings: []
  };
}

export const coverageGate: GateDefinition<CoverageGateConfig> = {
  gate: 'coverage',
  reportFile: COVERAGE_REPORT_FILE,
  statusKey: 'coverage_status',
  inputs: [...MEASURE_INPUT_NAMES, ...Object.values(VERDICT_INPUTS)],
  policy: coveragePolicy,
  buildConfig: readCoverageGateConfig,
  evaluate: evaluateCoverage,
  errorFields: (c, err) => ({
    ...(isTampered(err) ? { state_integrity: 'tampered' } : {}),
    measured: null,
    baseline: null,
    floor: c?.floor ?? null,
    policy: c?.policy ?? null,
    epsilon: c?.epsilon ?? null,
    delta: null,
    bootstrap: null,
    format: null,
    patch_floor: c?.patchFloor ?? null,
    patch_coverage: null,
    patch_lines: null,
    patch_covered: null,
    patch_missing: []
  }),
  headSha: (o) =>
    typeof o.fields.head_sha === 'string' && o.fields.head_sha !== ''
      ? o.fields.head_sha
      : undefined
};
