// The coverage inputs shared by the gate and the ratchet (what to run, where
// the report is, which format), and the gate's verdict settings, built in
// one place from inputs and the run context.

import { isAbsolute, resolve } from 'node:path';
import type { RunContext } from '../../core/src/context.ts';
import { ConfigurationError } from '../../core/src/errors.ts';
import {
  readBoolean,
  readDecimal,
  readEnum,
  readInteger,
  readString,
  type InputSource
} from '../../core/src/inputs.ts';
import { validBranchName } from '../../git/src/git.ts';
import { REPORT_FORMATS } from './coverage-report.ts';
import { readStateConfig, STATE_INPUTS, type StateConfig } from '../../store/src/state-inputs.ts';
import {
  readUserCommandConfig,
  USER_COMMAND_INPUTS,
  type UserCommandConfig
} from '../../proc/src/user-command-inputs.ts';

export const MEASURE_INPUTS = {
  measure: 'measure',
  command: 'command',
  report: 'report',
  format: 'format',
  python: 'python',
  timeoutSeconds: 'timeout-seconds',
  toolFailClosed: 'coverage-tool-fail-closed',
  baseRef: 'base-ref'
} as const;

export const VERDICT_INPUTS = {
  policy: 'policy',
  floor: 'floor',
  epsilon: 'epsilon',
  patchFloor: 'patch-floor',
  patchPathMap: 'patch-path-map'
} as const;

export const COVERAGE_FORMATS = ['auto', ...REPORT_FORMATS] as const;
export type CoverageFormatInput = (typeof COVERAGE_FORMATS)[number];
export const POLICIES = ['absolute', 'baseline', 'both'] as const;
export type CoveragePolicy = (typeof POLICIES)[number];

export const MAX_TIMEOUT_SECONDS = 6 * 3600;

export interface MeasureConfig {
  workspace: string;
  /** undefined: only read an existing report. */
  command?: string;
  report: string;
  format: CoverageFormatInput;
  timeoutMs: number;
  toolFailClosed: boolean;
  /** Target branch: the baseline is per repository and target branch. */
  baseRef: string;
  repository: string;
  state: StateConfig;
  /** How the command runs: its environment allowlist additions and isolation. */
  user: UserCommandConfig;
}

export interface CoverageGateConfig extends MeasureConfig {
  policy: CoveragePolicy;
  floor: number;
  epsilon: number;
  /** Minimum coverage of the changed lines, percent; null: patch coverage is reported, not enforced. */
  patchFloor: number | null;
  /** Report path prefix -> repository path prefix, tried first when mapping report paths. */
  patchPathMap: { from: string; to: string }[];
}

/** patch-floor: a percentage, or off ('' / off / none / false). */
function readPatchFloor(src: InputSource): number | null {
  const raw = readString(src, VERDICT_INPUTS.patchFloor, '');
  if (['', 'off', 'none', 'false'].includes(raw.toLowerCase())) return null;
  return readDecimal(src, VERDICT_INPUTS.patchFloor, 0, 0, 100);
}

/**
 * patch-path-map: one `report-prefix=repository-prefix` per line (or
 * separated by commas), e.g. `/build/src/=src/` or `com/acme/=app/src/main/java/com/acme/`.
 */
export function readPatchPathMap(src: InputSource): { from: string; to: string }[] {
  const raw = readString(src, VERDICT_INPUTS.patchPathMap, '');
  const out: { from: string; to: string }[] = [];
  for (const entry of raw.split(/[\n,]/)) {
    const e = entry.trim();
    if (e === '') continue;
    const at = e.indexOf('=');
    const from = at < 0 ? '' : e.slice(0, at).trim();
    const to = at < 0 ? '' : e.slice(at + 1).trim();
    if (at < 0 || from === '' || to.startsWith('/') || /(^|\/)\.\.(\/|$)/.test(to))
      throw new ConfigurationError(
        VERDICT_INPUTS.patchPathMap,
        'one report-prefix=repository-prefix per line, the repository prefix relative (e.g. /build/src/=src/)',
        e
      );
    out.push({ from, to });
  }
  return out;
}

/**
 * The reference Python measurement (pytest --cov=src, coverage.py JSON) with
 * the interpreter the user names, never a bare `python`. It is spelled as
 * pytest + `coverage json` rather than `--cov-report=json` because
 * pytest-cov before 4.1 (Debian bookworm ships 4.0) has no json report and
 * would fail with a usage error; the output is the same coverage.py JSON.
 */
export function referenceCommand(python: string): string {
  const py = shellQuote(python);
  return `${py} -m pytest --cov=src --cov-report= && ${py} -m coverage json -q -o coverage.json`;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * owner/name for keys in the store. A local run outside any forge has no
 * repository name, so the checkout's absolute path stands in: two different
 * projects whose folders share a name must not share a baseline.
 */
export function repositoryKey(ctx: RunContext): string {
  return ctx.repository || `local:${resolve(ctx.workspace)}`;
}

export function readMeasureConfig(src: InputSource, ctx: RunContext): MeasureConfig {
  const I = MEASURE_INPUTS;
  const python = readString(src, I.python, 'python3');
  if (/[\n\r]/.test(python))
    throw new ConfigurationError(I.python, 'an interpreter name or path such as python3', python);
  const measure = readBoolean(src, I.measure, true);
  const command = readString(src, I.command, referenceCommand(python));
  const report = readString(src, I.report, 'coverage.json');
  const baseRef = readString(src, I.baseRef, ctx.event.baseRef || 'main').replace(
    /^refs\/heads\//,
    ''
  );
  if (!validBranchName(baseRef))
    throw new ConfigurationError(I.baseRef, 'a branch name such as main', baseRef);
  return {
    workspace: ctx.workspace,
    command: measure ? command : undefined,
    report: isAbsolute(report) ? report : resolve(ctx.workspace, report),
    format: readEnum(src, I.format, COVERAGE_FORMATS, 'auto'),
    timeoutMs: readInteger(src, I.timeoutSeconds, 900, 1, MAX_TIMEOUT_SECONDS) * 1000,
    toolFailClosed: readBoolean(src, I.toolFailClosed, false),
    baseRef,
    repository: repositoryKey(ctx),
    state: readStateConfig(src, ctx),
    user: readUserCommandConfig(src)
  };
}

export function readCoverageGateConfig(src: InputSource, ctx: RunContext): CoverageGateConfig {
  return {
    ...readMeasureConfig(src, ctx),
    policy: readEnum(src, VERDICT_INPUTS.policy, POLICIES, 'both'),
    floor: readDecimal(src, VERDICT_INPUTS.floor, 0, 0, 100),
    epsilon: readDecimal(src, VERDICT_INPUTS.epsilon, 0.1, 0, 100),
    patchFloor: readPatchFloor(src),
    patchPathMap: readPatchPathMap(src)
  };
}

export const MEASURE_INPUT_NAMES: readonly string[] = [
  ...Object.values(MEASURE_INPUTS),
  ...Object.values(USER_COMMAND_INPUTS),
  ...Object.values(STATE_INPUTS)
];
