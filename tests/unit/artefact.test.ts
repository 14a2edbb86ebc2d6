import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseReport,
  readReport,
  renderReport,
  writeReport
} from '../../packages/core/src/artefact.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);
const expect_ = { gate: 'security', statusKey: 'security_status' };

describe('gate artefact: write, read back, verdict from frontmatter only', () => {
  it('round-trips a verdict and its fields', () => {
    const p = join(tempDir(), '17-security-report.md');
    writeReport(
      p,
      {
        gate: 'security',
        security_status: 'PASS',
        commits_scanned: 3,
        head_sha: '0123456789012345678901234567890123456789',
        warnings: ['a: b', 'x']
      },
      '# body\n'
    );
    const back = readReport(p, { ...expect_, headSha: '0123456789012345678901234567890123456789' });
    expect(back.problem).toBeUndefined();
    expect(back.verdict).toBe('PASS');
    expect(back.frontmatter.commits_scanned).toBe(3);
    expect(back.frontmatter.warnings).toEqual(['a: b', 'x']);
    expect(back.body).toContain('# body');
  });

  it('keeps a numeric-looking sha a string', () => {
    const sha = '1234567890123456789012345678901234567890';
    const back = parseReport(
      renderReport({ gate: 'security', security_status: 'PASS', head_sha: sha }, ''),
      { ...expect_, headSha: sha }
    );
    expect(back.verdict).toBe('PASS');
  });

  it.each([
    ['no frontmatter', '# just a body\n', 'no YAML frontmatter'],
    ['broken YAML', '---\nsecurity_status: [PASS\n---\nbody\n', 'not valid YAML'],
    ['a list, not a mapping', '---\n- PASS\n---\n', 'not a mapping'],
    ['an empty file', '', 'no YAML frontmatter']
  ])('%s is FAIL', (_name, text, problem) => {
    const back = parseReport(text, expect_);
    expect(back.verdict).toBe('FAIL');
    expect(back.problem).toContain(problem);
  });

  it('a PASS edited into a FAIL report after writing is caught (checksum)', () => {
    const p = join(tempDir(), 'r.md');
    writeReport(p, { gate: 'security', security_status: 'FAIL', secrets_found: 2 }, 'body');
    writeFileSync(
      p,
      readFileSync(p, 'utf8').replace('security_status: FAIL', 'security_status: PASS')
    );
    const back = readReport(p, expect_);
    expect(back.verdict).toBe('FAIL');
    expect(back.problem).toMatch(/altered/);
  });

  it('a status that is not a verdict is FAIL', () => {
    const back = parseReport(
      renderReport({ gate: 'security', security_status: 'GREEN' }, ''),
      expect_
    );
    expect(back.verdict).toBe('FAIL');
    expect(back.problem).toMatch(/not a verdict/);
  });

  it("another gate's report, or another commit's, is FAIL", () => {
    const text = renderReport(
      { gate: 'coverage', security_status: 'PASS', head_sha: 'a'.repeat(40) },
      ''
    );
    expect(parseReport(text, expect_).problem).toMatch(/belongs to gate 'coverage'/);
    const own = renderReport(
      { gate: 'security', security_status: 'PASS', head_sha: 'a'.repeat(40) },
      ''
    );
    expect(parseReport(own, { ...expect_, headSha: 'b'.repeat(40) }).problem).toMatch(
      /is for commit/
    );
  });

  it('a missing file is FAIL with the path in the reason', () => {
    const back = readReport('/nonexistent/dir/r.md', expect_);
    expect(back.verdict).toBe('FAIL');
    expect(back.problem).toContain('/nonexistent/dir/r.md');
  });
});
