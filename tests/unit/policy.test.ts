import { modeFor, verdictFor } from '../../packages/core/src/policy.ts';

describe('gate policy', () => {
  const policy = { byKind: { 'dep-audit': 'fail-open' as const }, default: 'fail-closed' as const };
  it('uses the mode listed for a kind', () => {
    expect(verdictFor(modeFor(policy, 'dep-audit'))).toBe('PASS');
  });
  it('falls back to the default for unknown kinds and for bugs', () => {
    expect(verdictFor(modeFor(policy, 'secrets'))).toBe('FAIL');
    expect(verdictFor(modeFor(policy, undefined))).toBe('FAIL');
    expect(verdictFor(modeFor(policy, 'toString'))).toBe('FAIL');
  });
});
