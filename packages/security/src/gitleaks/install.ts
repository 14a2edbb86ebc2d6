// Opt-in installer for a pinned gitleaks release. The tarball is held in
// memory and its SHA-256 checked before anything is unpacked or written; only
// the `gitleaks` binary at the archive root is extracted, into a cache keyed by
// version, asset and checksum, so a later run reuses it after re-hashing it.

import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ConfigurationError, ToolError, describeError } from '../../../core/src/errors.ts';
import type { Logger } from '../../../core/src/logger.ts';
import {
  DEFAULT_RELEASE_BASE_URL,
  assetFileName,
  assetFor,
  pinnedSha256,
  releaseUrl,
  type GitleaksPin
} from './pinned-versions.ts';
import { TarError, readTar } from './tar-reader.ts';

export const GITLEAKS_VERSION_INPUT = 'gitleaks-version';
export const GITLEAKS_SHA256_INPUT = 'gitleaks-sha256';
export const GITLEAKS_BASE_URL_INPUT = 'gitleaks-download-url';

const DEFAULT_TIMEOUT_MS = 120_000;
/** Release tarballs are ~7 MB; anything far larger is not what was asked for. */
const DEFAULT_MAX_BYTES = 200 * 1024 * 1024;
const MAX_UNPACKED_BYTES = 512 * 1024 * 1024;
const MARKER = '.installed.json';

export interface InstallGitleaksOptions {
  /** Release version, with or without a leading 'v'; required (no version is pinned by default). */
  version?: string;
  /** SHA-256 (hex) of the release tarball; required unless the version is pinned. */
  sha256?: string;
  /** Base of the release downloads. Default: the official GitHub releases. */
  baseUrl?: string;
  /** Root of the tool cache, e.g. defaultToolCacheDir(env). */
  destDir: string;
  fetchImpl?: typeof fetch;
  platform?: NodeJS.Platform;
  arch?: string;
  /** Limit for the whole download. Default 120 s. */
  timeoutMs?: number;
  maxBytes?: number;
  logger?: Logger;
  pins?: readonly GitleaksPin[];
}

export interface InstalledGitleaks {
  path: string;
  version: string;
  /** The verified tarball checksum. */
  sha256: string;
  /** True when an earlier install was reused. */
  cached: boolean;
}

interface Marker {
  archiveSha256: string;
  binarySha256: string;
}

/** The runner's tool cache when there is one, else a directory under the OS temp dir. */
export function defaultToolCacheDir(env: NodeJS.ProcessEnv): string {
  return env.RUNNER_TOOL_CACHE || join(tmpdir(), 'quality-gates-tools');
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function fail(message: string): never {
  throw new ToolError('secrets', message);
}

/** https anywhere; plain http only to this machine (tests, a local mirror). */
function checkedBaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(GITLEAKS_BASE_URL_INPUT, 'an https:// URL', raw);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigurationError(
      GITLEAKS_BASE_URL_INPUT,
      'an https:// URL (http only for 127.0.0.1)',
      raw
    );
  }
  return url;
}

/** The URL without credentials, for messages. */
function shown(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

function reasonOf(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    return `timed out after ${timeoutMs} ms`;
  if (e.cause?.code) return e.cause.code;
  return describeError(e.cause ?? err);
}

async function download(
  url: string,
  fetchImpl: typeof fetch,
  timeoutMs: number,
  maxBytes: number
): Promise<Buffer> {
  const where = shown(url);
  let res: Response;
  try {
    res = await fetchImpl(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (err) {
    return fail(`downloading ${where} failed: ${reasonOf(err, timeoutMs)}`);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    return fail(`downloading ${where} failed: HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes)
    fail(`downloading ${where} refused: ${declared} bytes is over the ${maxBytes}-byte limit`);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        total += chunk.byteLength;
        if (total > maxBytes) {
          await res.body.cancel().catch(() => undefined);
          return fail(`downloading ${where} refused: more than ${maxBytes} bytes`);
        }
        chunks.push(Buffer.from(chunk));
      }
    }
  } catch (err) {
    if (err instanceof ToolError) throw err;
    return fail(`downloading ${where} failed: ${reasonOf(err, timeoutMs)}`);
  }
  return Buffer.concat(chunks);
}

function readMarker(dir: string): Marker | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, MARKER), 'utf8')) as Partial<Marker>;
    return typeof m.archiveSha256 === 'string' && typeof m.binarySha256 === 'string'
      ? { archiveSha256: m.archiveSha256, binarySha256: m.binarySha256 }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The cached binary, if it is there and still hashes to what was installed. */
function cachedBinary(dir: string, archiveSha256: string): string | undefined {
  const bin = join(dir, 'gitleaks');
  const marker = readMarker(dir);
  if (!marker || marker.archiveSha256 !== archiveSha256 || !existsSync(bin)) return undefined;
  return sha256Hex(readFileSync(bin)) === marker.binarySha256 ? bin : undefined;
}

function extractBinary(tarball: Buffer, name: string): Buffer {
  let tar: Buffer;
  try {
    tar = gunzipSync(tarball, { maxOutputLength: MAX_UNPACKED_BYTES });
  } catch {
    return fail(`${name} is not a readable gzip archive`);
  }
  let entries;
  try {
    entries = readTar(tar);
  } catch (err) {
    if (err instanceof TarError) return fail(`${name} refused: ${err.message}`);
    throw err;
  }
  const entry = entries.find((e) => e.path === 'gitleaks');
  if (!entry) return fail(`${name} has no gitleaks binary at its root`);
  if (entry.type !== 'file' || !entry.data)
    return fail(`${name}: its gitleaks entry is not a regular file`);
  return entry.data;
}

/** Installs (or reuses) the release and returns the binary's path. */
export async function installGitleaks(opts: InstallGitleaksOptions): Promise<string> {
  return (await installGitleaksRelease(opts)).path;
}

export async function installGitleaksRelease(
  opts: InstallGitleaksOptions
): Promise<InstalledGitleaks> {
  const version = (opts.version ?? '').trim().replace(/^v/, '');
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new ConfigurationError(
      GITLEAKS_VERSION_INPUT,
      'a gitleaks release version such as 8.30.1',
      opts.version
    );
  }
  const platform = opts.platform ?? process.platform;
  const arch = opts.arch ?? process.arch;
  const asset = assetFor(platform, arch);
  if (asset === undefined) fail(`gitleaks publishes no tarball for ${platform}/${arch}`);
  const name = assetFileName(version, asset);

  const explicit = opts.sha256?.trim().toLowerCase() ?? '';
  if (explicit !== '' && !/^[0-9a-f]{64}$/.test(explicit)) {
    throw new ConfigurationError(GITLEAKS_SHA256_INPUT, 'a SHA-256 as 64 hex digits', opts.sha256);
  }
  const pinned = pinnedSha256(version, asset, opts.pins);
  const sha256 = explicit || pinned;
  if (!sha256) {
    throw new ConfigurationError(
      GITLEAKS_SHA256_INPUT,
      `the SHA-256 of ${name} (gitleaks ${version} has no pinned checksum)`
    );
  }
  if (explicit && pinned && explicit !== pinned) {
    opts.logger?.warning(
      `input '${GITLEAKS_SHA256_INPUT}' differs from the checksum pinned for ${name}; using the input`
    );
  }

  const dir = join(opts.destDir, 'gitleaks', version, `${asset}-${sha256.slice(0, 16)}`);
  const hit = cachedBinary(dir, sha256);
  if (hit) {
    opts.logger?.debug(`gitleaks ${version} from the tool cache: ${hit}`);
    return { path: hit, version, sha256, cached: true };
  }

  const base = checkedBaseUrl(opts.baseUrl ?? DEFAULT_RELEASE_BASE_URL);
  const url = releaseUrl(base.toString(), version, asset);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const tarball = await download(
    url,
    opts.fetchImpl ?? fetch,
    timeoutMs,
    opts.maxBytes ?? DEFAULT_MAX_BYTES
  );
  const actual = sha256Hex(tarball);
  if (actual !== sha256) {
    fail(
      `${name} failed checksum verification: expected sha256 ${sha256}, got ${actual}; nothing was installed`
    );
  }
  const binary = extractBinary(tarball, name);

  mkdirSync(dir, { recursive: true });
  const bin = join(dir, 'gitleaks');
  const tmp = join(dir, `.gitleaks.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, binary, { mode: 0o755 });
    chmodSync(tmp, 0o755); // the umask may have narrowed the mode
    renameSync(tmp, bin);
  } catch (err) {
    rmSync(tmp, { force: true });
    return fail(`could not install gitleaks into ${dir}: ${describeError(err)}`);
  }
  const marker: Marker = { archiveSha256: sha256, binarySha256: sha256Hex(binary) };
  writeFileSync(join(dir, MARKER), `${JSON.stringify(marker)}\n`);
  opts.logger?.info(`installed gitleaks ${version} (${name}, sha256 verified) into ${dir}`);
  return { path: bin, version, sha256, cached: false };
}
