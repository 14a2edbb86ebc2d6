// Streams the lines a commit range adds, straight out of `git log -p`, without
// ever holding the whole diff: one git process, parsed line by line, handed
// on in bounded batches. Owns the diff-parsing rules that decide what counts
// as "added by the branch" (merges: only lines new relative to every parent)
// and which files are binary (noted, never silently dropped).

import { spawn } from 'node:child_process';
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
  /**
   * The line without its diff prefix and without the newline. With the
   * `runs` option, `lines` consecutive lines joined by '\n' (line numbers
   * line .. line + lines - 1).
   */
  text: string;
  /** How many lines `text` holds, when more than one (`runs` option only). */
  lines?: number;
  /**
   * Lines that share a block number are consecutive lines of one file at one
   * commit, so a pattern spanning several lines (a private key) may join them.
   */
  block: number;
  /**
   * Absent for file content. 'message': a line of the commit message (file is
   * '', line is the line within the message); only with the `messages` option.
   * 'binary-text': a printable run out of a binary file (several may share a line).
   */
  source?: 'message' | 'binary-text';
}

/** A binary file the range adds content to (git's rule: a NUL in the first 8000 bytes). */
export interface SkippedBinary {
  commit: string;
  file: string;
  /**
   * 'text-runs': its printable text runs were scanned; 'none': git showed no
   * content for it, so nothing of it could be scanned.
   */
  scanned: 'text-runs' | 'none';
  /** Printable text beyond the per-file ('file') or per-range ('total') cap was not scanned. */
  capped?: 'file' | 'total';
}

/** A path whose new side a commit of the range writes (deletions are not reported). */
export interface ChangedPath {
  commit: string;
  authorDate: string;
  file: string;
  /** The path did not exist before this commit (new file; a rename is a new file here). */
  added: boolean;
}

export interface AddedLinesParserOptions {
  /** Also emit each commit's message lines (needs `messages` in addedLinesArgs). */
  messages?: boolean;
  /** Called once per changed path per commit. */
  onPath?: (p: ChangedPath) => void;
  /** Printable text taken out of one binary file at most (characters). */
  binaryTextPerFile?: number;
  /** Printable text taken out of all binary files of the range at most. */
  binaryTextTotal?: number;
  /**
   * The caller knows the input holds no NUL byte (a segment checked with
   * indexOf): every file is text, so added lines are not held back to sniff
   * the file's kind (the result is the same; takeAddedRun needs it).
   */
  noNul?: boolean;
  /**
   * The binary text taken so far, for parsers that read one range's output
   * in pieces, in order (each counts against binaryTextTotal).
   */
  binaryBudget?: { used: number };
}

/** A run of added text lines handed on as one record (`runs` option) holds at most this many characters. */
export const MAX_RUN_CHARS = 16 * 1024;

export const BINARY_TEXT_PER_FILE = 1 << 20;
export const BINARY_TEXT_TOTAL = 32 << 20;
/** A binary file's printable run must be at least this long to be scanned. */
export const MIN_TEXT_RUN = 8;

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
  /** Binary files whose printable text was cut at a cap (all of them, listed or not). */
  binaryTextCapped: number;
  /** Files recognised as UTF-16 text and decoded (not counted as binary). */
  utf16Files: number;
}

export const MAX_LISTED_BINARIES = 1000;

export function emptyAddedLinesStats(): AddedLinesStats {
  return {
    commits: 0,
    linesAdded: 0,
    bytesAdded: 0,
    binaryFiles: 0,
    binaries: [],
    binaryTextCapped: 0,
    utf16Files: 0
  };
}

/** What git prints before each commit; \x01 can begin no diff line and no header git writes. */
const MARKER = '\x01QG-COMMIT ';
/** git's own binary sniffing looks at the first 8000 bytes of a blob. */
const SNIFF_CHARS = 8000;

type ContentMode = 'text' | 'utf16le' | 'utf16be' | 'binary' | 'opaque';

interface PendingLine {
  line: number;
  text: string;
  bytes: Uint8Array;
  /** A run of `count` lines (feedAddedRun): `text` joined by '\n', `bytes` as git wrote them, each line's '+' and the newlines between included. */
  count?: number;
}

/** A pending run cut back into its lines (bytes without the '+'). */
function expandRun(p: PendingLine): PendingLine[] {
  if (p.count === undefined) return [p];
  const texts = p.text.split('\n');
  const out: PendingLine[] = [];
  let from = 0;
  for (let i = 0; i < p.count; i++) {
    let to = p.bytes.indexOf(10, from);
    if (to < 0) to = p.bytes.length;
    out.push({ line: p.line + i, text: texts[i] ?? '', bytes: p.bytes.subarray(from + 1, to) });
    from = to + 1;
  }
  return out;
}

const isPrintable = (b: number): boolean => (b >= 0x20 && b <= 0x7e) || b === 9;

/**
 * The printable runs of a binary line, in order: runs of at least `min`
 * printable ASCII bytes, and runs of at least `min` printable characters
 * stored as UTF-16 (a printable byte next to a NUL, either byte order), as
 * `strings` and `strings -el` would find them. Stops after `maxChars`.
 */
export function printableRuns(
  b: Uint8Array,
  min = MIN_TEXT_RUN,
  maxChars = Infinity
): { runs: string[]; cut: boolean } {
  const found: FoundRun[] = [];
  const n = b.length;
  for (let i = 0; i < n;) {
    if (!isPrintable(b[i])) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && isPrintable(b[j])) j++;
    if (j - i >= min)
      found.push({
        at: i,
        end: j,
        text: Buffer.from(b.buffer, b.byteOffset + i, j - i).toString('latin1')
      });
    i = j;
  }
  // Two-byte runs, at both alignments: a printable byte then a NUL
  // (little-endian), a NUL then a printable byte (big-endian). Every such run
  // starts next to a NUL, so the NULs are the only places a run is looked
  // for (one pass; a binary file is mostly not text): lists in the order
  // little-endian at even and odd offsets, then big-endian.
  const wide: FoundRun[][] = [[], [], [], []];
  const covered = [-1, -1, -1, -1];
  const okLe = (i: number): boolean => isPrintable(b[i]) && (i + 1 === n || b[i + 1] === 0);
  const okBe = (i: number): boolean => b[i] === 0 && i + 1 < n && isPrintable(b[i + 1]);
  /** The maximal run from pair `i0` on (ok, and in no run found before), cut every 65,536 characters. */
  const run = (le: boolean, i0: number): void => {
    const k = (le ? 0 : 2) + (i0 & 1);
    if (i0 < covered[k] || !(le ? okLe(i0) : okBe(i0))) return;
    const codes: number[] = [];
    let start = i0;
    let i = i0;
    while (i < n && (le ? okLe(i) : okBe(i))) {
      codes.push(le ? b[i] : b[i + 1]);
      i += 2;
      if (codes.length >= 65536) {
        wide[k].push({ at: start, end: i, text: String.fromCharCode(...codes) });
        codes.length = 0;
        start = i;
      }
    }
    const end = Math.min(i, n);
    if (codes.length >= min) wide[k].push({ at: start, end, text: String.fromCharCode(...codes) });
    covered[k] = i;
  };
  for (let z = 0; z < n; z++) {
    if (b[z] !== 0) continue;
    if (z > 0) run(true, z - 1);
    run(false, z);
  }
  // A printable last byte reads as a little-endian character without its NUL.
  if (n > 0) run(true, n - 1);
  for (const list of wide) for (const f of list) found.push(f);
  return pickRuns(found, min, maxChars);
}

/** A printable run printableRuns() found: [at, end) of the bytes, and the text. */
export interface FoundRun {
  at: number;
  end: number;
  text: string;
}

/**
 * The runs printableRuns() keeps of those found (in the order found at
 * equal places): in order of place, longest first among runs that start
 * together, a run inside another dropped, up to `maxChars` characters.
 */
export function pickRuns(
  found: FoundRun[],
  min: number,
  maxChars: number
): { runs: string[]; cut: boolean } {
  // Longest first among runs that start together; a run inside another is dropped
  // (little- and big-endian passes see most of the same text one byte apart).
  found.sort((x, y) => x.at - y.at || y.end - x.end);
  const runs: string[] = [];
  let used = 0;
  let reach = -1;
  for (const f of found) {
    if (f.end <= reach) continue;
    if (f.at < reach && runs.length > 0) {
      // Overlapping: the same text seen at two alignments keeps the longer reading.
      const last = runs[runs.length - 1];
      if (last.includes(f.text)) continue;
      if (f.text.includes(last)) {
        runs.pop();
        used -= last.length;
      }
    }
    reach = f.end;
    if (used + f.text.length > maxChars) {
      if (maxChars - used >= min) runs.push(f.text.slice(0, maxChars - used));
      return { runs, cut: true };
    }
    runs.push(f.text);
    used += f.text.length;
  }
  return { runs, cut: false };
}

/**
 * One line of a UTF-16 file as git splits it (at every 0x0A byte) realigned
 * to whole code units: in little-endian text the NUL that completes the
 * previous line's newline starts the line; in big-endian text the NUL that
 * starts the newline ends it.
 */
export function alignUtf16(bytes: Uint8Array, le: boolean): Uint8Array {
  let b = bytes;
  if (b.length % 2 === 1) {
    if (le && b[0] === 0) b = b.subarray(1);
    else if (!le && b[b.length - 1] === 0) b = b.subarray(0, b.length - 1);
  }
  return b.length % 2 === 1 ? b.subarray(0, b.length - 1) : b;
}

const UTF16 = {
  le: new TextDecoder('utf-16le'),
  be: new TextDecoder('utf-16be')
};

export function decodeUtf16Line(bytes: Uint8Array, le: boolean): string {
  return (le ? UTF16.le : UTF16.be).decode(alignUtf16(bytes, le));
}

/**
 * What the first added lines of a file that holds a NUL are: UTF-16 text (a
 * byte order mark on line 1, or mostly ASCII characters interleaved with
 * NULs in one byte order) or binary.
 */
export function sniffNulContent(
  lines: readonly { line: number; bytes: Uint8Array }[]
): 'utf16le' | 'utf16be' | 'binary' {
  const first = lines[0];
  if (first && first.line === 1 && first.bytes.length >= 2) {
    const [a, b, c, d] = first.bytes;
    // FF FE 00 00 is UTF-32's mark: binary as far as we are concerned.
    if (a === 0xff && b === 0xfe && !(c === 0 && d === 0)) return 'utf16le';
    if (a === 0xfe && b === 0xff) return 'utf16be';
  }
  const score = (le: boolean): number => {
    let units = 0;
    let ascii = 0;
    for (const l of lines) {
      const u = alignUtf16(l.bytes, le);
      for (let i = 0; i + 1 < u.length; i += 2) {
        const lo = le ? u[i] : u[i + 1];
        const hi = le ? u[i + 1] : u[i];
        units++;
        if (hi === 0 && (isPrintable(lo) || lo === 13)) ascii++;
      }
    }
    return units >= 4 ? ascii / units : 0;
  };
  const le = score(true);
  const be = score(false);
  // A tie (a line of ASCII between NULs reads the same either way): little-endian.
  if (le >= 0.75 && le >= be) return 'utf16le';
  if (be >= 0.75) return 'utf16be';
  return 'binary';
}

/**
 * Incremental parser for `git log -p -U0 --cc --format=<MARKER>%H %aI`.
 * Feed it lines (without '\n'); it calls `emit` for every added line.
 */
export class AddedLinesParser {
  readonly stats: AddedLinesStats = emptyAddedLinesStats();
  private readonly emit: (line: AddedLine) => void;
  private readonly opts: AddedLinesParserOptions;
  private commit = '';
  /** Between a commit marker and its first diff: the message lines (indented by one space). */
  private inMessage = false;
  private messageLine = 0;
  /** The file's new side did not exist before (new file mode, or --- /dev/null). */
  private added = false;
  private mode: ContentMode = 'text';
  private sawNul = false;
  private binaryEntry: SkippedBinary | undefined;
  private fileText = 0;
  /** Printable text taken out of binary files so far (shared when the caller gives one: binaryBudget). */
  private readonly budget: { used: number };
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
  private pending: PendingLine[] = [];

  constructor(emit: (line: AddedLine) => void, opts: AddedLinesParserOptions = {}) {
    this.emit = emit;
    this.opts = opts;
    this.budget = opts.binaryBudget ?? { used: 0 };
  }

  /**
   * Whether the next line's raw bytes matter (a binary or UTF-16 file's
   * content, or content still being sniffed); a caller that has them then
   * passes them to feed().
   */
  get wantsRaw(): boolean {
    return this.inHunk && (this.sniffing || this.mode !== 'text');
  }

  /**
   * Whether a body line's text matters only for its first characters (its
   * kind: '+', '-', ' ' per parent): inside a hunk of a binary or UTF-16
   * file whose kind is known, where the line's bytes are what is read.
   */
  get rawOnly(): boolean {
    return this.inHunk && !this.sniffing && this.mode !== 'text';
  }

  /**
   * Whether the next '+' lines may be given to feedAddedRun: inside a hunk of
   * a plain (one-parent) diff of a text file whose kind is known.
   */
  get takesRun(): boolean {
    return (
      this.inHunk &&
      this.parents === 1 &&
      !this.deleted &&
      this.mode === 'text' &&
      this.file !== undefined
    );
  }

  /**
   * `count` consecutive added lines of a plain diff (only when takesRun), their
   * '+' prefixes removed and joined by '\n': the same lines feed() would emit
   * one by one, as one record.
   */
  feedAddedRun(text: string, count: number, raw?: Uint8Array): void {
    const lineNo = this.nextLine;
    this.nextLine += count;
    if (this.sniffing) {
      // Still deciding whether the file is text: the run waits with its bytes, like single lines.
      const bytes = raw ?? Buffer.from(`+${text.replaceAll('\n', '\n+')}`, 'utf8');
      this.pending.push({ line: lineNo, text, bytes, count });
      if (!this.sawNul && bytes.includes(0)) this.sawNul = true;
      // As line by line: each line's bytes and its newline (the '+' prefixes are not content).
      this.sniffed += bytes.length + 1 - count;
      if (this.sniffed >= SNIFF_CHARS) this.endSniff();
      return;
    }
    this.emitLine(lineNo, text, undefined, count);
  }

  /**
   * Starts in the middle of the log, as if `commit`'s marker line had just
   * been read and its message were over: for a segment of git's output that
   * begins at a file's `diff` header (the commit is not counted again).
   */
  resume(commit: string, authorDate: string): void {
    this.commit = commit;
    this.authorDate = authorDate;
    this.inMessage = false;
  }

  /**
   * feedAddedRun for a caller that keeps the text itself (as bytes, '+'
   * prefixes removed, lines joined by '\n', `byteLength` long): the record
   * feedAddedRun would emit, without its text, with the same bookkeeping
   * (line numbers, blocks, stats). Only when takesRun and with `noNul`.
   */
  takeAddedRun(count: number, byteLength: number): Omit<AddedLine, 'text'> {
    if (!this.opts.noNul || !this.takesRun)
      throw new Error('takeAddedRun needs a text file of a NUL-free input, inside a hunk');
    const lineNo = this.nextLine;
    this.nextLine += count;
    const file = this.file as string;
    const last = this.lastEmitted;
    if (!last || (last.line + 1 !== lineNo && last.line !== lineNo) || last.file !== file)
      this.block++;
    this.lastEmitted = { file, line: lineNo + count - 1 };
    this.stats.linesAdded += count;
    this.stats.bytesAdded += byteLength + 1;
    const rec: Omit<AddedLine, 'text'> = {
      commit: this.commit,
      authorDate: this.authorDate,
      file,
      line: lineNo,
      block: this.block
    };
    if (count > 1) rec.lines = count;
    return rec;
  }

  /**
   * One line of git's output without its newline. `raw`: the same line's
   * bytes as git wrote them (only looked at when wantsRaw said so; without
   * it the text is re-encoded, which loses bytes that were not UTF-8).
   */
  feed(line: string, raw?: Uint8Array): void {
    if (this.inHunk) {
      const c = line.charCodeAt(0);
      // '+', '-', ' ': a body line; '\': "No newline at end of file".
      if (c === 43 || c === 45 || c === 32) {
        this.body(line, raw);
        return;
      }
      if (c === 92) return;
      this.inHunk = false;
    }
    if (this.inMessage) {
      if (line.charCodeAt(0) === 32) {
        this.message(line.slice(1));
        return;
      }
      this.inMessage = false;
    }
    if (line.startsWith(MARKER)) {
      this.endFile();
      const [sha, date] = line.slice(MARKER.length).split(' ');
      if (!isSha(sha ?? ''))
        throw new GitError('unexpected git log output: commit marker without a sha', []);
      this.commit = sha;
      this.authorDate = date ?? '';
      this.stats.commits++;
      this.inMessage = this.opts.messages === true;
      this.messageLine = 0;
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
    if (line.startsWith('--- ')) {
      if (line === '--- /dev/null') this.added = true;
    } else if (line.startsWith('new file mode')) {
      this.added = true;
    } else if (line.startsWith('+++ ')) {
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
    this.added = false;
    this.parents = parents;
    this.sniffing = this.opts.noNul !== true;
    this.sniffed = 0;
    this.sawNul = false;
    this.mode = 'text';
    this.binaryEntry = undefined;
    this.fileText = 0;
  }

  private message(text: string): void {
    const lineNo = ++this.messageLine;
    // Consecutive message lines share a block (a key pasted into a message spans lines).
    if (lineNo === 1) this.block++;
    this.lastEmitted = undefined;
    this.deliver({
      commit: this.commit,
      authorDate: this.authorDate,
      file: '',
      line: lineNo,
      text,
      block: this.block,
      source: 'message'
    });
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

  private body(line: string, raw: Uint8Array | undefined): void {
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
    if (!addedToAll || this.mode === 'opaque') return;
    if (this.sniffing) {
      const bytes = (raw ?? Buffer.from(line, 'utf8')).subarray(n);
      this.pending.push({ line: lineNo, text: line.slice(n), bytes });
      if (!this.sawNul && bytes.includes(0)) this.sawNul = true;
      this.sniffed += bytes.length + 1;
      if (this.sniffed >= SNIFF_CHARS) this.endSniff();
      return;
    }
    if (this.mode === 'text') this.emitLine(lineNo, line.slice(n));
    else this.emitDecoded(lineNo, (raw ?? Buffer.from(line, 'utf8')).subarray(n));
  }

  /** `count` lines from lineNo on, joined by '\n' in `text` (one record). */
  private emitLine(lineNo: number, text: string, source?: 'binary-text', count = 1): void {
    const file = this.file as string;
    const last = this.lastEmitted;
    // Several runs of one binary line share its number (and its block).
    if (!last || (last.line + 1 !== lineNo && last.line !== lineNo) || last.file !== file)
      this.block++;
    this.lastEmitted = { file, line: lineNo + count - 1 };
    const rec: AddedLine = {
      commit: this.commit,
      authorDate: this.authorDate,
      file,
      line: lineNo,
      text,
      block: this.block
    };
    if (source) rec.source = source;
    if (count > 1) rec.lines = count;
    this.deliver(rec);
  }

  /** A line of a UTF-16 or binary file, from its bytes. */
  private emitDecoded(lineNo: number, bytes: Uint8Array): void {
    if (this.mode === 'utf16le' || this.mode === 'utf16be') {
      this.emitLine(lineNo, decodeUtf16Line(bytes, this.mode === 'utf16le'));
      return;
    }
    const perFile = this.opts.binaryTextPerFile ?? BINARY_TEXT_PER_FILE;
    const total = this.opts.binaryTextTotal ?? BINARY_TEXT_TOTAL;
    if (this.binaryEntry?.capped) return;
    const fileRoom = perFile - this.fileText;
    const totalRoom = total - this.budget.used;
    const binding = fileRoom <= totalRoom ? 'file' : 'total';
    const room = Math.min(fileRoom, totalRoom);
    if (room <= 0) {
      this.capBinary(binding);
      return;
    }
    const { runs, cut } = printableRuns(bytes, MIN_TEXT_RUN, room);
    for (const r of runs) {
      this.fileText += r.length;
      this.budget.used += r.length;
      this.emitLine(lineNo, r, 'binary-text');
    }
    if (cut) this.capBinary(binding);
  }

  private capBinary(why: 'file' | 'total'): void {
    const entry = this.binaryEntry;
    if (!entry || entry.capped) return;
    entry.capped = why;
    this.stats.binaryTextCapped++;
  }

  /** The sniffed lines decide the file's mode; they are then handed on accordingly. */
  private endSniff(): void {
    this.sniffing = false;
    const waiting = this.pending;
    this.pending = [];
    if (!this.sawNul) {
      this.mode = 'text';
      for (const p of waiting) this.emitLine(p.line, p.text, undefined, p.count ?? 1);
      return;
    }
    const lines = waiting.flatMap(expandRun);
    this.mode = sniffNulContent(lines);
    if (this.mode === 'binary') this.noteBinary('text-runs');
    else this.stats.utf16Files++;
    for (const p of lines) this.emitDecoded(p.line, p.bytes);
  }

  private noteBinary(scanned: SkippedBinary['scanned']): void {
    this.stats.binaryFiles++;
    // The entry is kept (listed or not) so a later cap can be recorded on it.
    const entry: SkippedBinary = { commit: this.commit, file: this.file ?? '(unknown)', scanned };
    this.binaryEntry = entry;
    if (this.stats.binaries.length < MAX_LISTED_BINARIES) this.stats.binaries.push(entry);
  }

  private markBinary(): void {
    if (this.mode === 'opaque' || this.mode === 'binary') return;
    this.mode = 'opaque';
    this.sniffing = false;
    this.pending = [];
    this.noteBinary('none');
  }

  private deliver(rec: AddedLine): void {
    this.stats.linesAdded += rec.lines ?? 1;
    this.stats.bytesAdded += Buffer.byteLength(rec.text, 'utf8') + 1;
    this.emit(rec);
  }

  private endFile(): void {
    if (this.sniffing && this.pending.length > 0) this.endSniff();
    if (this.inFile && this.file !== undefined && !this.deleted && this.opts.onPath) {
      this.opts.onPath({
        commit: this.commit,
        authorDate: this.authorDate,
        file: this.file,
        added: this.added
      });
    }
    this.sniffing = false;
    this.pending = [];
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
  /** Also stream each commit's full message (AddedLine.source 'message'). */
  messages?: boolean;
  /** Called for every path a commit of the range writes. */
  onPath?: (p: ChangedPath) => void;
  binaryTextPerFile?: number;
  binaryTextTotal?: number;
  /**
   * Consecutive added lines of a text file come as one record of up to
   * MAX_RUN_CHARS (AddedLine.lines), not one record per line: a tenth of
   * the work for a large range.
   */
  runs?: boolean;
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

export function addedLinesArgs(
  base: string,
  head: string,
  opts: { messages?: boolean } = {}
): string[] {
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
    // With messages: each message line indented by one space (%w with width 0
    // only indents), so no line of it can pass for a marker or a diff header.
    `--format=${MARKER.replace('\x01', '%x01')}%H %aI${opts.messages ? '%n%w(0,1,1)%B' : ''}`,
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

/** A piece of git's output that a parser can start on by itself (see LogSegmenter). */
export interface LogSegment {
  /** Whole lines of git's output; the first is a commit marker or a file's `diff` header. */
  bytes: Buffer;
  /** The commit the first line belongs to ('' before the first marker): for AddedLinesParser.resume(). */
  commit: string;
  authorDate: string;
  /** Whether a NUL byte occurs in it (binary or UTF-16 content, or text holding a NUL). */
  nul: boolean;
}

/** Where a segment may start: a line beginning a commit or a file's diff (no body line can begin so). */
const SEGMENT_STARTS = [Buffer.from(`\n${MARKER}`, 'latin1'), Buffer.from('\ndiff --', 'latin1')];
const MARKER_BYTES = Buffer.from(MARKER, 'latin1');
const EMPTY = Buffer.alloc(0);

/**
 * Cuts git's `log -p` output (addedLinesArgs) into segments of at least
 * `target` bytes, each starting at a commit marker or a file's `diff` line,
 * so that each can be parsed on its own (by another thread) and a file is
 * never split: every line of a diff body begins with '+', '-', ' ' or '\',
 * and message lines with a space, so a line beginning with the marker or
 * `diff --` is a header wherever it occurs. A file larger than `target` is
 * one segment.
 */
export class LogSegmenter {
  private readonly target: number;
  /** Bytes since the last cut, and how many. */
  private parts: Buffer[] = [];
  private size = 0;
  /** Where in those bytes a cut may be (a segment is at least `target` bytes long). */
  private searchFrom: number;
  private commit = '';
  private authorDate = '';

  constructor(target = 1 << 20) {
    this.target = Math.max(1, target);
    this.searchFrom = this.target - 1;
  }

  /** Adds git's next bytes; returns the segments now complete. */
  push(chunk: Buffer): LogSegment[] {
    const out: LogSegment[] = [];
    let data = chunk;
    for (;;) {
      const dataAt = this.size;
      this.parts.push(data);
      this.size += data.length;
      if (this.size <= this.searchFrom) {
        this.keepTail(data);
        return out;
      }
      // Searched: the new bytes, and where they meet the last few before them (a needle may lie across).
      let cut = -1;
      const first = (hay: Buffer, hayAt: number, below = Infinity): void => {
        const from = Math.max(0, this.searchFrom - hayAt);
        for (const needle of SEGMENT_STARTS) {
          const at = hay.indexOf(needle, from);
          if (at >= 0 && at < below && (cut < 0 || hayAt + at < cut)) cut = hayAt + at;
        }
      };
      if (this.tail.length > 0)
        first(
          Buffer.concat([this.tail, data.subarray(0, 16)]),
          dataAt - this.tail.length,
          this.tail.length
        );
      if (cut < 0) first(data, dataAt);
      if (cut < 0) {
        this.keepTail(data);
        return out;
      }
      const at = cut + 1;
      out.push(this.take(at));
      data = this.rest;
      this.rest = EMPTY;
      if (data.length === 0) return out;
    }
  }

  /** The rest of the output (undefined when there is none). */
  end(): LogSegment | undefined {
    return this.size === 0 ? undefined : this.take(this.size);
  }

  /** The last bytes before the next chunk (at most 16: a needle's length). */
  private tail: Buffer = EMPTY;
  /** After take(): the bytes past the cut. */
  private rest: Buffer = EMPTY;

  private keepTail(data: Buffer): void {
    this.tail =
      data.length >= 16
        ? Buffer.from(data.subarray(data.length - 16))
        : Buffer.concat([this.tail, data]).subarray(-16);
  }

  /** The first `at` pending bytes as a segment (copied once, into memory of their own: a segment may be transferred to another thread); the rest in `rest`. */
  private take(at: number): LogSegment {
    const bytes = Buffer.from(new ArrayBuffer(at));
    let o = 0;
    for (const part of this.parts) {
      if (o >= at) {
        this.rest = this.rest.length > 0 ? Buffer.concat([this.rest, part]) : part;
        continue;
      }
      const n = Math.min(part.length, at - o);
      part.copy(bytes, o, 0, n);
      o += n;
      if (n < part.length) this.rest = part.subarray(n);
    }
    const seg: LogSegment = {
      bytes,
      commit: this.commit,
      authorDate: this.authorDate,
      nul: bytes.includes(0)
    };
    // The commit the next segment starts in: the last marker of this one, if any.
    const lastMarker = bytes.lastIndexOf(SEGMENT_STARTS[0]);
    const markerAt = lastMarker >= 0 ? lastMarker + 1 : markerStartsAt(bytes, 0) ? 0 : -1;
    if (markerAt >= 0)
      ({ commit: this.commit, authorDate: this.authorDate } = readMarker(bytes, markerAt));
    this.parts = [];
    this.size = 0;
    this.tail = EMPTY;
    this.searchFrom = this.target - 1;
    return seg;
  }
}

/** Whether a commit marker line starts at `at`. */
function markerStartsAt(b: Buffer, at: number): boolean {
  const end = at + MARKER_BYTES.length;
  return end <= b.length && b.compare(MARKER_BYTES, 0, MARKER_BYTES.length, at, end) === 0;
}

/** The commit and author date of the marker line at `at` (it ends at a newline, or at `end`). */
function readMarker(b: Buffer, at: number, end = b.length): { commit: string; authorDate: string } {
  const eol = b.indexOf(10, at);
  const [sha, date] = b
    .toString('utf8', at + MARKER_BYTES.length, eol < 0 || eol > end ? end : eol)
    .split(' ');
  return { commit: sha ?? '', authorDate: date ?? '' };
}

/**
 * A segment holding a NUL split at its file (and commit) boundaries into
 * runs of whole files with and without a NUL, in order: a segment takes
 * the slow path only for the files that need it (binary or UTF-16 content),
 * its text files the fast one. A segment without a NUL is returned as it
 * is. Each piece without a NUL has memory of its own (it may be transferred
 * to another thread).
 */
export function splitNulFiles(seg: LogSegment): LogSegment[] {
  if (!seg.nul) return [seg];
  const b = seg.bytes;
  // Where each file or commit starts: at 0, and after a newline before a marker or a `diff --` line.
  const starts = [0];
  for (const needle of SEGMENT_STARTS)
    for (let at = b.indexOf(needle); at >= 0; at = b.indexOf(needle, at + 1)) starts.push(at + 1);
  starts.sort((x, y) => x - y);
  starts.push(b.length);
  const out: LogSegment[] = [];
  let commit = seg.commit;
  let authorDate = seg.authorDate;
  let from = 0;
  let fromCommit = commit;
  let fromDate = authorDate;
  let fromNul = false;
  const cut = (to: number): void => {
    if (to <= from) return;
    const view = b.subarray(from, to);
    const bytes = fromNul ? view : Buffer.from(new ArrayBuffer(view.length));
    if (!fromNul) view.copy(bytes);
    out.push({ bytes, commit: fromCommit, authorDate: fromDate, nul: fromNul });
  };
  for (let i = 0; i + 1 < starts.length; i++) {
    const [a, z] = [starts[i], starts[i + 1]];
    if (a === z) continue;
    const nul = b.subarray(a, z).includes(0);
    if (a === 0) fromNul = nul;
    else if (nul !== fromNul) {
      cut(a);
      from = a;
      fromCommit = commit;
      fromDate = authorDate;
      fromNul = nul;
    }
    // A piece that is a commit's header: the commit the pieces after it are in.
    if (markerStartsAt(b, a)) ({ commit, authorDate } = readMarker(b, a, z));
  }
  cut(b.length);
  return out;
}

/**
 * Feeds whole lines of git's output to a parser, split at newline bytes and
 * decoded one line (or run) at a time, with the line's bytes for the lines
 * the parser wants raw (a binary or UTF-16 file's lines are not decoded at
 * all), and added lines of a text file as runs (the `runs` option).
 */
export class LineFeeder {
  private readonly parser: AddedLinesParser;
  private readonly runs: boolean;
  /** The bytes of a line not ended yet (it began in earlier chunks). */
  private rawCarry: Buffer[] = [];

  constructor(parser: AddedLinesParser, runs: boolean) {
    this.parser = parser;
    this.runs = runs;
  }

  write(chunk: Buffer): void {
    const parser = this.parser;
    let start = 0;
    let nl = chunk.indexOf(10);
    while (nl >= 0) {
      if (this.runs && this.rawCarry.length === 0 && chunk[start] === 43 && parser.takesRun) {
        // Added lines of a text file: as many whole '+' lines of this chunk as fit one run.
        let end = nl;
        let count = 1;
        for (;;) {
          const after = end + 1;
          if (after - start >= MAX_RUN_CHARS || chunk[after] !== 43) break;
          const next = chunk.indexOf(10, after);
          if (next < 0) break;
          end = next;
          count++;
        }
        const body = chunk.toString('utf8', start + 1, end);
        parser.feedAddedRun(
          count > 1 ? body.replaceAll('\n+', '\n') : body,
          count,
          chunk.subarray(start, end)
        );
        start = end + 1;
        nl = chunk.indexOf(10, start);
        continue;
      }
      const raw =
        this.rawCarry.length === 0
          ? chunk.subarray(start, nl)
          : Buffer.concat([...this.rawCarry, chunk.subarray(start, nl)]);
      this.rawCarry = [];
      this.feedLine(raw);
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) this.rawCarry.push(chunk.subarray(start));
  }

  /** The last line (without a newline), then the parser's end. */
  end(): void {
    if (this.rawCarry.length > 0) this.feedLine(Buffer.concat(this.rawCarry));
    this.rawCarry = [];
    this.parser.end();
  }

  /**
   * One line: decoded, with its bytes when the parser wants them; a body
   * line of a binary or UTF-16 file goes as its bytes and its kind alone
   * (megabytes of binary content are never decoded as UTF-8 for nothing).
   */
  private feedLine(raw: Buffer): void {
    const parser = this.parser;
    const c = raw[0];
    if (parser.rawOnly && (c === 43 || c === 45 || c === 32))
      parser.feed(raw.toString('latin1', 0, Math.min(raw.length, 2)), raw);
    else parser.feed(raw.toString('utf8'), parser.wantsRaw ? raw : undefined);
  }
}

/**
 * git's `log -p` output of base..head (addedLinesArgs), as git writes it.
 * git runs in its own process group; a timeout, an abort, or a consumer that
 * stops early ends the group. Any failure throws GitError.
 */
async function* gitLogOutput(opts: AddedLinesOptions): AsyncGenerator<Buffer, void, undefined> {
  if (!isSha(opts.base) || !isSha(opts.head)) {
    throw new GitError('added lines: base and head must be full commit shas', []);
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const args = addedLinesArgs(opts.base, opts.head, { messages: opts.messages });
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

  let finished = false;
  try {
    try {
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) yield chunk;
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
    finished = true;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    // A consumer that stopped early (or threw) leaves git running: end it.
    if (!finished && pgid !== undefined) stop(stopped ?? 'abort');
    if (finished && pgid !== undefined) liveGroups.delete(pgid);
  }
}

/**
 * git's `log -p` output of base..head in segments (LogSegmenter) of at
 * least `segmentBytes` (default 1 MiB), each of which a parser can read by
 * itself. Failures as gitLogOutput's.
 */
export async function* streamLogSegments(
  opts: AddedLinesOptions & { segmentBytes?: number }
): AsyncGenerator<LogSegment, void, undefined> {
  const segmenter = new LogSegmenter(opts.segmentBytes);
  for await (const chunk of gitLogOutput(opts)) for (const seg of segmenter.push(chunk)) yield seg;
  const last = segmenter.end();
  if (last) yield last;
}

/**
 * Yields the added lines of base..head in batches, and returns the stats once
 * the range is exhausted. git runs in its own process group; a timeout, an
 * abort, or a consumer that stops early ends the group. Any failure throws GitError.
 */
export async function* streamAddedLines(
  opts: AddedLinesOptions
): AsyncGenerator<AddedLine[], AddedLinesStats, undefined> {
  const batchLines = opts.batchLines ?? 4096;
  const batchChars = opts.batchChars ?? 1 << 20;
  let batch: AddedLine[] = [];
  let batchSize = 0;
  const ready: AddedLine[][] = [];
  const parser = new AddedLinesParser(
    (rec) => {
      batch.push(rec);
      batchSize += rec.text.length;
      if (batch.length >= batchLines || batchSize >= batchChars) {
        ready.push(batch);
        batch = [];
        batchSize = 0;
      }
    },
    {
      messages: opts.messages,
      onPath: opts.onPath,
      binaryTextPerFile: opts.binaryTextPerFile,
      binaryTextTotal: opts.binaryTextTotal
    }
  );
  const feeder = new LineFeeder(parser, opts.runs === true);
  for await (const chunk of gitLogOutput(opts)) {
    feeder.write(chunk);
    while (ready.length > 0) yield ready.shift() as AddedLine[];
  }
  feeder.end();
  if (batch.length > 0) ready.push(batch);
  while (ready.length > 0) yield ready.shift() as AddedLine[];
  return parser.stats;
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
