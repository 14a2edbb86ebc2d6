// The gate's git credential against a real origin served over HTTP: `git
// http-backend` behind a node server on 127.0.0.1 that requires Basic auth
// with a forge token, as GitHub and Gitea do. A checkout persists its
// credential in the workspace as actions/checkout v4 (an extraheader in
// .git/config) and v6 (an includeIf naming a git-credentials-<uuid>.config
// file) do. GitCredential.setup() takes it out of the workspace; the code
// under test (a plain `sh -c`) then cannot find it or push with it, while
// the gate's own pushes still authenticate. Config the code under test
// plants (insteadOf, pushurl, hooks, fsmonitor, credential helpers, a
// header of its own) neither redirects the gate's push nor runs anything,
// and guardGitConfig() puts .git back byte for byte.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { guardGitConfig } from '../../packages/git/src/config-guard.ts';
import { GitCredential, tokenHeader } from '../../packages/git/src/credentials.ts';
import { Git, GitError } from '../../packages/git/src/git.ts';
import { GitRefBackend } from '../../packages/store/src/backends/git-ref.ts';
import { setBaseline } from '../../packages/store/src/baseline.ts';
import { GIT_ENV, git } from '../helpers/git-repo.ts';
import { closeServer, listenLocal } from '../helpers/local-http.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const CHECKOUT_TOKEN = 'ghs_checkoutTOKEN0123456789abcdefABCDEF';
const INPUT_TOKEN = 'ghp_inputTOKEN9876543210zyxwvuZYXWVU';
const b64 = (token: string) => Buffer.from(`x-access-token:${token}`).toString('base64');

interface Request {
  method: string;
  path: string;
  /** The token the request authenticated with, '' without (valid or not). */
  token: string;
}

/** A smart-HTTP git server over `root` that takes only the given tokens. */
class GitHttpServer {
  readonly root = tempDir('qg-http-git-');
  readonly requests: Request[] = [];
  /** Holds each receive-pack POST this long before answering (for the /proc scan). */
  pushDelayMs = 0;
  private server?: Server;
  private port = 0;

  private readonly tokens: readonly string[];

  constructor(tokens: readonly string[]) {
    this.tokens = tokens;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.port = await listenLocal(this.server);
  }

  stop(): Promise<void> {
    return this.server ? closeServer(this.server) : Promise.resolve();
  }

  url(repo: string): string {
    return `http://127.0.0.1:${this.port}/${repo}`;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** A bare repository that accepts pushes, with `main` holding one commit. */
  bare(name: string): string {
    const dir = join(this.root, name);
    git(this.root, 'init', '-q', '--bare', '-b', 'main', dir);
    git(dir, 'config', 'http.receivepack', 'true');
    const seed = tempDir('qg-seed-');
    git(seed, 'init', '-q', '-b', 'main');
    writeFileSync(join(seed, 'README.md'), '# app\n');
    git(seed, 'add', 'README.md');
    git(seed, 'commit', '-q', '-m', 'initial');
    git(seed, 'push', '-q', dir, 'main');
    return dir;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const decoded = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
    const token = decoded.startsWith('x-access-token:') ? decoded.slice(15) : '';
    this.requests.push({ method: req.method ?? '', path: url.pathname, token });
    if (!this.tokens.includes(token)) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' });
      res.end('authentication required\n');
      return;
    }
    if (this.pushDelayMs > 0 && req.method === 'POST' && url.pathname.endsWith('receive-pack'))
      await new Promise((r) => setTimeout(r, this.pushDelayMs));
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_PROJECT_ROOT: this.root,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
        HTTP_GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_USER: 'x-access-token',
        REMOTE_ADDR: '127.0.0.1'
      }
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let started = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (started) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
      started = true;
    });
    cgi.on('close', () => res.end());
  }
}

let server: GitHttpServer;
beforeEach(async () => {
  server = new GitHttpServer([CHECKOUT_TOKEN, INPUT_TOKEN]);
  await server.start();
  server.bare('origin.git');
  server.bare('evil.git');
});
afterEach(() => server.stop());

/** The environment of the job: the runner's, with a global config of its own the user can write. */
function jobEnv(runnerTemp: string): NodeJS.ProcessEnv {
  const globalConfig = join(runnerTemp, 'home.gitconfig');
  if (!existsSync(globalConfig)) writeFileSync(globalConfig, '');
  return { ...process.env, ...GIT_ENV, GIT_CONFIG_GLOBAL: globalConfig, RUNNER_TEMP: runnerTemp };
}

interface Checkout {
  work: string;
  runnerTemp: string;
  env: NodeJS.ProcessEnv;
  /** v6: the credentials file the include names. */
  credentialsFile?: string;
}

/**
 * Runs a command to its end without blocking the event loop (the server
 * answering it lives in this process).
 */
function run(
  command: string,
  args: readonly string[],
  opts: { cwd?: string; env: NodeJS.ProcessEnv }
): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe']
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** A clone of origin.git with its credential persisted the way actions/checkout v4 or v6 does. */
async function checkout(style: 'v4' | 'v6'): Promise<Checkout> {
  const runnerTemp = tempDir('qg-runner-temp-');
  const env = jobEnv(runnerTemp);
  const work = join(tempDir('qg-ws-'), 'work');
  const key = `http.${server.origin}.extraheader`;
  const header = tokenHeader(CHECKOUT_TOKEN);
  const cloned = await run('git', ['clone', '-q', server.url('origin.git'), work], {
    env: { ...env, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: key, GIT_CONFIG_VALUE_0: header }
  });
  expect(cloned).toEqual({ status: 0, output: '' });
  if (style === 'v4') {
    // checkout writes a placeholder, then replaces it in the file: no token in argv.
    git(work, 'config', '--local', key, 'AUTHORIZATION: basic ***');
    const config = join(work, '.git', 'config');
    writeFileSync(config, readFileSync(config, 'utf8').replace('AUTHORIZATION: basic ***', header));
    return { work, runnerTemp, env };
  }
  const credentialsFile = join(runnerTemp, `git-credentials-${randomUUID()}.config`);
  writeFileSync(credentialsFile, `[http "${server.origin}"]\n\textraheader = ${header}\n`);
  const gitDir = join(work, '.git');
  for (const k of [
    `includeIf.gitdir:${gitDir}.path`,
    `includeIf.gitdir:${gitDir}/worktrees/*.path`
  ])
    git(work, 'config', '--local', k, credentialsFile);
  git(
    work,
    'config',
    '--local',
    'includeIf.gitdir:/github/workspace/.git.path',
    `/github/runner_temp/${credentialsFile.split('/').pop()}`
  );
  return { work, runnerTemp, env, credentialsFile };
}

/** The code under test: a shell command in the workspace, with the job's environment. */
function userCommand(
  c: Checkout,
  script: string
): Promise<{ status: number | null; output: string }> {
  return run('sh', ['-c', script], { cwd: c.work, env: c.env });
}

/** The pushes the server answered (receive-pack POSTs), oldest first. */
function receivePacks(): Request[] {
  return server.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/git-receive-pack'));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

function secretsIn(text: string): string[] {
  return [CHECKOUT_TOKEN, b64(CHECKOUT_TOKEN), INPUT_TOKEN, b64(INPUT_TOKEN)].filter((s) =>
    text.includes(s)
  );
}

function remoteRef(repo: string, ref: string): string | undefined {
  try {
    return git(join(server.root, repo), 'rev-parse', '--verify', '--quiet', ref).trim();
  } catch {
    return undefined;
  }
}

function stateBackend(c: Checkout, credential: GitCredential): GitRefBackend {
  return new GitRefBackend({ repoDir: c.work, remote: 'origin', credential, env: c.env });
}

/**
 * A checkout (v4 unless said) and the gate's credential set up from it:
 * from what the checkout persisted, or, with `serverUrl`, from the token
 * input scoped to that server.
 */
async function gateCheckout(
  opts: { style?: 'v4' | 'v6'; serverUrl?: string } = {}
): Promise<{ c: Checkout; credential: GitCredential }> {
  const c = await checkout(opts.style ?? 'v4');
  const credential = await GitCredential.setup({
    workspace: c.work,
    env: c.env,
    ...(opts.serverUrl === undefined ? {} : { token: INPUT_TOKEN, serverUrl: opts.serverUrl })
  });
  return { c, credential };
}

/** The gate's own git in the checkout, and the commit HEAD names. */
function gateGit(c: Checkout, credential: GitCredential): { gate: Git; head: string } {
  const gate = new Git(c.work, { credential, env: c.env, protectedBranches: ['main'] });
  return { gate, head: git(c.work, 'rev-parse', 'HEAD').trim() };
}

/** No marker file exists: nothing the code under test planted ran. */
function expectNothingRan(markers: readonly string[]): void {
  for (const m of markers)
    expect({ marker: m, exists: existsSync(m) }).toEqual({ marker: m, exists: false });
}

async function writeState(b: GitRefBackend, percent: number): Promise<void> {
  await b.withDb('write', (db) =>
    setBaseline(
      db,
      {
        repo: 'acme/app',
        branch: 'main',
        percent,
        sha: 'a'.repeat(40),
        actor: 'gate',
        reason: 'test'
      },
      new Date()
    )
  );
}

describe.each(['v4', 'v6'] as const)('a checkout that persisted its credential (%s)', (style) => {
  it('before the setup, the code under test can read it and push with it (the defect)', async () => {
    const c = await checkout(style);
    const r = await userCommand(c, 'git push -q origin HEAD:refs/quality-gates/state');
    expect(r.status).toBe(0);
    expect(remoteRef('origin.git', 'refs/quality-gates/state')).toBeDefined();
  });

  it('after the setup the code under test finds no credential and cannot push; the gate still can', async () => {
    const { c, credential } = await gateCheckout({ style });
    expect(credential.source).toBe('persisted');
    expect(credential.remotes.get('origin')).toEqual({
      fetch: server.url('origin.git'),
      push: server.url('origin.git')
    });

    // Nowhere under .git, nor in the config git shows, nor in RUNNER_TEMP.
    for (const f of [...filesUnder(join(c.work, '.git')), ...filesUnder(c.runnerTemp)])
      expect({ file: f, found: secretsIn(readFileSync(f, 'latin1')) }).toEqual({
        file: f,
        found: []
      });
    if (c.credentialsFile) expect(existsSync(c.credentialsFile)).toBe(false);
    const listed = await userCommand(
      c,
      'git config --show-origin --get-regexp "extraheader|include"'
    );
    expect(listed).toEqual({ status: 1, output: '' });
    expect(secretsIn((await userCommand(c, 'git config --list --show-origin')).output)).toEqual([]);

    const stolen = await userCommand(c, 'git push -q origin HEAD:refs/quality-gates/state');
    expect(stolen.status).not.toBe(0);
    expect(remoteRef('origin.git', 'refs/quality-gates/state')).toBeUndefined();

    // The gate's own push authenticates, with the header it captured.
    await writeState(stateBackend(c, credential), 80);
    expect(remoteRef('origin.git', 'refs/quality-gates/state')).toBeDefined();
    const pushes = receivePacks();
    expect(pushes.at(-1)).toMatchObject({ token: CHECKOUT_TOKEN });
  });
});

describe('the token input', () => {
  it('is what the gate pushes with, scoped to the server URL, whatever the checkout persisted', async () => {
    const { c, credential } = await gateCheckout({ serverUrl: server.origin.replace(/\/$/, '') });
    expect(credential.source).toBe('token');
    expect(credential.removed).toEqual([`.git/config http.${server.origin}.extraheader`]);
    await writeState(stateBackend(c, credential), 81);
    const pushes = receivePacks();
    expect(pushes.map((p) => p.token)).toEqual([INPUT_TOKEN]);
  });

  it('is not sent to a host other than the server URL', async () => {
    const { c, credential } = await gateCheckout({ serverUrl: 'https://forge.example.invalid' });
    expect(credential.authorizes(server.url('origin.git'))).toBe(false);
    const from = server.requests.length;
    await expect(writeState(stateBackend(c, credential), 82)).rejects.toThrow(
      /git fetch failed: .*could not read Username/
    );
    expect(server.requests.length).toBeGreaterThan(from);
    expect(server.requests.slice(from).every((r) => r.token === '')).toBe(true);
  });

  it('a password embedded in the remote URL is taken out too and never shown', async () => {
    const c = await checkout('v4');
    const withPassword = server
      .url('origin.git')
      .replace('//', `//x-access-token:${CHECKOUT_TOKEN}@`);
    git(c.work, 'config', '--local', 'remote.origin.url', withPassword);
    git(c.work, 'config', '--local', '--unset-all', `http.${server.origin}.extraheader`);
    const credential = await GitCredential.setup({ workspace: c.work, env: c.env });
    expect(credential.remotes.get('origin')?.push).toBe(
      server.url('origin.git').replace('//', '//x-access-token@')
    );
    expect(secretsIn(readFileSync(join(c.work, '.git', 'config'), 'utf8'))).toEqual([]);
    await writeState(stateBackend(c, credential), 83);
    expect(receivePacks().at(-1)?.token).toBe(CHECKOUT_TOKEN);
  });
});

describe('a repository without a local config file', () => {
  it('is set up like one with an empty config (nothing to take out)', async () => {
    const dir = tempDir();
    git(dir, 'init', '-q');
    rmSync(join(dir, '.git', 'config'));
    const credential = await GitCredential.setup({
      workspace: dir,
      env: { ...process.env, ...GIT_ENV }
    });
    expect(credential.removed).toEqual([]);
  });
});

describe('config the code under test plants', () => {
  /** Plants everything; returns the marker files that prove something ran. */
  async function plant(c: Checkout, opts: { redirect: boolean }): Promise<string[]> {
    const markers = ['hook', 'fsmonitor', 'helper', 'hookspath', 'askpass'].map((m) =>
      join(c.runnerTemp, `ran-${m}`)
    );
    const [hook, fsmonitor, helper, hooksPath, askpass] = markers;
    const script = (marker: string) => `#!/bin/sh\nenv > '${marker}'\nexit 0\n`;
    const hooks = join(c.work, '.git', 'hooks');
    for (const h of ['pre-push', 'reference-transaction', 'post-checkout']) {
      writeFileSync(join(hooks, h), script(hook));
      chmodSync(join(hooks, h), 0o755);
    }
    const mine = join(c.work, '.git', 'myhooks');
    mkdirSync(mine);
    for (const h of ['pre-push', 'reference-transaction']) {
      writeFileSync(join(mine, h), script(hooksPath));
      chmodSync(join(mine, h), 0o755);
    }
    for (const [name, marker] of [
      ['fsmonitor.sh', fsmonitor],
      ['helper.sh', helper],
      ['askpass.sh', askpass]
    ]) {
      writeFileSync(join(c.runnerTemp, name), script(marker));
      chmodSync(join(c.runnerTemp, name), 0o755);
    }
    const evil = server.url('evil.git');
    const pinned = server.url('origin.git');
    const lines = [
      `git config core.hooksPath .git/myhooks`,
      `git config core.fsmonitor '${c.runnerTemp}/fsmonitor.sh'`,
      `git config credential.helper '${c.runnerTemp}/helper.sh'`,
      `git config core.askPass '${c.runnerTemp}/askpass.sh'`,
      `git config remote.origin.pushurl '${evil}'`,
      // A header of its own, more specific than the host: the gate's must win.
      `git config 'http.${pinned}.extraheader' 'AUTHORIZATION: basic Ym9ndXM6Ym9ndXM='`,
      `git config --global credential.helper '${c.runnerTemp}/helper.sh'`,
      `git config --global core.fsmonitor '${c.runnerTemp}/fsmonitor.sh'`
    ];
    if (opts.redirect) lines.push(`git config 'url.${evil}.insteadOf' '${pinned}'`);
    const r = await userCommand(c, lines.join(' && '));
    expect(r).toMatchObject({ status: 0 });
    return markers;
  }

  it('guardGitConfig reports the change and restores the exact bytes; the gate then pushes to the real origin and runs nothing', async () => {
    const { c, credential } = await gateCheckout();
    const configPath = join(c.work, '.git', 'config');
    const before = readFileSync(configPath);
    const hooksBefore = readdirSync(join(c.work, '.git', 'hooks')).sort();
    const guard = await guardGitConfig(c.work);

    const markers = await plant(c, { redirect: true });
    expect(readFileSync(configPath).equals(before)).toBe(false);

    const restored = await guard.restore();
    expect(restored.changed).toBe(true);
    expect(restored.changes).toEqual(
      expect.arrayContaining(['.git/config', '.git/hooks/pre-push', '.git/hooks/post-checkout'])
    );
    expect(readFileSync(configPath).equals(before)).toBe(true);
    expect(statSync(configPath).mode & 0o777).toBe(0o644 & ~process.umask());
    expect(readdirSync(join(c.work, '.git', 'hooks')).sort()).toEqual(hooksBefore);
    expect(await guard.restore()).toEqual({ changed: false, changes: [] });

    await writeState(stateBackend(c, credential), 84);
    expect(remoteRef('origin.git', 'refs/quality-gates/state')).toBeDefined();
    expect(remoteRef('evil.git', 'refs/quality-gates/state')).toBeUndefined();
    expectNothingRan(markers);
  });

  it('without the restore, hooks, fsmonitor, helpers, pushurl and a planted header change nothing either', async () => {
    const { c, credential } = await gateCheckout({ style: 'v6' });
    const markers = await plant(c, { redirect: false });

    await writeState(stateBackend(c, credential), 85);
    expect(remoteRef('origin.git', 'refs/quality-gates/state')).toBeDefined();
    expect(remoteRef('evil.git', 'refs/quality-gates/state')).toBeUndefined();
    expect(server.requests.filter((r) => r.path.startsWith('/evil.git'))).toEqual([]);
    expect(receivePacks().at(-1)?.token).toBe(CHECKOUT_TOKEN);
    expectNothingRan(markers);

    // The branch push and the deletion go to the pinned URL too.
    const { gate, head } = gateGit(c, credential);
    await gate.push('origin', 'task/one', { sha: head });
    expect(remoteRef('origin.git', 'refs/heads/task/one')).toBe(head);
    expect(await gate.deleteRemoteBranch('origin', 'task/one')).toEqual({
      outcome: 'deleted',
      sha: head
    });
    expect(server.requests.filter((r) => r.path.startsWith('/evil.git'))).toEqual([]);
    expectNothingRan(markers);
  });

  it.each([
    [
      'url.<evil>.insteadOf in .git/config',
      (evil: string, pinned: string) => `git config 'url.${evil}.insteadOf' '${pinned}'`
    ],
    [
      'url.<evil>.pushInsteadOf in the global config',
      (evil: string, pinned: string) =>
        `git config --global 'url.${evil}.pushInsteadOf' '${pinned}'`
    ],
    [
      'a remote section named after the pinned URL',
      (evil: string, pinned: string) => `git config 'remote.${pinned}.pushurl' '${evil}'`
    ]
  ])(
    'a redirection (%s) is refused, never followed, and the refusal carries no secret',
    async (_, cmd) => {
      const { c, credential } = await gateCheckout({ serverUrl: server.origin });
      expect(
        (await userCommand(c, cmd(server.url('evil.git'), server.url('origin.git')))).status
      ).toBe(0);
      const err = await writeState(stateBackend(c, credential), 86).then(
        () => undefined,
        (e: Error) => e
      );
      expect(err?.message).toMatch(/refused: git config now (rewrites|defines)/);
      expect(secretsIn(String(err?.message) + String(err?.stack))).toEqual([]);
      expect(server.requests.filter((r) => r.path.startsWith('/evil.git'))).toEqual([]);
      expect(remoteRef('origin.git', 'refs/quality-gates/state')).toBeUndefined();
    }
  );
});

describe('the credential never reaches argv or an error', () => {
  it('no process shows the token in /proc/<pid>/cmdline while the gate pushes', async () => {
    const { c, credential } = await gateCheckout({ serverUrl: server.origin });
    server.pushDelayMs = 1500;
    const seen = new Set<string>();
    const leaks: string[] = [];
    let scanning = true;
    const scan = (async () => {
      while (scanning) {
        for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
          let cmdline: string;
          try {
            cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
          } catch {
            continue;
          }
          if (/\bgit\b.*\b(push|send-pack|remote-http)\b/.test(cmdline)) seen.add(cmdline);
          if (secretsIn(cmdline).length > 0) leaks.push(cmdline);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await writeState(stateBackend(c, credential), 87);
    } finally {
      scanning = false;
      await scan;
    }
    expect(leaks).toEqual([]);
    // The scan did see the push in flight (and its URL, without any credential).
    expect([...seen].some((l) => l.includes(server.url('origin.git')))).toBe(true);
    expect(receivePacks().at(-1)?.token).toBe(INPUT_TOKEN);
  });

  it('failed pushes and fetches throw errors without the token; args never carry it', async () => {
    const { c, credential } = await gateCheckout({ serverUrl: server.origin });
    await server.stop();
    const { gate, head } = gateGit(c, credential);
    const errors: unknown[] = [];
    await gate.pushRef('origin', head, 'refs/quality-gates/state').catch((e) => errors.push(e));
    await gate.push('origin', 'task/x', { sha: head }).catch((e) => errors.push(e));
    await gate.deleteRemoteBranch('origin', 'task/x').catch((e) => errors.push(e));
    await writeState(stateBackend(c, credential), 88).catch((e) => errors.push(e));
    expect(errors).toHaveLength(4);
    for (const e of errors) {
      const err = e as GitError;
      const text = `${err.message}\n${err.stack}\n${JSON.stringify(err.args ?? [])}\n${JSON.stringify(err.result ?? {})}`;
      expect(secretsIn(text)).toEqual([]);
    }
    expect((errors[0] as GitError).args).toContain(server.url('origin.git'));
    // What git was given to run: the token only in the environment's config entries.
    const env = gate.processEnv;
    expect(Object.entries(env).filter(([, v]) => secretsIn(String(v)).length > 0)).toEqual([
      [expect.stringMatching(/^GIT_CONFIG_VALUE_\d+$/), tokenHeader(INPUT_TOKEN)]
    ]);
    expect(credential.mask(`x ${tokenHeader(INPUT_TOKEN)} ${INPUT_TOKEN} y`)).toBe('x *** *** y');
  });
});
