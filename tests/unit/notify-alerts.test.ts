// When to alert: every FAIL, the merge gate's infrastructure alert as its own
// kind, DEFER only from the n-th consecutive one on, never PASS or SKIPPED.
import { alertFor, type AlertInput } from '../../packages/notify/src/alerts.ts';
import { alertHeadline, alertHtml } from '../../packages/notify/src/message.ts';

const base: AlertInput = { verdict: 'PASS', gate: 'coverage', deferCount: 0, deferThreshold: 3 };

test('PASS and SKIPPED never alert, whatever the defer count', () => {
  expect(alertFor(base)).toBeUndefined();
  expect(alertFor({ ...base, verdict: 'SKIPPED', deferCount: 9 })).toBeUndefined();
});

test('every FAIL alerts', () => {
  expect(alertFor({ ...base, verdict: 'FAIL' })).toEqual({ kind: 'fail' });
  expect(alertFor({ ...base, verdict: 'FAIL', gate: 'merge', failureClass: 'red' })).toEqual({
    kind: 'fail'
  });
  expect(alertFor({ ...base, verdict: 'FAIL', gate: 'merge', failureClass: 'conflict' })).toEqual({
    kind: 'fail'
  });
});

test("the merge gate's re-test timeout is an infrastructure alert", () => {
  expect(alertFor({ ...base, verdict: 'FAIL', gate: 'merge', failureClass: 'timeout' })).toEqual({
    kind: 'infra'
  });
  // Another gate's 'timeout' is not the merge gate's infrastructure alert.
  expect(alertFor({ ...base, verdict: 'FAIL', gate: 'coverage', failureClass: 'timeout' })).toEqual(
    { kind: 'fail' }
  );
  // The caller may say so explicitly, either way.
  expect(
    alertFor({
      ...base,
      verdict: 'FAIL',
      gate: 'merge',
      failureClass: 'timeout',
      infraAlert: false
    })
  ).toEqual({
    kind: 'fail'
  });
  expect(alertFor({ ...base, verdict: 'FAIL', gate: 'merge', infraAlert: true })).toEqual({
    kind: 'infra'
  });
});

test('DEFER alerts only from the threshold on', () => {
  const defer = { ...base, verdict: 'DEFER' as const, gate: 'merge', failureClass: 'lock-busy' };
  expect(alertFor({ ...defer, deferCount: 1 })).toBeUndefined();
  expect(alertFor({ ...defer, deferCount: 2 })).toBeUndefined();
  expect(alertFor({ ...defer, deferCount: 3 })).toEqual({ kind: 'defer' });
  expect(alertFor({ ...defer, deferCount: 7 })).toEqual({ kind: 'defer' });
  expect(alertFor({ ...defer, deferCount: 1, deferThreshold: 1 })).toEqual({ kind: 'defer' });
  expect(alertFor({ ...defer, deferCount: 4, deferThreshold: 5 })).toBeUndefined();
});

test('a missing or invalid threshold means 3', () => {
  const defer = { ...base, verdict: 'DEFER' as const, deferThreshold: undefined };
  expect(alertFor({ ...defer, deferCount: 2 })).toBeUndefined();
  expect(alertFor({ ...defer, deferCount: 3 })).toEqual({ kind: 'defer' });
  expect(alertFor({ ...defer, deferCount: 2, deferThreshold: 0 })).toBeUndefined();
  expect(alertFor({ ...defer, deferCount: 3, deferThreshold: Number.NaN })).toEqual({
    kind: 'defer'
  });
});

test('the headline is one line naming kind, gate, repository, branch and commit', () => {
  const alert = {
    kind: 'infra' as const,
    repository: 'acme/app',
    branch: 'feature/x\ny',
    gate: 'merge',
    verdict: 'FAIL' as const,
    summary: 'the re-test timed out 3 times',
    sha: 'a'.repeat(40),
    at: '2025-06-01T10:00:00.000Z'
  };
  expect(alertHeadline(alert)).toBe(
    'quality-gates: infrastructure alert from merge on acme/app feature/x y @ aaaaaaaaaaaa'
  );
  expect(alertHtml({ ...alert, runUrl: 'javascript:alert(1)' })).not.toContain('href');
});

describe('state tampering (issue 8)', () => {
  it('alerts whatever the verdict when the store found a change it did not make', () => {
    for (const verdict of ['PASS', 'FAIL', 'DEFER'] as const)
      expect(alertFor({ verdict, gate: 'coverage', deferCount: 0, tampered: true })).toEqual({
        kind: 'tamper'
      });
    expect(alertFor({ verdict: 'PASS', gate: 'coverage', deferCount: 0 })).toBeUndefined();
  });
});
