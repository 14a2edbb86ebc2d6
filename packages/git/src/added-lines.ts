// Streams the lines a commit range adds, straight out of `git log -p`, without
// ever holding the whole diff: one git process, parsed line by line, handed
// on in bounded batches. Owns the diff-parsing rules that decide what counts
// as "added by the branch" (merges: only lines new relative to every parent)
// and which files are binary (noted, never silently dropped).

import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { groupAlive, killGroup } from '../../proc/src/run.ts';
import { GitError, firstErrorLine, isSha } from './git.ts';

export interface AddedLine {
  /** Full sha of the commit that adds the line. */
  commit: string;
  /** Author date of that commit, strict ISO 8601. */
  authorDate: string;
  /** Path in the new tree, unquoted. */
  file: string;
  /** 1-based line number in the file as of `commit`. */
  line: number;
  /** The line without its diff prefix and without the newline. */
  text: string;
  /**
   * Lines that share a block number are consecutive lines of one file at one
   * commit, so a pattern spanning several lines (a private key) may join them.
   */
  block: number;
}

export interface SkippedBinary {
  commit: string;
  file: string;
}

export interface AddedLinesStats {
  /** Commits in the range, each counted once whether or not it changes anything. */
  commits: number;
  linesAdded: number;
  /** UTF-8 bytes of the added text, newlines included. */
  bytesAdded: number;
  /** Files whose added content is binary (git's rule: a NUL in the first 8000 bytes). */
  binaryFiles: number;
  /** The first MAX_LISTED_BINARIES of those, for notes. */
  binaries: SkippedBinary[];
}

export const MAX_LISTED_BINARIES = 1000;

/** What git prints before each commit; \x01 can begin no diff line and no header git writes. */
const MARKER = '\x01QG-COMMIT ';
/** git's own binary sniffing looks at the first 8000 bytes of a blob. */
const SNIFF_CHARS = 8000;

/**
 * Incremental parser for `git log -p -U0 --cc --format=<MARKER>%H %aI`.
 * Feed it lines (without '\n'); it calls `emit` for every added line.
 */
export class AddedLinesParser {
  readonly stats: AddedLinesStats = {
    commits: 0,
    linesAdded: 0,
    bytesAdded: 0,
    binaryFiles: 0,
    binaries: []
  };
  private readonly emit: (line: AddedLine) => void;
  private commit = '';
  private authorDate = '';
  private file: string | undefined;
  private inFile = false;
  /** The new side is /dev/null (a deletion): nothing is added. */
  private deleted = false;
  private inHunk = false;
  /** 1 for a plain diff, n for a combined diff of an n-parent merge. */
  private parents = 1;
  /** Line number in the new file that the next result line has. */
  private nextLine = 0;
  private block = 0;
  private lastEmitted: { file: string; line: number } | undefined;
  // Binary sniffing: a file's first added lines wait here until we know.
  private sniffing = false;
  private sniffed = 0;
  private pending: AddedLine[] = [];
  private binary = false;

  constructor(emit: (line: AddedLine) => void) {
    this.emit = emit;
  }

  feed(line: string): void {
    if (this.inHunk) {
      const c = line.charCodeAt(0);
      // '+', '-', ' ': a body line; '\': "No newline at end of file".
      if (c === 43 || c === 45 || c === 32) {
        this.body(line);
        return;
      }
      if (c === 92) return;
      this.inHunk = false;
    }
    if (line.startsWith(MARKER)) {
      this.endFile();
      const [sha, date] = line.slice(MARKER.length).split(' ');
      if (!isSha(sha ?? ''))
        throw new GitError('unexpected git log output: commit marker without a sha', []);
      this.commit = sha;
      this.authorDate = date ?? '';
      this.stats.commits++;
      return;
    }
    if (line.startsWith('diff --git ')) {
      this.startFile(parseGitHeaderPath(line.slice(11)), 1);
      return;
    }
    if (line.startsWith('diff --cc ') || line.startsWith('diff --combined ')) {
      const rest = line.slice(line.indexOf(' ', 5) + 1);
      this.startFile(rest.startsWith('"') ? unquoteCPath(rest).value : rest, 0);
      return;
    }
    if (!this.inFile) return;
    if (line.startsWith('+++ ')) {
      const name = line.slice(4);
      if (name === '/dev/null') this.deleted = true;
      else
        this.file = stripPrefix(
          name.startsWith('"') ? unquoteCPath(name).value : name.replace(/\t$/, '')
        );
    } else if (line.startsWith('deleted file mode')) {
      this.deleted = true;
    } else if (line.startsWith('@@')) {
      this.hunkHeader(line);
    } else if (line.startsWith('Binary files ')) {
      // Only without --text; kept so a change of flags cannot hide files.
      if (!this.deleted && !/ and \/dev\/null differ$/.test(line)) this.markBinary();
    }
  }

  /** Call once the stream is over. */
  end(): void {
    this.endFile();
  }

  private startFile(path: string | undefined, parents: number): void {
    this.endFile();
    this.inFile = true;
    this.file = path;
    this.deleted = false;
    this.parents = parents;
    this.sniffing = true;
    this.sniffed = 0;
    this.binary = false;
  }

  private hunkHeader(line: string): void {
    let at = 0;
    while (line.charCodeAt(at) === 64) at++;
    const m = /^@+ (?:-\d+(?:,\d+)? )+\+(\d+)(?:,\d+)? @+/.exec(line);
    if (!m || at < 2) throw new GitError('unexpected git log output: malformed hunk header', []);
    this.parents = at - 1;
    this.nextLine = Number(m[1]);
    // Body lines are consumed even when nothing is kept (a deletion), so that
    // none of them can be mistaken for a header.
    this.inHunk = true;
  }

  private body(line: string): void {
    if (this.deleted) return;
    if (this.file === undefined) {
      // Never drop content because a header was not understood.
      throw new GitError('unexpected git log output: a hunk whose file name could not be read', []);
    }
    const n = this.parents;
    let removed = false;
    let addedToAll = true;
    for (let i = 0; i < n; i++) {
      const c = line.charCodeAt(i);
      if (c === 45) removed = true;
      else if (c !== 43) addedToAll = false;
    }
    // A line some parent loses is not in the result and takes no line number.
    if (removed) return;
    const lineNo = this.nextLine++;
    if (!addedToAll || this.binary) return;
    const file = this.file as string;
    const last = this.lastEmitted;
    if (!last || last.line + 1 !== lineNo || last.file !== file) this.block++;
    this.lastEmitted = { file, line: lineNo };
    const rec: AddedLine = {
      commit: this.commit,
      authorDate: this.authorDate,
      file,
      line: lineNo,
      text: line.slice(n),
      block: this.block
    };
    if (!this.sniffing) {
      this.deliver(rec);
      return;
    }
    this.pending.push(rec);
    if (rec.text.includes('\0')) {
      this.markBinary();
      return;
    }
    this.sniffed += rec.text.length + 1;
    if (this.sniffed >= SNIFF_CHARS) this.flushPending();
  }

  private markBinary(): void {
    if (this.binary) return;
    this.binary = true;
    this.sniffing = false;
    this.pending = [];
    this.stats.binaryFiles++;
    if (this.stats.binaries.length < MAX_LISTED_BINARIES) {
      this.stats.binaries.push({ commit: this.commit, file: this.file ?? '(unknown)' });
    }
  }

  private flushPending(): void {
    this.sniffing = false;
    const waiting = this.pending;
    this.pending = [];
    for (const rec of waiting) this.deliver(rec);
  }

  private deliver(rec: AddedLine): void {
    this.stats.linesAdded++;
    this.stats.bytesAdded += Buffer.byteLength(rec.text, 'utf8') + 1;
    this.emit(rec);
  }

  private endFile(): void {
    if (this.pending.length > 0) this.flushPending();
    this.sniffing = false;
    this.inHunk = false;
    this.inFile = false;
    this.file = undefined;
    this.deleted = false;
    this.lastEmitted = undefined;
  }
}

/** Strips git's a/ or b/ side prefix (we pass them explicitly, whatever the config says). */
function stripPrefix(p: string): string {
  return p.startsWith('b/') || p.startsWith('a/') ? p.slice(2) : p;
}

/**
 * The new-side path of `diff --git a/X b/X`. Without renames both sides are
 * the same path, which is what makes an unquoted header with spaces
 * unambiguous. Undefined when it cannot be split (the `+++` line then names it).
 */
export function parseGitHeaderPath(rest: string): string | undefined {
  if (rest.startsWith('"')) {
    const first = unquoteCPath(rest);
    const tail = rest.slice(first.end + 2);
    if (tail.startsWith('"')) return stripPrefix(unquoteCPath(tail).value);
    return stripPrefix(tail);
  }
  if (rest.endsWith('"')) {
    const q = rest.lastIndexOf(' "');
    return q < 0 ? undefined : stripPrefix(unquoteCPath(rest.slice(q + 1)).value);
  }
  const half = (rest.length - 1) / 2;
  if (!Number.isInteger(half)) return undefined;
  const a = rest.slice(0, half);
  const b = rest.slice(half + 1);
  if (
    rest[half] !== ' ' ||
    !a.startsWith('a/') ||
    !b.startsWith('b/') ||
    a.slice(2) !== b.slice(2)
  ) {
    return undefined;
  }
  return b.slice(2);
}

const ESCAPES: Record<string, number> = {
  a: 7,
  b: 8,
  t: 9,
  n: 10,
  v: 11,
  f: 12,
  r: 13,
  '"': 34,
  '\\': 92
};

/**
 * Decodes a C-style quoted path as git writes it ("...", backslash escapes,
 * octal bytes for anything non-printable). `end` is the index of the closing quote.
 */
export function unquoteCPath(s: string): { value: string; end: number } {
  const parts: Buffer[] = [];
  const bytes: number[] = [];
  const flushBytes = (): void => {
    if (bytes.length > 0) parts.push(Buffer.from(bytes.splice(0)));
  };
  let i = 1;
  let run = i;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c !== '"' && c !== '\\') continue;
    if (i > run) {
      flushBytes();
      parts.push(Buffer.from(s.slice(run, i), 'utf8'));
    }
    if (c === '"') break;
    const next = s[i + 1] ?? '';
    if (next >= '0' && next <= '7') {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8) & 0xff);
      i += 3;
    } else {
      bytes.push(ESCAPES[next] ?? next.charCodeAt(0));
      i += 1;
    }
    run = i + 1;
  }
  flushBytes();
  if (i >= s.length && i > run) parts.push(Buffer.from(s.slice(run, i), 'utf8'));
  return { value: Buffer.concat(parts).toString('utf8'), end: i };
}

export interface AddedLinesOptions {
  repoDir: string;
  /** Full sha: lines already reachable from it are not reported. */
  base: string;
  /** Full sha of the tip under test. */
  head: string;
  /** Hard limit for the git process; the whole process group is killed when it passes. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** A batch is handed on once it holds this many lines... */
  batchLines?: number;
  /** ...or this many characters of text. */
  batchChars?: number;
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** The exact git invocation; exported so a test can assert nothing went through a shell. */
/** Config a repository or user could set that would change what we parse. */
const PINNED_CONFIG = [
  'core.quotePath=false',
  'log.showSignature=false',
  'log.showRoot=true',
  'diff.interHunkContext=0'
];

export function addedLinesArgs(base: string, head: string): string[] {
  return [
    ...PINNED_CONFIG.flatMap((c) => ['-c', c]),
    'log',
    '-p',
    '-U0',
    '--inter-hunk-context=0',
    '--cc',
    // --text: a branch's .gitattributes (`* -diff`) must not turn its text
    // into "Binary files differ"; binaries are recognised here instead.
    '--text',
    '--no-notes',
    '--no-color',
    '--no-ext-diff',
    '--no-textconv',
    '--no-renames',
    '--no-relative',
    '--src-prefix=a/',
    '--dst-prefix=b/',
    '--submodule=short',
    `--format=${MARKER.replace('\x01', '%x01')}%H %aI`,
    '--end-of-options',
    `${base}..${head}`
  ];
}

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function trackGroup(pgid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const g of liveGroups) killGroup(g, 'SIGKILL');
    });
  }
  liveGroups.add(pgid);
}

/** Ends a process group: SIGTERM, then SIGKILL if anything is left after the grace period. */
function endGroup(pgid: number, graceMs = 2000): void {
  if (!groupAlive(pgid)) {
    liveGroups.delete(pgid);
    return;
  }
  killGroup(pgid, 'SIGTERM');
  const t = setTimeout(() => {
    if (groupAlive(pgid)) killGroup(pgid, 'SIGKILL');
    liveGroups.delete(pgid);
  }, graceMs);
  t.unref();
}

/**
 * Yields the added lines of base..head in batches, and returns the stats once
 * the range is exhausted. git runs in its own process group; a timeout, an
 * abort, or a consumer that stops early ends the group. Any failure throws GitError.
 */
export async function* streamAddedLines(
  opts: AddedLinesOptions
): AsyncGenerator<AddedLine[], AddedLinesStats, undefined> {
  if (!isSha(opts.base) || !isSha(opts.head)) {
    throw new GitError('added lines: base and head must be full commit shas', []);
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const batchLines = opts.batchLines ?? 4096;
  const batchChars = opts.batchChars ?? 1 << 20;
  const args = addedLinesArgs(opts.base, opts.head);
  const env: NodeJS.ProcessEnv = {
    ...(opts.env ?? process.env),
    GIT_TERMINAL_PROMPT: '0',
    GIT_PAGER: 'cat',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_NO_REPLACE_OBJECTS: '1',
    LC_ALL: 'C'
  };
  // GIT_DIFF_OPTS would override -U0; GIT_EXTERNAL_DIFF is off anyway (--no-ext-diff).
  delete env.GIT_DIFF_OPTS;
  delete env.GIT_EXTERNAL_DIFF;
  const child = spawn('git', args, {
    cwd: opts.repoDir,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe']
  });
  const pgid = child.pid;
  if (pgid !== undefined) trackGroup(pgid);

  let stopped: 'timeout' | 'abort' | undefined;
  const stop = (why: 'timeout' | 'abort'): void => {
    if (stopped) return;
    stopped = why;
    if (pgid !== undefined) endGroup(pgid);
    child.stdout.destroy();
  };
  const timer = setTimeout(() => stop('timeout'), timeoutMs);
  const onAbort = (): void => stop('abort');
  if (opts.signal?.aborted) stop('abort');
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr = (stderr + s).slice(-16384);
  });
  const exited = new Promise<{ code: number | null; error?: string }>((resolve) => {
    child.on('error', (e: NodeJS.ErrnoException) =>
      resolve({ code: null, error: e.code ?? e.message })
    );
    child.on('close', (code) => resolve({ code }));
  });

  let batch: AddedLine[] = [];
  let batchSize = 0;
  const ready: AddedLine[][] = [];
  const parser = new AddedLinesParser((rec) => {
    batch.push(rec);
    batchSize += rec.text.length;
    if (batch.length >= batchLines || batchSize >= batchChars) {
      ready.push(batch);
      batch = [];
      batchSize = 0;
    }
  });

  const decoder = new StringDecoder('utf8');
  let carry = '';
  const feedText = (text: string): void => {
    let start = 0;
    let nl = text.indexOf('\n');
    if (nl >= 0 && carry !== '') {
      parser.feed(carry + text.slice(0, nl));
      carry = '';
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    while (nl >= 0) {
      parser.feed(text.slice(start, nl));
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    carry += text.slice(start);
  };

  let finished = false;
  try {
    try {
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        feedText(decoder.write(chunk));
        while (ready.length > 0) yield ready.shift() as AddedLine[];
      }
    } catch (err) {
      // A destroyed stream (timeout/abort) ends the loop with an error; the cause is reported below.
      if (!stopped) throw err;
    }
    const result = await exited;
    if (stopped === 'timeout') throw new GitError(`git log timed out after ${timeoutMs} ms`, args);
    if (stopped === 'abort') throw new GitError('git log was aborted', args);
    if (result.error)
      throw new GitError(`git could not be started (${result.error}); is git installed?`, args);
    if (result.code !== 0) {
      const line = firstErrorLine(stderr) ?? `exit code ${result.code}`;
      throw new GitError(`git log failed: ${line}`, args);
    }
    feedText(decoder.end());
    if (carry !== '') parser.feed(carry);
    parser.end();
    if (batch.length > 0) ready.push(batch);
    while (ready.length > 0) yield ready.shift() as AddedLine[];
    finished = true;
    return parser.stats;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    // A consumer that stopped early (or threw) leaves git running: end it.
    if (!finished && pgid !== undefined) stop(stopped ?? 'abort');
    if (finished && pgid !== undefined) liveGroups.delete(pgid);
  }
}

/** Callback form of streamAddedLines: awaits `onBatch` before reading on (back-pressure). */
export async function forEachAddedLines(
  opts: AddedLinesOptions,
  onBatch: (batch: AddedLine[]) => void | Promise<void>
): Promise<AddedLinesStats> {
  const it = streamAddedLines(opts);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
    await onBatch(r.value);
  }
}
