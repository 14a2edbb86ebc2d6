// Commit status pieces without a server: the verdict-to-state mapping, the
// one-line 140-character description, and the link to the run on GitHub and
// on Gitea (whose run page takes the run number, not the id).
import { runUrl } from '../../packages/forge/src/run-url.ts';
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

describe('runUrl', () => {
  const github = {
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_REPOSITORY: 'acme/app',
    GITHUB_RUN_ID: '9876543210',
    GITHUB_RUN_NUMBER: '17'
  };
  const gitea = {
    GITHUB_SERVER_URL: 'https://git.example/',
    GITHUB_API_URL: 'https://git.example/api/v1',
    GITHUB_REPOSITORY: 'acme/app',
    GITHUB_RUN_ID: '5501',
    GITHUB_RUN_NUMBER: '17',
    GITEA_ACTIONS: 'true'
  };

  test('GitHub links the run id', () => {
    expect(runUrl(github)).toBe('https://github.com/acme/app/actions/runs/9876543210');
  });

  test('Gitea links the run number (the index its web route takes), or the id when asked', () => {
    expect(runUrl(gitea)).toBe('https://git.example/acme/app/actions/runs/17');
    expect(runUrl({ ...gitea, GITEA_ACTIONS: undefined })).toBe(
      'https://git.example/acme/app/actions/runs/17'
    );
    expect(runUrl(gitea, { giteaRunPath: 'id' })).toBe(
      'https://git.example/acme/app/actions/runs/5501'
    );
  });

  test('undefined when a variable is missing or malformed', () => {
    expect(runUrl({ ...github, GITHUB_RUN_ID: undefined })).toBeUndefined();
    expect(runUrl({ ...gitea, GITHUB_RUN_NUMBER: '' })).toBeUndefined();
    expect(runUrl({ ...github, GITHUB_REPOSITORY: 'acme' })).toBeUndefined();
    expect(runUrl({ ...github, GITHUB_SERVER_URL: 'javascript:alert(1)' })).toBeUndefined();
    expect(runUrl({})).toBeUndefined();
  });
});
