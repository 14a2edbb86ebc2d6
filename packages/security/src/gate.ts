// The security gate: secrets in the commits the branch adds (fail-closed,
// unconditionally) and vulnerabilities its lockfile changes introduce
// (fail-open and loud for what could not be audited, unless the user opts out;
// a blocking vulnerability found anywhere fails whatever failed elsewhere).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunContext } from '../../core/src/context.ts';
import { ConfigurationError, ToolError, describeError } from '../../core/src/errors.ts';
import type { GateDefinition } from '../../core/src/gate.ts';
import { modeFor, type GatePolicy } from '../../core/src/policy.ts';
import type { GateOutcome } from '../../core/src/verdict.ts';
import { Git } from '../../git/src/git.ts';
import { gateCredential } from '../../git/src/credentials.ts';
import { userCommandEnv } from '../../proc/src/user-env.ts';
import { buildSecurityConfig, SECURITY_INPUTS, type SecurityConfig } from './config.ts';
import { resolveBranchRange, type BranchRange } from './range.ts';
import { describePlace, withRedactor, type SecretScanResult } from './findings.ts';
import { scanRangeEmbedded } from './secrets/scan.ts';
import { locateGitleaks } from './gitleaks/locate.ts';
import { installGitleaks } from './gitleaks/install.ts';
import { runGitleaks } from './gitleaks/run.ts';
import { auditDependencies, type AuditResult } from './deps/audit.ts';
import { OsvApiSource } from './deps/osv-api.ts';
import { OsvDirectorySource } from './deps/osv-directory.ts';
import { renderSecurityBody } from './report.ts';

export const SECURITY_REPORT_FILE = '17-security-report.md';

export function securityPolicy(config: SecurityConfig | undefined): GatePolicy {
  return {
    // Secrets: no input can make a scanner error pass.
    byKind: {
      secrets: 'fail-closed',
      'dep-audit': config?.depAuditFailClosed ? 'fail-closed' : 'fail-open'
    },
    default: 'fail-closed'
  };
}

export interface DepAuditOutcome {
  /**
   * ok: every changed lockfile was read and every new package version looked up;
   * partial: some of that could not be (result.failures says what, result.gaps in brief);
   * unavailable: none of it could be (every lockfile unreadable, the feed or database
   * answering nothing), or the audit could not start (problem);
   * disabled: input dep-audit is false; no-lockfile-changes: nothing to audit.
   */
  state: 'ok' | 'partial' | 'unavailable' | 'disabled' | 'no-lockfile-changes';
  result?: AuditResult;
  /** Why the audit could not run at all (no result). */
  problem?: string;
}

/** Failures listed one per warning; the report's body lists every one. */
export const MAX_DEP_FAILURE_WARNINGS = 20;

async function scanSecrets(
  config: SecurityConfig,
  range: BranchRange,
  git: Git,
  ctx: RunContext
): Promise<SecretScanResult> {
  let binary: string | undefined;
  if (config.secretsEngine !== 'embedded') {
    if (config.gitleaksInstall) {
      binary = await installGitleaks({
        version: config.gitleaksVersion,
        sha256: config.gitleaksSha256,
        baseUrl: config.gitleaksDownloadUrl,
        destDir: ctx.env.RUNNER_TOOL_CACHE || join(tmpdir(), 'quality-gates-tools'),
        logger: ctx.logger
      });
    } else {
      binary = await locateGitleaks({
        explicitPath: config.gitleaksPath,
        env: ctx.env,
        logger: ctx.logger
      });
    }
    if (!binary && config.secretsEngine === 'gitleaks') {
      throw new ToolError(
        'secrets',
        `secrets-engine is 'gitleaks' but no gitleaks binary was found${config.gitleaksPath ? ` at ${config.gitleaksPath}` : ' on PATH'}; set gitleaks-path, gitleaks-install: true, or secrets-engine: embedded`
      );
    }
  }
  const embedded = (namesAndMessagesOnly: boolean): Promise<SecretScanResult> =>
    scanRangeEmbedded({
      repoDir: config.repoDir,
      base: range.base,
      head: range.head,
      allowlistPath: config.allowlistPath,
      allowlistRef: range.baseTip,
      timeoutMs: config.scanTimeoutMs,
      logger: ctx.logger,
      // The branch's names are scanned too (and masked wherever they are shown).
      refNames: [config.headRef, ctx.event.headRef ?? ''].filter((r) => r !== '' && r !== 'HEAD'),
      namesAndMessagesOnly
    });
  if (!binary) return embedded(false);
  // gitleaks reads added content only: names and commit messages are scanned beside it with the
  // same rules (the target branch's .gitleaks.toml), and names are masked in its findings too.
  const [leaks, side] = await Promise.all([
    gitleaksScan(binary, config, range, git, ctx),
    embedded(true)
  ]);
  const redact = side.redact ?? ((t: string): string => t);
  return withRedactor(
    {
      ...leaks,
      findings: [
        ...leaks.findings.map((f) => ({ ...f, file: redact(f.file) })),
        ...side.findings.filter((f) => f.source !== undefined)
      ],
      notes: [
        ...leaks.notes.map(redact),
        ...side.notes.map((n) => `names and commit messages: ${n}`)
      ]
    },
    redact
  );
}

/** The gitleaks binary over the range, with the target branch's configuration. */
async function gitleaksScan(
  binary: string,
  config: SecurityConfig,
  range: BranchRange,
  git: Git,
  ctx: RunContext
): Promise<SecretScanResult> {
  // Scanner config and ignores come from the target branch, never from the branch under test.
  const tmp = mkdtempSync(join(tmpdir(), 'qg-gitleaks-'));
  try {
    // Both files in one git process, bytes as committed.
    const names = ['.gitleaks.toml', '.gitleaksignore'];
    const objects = await git.readObjects(names.map((n) => `${range.baseTip}:${n}`));
    const [configPath, ignorePath] = names.map((name, i) => {
      const o = objects[i];
      if (o?.type !== 'blob') return undefined;
      const p = join(tmp, name.replace(/^\./, 'dot-'));
      writeFileSync(p, o.content);
      return p;
    });
    return await runGitleaks({
      binary,
      repoDir: config.repoDir,
      base: range.base,
      head: range.head,
      configPath,
      ignorePath,
      timeoutMs: config.scanTimeoutMs,
      logger: ctx.logger,
      env: ctx.env
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function auditDeps(
  config: SecurityConfig,
  range: BranchRange,
  git: Git,
  ctx: RunContext
): Promise<DepAuditOutcome> {
  if (!config.depAudit) return { state: 'disabled' };
  const source = config.osvDb
    ? new OsvDirectorySource(config.osvDb)
    : new OsvApiSource({ baseUrl: config.osvUrl, timeoutMs: 30_000, logger: ctx.logger });
  try {
    const result = await auditDependencies({
      git,
      base: range.base,
      head: range.head,
      source,
      failOnSeverity: config.failOnSeverity,
      logger: ctx.logger,
      timeBudgetMs: config.depAuditTimeoutMs,
      // What a lockfile may expand (requirements.txt ${VAR}): what user commands see, never the gate's secrets.
      parseEnv: userCommandEnv(ctx.env, [])
    });
    const nothing = result.lockfilesAudited.length === 0 && result.lockfilesUnreadable.length === 0;
    return {
      state:
        result.completeness !== 'ok' ? result.completeness : nothing ? 'no-lockfile-changes' : 'ok',
      result
    };
  } catch (err) {
    // Only what precedes every lockfile (listing the changed files) gets here.
    return { state: 'unavailable', problem: describeError(err) };
  }
}

export async function evaluateSecurity(
  config: SecurityConfig,
  ctx: RunContext
): Promise<GateOutcome> {
  const started = Date.now();
  const cred = await gateCredential({
    workspace: config.repoDir,
    token: config.token,
    env: ctx.env
  });
  const git = new Git(config.repoDir, {
    timeoutMs: config.scanTimeoutMs,
    credential: cred,
    env: ctx.env
  });
  const range = await resolveBranchRange(git, config, ctx.logger);
  const rangeText = `${range.base}..${range.head}`;
  const warnings: string[] = [...range.notes];
  // The dependency audit (lockfiles and a feed) needs nothing from the secrets scan: both run at once.
  const depsRun = auditDeps(config, range, git, ctx);

  let scan: SecretScanResult;
  try {
    if (range.commits === 0) {
      // Not "found nothing": there was nothing to look at, and the report says so.
      scan = {
        engine: config.secretsEngine === 'gitleaks' ? 'gitleaks' : 'embedded',
        commitsScanned: 0,
        bytesScanned: 0,
        findings: [],
        notes: [`the branch adds no commits over ${config.baseRef}: nothing to scan`]
      };
    } else {
      try {
        scan = await scanSecrets(config, range, git, ctx);
      } catch (err) {
        // A bad allowlist is the user's to fix (configuration error); anything else
        // is a scanner error. Both are FAIL: the secrets guarantee is unconditional.
        if (err instanceof ToolError || err instanceof ConfigurationError) throw err;
        throw new ToolError('secrets', describeError(err));
      }
      if (scan.commitsScanned !== range.commits) {
        throw new ToolError(
          'secrets',
          `the ${scan.engine} scanner saw ${scan.commitsScanned} of the ${range.commits} commits in ${rangeText}; a partial scan is not a clean scan`
        );
      }
    }
  } catch (err) {
    // Nothing is left running behind a FAIL (the audit never rejects).
    await depsRun;
    throw err;
  }

  const deps = await depsRun;
  // A lockfile path can hold what the scan found in a name: logged masked, like everything else.
  const redact = scan.redact ?? ((t: string) => t);
  let depVerdictFail = false;
  let depGap: string | undefined;
  if (deps.state === 'partial' || deps.state === 'unavailable') {
    // Best effort by design: what could not be audited does not decide the verdict unless
    // the user asked for fail-closed; it is said loudly, and what was found still counts.
    const mode = modeFor(securityPolicy(config), 'dep-audit');
    const gaps = deps.result?.gaps ?? [];
    depGap = `dependency audit ${deps.state === 'partial' ? 'incomplete' : 'unavailable'}: ${gaps.length > 0 ? gaps.join(', ') : (deps.problem ?? 'nothing could be audited')}`;
    const msg = `${depGap} (${mode}${mode === 'fail-open' ? ': what could not be audited is not counted against the branch; set dep-audit-fail-closed: true to fail instead' : ': verdict FAIL'})`;
    warnings.push(msg);
    ctx.logger.warning(redact(msg));
    const failures = deps.result?.failures ?? [];
    for (const f of failures.slice(0, MAX_DEP_FAILURE_WARNINGS)) {
      const w = `dependency audit: ${f.what}: ${f.problem}`;
      warnings.push(w);
      ctx.logger.warning(redact(w));
    }
    if (failures.length > MAX_DEP_FAILURE_WARNINGS) {
      const w = `dependency audit: ${failures.length - MAX_DEP_FAILURE_WARNINGS} more failure(s), listed in the report`;
      warnings.push(w);
      ctx.logger.warning(w);
    }
    depVerdictFail = mode === 'fail-closed';
  }

  const secrets = scan.findings.filter((f) => !f.example).length;
  const examples = scan.findings.length - secrets;
  if (examples > 0) {
    const msg = `${examples} documentation example value${examples === 1 ? '' : 's'} found (a credential URL on an RFC 2606 / 6761 name, a provider's published example key): listed in the report, not blocking`;
    warnings.push(msg);
    ctx.logger.warning(msg);
  }
  const introduced = deps.result?.introduced.length ?? 0;
  const blocking = deps.result?.blocking.length ?? 0;
  const scanned = `scanned ${scan.commitsScanned} commit${scan.commitsScanned === 1 ? '' : 's'} (${scan.bytesScanned} bytes) with ${scan.engine}`;
  let verdict: GateOutcome['verdict'] = 'PASS';
  const reasons: string[] = [];
  if (secrets > 0) {
    verdict = 'FAIL';
    reasons.push(`${secrets} secret${secrets === 1 ? '' : 's'} found`);
  }
  if (blocking > 0) {
    verdict = 'FAIL';
    reasons.push(
      `${blocking} new vulnerabilit${blocking === 1 ? 'y' : 'ies'} at or above ${config.failOnSeverity}`
    );
  }
  if (depGap !== undefined) {
    // Never "no new vulnerabilities" when the audit did not see everything.
    if (reasons.length === 0) reasons.push('no secrets');
    if (depVerdictFail) verdict = 'FAIL';
    reasons.push(`${depGap}${depVerdictFail ? ' (fail-closed)' : ''}`);
  }
  if (reasons.length === 0)
    reasons.push('no secrets, no new vulnerabilities at or above ' + config.failOnSeverity);
  const summary = redact(`${reasons.join('; ')}; ${scanned}`);

  const body = renderSecurityBody({
    verdict,
    summary,
    config,
    range,
    scan,
    deps,
    warnings,
    durationMs: Date.now() - started
  });
  const blockingList = blockingLines(scan, deps.result);
  return {
    verdict,
    summary,
    fields: {
      head_sha: range.head,
      base_sha: range.base,
      base_ref: config.baseRef,
      range: rangeText,
      commits_scanned: scan.commitsScanned,
      bytes_scanned: scan.bytesScanned,
      secrets_engine: scan.engine,
      secrets_found: secrets,
      dep_audit: deps.state,
      dep_audit_lockfiles:
        (deps.result?.lockfilesAudited.length ?? 0) +
        (deps.result?.lockfilesUnreadable.length ?? 0),
      dep_audit_unreadable: deps.result?.lockfilesUnreadable.length ?? 0,
      dep_audit_looked_up: deps.result?.packagesChecked ?? 0,
      dep_audit_not_looked_up: deps.result?.packagesNotLookedUp ?? 0,
      dep_audit_failures: deps.result?.failures.length ?? 0,
      vulnerabilities_new: introduced,
      vulnerabilities_blocking: blocking,
      fail_on_severity: config.failOnSeverity,
      blocking: blockingList.lines.map(redact),
      blocking_total: blockingList.total
    },
    body,
    warnings: warnings.map(redact)
  };
}

/** The frontmatter's `blocking:` list holds at most this many lines (the last one then says how many more). */
export const MAX_BLOCKING_LINES = 50;

/**
 * What blocks, one redacted line each (rule, place, fingerprint; never the
 * secret), for the PR comment; cut to MAX_BLOCKING_LINES, the last line then
 * saying how many more there are.
 */
export function blockingLines(
  scan: SecretScanResult,
  deps: AuditResult | undefined
): { lines: string[]; total: number } {
  const secrets = scan.findings
    .filter((f) => !f.example)
    .map(
      (f) =>
        `secret ${f.ruleId} in ${describePlace(f)} (commit ${f.commit.slice(0, 12)}, fingerprint ${f.fingerprint})`
    );
  const vulns = (deps?.blocking ?? []).map(
    (v) => `${v.severity} ${v.id} in ${v.ecosystem}:${v.name}@${v.version} (${v.lockfile})`
  );
  const all = [...secrets, ...vulns];
  if (all.length <= MAX_BLOCKING_LINES) return { lines: all, total: all.length };
  const kept = all.slice(0, MAX_BLOCKING_LINES - 1);
  return { lines: [...kept, moreLine(all.length - kept.length)], total: all.length };
}

/** The last line of a cut `blocking:` list. */
export function moreLine(n: number): string {
  return `… and ${n} more`;
}

export const securityGate: GateDefinition<SecurityConfig> = {
  gate: 'security',
  reportFile: SECURITY_REPORT_FILE,
  statusKey: 'security_status',
  inputs: Object.values(SECURITY_INPUTS),
  policy: securityPolicy,
  buildConfig: buildSecurityConfig,
  evaluate: evaluateSecurity,
  headSha: (o) => (typeof o.fields.head_sha === 'string' ? o.fields.head_sha : undefined)
};
