// The human half of the security artefact. Findings are listed verbatim but
// redacted: rule, file, line, commit, date and fingerprint, never the value.

import { markdownTable } from '../../core/src/markdown.ts';
import type { Verdict } from '../../core/src/verdict.ts';
import type { SecurityConfig } from './config.ts';
import type { SecretFinding, SecretScanResult } from './findings.ts';
import type { BranchRange } from './range.ts';
import type { DepAuditOutcome } from './gate.ts';
import type { AuditResult } from './deps/audit.ts';

export interface SecurityBodyInput {
  verdict: Verdict;
  summary: string;
  config: SecurityConfig;
  range: BranchRange;
  scan: SecretScanResult;
  deps: DepAuditOutcome;
  warnings: string[];
  durationMs: number;
}

export function renderSecurityBody(x: SecurityBodyInput): string {
  const out: string[] = [];
  out.push(`## Security gate: ${x.verdict}`, '', x.summary, '');
  out.push(
    markdownTable(
      ['Range', 'Commits scanned', 'Bytes scanned', 'Engine', 'Duration'],
      [
        [
          `${x.config.baseRef} (${x.range.base.slice(0, 12)})..${x.range.head.slice(0, 12)}`,
          x.scan.commitsScanned,
          x.scan.bytesScanned,
          x.scan.engine,
          `${(x.durationMs / 1000).toFixed(1)} s`
        ]
      ]
    ),
    ''
  );
  out.push('### Secrets', '');
  if (x.scan.findings.length === 0) {
    out.push(
      x.scan.commitsScanned === 0
        ? 'Nothing to scan: the branch adds no commits.'
        : 'No secrets found in the commits this branch adds.',
      ''
    );
  } else {
    out.push(
      'Remove each secret from the branch history (rewrite the commit that added it) and rotate it: it has been pushed.',
      '',
      markdownTable(
        ['Rule', 'File', 'Line', 'Commit', 'Author date', 'Fingerprint'],
        x.scan.findings.map((f) => [
          f.example ? `${f.ruleId} (documentation example, not blocking)` : f.ruleId,
          findingFile(f),
          findingLine(f),
          f.commit.slice(0, 12),
          f.authorDate,
          f.fingerprint
        ])
      ),
      ''
    );
  }
  out.push('### Dependencies', '');
  const r = x.deps.result;
  switch (x.deps.state) {
    case 'disabled':
      out.push('Dependency audit disabled (input dep-audit: false).', '');
      break;
    case 'no-lockfile-changes':
      out.push('The branch changes no lockfile: nothing to audit.', '');
      break;
    case 'unavailable':
    case 'partial': {
      const label = x.deps.state === 'partial' ? 'incomplete' : 'unavailable';
      const why = r && r.gaps.length > 0 ? r.gaps.join(', ') : (x.deps.problem ?? '');
      out.push(`**Dependency audit ${label}:** ${why}.`, '');
      if (r && r.failures.length > 0) {
        out.push(
          'Could not be audited (each on its own; everything else was):',
          '',
          markdownTable(
            ['What', 'Problem'],
            r.failures.map((f) => [f.what, f.problem])
          ),
          ''
        );
      }
      if (r) renderAudit(out, r);
      break;
    }
    case 'ok':
      renderAudit(out, r!);
      break;
  }
  const notes = [...x.scan.notes, ...(x.deps.result?.notes ?? [])];
  if (x.warnings.length > 0) out.push('### Warnings', '', ...x.warnings.map((w) => `- ${w}`), '');
  if (notes.length > 0) out.push('### Notes', '', ...notes.map((n) => `- ${n}`), '');
  // Last line of defence: whatever the scan found inside a name (a path, the
  // branch name) is masked wherever it still appears in the report.
  const body = out.join('\n');
  return x.scan.redact ? x.scan.redact(body) : body;
}

function renderAudit(out: string[], r: AuditResult): void {
  const unreadable =
    r.lockfilesUnreadable.length > 0 ? `; unreadable: ${r.lockfilesUnreadable.join(', ')}` : '';
  const notLookedUp =
    r.packagesNotLookedUp > 0 ? `, ${r.packagesNotLookedUp} new versions not looked up` : '';
  out.push(
    r.lockfilesAudited.length > 0
      ? `Audited ${r.lockfilesAudited.join(', ')} (${r.packagesAtHead} packages at HEAD, ${r.packagesChecked} new versions looked up${notLookedUp})${unreadable}.`
      : `No lockfile could be audited${unreadable}.`,
    ''
  );
  if (r.introduced.length === 0) {
    if (r.lockfilesAudited.length > 0)
      out.push(
        r.completeness === 'ok'
          ? 'No vulnerabilities introduced by this branch.'
          : 'No vulnerabilities introduced by this branch in what could be audited.',
        ''
      );
    return;
  }
  out.push(
    markdownTable(
      ['Blocks', 'Severity', 'Package', 'Version', 'Advisory', 'Fixed in', 'Lockfile', 'Summary'],
      r.introduced.map((v) => [
        r.blocking.includes(v) ? 'yes' : 'no',
        v.severity,
        `${v.ecosystem}:${v.name}`,
        v.version,
        [v.id, ...v.aliases].join(', '),
        v.fixed.join(', ') || '-',
        v.lockfile,
        v.summary
      ])
    ),
    ''
  );
}

/** The File column: the (masked) path; 'commit message' for a finding in one. */
export function findingFile(f: SecretFinding): string {
  return f.source === 'commit-message' ? 'commit message' : f.file;
}

/** The Line column: the line, or what kind of name the secret is in. */
export function findingLine(f: SecretFinding): string | number {
  if (f.source === 'path') return 'file name';
  if (f.source === 'branch-name') return 'branch name';
  return f.line;
}
