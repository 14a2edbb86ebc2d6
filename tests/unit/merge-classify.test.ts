import {
  MERGE_FAILURE_CLASSES,
  classifyCatchUp,
  classifyError,
  classifyRetest
} from '../../packages/merge/src/classify.ts';
import { CatchUpError, LeaseRejectedError } from '../../packages/merge/src/errors.ts';
import { ProtectedBranchError } from '../../packages/git/src/git.ts';

describe('merge failure classes', () => {
  it('lists exactly the six classes', () => {
    expect([...MERGE_FAILURE_CLASSES].sort()).toEqual(
      ['conflict', 'lease-lost', 'lock-busy', 'other', 'red', 'timeout'].sort()
    );
  });

  it('maps re-test outcomes; a pass has no class', () => {
    expect(classifyRetest('pass')).toBeUndefined();
    expect(classifyRetest('red')).toBe('red');
    expect(classifyRetest('timeout')).toBe('timeout');
    expect(classifyRetest('other')).toBe('other');
  });

  it('maps catch-up results', () => {
    const sha = 'a'.repeat(40);
    expect(
      classifyCatchUp({
        conflict: true,
        rebased: false,
        noop: false,
        branch: 'b',
        oldHead: sha,
        baseSha: sha,
        files: ['x']
      })
    ).toBe('conflict');
    expect(
      classifyCatchUp({
        conflict: false,
        rebased: false,
        noop: true,
        branch: 'b',
        oldHead: sha,
        newHead: sha,
        baseSha: sha
      })
    ).toBeUndefined();
  });

  it('maps errors: a self-declared class wins, everything else is other', () => {
    const busy = Object.assign(new Error('lease held'), { failureClass: 'lock-busy' });
    expect(classifyError(busy)).toBe('lock-busy');
    expect(classifyError(Object.assign(new Error(), { failureClass: 'bogus' }))).toBe('other');
    expect(classifyError(new LeaseRejectedError('b', 'a'.repeat(40)))).toBe('other');
    expect(classifyError(new CatchUpError('dirty', 'x'))).toBe('other');
    expect(classifyError(new ProtectedBranchError('main'))).toBe('other');
    expect(classifyError('string')).toBe('other');
    expect(classifyError(null)).toBe('other');
  });

  it('the lease error is one line and names no more than a short sha', () => {
    const e = new LeaseRejectedError('feat/x', 'b'.repeat(40));
    expect(e.message).not.toContain('\n');
    expect(e.message).toContain('bbbbbbbbbbbb');
    expect(e.message).not.toContain('b'.repeat(13));
  });
});
