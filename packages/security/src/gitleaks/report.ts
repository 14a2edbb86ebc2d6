// gitleaks' JSON report (a JSON array of findings, `null` or `[]` when there
// are none) mapped to SecretFinding. Only location fields are read: Secret,
// Match, Line, Message, Author and Email are never copied, so a finding can
// travel into artefacts and logs whatever gitleaks put in its report.

import { ToolError } from '../../../core/src/errors.ts';
import { isSha } from '../../../git/src/git.ts';
import { fingerprintOf, type SecretFinding } from '../findings.ts';

/** The report fields the gate reads (gitleaks report.Finding, v8.x JSON names). */
interface ReportEntry {
  RuleID: string;
  File: string;
  StartLine: number;
  Commit: string;
  Date: string;
}

function problemOf(entry: unknown): string | undefined {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return 'not an object';
  const e = entry as Record<string, unknown>;
  if (typeof e.RuleID !== 'string' || e.RuleID === '') return 'RuleID missing';
  if (typeof e.File !== 'string' || e.File === '') return 'File missing';
  if (typeof e.StartLine !== 'number' || !Number.isInteger(e.StartLine) || e.StartLine < 0) {
    return 'StartLine is not a line number';
  }
  if (typeof e.Commit !== 'string' || !isSha(e.Commit)) return 'Commit is not a full commit sha';
  if (typeof e.Date !== 'string' || Number.isNaN(Date.parse(e.Date))) return 'Date is not a date';
  return undefined;
}

/** Throws ToolError('secrets') for anything that is not a well-formed report. */
export function parseGitleaksReport(text: string): SecretFinding[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The text itself is never quoted: it may hold unredacted content.
    throw new ToolError('secrets', 'gitleaks report is not valid JSON');
  }
  if (parsed === null) return [];
  if (!Array.isArray(parsed)) throw new ToolError('secrets', 'gitleaks report is not a JSON array');
  const findings = parsed.map((entry: unknown, i): SecretFinding => {
    const problem = problemOf(entry);
    if (problem)
      throw new ToolError('secrets', `gitleaks report entry ${i + 1} is malformed: ${problem}`);
    const e = entry as ReportEntry;
    const loc = { commit: e.Commit, file: e.File, ruleId: e.RuleID, line: e.StartLine };
    return {
      engine: 'gitleaks',
      ruleId: loc.ruleId,
      file: loc.file,
      line: loc.line,
      commit: loc.commit,
      authorDate: e.Date,
      fingerprint: fingerprintOf(loc)
    };
  });
  // gitleaks reports in scan order, which varies with its concurrency.
  return findings.sort(
    (a, b) =>
      cmp(a.file, b.file) || a.line - b.line || cmp(a.ruleId, b.ruleId) || cmp(a.commit, b.commit)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
