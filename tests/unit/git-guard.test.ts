import {
  assertPushable,
  isProtected,
  validBranchName,
  DEFAULT_PROTECTED
} from '../../packages/git/src/git.ts';

describe('branch names and protected branches', () => {
  it.each(['feature/x', 'agent/task-123', 'a$(b)', "it's", 'ünïcode'])('accepts %s', (n) => {
    expect(validBranchName(n)).toBe(true);
  });
  it.each([
    '-rf',
    '--upload-pack=x',
    'a..b',
    'a b',
    'a~1',
    'x^',
    'a:b',
    '.hidden',
    'x.lock',
    '',
    'a\nb',
    '@{-1}',
    'a//b'
  ])('refuses %j', (n) => {
    expect(validBranchName(n)).toBe(false);
  });
  it('protects main, master and release/* by default', () => {
    expect(isProtected('main', DEFAULT_PROTECTED)).toBe(true);
    expect(isProtected('refs/heads/master', DEFAULT_PROTECTED)).toBe(true);
    expect(isProtected('release/2.0', DEFAULT_PROTECTED)).toBe(true);
    expect(isProtected('feature/main', DEFAULT_PROTECTED)).toBe(false);
  });
  it('refuses to push to a protected branch whatever form the name takes', () => {
    expect(() => assertPushable('main', DEFAULT_PROTECTED)).toThrow(/protected branch/);
    expect(() => assertPushable('refs/heads/main', DEFAULT_PROTECTED)).toThrow(/protected branch/);
    expect(() => assertPushable('release/1.0', DEFAULT_PROTECTED)).toThrow(/protected branch/);
    expect(() => assertPushable('-main', DEFAULT_PROTECTED)).toThrow(/invalid branch name/);
    expect(() => assertPushable('feature/ok', DEFAULT_PROTECTED)).not.toThrow();
  });
});
