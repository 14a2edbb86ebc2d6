// The security gate's typed config, built in one place from inputs and the
// run context. Input names live here as constants; action.yml must declare
// exactly these (a test checks it).

import { ConfigurationError } from '../../core/src/errors.ts';
import {
  readBoolean,
  readEnum,
  readInteger,
  readString,
  type InputSource
} from '../../core/src/inputs.ts';
import type { RunContext } from '../../core/src/context.ts';
import { validBranchName } from '../../git/src/git.ts';
import { isAbsolute, resolve } from 'node:path';

export const SECURITY_INPUTS = {
  baseRef: 'base-ref',
  headRef: 'head-ref',
  remote: 'remote',
  secretsEngine: 'secrets-engine',
  gitleaksPath: 'gitleaks-path',
  gitleaksInstall: 'gitleaks-install',
  gitleaksVersion: 'gitleaks-version',
  gitleaksSha256: 'gitleaks-sha256',
  gitleaksDownloadUrl: 'gitleaks-download-url',
  secretsAllowlist: 'secrets-allowlist',
  scanTimeoutSeconds: 'scan-timeout-seconds',
  depAudit: 'dep-audit',
  osvUrl: 'osv-url',
  osvDb: 'osv-db',
  failOnSeverity: 'fail-on-severity',
  depAuditFailClosed: 'dep-audit-fail-closed',
  depAuditTimeoutSeconds: 'dep-audit-timeout-seconds',
  /** Also a publishing input: the gate's own fetches use it (see buildSecurityConfig). */
  token: 'token'
} as const;

export const SECRETS_ENGINES = ['auto', 'gitleaks', 'embedded'] as const;
export const SEVERITIES = ['low', 'moderate', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const DEFAULT_ALLOWLIST = '.quality-gates/secrets-allowlist';
export const DEFAULT_OSV_URL = 'https://api.osv.dev';

export interface SecurityConfig {
  repoDir: string;
  /** The forge token (publishing input `token`): the gate's own fetches of a checkout without persisted credentials use it. */
  token: string;
  baseRef: string;
  headRef: string;
  remote: string;
  secretsEngine: (typeof SECRETS_ENGINES)[number];
  gitleaksPath?: string;
  gitleaksInstall: boolean;
  gitleaksVersion?: string;
  gitleaksSha256?: string;
  gitleaksDownloadUrl?: string;
  allowlistPath: string;
  scanTimeoutMs: number;
  depAudit: boolean;
  osvUrl: string;
  osvDb?: string;
  failOnSeverity: Severity;
  depAuditFailClosed: boolean;
  /** One time budget for the whole dependency audit (every lookup, retry and wait). */
  depAuditTimeoutMs: number;
}

export function buildSecurityConfig(src: InputSource, ctx: RunContext): SecurityConfig {
  const I = SECURITY_INPUTS;
  // Default base: the PR's target branch when this runs for a pull request, else main.
  const baseRef = readString(src, I.baseRef, ctx.event.baseRef || 'main').replace(
    /^refs\/heads\//,
    ''
  );
  if (!validBranchName(baseRef)) {
    throw new ConfigurationError(
      I.baseRef,
      'a branch name such as main (no leading "-", spaces, "..", or control characters)',
      baseRef
    );
  }
  const headRef = readString(src, I.headRef, 'HEAD');
  if (headRef.startsWith('-'))
    throw new ConfigurationError(I.headRef, 'a revision such as HEAD or a commit sha', headRef);
  const remote = readString(src, I.remote, 'origin');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(remote))
    throw new ConfigurationError(I.remote, 'a git remote name such as origin', remote);

  const sha = readString(src, I.gitleaksSha256);
  if (sha !== '' && !/^[0-9a-fA-F]{64}$/.test(sha))
    throw new ConfigurationError(I.gitleaksSha256, 'a SHA-256 as 64 hex digits', sha);
  const version = readString(src, I.gitleaksVersion);
  if (version !== '' && !/^v?\d+\.\d+\.\d+$/.test(version))
    throw new ConfigurationError(I.gitleaksVersion, 'a release version such as 8.28.0', version);
  const url = readString(src, I.gitleaksDownloadUrl);
  if (url !== '' && !/^(https:\/\/|http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/])/.test(url)) {
    throw new ConfigurationError(
      I.gitleaksDownloadUrl,
      'an https URL (plain http only to a loopback mirror)',
      url
    );
  }
  const osvUrl = readString(src, I.osvUrl, DEFAULT_OSV_URL);
  if (!/^https?:\/\/[^\s]+$/.test(osvUrl))
    throw new ConfigurationError(I.osvUrl, 'an http(s) URL such as https://api.osv.dev', osvUrl);

  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(ctx.workspace, p));
  const gitleaksPath = readString(src, I.gitleaksPath);
  const osvDb = readString(src, I.osvDb);
  const allowlist = readString(src, I.secretsAllowlist, DEFAULT_ALLOWLIST);
  if (isAbsolute(allowlist) || allowlist.split('/').includes('..')) {
    throw new ConfigurationError(
      I.secretsAllowlist,
      'a path inside the repository (it is read from the base branch)',
      allowlist
    );
  }

  return {
    repoDir: ctx.workspace,
    token: readString(src, SECURITY_INPUTS.token),
    baseRef,
    headRef,
    remote,
    secretsEngine: readEnum(src, I.secretsEngine, SECRETS_ENGINES, 'auto'),
    gitleaksPath: gitleaksPath ? abs(gitleaksPath) : undefined,
    gitleaksInstall: readBoolean(src, I.gitleaksInstall, false),
    gitleaksVersion: version ? version.replace(/^v/, '') : undefined,
    gitleaksSha256: sha ? sha.toLowerCase() : undefined,
    gitleaksDownloadUrl: url || undefined,
    allowlistPath: allowlist,
    scanTimeoutMs: readInteger(src, I.scanTimeoutSeconds, 600, 1, 21600) * 1000,
    depAudit: readBoolean(src, I.depAudit, true),
    osvUrl: osvUrl.replace(/\/+$/, ''),
    osvDb: osvDb ? abs(osvDb) : undefined,
    failOnSeverity: readEnum(src, I.failOnSeverity, SEVERITIES, 'high'),
    depAuditFailClosed: readBoolean(src, I.depAuditFailClosed, false),
    depAuditTimeoutMs: readInteger(src, I.depAuditTimeoutSeconds, 60, 1, 3600) * 1000
  };
}
