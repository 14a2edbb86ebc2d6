import {
  describeUserEnv,
  droppedEnvNames,
  isPassEnvPattern,
  userCommandEnv,
  userEnvAllows
} from '../../packages/proc/src/user-env.ts';

// What a runner's step environment looks like, secrets included.
const RUNNER_ENV: NodeJS.ProcessEnv = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/runner',
  USER: 'runner',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  TMPDIR: '/tmp',
  CI: 'true',
  GITHUB_ACTIONS: 'true',
  GITHUB_SHA: 'f00d',
  GITHUB_REF: 'refs/heads/task',
  GITHUB_REPOSITORY: 'acme/app',
  GITHUB_WORKSPACE: '/w',
  GITHUB_RUN_ID: '42',
  GITEA_ACTIONS: 'true',
  RUNNER_TEMP: '/rt',
  RUNNER_OS: 'Linux',
  JAVA_HOME_17_X64: '/opt/jdk17',
  GOPATH: '/go',
  VIRTUAL_ENV: '/venv',
  pythonLocation: '/py',
  INPUT_TOKEN: 'ghs_x',
  'INPUT_TELEGRAM-BOT-TOKEN': '123:abc',
  'INPUT_WEBHOOK-SECRET': 'hook',
  'INPUT_TEST-COMMAND': 'npm test',
  ACTIONS_RUNTIME_TOKEN: 'rt',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'idt',
  ACTIONS_ID_TOKEN_REQUEST_URL: 'https://x',
  ACTIONS_CACHE_URL: 'https://cache',
  GITHUB_TOKEN: 'ghs_y',
  GITEA_TOKEN: 'gt',
  GITHUB_ENV: '/f/env',
  GITHUB_OUTPUT: '/f/out',
  GITHUB_PATH: '/f/path',
  GITHUB_STATE: '/f/state',
  GITHUB_STEP_SUMMARY: '/f/summary',
  GITEA_RUNNER_REGISTRATION_TOKEN: 'reg',
  GITHUB_APP_PRIVATE_KEY: 'pem',
  RUNNER_SESSION_ID: 's',
  SSH_AUTH_SOCK: '/agent',
  HTTPS_PROXY: 'http://user:pw@proxy:3128',
  AWS_SECRET_ACCESS_KEY: 'aws',
  NPM_CONFIG_USERCONFIG: '/npmrc',
  DB_PASSWORD: 'pw',
  MY_TOOL_FLAGS: '-v',
  UNDEFINED_ONE: undefined
};

describe('userCommandEnv', () => {
  it('passes the basics, the forge context and toolchain locations', () => {
    const env = userCommandEnv(RUNNER_ENV, []);
    expect(Object.keys(env).sort()).toEqual(
      [
        'CI',
        'GITEA_ACTIONS',
        'GITHUB_ACTIONS',
        'GITHUB_REF',
        'GITHUB_REPOSITORY',
        'GITHUB_RUN_ID',
        'GITHUB_SHA',
        'GITHUB_WORKSPACE',
        'GOPATH',
        'HOME',
        'JAVA_HOME_17_X64',
        'LANG',
        'LC_ALL',
        'PATH',
        'RUNNER_OS',
        'RUNNER_TEMP',
        'TMPDIR',
        'USER',
        'VIRTUAL_ENV',
        'pythonLocation'
      ].sort()
    );
    expect(env.GITHUB_SHA).toBe('f00d');
  });

  it('never passes inputs, runtime tokens, file-command paths or secret-looking names by pattern', () => {
    const dropped = droppedEnvNames(RUNNER_ENV, []);
    for (const name of [
      'INPUT_TOKEN',
      'INPUT_TELEGRAM-BOT-TOKEN',
      'INPUT_WEBHOOK-SECRET',
      'INPUT_TEST-COMMAND',
      'ACTIONS_RUNTIME_TOKEN',
      'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
      'ACTIONS_ID_TOKEN_REQUEST_URL',
      'ACTIONS_CACHE_URL',
      'GITHUB_TOKEN',
      'GITEA_TOKEN',
      'GITHUB_ENV',
      'GITHUB_OUTPUT',
      'GITHUB_PATH',
      'GITHUB_STATE',
      'GITHUB_STEP_SUMMARY',
      'GITEA_RUNNER_REGISTRATION_TOKEN',
      'GITHUB_APP_PRIVATE_KEY',
      'RUNNER_SESSION_ID',
      'SSH_AUTH_SOCK',
      'HTTPS_PROXY',
      'AWS_SECRET_ACCESS_KEY',
      'NPM_CONFIG_USERCONFIG',
      'DB_PASSWORD',
      'MY_TOOL_FLAGS'
    ])
      expect({ name, dropped: dropped.includes(name) }).toEqual({ name, dropped: true });
    expect(dropped).not.toContain('UNDEFINED_ONE');
  });

  it('secret words match case-insensitively anywhere in the name', () => {
    for (const name of [
      'GITHUB_my_token',
      'GITEA_Secret_X',
      'RUNNER_PASSWD',
      'LC_CREDENTIALS',
      'GITHUB_API_KEY',
      'GITHUB_OAUTH_URL',
      'RUNNER_COOKIE_JAR',
      'github_token',
      'input_token'
    ])
      expect({ name, allowed: userEnvAllows(name, []) }).toEqual({ name, allowed: false });
  });

  it('pass-env names pass even when secret-looking: exact names and PREFIX_* globs', () => {
    const env = userCommandEnv(RUNNER_ENV, ['DB_PASSWORD', 'MY_TOOL_*', 'HTTPS_PROXY']);
    expect(env).toMatchObject({
      DB_PASSWORD: 'pw',
      MY_TOOL_FLAGS: '-v',
      HTTPS_PROXY: 'http://user:pw@proxy:3128'
    });
    expect(userCommandEnv({ GITHUB_OUTPUT: '/o' }, ['GITHUB_OUTPUT'])).toEqual({
      GITHUB_OUTPUT: '/o'
    });
    expect(userCommandEnv({ ACTIONS_CACHE_URL: 'u' }, ['ACTIONS_*'])).toEqual({
      ACTIONS_CACHE_URL: 'u'
    });
  });

  it('inputs and the runner tokens never pass, whatever pass-env says', () => {
    const env = userCommandEnv(RUNNER_ENV, [
      'INPUT_*',
      'INPUT_TOKEN',
      'ACTIONS_*',
      'ACTIONS_RUNTIME_TOKEN',
      'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
      'GITHUB_*',
      'GITHUB_TOKEN',
      'GITEA_TOKEN',
      'G*'
    ]);
    for (const name of [
      'INPUT_TOKEN',
      'INPUT_TELEGRAM-BOT-TOKEN',
      'INPUT_WEBHOOK-SECRET',
      'ACTIONS_RUNTIME_TOKEN',
      'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
      'GITHUB_TOKEN',
      'GITEA_TOKEN'
    ])
      expect({ name, passed: name in env }).toEqual({ name, passed: false });
    expect(env.ACTIONS_CACHE_URL).toBe('https://cache'); // named by the user, not a never-pass name
    expect(userEnvAllows('Input_Token', ['Input_Token'])).toBe(false);
  });

  it('ignores pass-env entries that are not a name or PREFIX_*', () => {
    for (const p of ['*', '', 'A*B', '*_TOKEN', 'FOO BAR', 'FOO**', '1ABC'])
      expect({ p, valid: isPassEnvPattern(p) }).toEqual({ p, valid: false });
    for (const p of ['FOO', 'FOO_*', 'F*', '_X', 'lower_case'])
      expect({ p, valid: isPassEnvPattern(p) }).toEqual({ p, valid: true });
    expect(userCommandEnv({ DB_PASSWORD: 'pw', ANY: 'x' }, ['*', '*PASSWORD'])).toEqual({});
  });

  it('describes what was dropped by name only, on one line', () => {
    const line = describeUserEnv(RUNNER_ENV, ['MY_TOOL_*']);
    expect(line).toMatch(/^user command environment: 21 variable\(s\) passed, 23 dropped: /);
    expect(line).toContain('INPUT_TOKEN, ');
    expect(line).not.toContain('\n');
    for (const value of [
      'ghs_x',
      'ghs_y',
      '123:abc',
      'hook',
      'http://user',
      'pem',
      'aws',
      '/f/out'
    ])
      expect({ value, shown: line.includes(value) }).toEqual({ value, shown: false });
    expect(describeUserEnv({ PATH: '/bin' }, [])).toBe(
      'user command environment: 1 variable(s) passed, 0 dropped'
    );
  });
});
