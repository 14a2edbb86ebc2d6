// Commit status pieces without a server: the verdict-to-state mapping and
// the one-line 140-character description (the link to the run:
// forge-run-url.test.ts).
import {
  STATUS_DESCRIPTION_MAX,
  statusDescription,
  verdictToStatus
} from '../../packages/forge/src/statuses.ts';

test('verdicts map onto the four states both forges accept', () => {
  expect(verdictToStatus('PASS')).toBe('success');
  expect(verdictToStatus('SKIPPED')).toBe('success');
  expect(verdictToStatus('FAIL')).toBe('failure');
  expect(verdictToStatus('FAIL', true)).toBe('error');
  expect(verdictToStatus('DEFER')).toBe('error');
  expect(verdictToStatus('PASS', true)).toBe('success');
});

test('descriptions are one line and cut at 140 code points with an ellipsis', () => {
  expect(statusDescription('  PASS:\n  no secrets  ')).toBe('PASS: no secrets');
  const exact = 'x'.repeat(STATUS_DESCRIPTION_MAX);
  expect(statusDescription(exact)).toBe(exact);
  const cut = statusDescription('é'.repeat(100) + '😀'.repeat(100));
  expect(Array.from(cut)).toHaveLength(140);
  expect(cut.endsWith('😀…')).toBe(true);
});
