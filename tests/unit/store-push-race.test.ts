// The git-ref backend retries exactly when a push lost a race; these are the
// porcelain lines git 2.39 prints for each case (captured from real pushes).
import { DEFAULT_PROTECTED, assertPushableRef, isLostRace } from '../../packages/git/src/git.ts';

const SHA = '469ea6bfd37dddaa25eed38cbbdb51fb9d397d66';

describe('isLostRace', () => {
  it.each([
    [`!\t${SHA}:refs/qg/x\t[rejected] (non-fast-forward)\nDone\n`, ''],
    [`!\t${SHA}:refs/qg/x\t[rejected] (fetch first)\n`, ''],
    [
      `!\t${SHA}:refs/qg/x\t[remote rejected] (failed to update ref)\n`,
      "remote: error: cannot lock ref 'refs/qg/x': reference already exists\n"
    ],
    [
      `!\t${SHA}:refs/qg/x\t[remote rejected] (failed to update ref)\n`,
      `remote: error: cannot lock ref 'refs/qg/x': is at 85256dd309dce78c0b147630f3249ed264475558 but expected ${SHA}\n`
    ],
    [
      `!\t${SHA}:refs/qg/x\t[remote rejected] (cannot lock ref 'refs/qg/x': is at 85256dd309 but expected 469ea6bfd3)\n`,
      ''
    ],
    [
      `!\t${SHA}:refs/qg/x\t[remote rejected] (failed to update ref)\n`,
      "remote: error: cannot lock ref 'refs/qg/x': Unable to create '/srv/o.git/refs/qg/x.lock': File exists.\n"
    ]
  ])('retries %j', (stdout, stderr) => {
    expect(isLostRace(stdout, stderr)).toBe(true);
  });

  it.each([
    [`!\t${SHA}:refs/qg/x\t[remote rejected] (pre-receive hook declined)\n`, ''],
    [
      `!\t${SHA}:refs/qg/x\t[remote rejected] (failed to update ref)\n`,
      "remote: error: cannot lock ref 'refs/qg/x': Unable to create '/srv/o.git/refs/qg/x.lock': Permission denied\n"
    ],
    [`!\t${SHA}:refs/qg/x\t[remote rejected] (unpacker error)\n`, 'error: remote unpack failed'],
    ['', "fatal: '/nope' does not appear to be a git repository"],
    [`*\t${SHA}:refs/qg/x\t[new reference]\n`, '']
  ])('does not retry %j', (stdout, stderr) => {
    expect(isLostRace(stdout, stderr)).toBe(false);
  });
});

describe('assertPushableRef', () => {
  it('accepts state refs and unprotected branches', () => {
    expect(() => assertPushableRef('refs/quality-gates/state', DEFAULT_PROTECTED)).not.toThrow();
    expect(() => assertPushableRef('refs/heads/feature/x', DEFAULT_PROTECTED)).not.toThrow();
  });
  it.each([
    ['refs/heads/main', /protected branch/],
    ['refs/heads/release/2.0', /protected branch/],
    ['+refs/quality-gates/state', /invalid ref name/],
    ['refs/quality-gates/state:refs/heads/main', /invalid ref name/],
    ['quality-gates/state', /invalid ref name/],
    ['refs/', /invalid ref name/],
    ['refs/x/../heads/main', /invalid ref name/],
    ['refs/-x', /invalid ref name/]
  ])('refuses %s', (ref, message) => {
    expect(() => assertPushableRef(ref, DEFAULT_PROTECTED)).toThrow(message);
  });
});
