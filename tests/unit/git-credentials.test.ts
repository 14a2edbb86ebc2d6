// The pure parts of the gate's git credential and hardening: how entries are
// added to GIT_CONFIG_COUNT, what every git process of the gate gets, the
// header format, which URLs a header may go to, and transport names.
import {
  basicHeader,
  covers,
  isRemoteName,
  tokenHeader,
  transportOf
} from '../../packages/git/src/credentials.ts';
import {
  gitConfigPairs,
  hardenedGitEnv,
  HARDENING_CONFIG,
  withGitConfig
} from '../../packages/git/src/git-env.ts';
import { Git } from '../../packages/git/src/git.ts';

describe('GIT_CONFIG_COUNT entries', () => {
  it('are appended after the ones the environment already carries', () => {
    const env = withGitConfig(
      { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'user.name', GIT_CONFIG_VALUE_0: 'ci' },
      [
        ['core.hooksPath', '/dev/null'],
        ['credential.helper', '']
      ]
    );
    expect(gitConfigPairs(env)).toEqual([
      ['user.name', 'ci'],
      ['core.hooksPath', '/dev/null'],
      ['credential.helper', '']
    ]);
    expect(env.GIT_CONFIG_COUNT).toBe('3');
  });

  it('start at 0 when the count is missing or not a number', () => {
    expect(gitConfigPairs(withGitConfig({ GIT_CONFIG_COUNT: 'x' }, [['a.b', 'c']]))).toEqual([
      ['a.b', 'c']
    ]);
  });
});

describe('the hardened environment of every git process the gate runs', () => {
  const required: [string, string][] = [
    ['core.hooksPath', '/dev/null'],
    ['core.fsmonitor', 'false'],
    ['credential.helper', ''],
    ['protocol.ext.allow', 'never'],
    ['core.askPass', ''],
    ['commit.gpgSign', 'false']
  ];

  it('neutralises hooks, fsmonitor, credential helpers, ext::, askpass, signing and ssh', () => {
    const env = hardenedGitEnv({ PATH: '/bin', GIT_TRACE_REDACT: '0' });
    const pairs = gitConfigPairs(env);
    for (const r of required) expect(pairs).toContainEqual(r);
    expect(pairs).toContainEqual(['core.sshCommand', 'ssh']);
    expect(env).toMatchObject({ GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' });
    expect(env.GIT_TRACE_REDACT).toBeUndefined();
  });

  it("keeps the runner's own ssh command, ahead of any core.sshCommand", () => {
    const a = hardenedGitEnv({ GIT_SSH_COMMAND: 'ssh -i key' });
    expect(a.GIT_SSH_COMMAND).toBe('ssh -i key');
    expect(gitConfigPairs(a).map(([k]) => k)).not.toContain('core.sshCommand');
    const b = hardenedGitEnv({ GIT_SSH: "/opt/my ssh/it's" });
    expect(b.GIT_SSH_COMMAND).toBe(`'/opt/my ssh/it'\\''s'`);
  });

  it('is what the Git wrapper runs git with, after the caller environment', () => {
    const git = new Git('/nowhere', {
      env: { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'x.y', GIT_CONFIG_VALUE_0: 'z' }
    });
    const pairs = gitConfigPairs(git.processEnv);
    expect(pairs[0]).toEqual(['x.y', 'z']);
    expect(pairs.slice(1, 1 + HARDENING_CONFIG.length)).toEqual(HARDENING_CONFIG);
  });
});

describe('the credential header', () => {
  it('is the Basic header actions/checkout writes, for x-access-token', () => {
    expect(tokenHeader('abc123')).toBe(
      `AUTHORIZATION: basic ${Buffer.from('x-access-token:abc123').toString('base64')}`
    );
    expect(basicHeader('u:p')).toBe('AUTHORIZATION: basic dTpw');
  });

  it.each([
    ['https://git.example.com/', 'https://git.example.com/acme/app.git', true],
    ['https://git.example.com', 'https://GIT.example.com:443/acme/app', true],
    ['https://git.example.com/acme/', 'https://git.example.com/acme/app.git', true],
    ['https://git.example.com/acme', 'https://git.example.com/acmeevil/app.git', false],
    ['https://git.example.com/', 'http://git.example.com/acme/app.git', false],
    ['https://git.example.com/', 'https://git.example.com:8443/acme/app.git', false],
    ['https://git.example.com/', 'https://git.example.com.evil.test/acme/app.git', false],
    ['https://ci@git.example.com/', 'https://git.example.com/acme/app.git', false],
    ['https://git.example.com/', 'git@git.example.com:acme/app.git', false],
    ['https://git.example.com/', '/srv/git/app.git', false]
  ])('scoped to %s goes to %s: %s', (scope, url, expected) => {
    expect(covers(scope, url)).toBe(expected);
  });
});

describe('remote names and transports', () => {
  it.each([
    ['origin', true],
    ['state', true],
    ['https://host/a.git', false],
    ['/srv/git/a.git', false],
    ['../a.git', false],
    ['host:a.git', false],
    ['', false]
  ])('%s is a remote name: %s', (s, expected) => {
    expect(isRemoteName(s)).toBe(expected);
  });

  it.each([
    ['https://host/a.git', 'https'],
    ['HTTP://host/a.git', 'http'],
    ['ssh://git@host/a.git', 'ssh'],
    ['git+ssh://git@host/a.git', 'ssh'],
    ['git@host:acme/a.git', 'ssh'],
    ['git://host/a.git', 'git'],
    ['file:///srv/a.git', 'file'],
    ['/srv/a.git', 'file'],
    ['./a:b/c', 'file'],
    ['ext::sh -c evil', 'ext'],
    ['persistent-https::https://host/a', 'persistent-https']
  ])('%s uses transport %s', (url, transport) => {
    expect(transportOf(url)).toBe(transport);
  });
});
