// The link to the run, as a person opens it: the web address comes from the
// event payload's repository.html_url (GITHUB_SERVER_URL is the runner's
// registered address, possibly internal), the number is the run id on GitHub
// and on Gitea 1.26+ (whose run page reads an id first), the run number on
// an older Gitea or Forgejo when the caller knows the version, the id when
// nobody does.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { giteaRunPath, repositoryWebUrl, runUrl } from '../../packages/forge/src/run-url.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

function event(payload: unknown): string {
  const path = join(tempDir('qg-run-url-'), 'event.json');
  writeFileSync(path, typeof payload === 'string' ? payload : JSON.stringify(payload));
  return path;
}

const github = {
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_API_URL: 'https://api.github.com',
  GITHUB_REPOSITORY: 'acme/app',
  GITHUB_RUN_ID: '9876543210',
  GITHUB_RUN_NUMBER: '17'
};
// act_runner: GITHUB_SERVER_URL is the address the runner registered with.
const gitea = {
  GITHUB_SERVER_URL: 'http://gitea.internal:3000/',
  GITHUB_API_URL: 'http://gitea.internal:3000/api/v1',
  GITHUB_REPOSITORY: 'acme/app',
  GITHUB_RUN_ID: '5501',
  GITHUB_RUN_NUMBER: '17',
  GITEA_ACTIONS: 'true'
};
const giteaEvent = () =>
  event({
    action: 'opened',
    repository: { full_name: 'acme/app', html_url: 'https://git.example.com/acme/app' }
  });

describe('runUrl on GitHub', () => {
  test('the run id, under the payload repository address', () => {
    const path = event({ repository: { html_url: 'https://github.com/acme/app' } });
    expect(runUrl({ ...github, GITHUB_EVENT_PATH: path })).toBe(
      'https://github.com/acme/app/actions/runs/9876543210'
    );
  });

  test('without a payload: GITHUB_SERVER_URL; the Gitea version option does not apply', () => {
    expect(runUrl(github)).toBe('https://github.com/acme/app/actions/runs/9876543210');
    expect(runUrl(github, { giteaVersion: '1.21.0' })).toBe(
      'https://github.com/acme/app/actions/runs/9876543210'
    );
  });
});

describe('runUrl on Gitea', () => {
  test('the public address from the payload, not the runner-registered internal one', () => {
    const env = { ...gitea, GITHUB_EVENT_PATH: giteaEvent() };
    expect(runUrl(env, { giteaVersion: '1.26.1' })).toBe(
      'https://git.example.com/acme/app/actions/runs/5501'
    );
  });

  test('1.26 and later: the run id (the run page reads an id first)', () => {
    const env = { ...gitea, GITHUB_EVENT_PATH: giteaEvent() };
    for (const v of ['1.26.0', '1.26.0+dev-42-g1a2b3c4', 'v1.27.2', '2.0.0'])
      expect([v, runUrl(env, { giteaVersion: v })]).toEqual([
        v,
        'https://git.example.com/acme/app/actions/runs/5501'
      ]);
  });

  test('before 1.26, and Forgejo (a Gitea 1.2x API): the run number (the index the page takes)', () => {
    const env = { ...gitea, GITHUB_EVENT_PATH: giteaEvent() };
    for (const v of ['1.25.4', '1.24.0', '1.22.6', '11.0.1+gitea-1.22.0'])
      expect([v, runUrl(env, { giteaVersion: v })]).toEqual([
        v,
        'https://git.example.com/acme/app/actions/runs/17'
      ]);
  });

  test('version unknown: the run id', () => {
    const env = { ...gitea, GITHUB_EVENT_PATH: giteaEvent() };
    expect(runUrl(env)).toBe('https://git.example.com/acme/app/actions/runs/5501');
    expect(runUrl(env, { giteaVersion: 'unknown' })).toBe(
      'https://git.example.com/acme/app/actions/runs/5501'
    );
    // Gitea is recognised by GITEA_ACTIONS or by its API path alone.
    expect(runUrl({ ...env, GITEA_ACTIONS: undefined }, { giteaVersion: '1.25.0' })).toBe(
      'https://git.example.com/acme/app/actions/runs/17'
    );
  });

  test('a sub-path install keeps its path', () => {
    const path = event({ repository: { html_url: 'https://example.com/git/Acme/App/' } });
    expect(runUrl({ ...gitea, GITHUB_EVENT_PATH: path })).toBe(
      'https://example.com/git/Acme/App/actions/runs/5501'
    );
  });
});

describe('repositoryWebUrl falls back to GITHUB_SERVER_URL', () => {
  test.each([
    ['no payload file', undefined],
    ['an unreadable payload', 'event-that-does-not-exist.json'],
    ['a payload that is not JSON', 'not json'],
    ['no repository in it', { action: 'opened' }],
    [
      'an html_url of another repository',
      { repository: { html_url: 'https://x.example/o/other' } }
    ],
    ['a script URL', { repository: { html_url: 'javascript:alert(1)//acme/app' } }],
    ['an html_url that is not a string', { repository: { html_url: 42 } }]
  ])('%s', (_, payload) => {
    const path =
      payload === undefined
        ? undefined
        : typeof payload === 'string' && payload.endsWith('.json')
          ? join(tempDir('qg-run-url-'), payload)
          : event(payload);
    expect(repositoryWebUrl({ ...gitea, GITHUB_EVENT_PATH: path })).toBe(
      'http://gitea.internal:3000/acme/app'
    );
  });

  test('undefined when a variable is missing or malformed', () => {
    expect(runUrl({ ...github, GITHUB_RUN_ID: undefined })).toBeUndefined();
    expect(runUrl({ ...gitea, GITHUB_RUN_NUMBER: '' }, { giteaVersion: '1.25.0' })).toBeUndefined();
    expect(runUrl({ ...github, GITHUB_RUN_ID: '12a' })).toBeUndefined();
    expect(runUrl({ ...github, GITHUB_REPOSITORY: 'acme' })).toBeUndefined();
    expect(runUrl({ ...github, GITHUB_SERVER_URL: 'javascript:alert(1)' })).toBeUndefined();
    expect(runUrl({ ...github, GITHUB_SERVER_URL: 'https://github.com/?x=1' })).toBeUndefined();
    expect(runUrl({})).toBeUndefined();
  });
});

test('giteaRunPath reads Gitea and Forgejo version strings', () => {
  expect(giteaRunPath('1.26.0')).toBe('id');
  expect(giteaRunPath('1.25.99')).toBe('number');
  expect(giteaRunPath('12.0.0+gitea-1.22.0')).toBe('number');
  expect(giteaRunPath(undefined)).toBe('id');
  expect(giteaRunPath('')).toBe('id');
});
