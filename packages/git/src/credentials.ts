// The gate's git credential, out of the workspace. actions/checkout persists
// its token in the workspace's git config (v4: `http.<server>/.extraheader`
// in .git/config; v6: an includeIf.gitdir:<.git>.path entry naming a
// git-credentials-<uuid>.config file under RUNNER_TEMP), where any command
// run in the workspace, the code under test included, can read it and push
// with it. GitCredential.setup(), called before any user command runs:
//
//   1. takes every persisted extraheader out of the workspace's local config
//      (and the includes that carry one, deleting checkout's credentials
//      file), and any password embedded in a remote URL;
//   2. pins each remote's fetch and push URL as git resolves them now, so a
//      url.<x>.insteadOf, pushInsteadOf or pushurl planted later cannot
//      redirect the gate's own fetches and pushes;
//   3. keeps the credential in memory only: the `token` input when given
//      (`AUTHORIZATION: basic base64("x-access-token:" + token)`, which
//      GitHub and Gitea both accept), else the captured header.
//
// env() hands the credential to the gate's own git processes only, through
// GIT_CONFIG_COUNT entries keyed on the exact pinned URL (the most specific
// http.<url>.* match there is, so a planted, more general or equally
// specific header, proxy or resolve entry cannot displace it), together with
// the hardening of git-env.ts. Never in argv, never printed: mask() hides it
// in any text that may carry it.

import { lstatSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, isAbsolute, resolve } from 'node:path';
import { runCommand, type RunResult } from '../../proc/src/run.ts';
import { hardenedGitEnv, type GitConfigPair } from './git-env.ts';

/** The file name actions/checkout (v6+) gives its persisted credentials. */
export const CHECKOUT_CREDENTIALS_FILE = /^git-credentials-[0-9a-f-]+\.config$/i;

export type RemoteDirection = 'fetch' | 'push';

/** A remote's URLs as git resolved them when the gate pinned them. */
export interface RemotePin {
  readonly fetch: string;
  readonly push: string;
}

export interface GitCredentialOptions {
  /** The checkout (its .git is read and cleaned). */
  workspace: string;
  /** The `token` input; empty or absent: use the checkout's persisted header, if any. */
  token?: string;
  /** The forge the token belongs to (GITHUB_SERVER_URL); the token is sent to URLs under it only. */
  serverUrl?: string;
  /** Base environment of the setup's own git processes. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Per git command. Default 30 s. */
  timeoutMs?: number;
}

export type CredentialSource = 'token' | 'persisted' | 'none';

interface Header {
  /** URL prefix (scheme://host[:port]/path) the header may be sent to. */
  scope: string;
  /** `AUTHORIZATION: basic ...` */
  value: string;
}

/** http.* settings read for a pinned URL at setup, before any user command. */
type HttpSettings = Partial<Record<'sslverify' | 'sslcainfo' | 'sslcapath' | 'proxy', string>>;

/** http.extraheader and http.<url>.extraheader; group 1 is the URL. */
const HEADER_KEY = /^http\.(?:(.+)\.)?extraheader$/;
/** The same for `git config --get-regexp` (POSIX ERE: no non-capturing groups). */
const HEADER_KEY_ERE = '^http\\.(.+\\.)?extraheader$';

export class GitCredential {
  readonly source: CredentialSource;
  /** Remote name -> URLs pinned at setup. */
  readonly remotes: ReadonlyMap<string, RemotePin>;
  /** What setup took out of the workspace (config keys and files, never values). */
  readonly removed: readonly string[];
  /** Things the gate should report (never carrying a secret). */
  readonly warnings: readonly string[];
  private readonly headers: readonly Header[];
  private readonly http: ReadonlyMap<string, HttpSettings>;
  private readonly secretValues: readonly string[];

  private constructor(init: {
    source: CredentialSource;
    remotes: Map<string, RemotePin>;
    removed: string[];
    warnings: string[];
    headers: Header[];
    http: Map<string, HttpSettings>;
    secrets: string[];
  }) {
    this.source = init.source;
    this.remotes = init.remotes;
    this.removed = init.removed;
    this.warnings = init.warnings;
    // Most specific scope first: the one header a URL gets is the closest.
    this.headers = [...init.headers].sort((a, b) => b.scope.length - a.scope.length);
    this.http = init.http;
    this.secretValues = [...new Set(init.secrets.filter((s) => s.length >= 4))].sort(
      (a, b) => b.length - a.length
    );
  }

  /**
   * Reads and cleans the workspace's git config; call it before any user
   * command runs in the workspace (and before guardGitConfig(), whose
   * snapshot must not hold the credential). Outside a git repository only
   * the token is kept.
   */
  static async setup(opts: GitCredentialOptions): Promise<GitCredential> {
    const env = hardenedGitEnv(opts.env ?? process.env);
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const git = (args: readonly string[]): Promise<RunResult> =>
      runCommand('git', args, { cwd: opts.workspace, env, timeoutMs });
    const token = (opts.token ?? '').trim();
    const removed: string[] = [];
    const warnings: string[] = [];
    const secrets: string[] = [];
    const captured: Header[] = [];
    const remotes = new Map<string, RemotePin>();
    const http = new Map<string, HttpSettings>();

    const commonDir = await git(['rev-parse', '--git-common-dir']);
    const inRepo = commonDir.exitCode === 0 && commonDir.stdout.trim() !== '';
    if (inRepo) {
      // Where the local config file lives (relative to the workspace unless absolute).
      const configDir = resolve(opts.workspace, commonDir.stdout.trim());

      // The local config, read once (one git process instead of one per question).
      // (No config file at all reads as empty, as `--get-regexp` reads it.)
      const local = existsAsFile(resolve(configDir, 'config'))
        ? await listConfig(git, ['--local'])
        : [];
      const matching = (re: RegExp): [string, string][] => local.filter(([k]) => re.test(k));

      // 1. Persisted headers in the local config file itself (checkout v4).
      const headers = matching(HEADER_KEY);
      for (const [key, value] of headers) {
        if (value) captured.push({ scope: HEADER_KEY.exec(key)?.[1] ?? '', value });
      }
      for (const key of new Set(headers.map(([k]) => k))) {
        await mustSucceed(git(['config', '--local', '--unset-all', key]), `unset ${key}`);
        removed.push(`.git/config ${key}`);
      }

      // 2. Includes that carry one (checkout v6: includeIf.gitdir:<dir>.path).
      const includes = matching(/^include(?:if\..+)?\.path$/);
      for (const [key, value] of includes) {
        const path = includePath(value, configDir);
        const fromFile = existsAsFile(path)
          ? await getRegexp(git, ['--file', path], HEADER_KEY_ERE)
          : [];
        for (const [k, v] of fromFile)
          if (v) captured.push({ scope: HEADER_KEY.exec(k)?.[1] ?? '', value: v });
        const checkoutFile = CHECKOUT_CREDENTIALS_FILE.test(basename(path));
        if (fromFile.length === 0 && !checkoutFile) continue;
        // The value is a path, not a secret; matched exactly (no --fixed-value before git 2.30).
        await mustSucceed(
          git(['config', '--local', '--unset-all', key, `^${escapeEre(value)}$`]),
          `unset ${key}`
        );
        removed.push(`.git/config ${key}`);
        if (checkoutFile && existsAsFile(path)) {
          rmSync(path, { force: true });
          removed.push(path);
        } else if (fromFile.length > 0) {
          warnings.push(
            `${path} (included by .git/config) holds a git credential and was left in place: the include was removed, the file is not actions/checkout's`
          );
        }
      }

      // 3. Passwords embedded in remote URLs, then the URLs themselves, pinned.
      const urls = matching(/^remote\..+\.(?:url|pushurl)$/);
      const names = new Set(urls.map(([k]) => k.replace(/^remote\./, '').replace(/\.[^.]+$/, '')));
      for (const [key, value] of urls) {
        const stripped = stripPassword(value);
        if (!stripped) continue;
        secrets.push(stripped.password);
        captured.push({
          scope: stripped.url,
          value: basicHeader(`${stripped.user}:${stripped.password}`)
        });
        if (urls.filter(([k]) => k === key).length === 1) {
          await mustSucceed(
            git(['config', '--local', '--replace-all', key, stripped.url]),
            `rewrite ${key}`
          );
          removed.push(`.git/config ${key} (password)`);
        } else {
          warnings.push(`${key} has several values, one with an embedded password; left in place`);
        }
      }
      for (const name of names) {
        const fetch = await git(['ls-remote', '--get-url', name]);
        const push = await git(['remote', 'get-url', '--push', name]);
        if (fetch.exitCode !== 0 || push.exitCode !== 0) continue;
        const pushUrls = push.stdout.split('\n').filter(Boolean);
        if (pushUrls.length > 1)
          warnings.push(
            `remote ${name} has ${pushUrls.length} push URLs; the gate pushes to the first`
          );
        remotes.set(name, { fetch: fetch.stdout.trim(), push: pushUrls[0] ?? fetch.stdout.trim() });
      }
      for (const pin of remotes.values())
        for (const url of [pin.fetch, pin.push])
          if (isHttpUrl(url) && !http.has(url)) http.set(url, await httpSettings(git, url));
    }

    // Which header goes where.
    let headers: Header[];
    let source: CredentialSource;
    if (token !== '') {
      const scope = tokenScope(opts.serverUrl, remotes);
      const value = basicHeader(`x-access-token:${token}`);
      secrets.push(token, value, value.slice('AUTHORIZATION: basic '.length));
      headers = scope ? [{ scope, value }] : [];
      source = 'token';
      // Only worth saying where git would go over http(s): a local or ssh remote needs no token.
      if (!scope && httpOrigins(remotes).length > 0)
        warnings.push(
          'the token has no https remote or server URL to be sent to; the gate pushes without it'
        );
    } else {
      headers = [];
      for (const h of captured) {
        for (const scope of h.scope ? [h.scope] : httpOrigins(remotes))
          headers.push({ scope, value: h.value });
      }
      source = headers.length > 0 ? 'persisted' : 'none';
    }
    for (const h of captured) secrets.push(...headerSecrets(h.value));
    for (const settings of http.values()) {
      const p = settings.proxy ? stripPassword(settings.proxy) : undefined;
      if (p) secrets.push(p.password);
    }
    return new GitCredential({ source, remotes, removed, warnings, headers, http, secrets });
  }

  /**
   * The pinned URL to use for `remote`: a pinned remote's fetch or push URL;
   * a URL or path is taken as given. A remote name that was not pinned is
   * refused: its URL would come from config the code under test may have
   * written.
   */
  urlFor(remote: string, direction: RemoteDirection = 'fetch'): string {
    const pin = this.remotes.get(remote);
    if (pin) return pin[direction];
    if (!isRemoteName(remote)) return remote;
    throw new Error(
      `refused: remote ${JSON.stringify(remote)} was not configured when the gate pinned the remotes; pass its URL`
    );
  }

  /**
   * `base` for one of the gate's git processes: the hardening entries, then
   * for every pinned http(s) URL (and `extraUrls`): the header reset and this
   * credential's header where its scope covers the URL, the resolve list
   * reset, and the TLS and proxy settings read at setup; only the transports
   * the pinned URLs use are allowed.
   */
  env(base: NodeJS.ProcessEnv, extraUrls: readonly string[] = []): NodeJS.ProcessEnv {
    return hardenedGitEnv(base, this.configFor(extraUrls, base));
  }

  /** The GIT_CONFIG_COUNT entries env() adds after the hardening (exposed for tests). */
  configFor(extraUrls: readonly string[] = [], base: NodeJS.ProcessEnv = {}): GitConfigPair[] {
    const urls = [
      ...new Set([...[...this.remotes.values()].flatMap((p) => [p.fetch, p.push]), ...extraUrls])
    ];
    if (urls.length === 0) return [];
    const pairs: GitConfigPair[] = [];
    const allowed = new Set(urls.map(transportOf));
    for (const p of ['ext', 'file', 'git', 'ssh', 'http', 'https'])
      if (!allowed.has(p)) pairs.push([`protocol.${p}.allow`, 'never']);
    pairs.push(['protocol.allow', 'never']);
    for (const p of allowed) pairs.push([`protocol.${p}.allow`, 'always']);
    for (const url of urls) {
      if (!isHttpUrl(url)) continue;
      const k = (name: string) => `http.${url}.${name}`;
      const set = this.http.get(url) ?? {};
      pairs.push([k('extraheader'), '']);
      const header = this.headers.find((h) => covers(h.scope, url));
      if (header) pairs.push([k('extraheader'), header.value]);
      pairs.push([k('curloptResolve'), '']);
      pairs.push([k('sslVerify'), set.sslverify ?? 'true']);
      pairs.push([k('proxy'), set.proxy ?? envProxy(url, base) ?? '']);
      if (set.sslcainfo !== undefined) pairs.push([k('sslCAInfo'), set.sslcainfo]);
      if (set.sslcapath !== undefined) pairs.push([k('sslCAPath'), set.sslcapath]);
    }
    return pairs;
  }

  /** Does a header go to `url`? (Which one is never exposed.) */
  authorizes(url: string): boolean {
    return isHttpUrl(url) && this.headers.some((h) => covers(h.scope, url));
  }

  /** `text` with the token, its header and anything derived from them replaced by ***. */
  mask(text: string): string {
    let out = text;
    for (const s of this.secretValues) out = out.split(s).join('***');
    return out;
  }

  /** Values a log must never show (for the runner's add-mask / core.setSecret). */
  get secrets(): readonly string[] {
    return this.secretValues;
  }

  /** One line for a log: where the credential came from and what was removed. */
  describe(): string {
    const from =
      this.source === 'token'
        ? 'the token input'
        : this.source === 'persisted'
          ? "the checkout's persisted credential"
          : 'none';
    const removed =
      this.removed.length > 0 ? `; removed from the workspace: ${this.removed.join(', ')}` : '';
    return `git credential: ${from}; pinned remotes: ${[...this.remotes.keys()].join(', ') || 'none'}${removed}`;
  }
}

/** `AUTHORIZATION: basic base64(userPass)`, the header actions/checkout writes. */
export function basicHeader(userPass: string): string {
  return `AUTHORIZATION: basic ${Buffer.from(userPass, 'utf8').toString('base64')}`;
}

/** The header for a forge token (GitHub and Gitea both take x-access-token). */
export function tokenHeader(token: string): string {
  return basicHeader(`x-access-token:${token}`);
}

/** The value, its base64 part and what that decodes to (user:password and the password). */
function headerSecrets(value: string): string[] {
  const m = /^\s*authorization:\s*basic\s+(\S+)\s*$/i.exec(value);
  if (!m) return [value];
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return [value, m[1], decoded, ...(colon >= 0 ? [decoded.slice(colon + 1)] : [])];
}

/** `git config <where> --null --list` as [key, value] pairs (keys as git prints them: section and name lower-cased). */
async function listConfig(
  git: (args: readonly string[]) => Promise<RunResult>,
  where: readonly string[]
): Promise<[string, string][]> {
  const r = await mustSucceed(git(['config', ...where, '--null', '--list']), 'read git config');
  return configPairs(r.stdout);
}

/** [key, value] pairs of `git config --null` output (key, newline, value, NUL). */
function configPairs(out: string): [string, string][] {
  return out
    .split('\0')
    .filter(Boolean)
    .map((rec) => {
      const nl = rec.indexOf('\n');
      return nl < 0 ? [rec, ''] : [rec.slice(0, nl), rec.slice(nl + 1)];
    });
}

/** `git config <where> --null --get-regexp <re>` as [key, value] pairs; [] when nothing matches. */
async function getRegexp(
  git: (args: readonly string[]) => Promise<RunResult>,
  where: readonly string[],
  re: string
): Promise<[string, string][]> {
  const r = await git(['config', ...where, '--null', '--get-regexp', re]);
  if (r.exitCode === 1) return [];
  await mustSucceed(Promise.resolve(r), `read git config (${re})`);
  return configPairs(r.stdout);
}

async function mustSucceed(p: Promise<RunResult>, what: string): Promise<RunResult> {
  const r = await p;
  if (r.exitCode !== 0) {
    const line = r.spawnError ?? r.stderr.split('\n').find((l) => l.trim()) ?? `exit ${r.exitCode}`;
    // git's messages name keys and files, never a config value.
    throw new Error(`git credential setup: could not ${what}: ${line.trim()}`);
  }
  return r;
}

/** `s` as a POSIX extended regular expression that matches only itself. */
function escapeEre(s: string): string {
  return s.replace(/[.[\]()*+?{}|^$\\]/g, '\\$&');
}

/** An include path as git resolves it: ~/ from HOME, relative to the including file's directory. */
function includePath(value: string, configDir: string): string {
  if (value.startsWith('~/')) return resolve(process.env.HOME || homedir(), value.slice(2));
  return isAbsolute(value) ? value : resolve(configDir, value);
}

function existsAsFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

async function httpSettings(
  git: (args: readonly string[]) => Promise<RunResult>,
  url: string
): Promise<HttpSettings> {
  const r = await git(['config', '--null', '--get-urlmatch', 'http', url]);
  const out: HttpSettings = {};
  if (r.exitCode !== 0) return out;
  for (const rec of r.stdout.split('\0').filter(Boolean)) {
    const nl = rec.indexOf('\n');
    const key = (nl < 0 ? rec : rec.slice(0, nl)).replace(/^http\./, '');
    const value = nl < 0 ? '' : rec.slice(nl + 1);
    if (key === 'sslverify' || key === 'sslcainfo' || key === 'sslcapath' || key === 'proxy')
      out[key] = value;
  }
  return out;
}

function parseHttp(url: string): URL | undefined {
  if (!/^https?:\/\//i.test(url)) return undefined;
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

export function isHttpUrl(url: string): boolean {
  return parseHttp(url) !== undefined;
}

/** A URL or path with its password (if any) removed. */
function stripPassword(value: string): { url: string; user: string; password: string } | undefined {
  const u = parseHttp(value);
  if (!u || u.password === '') return undefined;
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { url: u.toString(), user, password };
}

/** Does a header scoped to `scope` go to `url`? Same scheme, host and port; the path under scope's. */
export function covers(scope: string, url: string): boolean {
  const s = parseHttp(scope);
  const u = parseHttp(url);
  if (!s || !u) return false;
  if (s.protocol !== u.protocol || s.host.toLowerCase() !== u.host.toLowerCase()) return false;
  if (s.username !== '' && s.username !== u.username) return false;
  const dir = (p: string) => (p.endsWith('/') ? p : `${p}/`);
  return dir(u.pathname).startsWith(dir(s.pathname));
}

function originOf(url: string): string | undefined {
  const u = parseHttp(url);
  return u ? `${u.protocol}//${u.host}/` : undefined;
}

function httpOrigins(remotes: ReadonlyMap<string, RemotePin>): string[] {
  const out = new Set<string>();
  for (const p of remotes.values())
    for (const url of [p.fetch, p.push]) {
      const o = originOf(url);
      if (o) out.add(o);
    }
  return [...out];
}

/** The server URL's origin; without one, the origin of remote 'origin' (else the only http remote). */
function tokenScope(
  serverUrl: string | undefined,
  remotes: ReadonlyMap<string, RemotePin>
): string | undefined {
  const server = serverUrl ? originOf(serverUrl.trim()) : undefined;
  if (server) return server;
  const origin = remotes.get('origin');
  if (origin) return originOf(origin.push) ?? originOf(origin.fetch);
  const all = httpOrigins(remotes);
  return all.length === 1 ? all[0] : undefined;
}

/** A remote name as git tells names from URLs and paths. */
export function isRemoteName(s: string): boolean {
  return s !== '' && s !== '.' && s !== '..' && !s.includes('/') && !s.includes(':');
}

/** The transport git uses for a URL (its protocol.<name>.allow name). */
export function transportOf(url: string): string {
  const helper = /^([A-Za-z][A-Za-z0-9+.-]*)::/.exec(url);
  if (helper) return helper[1].toLowerCase();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (scheme) {
    const s = scheme[1].toLowerCase();
    return s === 'git+ssh' || s === 'ssh+git' ? 'ssh' : s;
  }
  // scp-like host:path (a colon before any slash) is ssh; anything else a local path.
  const colon = url.indexOf(':');
  const slash = url.indexOf('/');
  return colon > 0 && (slash < 0 || colon < slash) ? 'ssh' : 'file';
}

/** The proxy curl would take from the runner's environment for `url` (as git reads it). */
function envProxy(url: string, env: NodeJS.ProcessEnv): string | undefined {
  const https = url.toLowerCase().startsWith('https:');
  const scheme = https ? env.https_proxy || env.HTTPS_PROXY : env.http_proxy;
  return scheme || env.all_proxy || env.ALL_PROXY || undefined;
}

const perProcess = new Map<string, Promise<GitCredential>>();

/**
 * The gate's credential for a workspace, set up once per process and token:
 * the first call takes the checkout's persisted credential out of the
 * workspace (before any user command runs), later calls (the next gate of an
 * edge run, the publisher, the state backend) share the same credential.
 */
export function gateCredential(opts: {
  workspace: string;
  token: string;
  env: NodeJS.ProcessEnv;
}): Promise<GitCredential> {
  const serverUrl = (opts.env.GITHUB_SERVER_URL ?? '').trim();
  const key = `${resolve(opts.workspace)}\0${opts.token}\0${serverUrl}`;
  let cred = perProcess.get(key);
  if (!cred) {
    cred = GitCredential.setup({
      workspace: opts.workspace,
      token: opts.token,
      ...(serverUrl ? { serverUrl } : {}),
      env: opts.env
    });
    // A failed setup is not cached: the next caller tries again and reports its own error.
    cred.catch(() => perProcess.delete(key));
    perProcess.set(key, cred);
  }
  return cred;
}
