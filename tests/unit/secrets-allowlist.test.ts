import { ConfigurationError } from '../../packages/core/src/errors.ts';
import { fingerprintOf } from '../../packages/security/src/findings.ts';
import {
  AllowlistError,
  EMPTY_ALLOWLIST,
  isAllowed,
  isBuiltinAllowed,
  isPathAllowlisted,
  normaliseRepoPath,
  parseAllowlist
} from '../../packages/security/src/secrets/allowlist.ts';
import {
  randomAwsAccessKeyId,
  randomString
} from '../../packages/security/src/secrets/token-samples.ts';
import { thrown } from '../helpers/errors.ts';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const loc = { commit: SHA, file: 'src/app.ts', ruleId: 'github-pat', line: 12 };
const FILE = '.quality-gates/secrets-allowlist (at 0123456789ab)';

function errorOf(text: string): AllowlistError {
  return thrown(() => parseAllowlist(text, FILE)) as AllowlistError;
}

describe('parseAllowlist', () => {
  it('reads every entry kind and skips comments and blank lines', () => {
    const list = parseAllowlist(
      [
        '# documented examples',
        '',
        `fingerprint:${fingerprintOf(loc).toUpperCase()}`,
        `${SHA}:docs/a file: with colons.md:private-key:3`,
        'path:vendor/**',
        'path:./fixtures/*.pem',
        'rule:jwt',
        'regex:^sk_live_DOC',
        '   # indented comment',
        'regex:a#b'
      ].join('\r\n'),
      FILE
    );
    expect([...list.fingerprints]).toEqual([fingerprintOf(loc)]);
    expect([...list.locations]).toEqual([`${SHA}:docs/a file: with colons.md:private-key:3`]);
    expect(list.paths.map(String)).toEqual([
      String(/^vendor\/.*$/),
      String(/^fixtures\/[^/]*\.pem$/)
    ]);
    expect([...list.rules]).toEqual(['jwt']);
    expect(list.regexes.map((r) => r.source)).toEqual(['^sk_live_DOC', 'a#b']);
  });

  it.each([
    ['fingerprint:xyz', 1, /fingerprint is 16 hexadecimal/],
    ['# ok\nrule:Not An Id', 2, /rule: needs a rule id/],
    ['\n\nregex:([unclosed', 3, /not a valid JavaScript regular expression/],
    ['path:', 1, /path: needs a glob/],
    ['ghp_notAnEntryAtAll', 1, /expected fingerprint:/],
    [`${SHA}:file:rule:notanumber`, 1, /expected fingerprint:/]
  ])('rejects %j at line %i with a one-line error', (text, line, problem) => {
    const err = errorOf(text);
    expect(err).toBeInstanceOf(AllowlistError);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err.line).toBe(line);
    expect(err.message).toMatch(problem);
    expect(err.message).toContain(`${FILE} line ${line}:`);
    expect(err.message).not.toContain('\n');
  });

  it('never echoes the offending entry (it may hold a real value)', () => {
    const token = `ghp_${randomString(36)}`;
    const err = errorOf(`regex:${token}(`);
    expect(err.message).not.toContain('ghp_');
    expect(err.message).not.toContain(token.slice(4, 12));
  });
});

describe('isAllowed', () => {
  it('matches fingerprints, location keys, paths, rules and regexes', () => {
    const secret = 'ghp_documentation_example_value_000000';
    expect(isAllowed(EMPTY_ALLOWLIST, loc, secret)).toBe(false);
    expect(isAllowed(parseAllowlist(`fingerprint:${fingerprintOf(loc)}`, FILE), loc, secret)).toBe(
      true
    );
    expect(isAllowed(parseAllowlist(`${SHA}:src/app.ts:github-pat:12`, FILE), loc, secret)).toBe(
      true
    );
    expect(isAllowed(parseAllowlist(`${SHA}:src/app.ts:github-pat:13`, FILE), loc, secret)).toBe(
      false
    );
    expect(isAllowed(parseAllowlist('path:src/*.ts', FILE), loc, secret)).toBe(true);
    expect(isAllowed(parseAllowlist('rule:github-pat', FILE), loc, secret)).toBe(true);
    expect(isAllowed(parseAllowlist('rule:gitlab-pat', FILE), loc, secret)).toBe(false);
    expect(isAllowed(parseAllowlist('regex:documentation_example', FILE), loc, secret)).toBe(true);
    expect(isAllowed(parseAllowlist('regex:^nope', FILE), loc, secret)).toBe(false);
  });

  it('has AWS documentation keys built in', () => {
    expect(isBuiltinAllowed('aws-access-token', 'AKIAIOSFODNN7EXAMPLE')).toBe(true);
    expect(
      isBuiltinAllowed('aws-secret-access-key', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')
    ).toBe(true);
    expect(isBuiltinAllowed('aws-access-token', randomAwsAccessKeyId())).toBe(false);
    expect(isBuiltinAllowed('github-pat', 'ghp_EXAMPLE')).toBe(false);
  });
});

describe('path globs', () => {
  it('keeps * within a segment, lets ** cross them, and lets a leading **/ match the top level', () => {
    const list = parseAllowlist('path:*.lock\npath:**/*.min.js\npath:docs/**', FILE);
    expect(isPathAllowlisted(list, 'yarn.lock')).toBe(true);
    expect(isPathAllowlisted(list, 'sub/yarn.lock')).toBe(false);
    expect(isPathAllowlisted(list, 'app.min.js')).toBe(true);
    expect(isPathAllowlisted(list, 'a/b/app.min.js')).toBe(true);
    expect(isPathAllowlisted(list, 'docs/x/y.md')).toBe(true);
    expect(isPathAllowlisted(list, 'src/docs.md')).toBe(false);
  });
});

describe('normaliseRepoPath', () => {
  it('accepts repository-relative paths and refuses escapes', () => {
    expect(normaliseRepoPath('./.quality-gates/secrets-allowlist')).toBe(
      '.quality-gates/secrets-allowlist'
    );
    expect(() => normaliseRepoPath('../outside')).toThrow(AllowlistError);
    expect(() => normaliseRepoPath('')).toThrow(/relative to the repository root/);
  });
});
