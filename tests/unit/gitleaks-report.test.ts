import { ToolError } from '../../packages/core/src/errors.ts';
import { fingerprintOf } from '../../packages/security/src/findings.ts';
import { parseGitleaksReport } from '../../packages/security/src/gitleaks/report.ts';
import { PLANTED_SECRET as KEY } from '../fixtures/fake-gitleaks/helpers.ts';
import { thrown } from '../helpers/errors.ts';

const C1 = 'a'.repeat(40);
const C2 = 'b'.repeat(40);

/** A full gitleaks v8 report entry, unredacted, to prove nothing sensitive is copied. */
function entry(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    RuleID: 'aws-access-token',
    Description: 'AWS',
    StartLine: 3,
    EndLine: 3,
    StartColumn: 9,
    EndColumn: 28,
    Match: `AWS_KEY=${KEY}`,
    Secret: KEY,
    File: 'config/app.env',
    SymlinkFile: '',
    Commit: C1,
    Link: 'https://example.test/x',
    Entropy: 4.1,
    Author: 'Dev',
    Email: 'dev@example.test',
    Date: '2024-05-06T07:08:09Z',
    Message: `oops ${KEY}`,
    Tags: ['key'],
    Fingerprint: `${C1}:config/app.env:aws-access-token:3`,
    ...over
  };
}

function problem(text: string): string {
  const err = thrown(() => parseGitleaksReport(text)) as ToolError;
  expect(err).toBeInstanceOf(ToolError);
  expect(err.kind).toBe('secrets');
  expect(err.message).not.toContain(KEY);
  return err.message;
}

describe('gitleaks JSON report', () => {
  it('reads null and [] as no findings', () => {
    expect(parseGitleaksReport('null\n')).toEqual([]);
    expect(parseGitleaksReport('[]\n')).toEqual([]);
  });

  it('keeps only the location, never Secret, Match, Message, Author or Email', () => {
    const [f] = parseGitleaksReport(JSON.stringify([entry()], null, 1));
    expect(f).toEqual({
      engine: 'gitleaks',
      ruleId: 'aws-access-token',
      file: 'config/app.env',
      line: 3,
      commit: C1,
      authorDate: '2024-05-06T07:08:09Z',
      fingerprint: fingerprintOf({
        commit: C1,
        file: 'config/app.env',
        ruleId: 'aws-access-token',
        line: 3
      })
    });
    const text = JSON.stringify(f);
    for (const s of [KEY, 'oops', 'dev@example.test', 'Dev"', 'AWS_KEY'])
      expect(text).not.toContain(s);
  });

  it('sorts findings by file, line, rule and commit', () => {
    const out = parseGitleaksReport(
      JSON.stringify([
        entry({ File: 'b', StartLine: 1, Commit: C2 }),
        entry({ File: 'a', StartLine: 9 }),
        entry({ File: 'a', StartLine: 2, RuleID: 'z' }),
        entry({ File: 'a', StartLine: 2, RuleID: 'y' })
      ])
    );
    expect(out.map((f) => `${f.file}:${f.line}:${f.ruleId}`)).toEqual([
      'a:2:y',
      'a:2:z',
      'a:9:aws-access-token',
      'b:1:aws-access-token'
    ]);
  });

  it('refuses what is not a report, without quoting it', () => {
    expect(problem(`[{"Secret": "${KEY}"`)).toBe('gitleaks report is not valid JSON');
    expect(problem('{"findings": []}')).toBe('gitleaks report is not a JSON array');
  });

  it.each([
    [entry({ RuleID: '' }), 'RuleID missing'],
    [entry({ File: undefined }), 'File missing'],
    [entry({ StartLine: '3' }), 'StartLine is not a line number'],
    [entry({ StartLine: 1.5 }), 'StartLine is not a line number'],
    [entry({ Commit: 'abc1234' }), 'Commit is not a full commit sha'],
    [entry({ Date: 'yesterday' }), 'Date is not a date'],
    [KEY, 'not an object']
  ])('refuses a malformed entry (%#)', (bad, why) => {
    expect(problem(JSON.stringify([entry(), bad]))).toBe(
      `gitleaks report entry 2 is malformed: ${why}`
    );
  });
});
