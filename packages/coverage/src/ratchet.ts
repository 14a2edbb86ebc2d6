// The ratchet, run after code lands on the target branch: raise the baseline
// to the coverage of what landed, never lower it, as one compare-and-set in
// the store. A tree the gate already measured is not tested again.

import type { RunContext } from '../../core/src/context.ts';
import { readString, type InputSource } from '../../core/src/inputs.ts';
import { markdownTable } from '../../core/src/markdown.ts';
import type { ToolDefinition, ToolResult } from '../../core/src/tool.ts';
import { ratchetBaseline } from '../../store/src/baseline.ts';
import {
  findMeasurementByTree,
  recordMeasurement,
  type MeasurementInput
} from '../../store/src/measurement.ts';
import { openStateBackend } from '../../store/src/state-inputs.ts';
import {
  MEASURE_INPUT_NAMES,
  MEASURE_INPUTS,
  readMeasureConfig,
  type MeasureConfig
} from './config.ts';
import { measureCoverage } from './measure.ts';
import { currentRevision } from './revision.ts';

export type RatchetConfig = MeasureConfig;

/** Default branch: the one this push landed on (GITHUB_REF refs/heads/x), else main. */
export function readRatchetConfig(src: InputSource, ctx: RunContext): RatchetConfig {
  const pushed = (ctx.env.GITHUB_REF ?? '').startsWith('refs/heads/')
    ? ctx.env.GITHUB_REF!.slice('refs/heads/'.length)
    : '';
  const explicit = readString(src, MEASURE_INPUTS.baseRef);
  return readMeasureConfig(src, {
    ...ctx,
    event: { ...ctx.event, baseRef: explicit || pushed || 'main' }
  });
}

export async function runRatchet(config: RatchetConfig, ctx: RunContext): Promise<ToolResult> {
  const rev = await currentRevision(config.workspace);
  const repo = config.repository;
  const branch = config.baseRef;
  const backend = await openStateBackend(config.state, branch, ctx);
  const known = rev.tree
    ? await backend.withDb('read', (db) => findMeasurementByTree(db, repo, rev.tree))
    : undefined;
  let m: Omit<MeasurementInput, 'repo' | 'branch' | 'sha' | 'treeSha'>;
  if (known) {
    ctx.logger.info(
      `coverage ratchet: tree ${rev.tree.slice(0, 12)} was measured at ${known.sha.slice(0, 12)} (${known.percent.toFixed(2)}%); not running the tests again`
    );
    m = { percent: known.percent, format: known.format, files: known.files };
  } else {
    const measured = await measureCoverage(config, ctx.logger, ctx.env);
    m = {
      percent: measured.report.percent,
      format: measured.report.format,
      files: measured.report.files
    };
  }
  const actor = ctx.env.GITHUB_ACTOR || ctx.env.USER || 'quality-gates';
  const now = ctx.now();
  const r = await backend.withDb(
    'write',
    (db) => {
      recordMeasurement(db, { repo, branch, sha: rev.sha, treeSha: rev.tree, ...m }, now);
      return ratchetBaseline(
        db,
        {
          repo,
          branch,
          percent: m.percent,
          sha: rev.sha,
          actor,
          reason: `landed ${rev.sha.slice(0, 12)}`
        },
        now
      );
    },
    { message: (x) => `coverage ratchet ${branch}: ${x.outcome} ${x.old ?? '-'} -> ${x.new}` }
  );
  const fmt = (x: number | null): string => (x === null ? '' : x.toFixed(2));
  const summary =
    r.outcome === 'bootstrapped'
      ? `baseline for ${branch} bootstrapped at ${fmt(r.new)}%`
      : r.outcome === 'raised'
        ? `baseline for ${branch} raised from ${fmt(r.old)}% to ${fmt(r.new)}%`
        : `baseline for ${branch} stays at ${fmt(r.new)}% (landed ${m.percent.toFixed(2)}%; the ratchet never lowers it)`;
  return {
    summary,
    outputs: {
      baseline: fmt(r.new),
      previous: fmt(r.old),
      outcome: r.outcome,
      measured: fmt(m.percent),
      reused: String(Boolean(known))
    },
    body: `## Coverage ratchet\n\n${summary}\n\n${markdownTable(['Branch', 'Commit', 'Measured', 'Before', 'After', 'Reused measurement'], [[branch, rev.sha.slice(0, 12), `${fmt(m.percent)}%`, r.old === null ? '-' : `${fmt(r.old)}%`, `${fmt(r.new)}%`, known ? 'yes' : 'no']])}\n`,
    warnings: [...(backend.warnings ?? [])]
  };
}

export const coverageRatchet: ToolDefinition<RatchetConfig> = {
  name: 'coverage-ratchet',
  gate: 'coverage',
  inputs: MEASURE_INPUT_NAMES,
  buildConfig: readRatchetConfig,
  run: runRatchet
};
