// scanSegment(): one segment of the range's `git log -p` output (a piece
// that starts at a commit or a file, see LogSegmenter), parsed and scanned
// by itself: by a worker thread in a large range (the worker gets the bytes,
// not strings: nothing is copied or decoded twice), on the calling thread
// otherwise. Its findings, stats and paths are merged by the caller in
// segment order, so the result is the same as one pass over the range.
//
// A segment without a NUL byte (nearly every one: text files) takes the fast
// path: the added lines of a file go from git's bytes into the chunk's bytes
// with their '+' removed, and each chunk is decoded once (no string per line,
// no rope to flatten). A segment holding a NUL (binary or UTF-16 content) is
// read line by line as the stream parser reads it, with the range's shared
// budget for binary text; the caller keeps those on one thread, in order.

import {
  AddedLinesParser,
  LineFeeder,
  MAX_RUN_CHARS,
  type AddedLine,
  type AddedLinesStats,
  type ChangedPath,
  type LogSegment
} from '../../../git/src/added-lines.ts';
import {
  COMMIT_MESSAGE_FILE,
  fingerprintOf,
  locationKey,
  type SecretFinding
} from '../findings.ts';
import { isAllowed, isPathAllowlisted, type Allowlist } from './allowlist.ts';
import { detectDecoded } from './ruleset/decoded-detect.ts';
import type { DetectContext, Ruleset, SecretHit } from './ruleset/engine.ts';
import {
  BLOCK_SEPARATOR,
  DEFAULT_LIMITS,
  ChunkBuilder,
  VirtualSourceBuilder,
  recordIndexAt,
  type ChunkLimits,
  type VirtualSource
} from './virtual-source.ts';

export interface SegmentOptions {
  /** Only commit messages (another engine reads the content). */
  namesAndMessagesOnly?: boolean;
  limits?: ChunkLimits;
  binaryTextPerFile?: number;
  binaryTextTotal?: number;
  /** Date.now() past which the scan has timed out. */
  deadline?: number;
  timeoutMs?: number;
}

export interface SegmentResult {
  /** Findings in the order found, one per location within the segment. */
  findings: SecretFinding[];
  stats: AddedLinesStats;
  /** Every path a commit of the segment writes, in git's order. */
  paths: ChangedPath[];
  /** Bytes of added content not examined (allowlisted paths, or content another engine reads). */
  skippedBytes: number;
}

/** The path and commit of a virtual source's text at an offset (none for a commit message line). */
export function sourceContext(src: VirtualSource): DetectContext {
  const rec = (o: number): AddedLine => src.records[recordIndexAt(src, o)];
  return {
    pathAt: (o) => {
      const r = rec(o);
      return r.source === 'message' ? undefined : r.file;
    },
    commitAt: (o) => rec(o).commit
  };
}

/** The key two findings of one location share (a commit message line is not a file's line). */
export function findingKey(f: SecretFinding): string {
  return (f.source === 'commit-message' ? 'message:' : '') + locationKey(f);
}

/** Maps hits to findings, dropping allowed ones and duplicates (per commit, file, line, rule). */
export function collect(
  src: VirtualSource,
  hits: SecretHit[],
  allowlist: Allowlist,
  out: Map<string, SecretFinding>
): void {
  for (const hit of hits) {
    const idx = recordIndexAt(src, hit.start);
    const rec: AddedLine = src.records[idx];
    // A commit message line is reported as line n of the commit's message.
    const message = rec.source === 'message';
    const file = message ? COMMIT_MESSAGE_FILE : rec.file;
    const loc = { commit: rec.commit, file, ruleId: hit.ruleId, line: lineAt(src, idx, hit.start) };
    const key = (message ? 'message:' : '') + locationKey(loc);
    if (out.has(key)) continue;
    if (isAllowed(allowlist, loc, src.text.slice(hit.start, hit.end))) continue;
    out.set(key, {
      engine: 'embedded',
      ...loc,
      authorDate: rec.authorDate,
      fingerprint: fingerprintOf(loc),
      ...(message ? { source: 'commit-message' as const } : {}),
      ...(hit.example ? { example: true as const } : {})
    });
  }
}

/** The line number at `offset`, inside record `idx` (a record may hold several lines). */
function lineAt(src: VirtualSource, idx: number, offset: number): number {
  const rec = src.records[idx];
  if (!rec.lines) return rec.line;
  const end = Math.min(offset, src.starts[idx] + rec.text.length);
  let line = rec.line;
  for (
    let i = src.text.indexOf('\n', src.starts[idx]);
    i >= 0 && i < end;
    i = src.text.indexOf('\n', i + 1)
  )
    line++;
  return line;
}

const SEPARATOR = Buffer.from(BLOCK_SEPARATOR, 'latin1');

/** The last builder's buffer, for the next one on this thread. */
let spare: Buffer | undefined;

/**
 * VirtualSourceBuilder over bytes: records' bytes are copied into one
 * buffer (blocks apart by the same separator, chunks cut by the same rules,
 * sizes counted in bytes), and a chunk's text is decoded once when it is taken.
 */
class ByteSourceBuilder extends ChunkBuilder {
  private buf: Buffer;
  /** [start, end) of each record's bytes in buf. */
  private spans: number[] = [];

  constructor(limits: ChunkLimits) {
    super(limits);
    // One buffer for every chunk of every segment of this thread (a chunk's text is a copy of it).
    const want = limits.targetChars + limits.overlapChars + MAX_RUN_CHARS;
    this.buf = spare !== undefined && spare.length >= want ? spare : Buffer.allocUnsafe(want);
    spare = undefined;
  }

  /**
   * Adds a record whose `length` bytes `write` puts at the offset it is
   * given; returns a full chunk when one is ready (before this record).
   */
  add(
    rec: AddedLine,
    length: number,
    write: (to: Buffer, at: number) => void
  ): VirtualSource | undefined {
    const ready = this.begin(rec, length);
    this.room(length + 1);
    write(this.buf, this.size);
    this.records.push(rec);
    this.spans.push(this.size, this.size + length);
    this.size += length;
    this.buf[this.size++] = 10;
    return ready;
  }

  /** The last chunk (undefined when empty); the buffer goes back for the next builder. */
  finish(): VirtualSource | undefined {
    const last = this.records.length > 0 ? this.take() : undefined;
    spare = this.buf;
    return last;
  }

  private room(n: number): void {
    if (this.size + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.size + n));
    this.buf.copy(grown, 0, 0, this.size);
    this.buf = grown;
  }

  protected separate(): void {
    this.append(SEPARATOR);
  }

  private append(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.size);
    this.size += b.length;
  }

  /**
   * The chunk so far as a virtual source. Its text is its bytes read as
   * Latin-1, one character per byte (a one-byte string, decoded at memory
   * speed): the rules, keywords and decoders are ASCII, so they match as on
   * the UTF-8 text, and a non-ASCII character reads as two to four non-word,
   * non-space characters instead of one. Records hold their slices of it.
   */
  protected take(): VirtualSource {
    const { buf, size, records, spans } = this;
    const text = buf.toString('latin1', 0, size);
    const starts: number[] = new Array<number>(records.length);
    for (let i = 0; i < records.length; i++) {
      starts[i] = spans[2 * i];
      records[i].text = text.slice(spans[2 * i], spans[2 * i + 1]);
    }
    this.records = [];
    this.spans = [];
    this.size = 0;
    return { text, starts, records };
  }

  /** Cut inside a big block: the next chunk starts again with up to overlapChars of its last records. */
  protected cutWithOverlap(): VirtualSource {
    const records = this.records;
    const spans = this.spans;
    let keep = records.length;
    let kept = 0;
    while (
      keep > 1 &&
      kept + (spans[2 * keep - 1] - spans[2 * keep - 2]) + 1 <= this.limits.overlapChars
    ) {
      keep--;
      kept += spans[2 * keep + 1] - spans[2 * keep] + 1;
    }
    const tail = records.slice(keep).map((r) => ({ ...r }));
    const tailBytes = Buffer.from(this.buf.subarray(spans[2 * keep] ?? this.size, this.size));
    const tailSpans = spans.slice(2 * keep).map((x) => x - (spans[2 * keep] ?? 0));
    const chunk = this.take();
    tailBytes.copy(this.buf, 0);
    this.size = tailBytes.length;
    this.records = tail;
    this.spans = tailSpans;
    this.blockChars = tailBytes.length;
    return chunk;
  }
}

/** The run's lines [from, end) (each beginning with '+') into `to` at `at`, without their '+'. */
function copyAdded(b: Uint8Array, from: number, end: number, to: Uint8Array, at: number): void {
  let o = at;
  for (let p = from + 1; p < end; p++) {
    const c = b[p];
    to[o++] = c;
    // Each newline inside the run is followed by a '+'.
    if (c === 10) p++;
  }
}

/** Scans one segment; see the file's head. */
export function scanSegment(
  seg: LogSegment,
  ruleset: Ruleset,
  allowlist: Allowlist,
  opts: SegmentOptions = {},
  binaryBudget?: { used: number }
): SegmentResult {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const paths: ChangedPath[] = [];
  const found = new Map<string, SecretFinding>();
  let skippedBytes = 0;
  const scan = (src: VirtualSource | undefined): void => {
    if (!src) return;
    if (opts.deadline !== undefined && Date.now() > opts.deadline)
      throw new Error(`secrets scan timed out after ${opts.timeoutMs ?? 0} ms`);
    collect(src, detectDecoded(ruleset, src.text, sourceContext(src)), allowlist, found);
  };
  // Lines of one file arrive together: the last path's verdict is kept.
  let lastFile: string | undefined;
  let lastSkipped = false;
  const skips = (rec: Pick<AddedLine, 'file' | 'source'>): boolean => {
    if (rec.source === 'message') return false;
    if (opts.namesAndMessagesOnly) return true;
    if (rec.file !== lastFile) {
      lastFile = rec.file;
      lastSkipped = isPathAllowlisted(allowlist, rec.file);
    }
    return lastSkipped;
  };
  const fast = !seg.nul;
  const bytesBuilder = fast ? new ByteSourceBuilder(limits) : undefined;
  const textBuilder = fast ? undefined : new VirtualSourceBuilder(limits);
  const parser = new AddedLinesParser(
    (rec) => {
      if (skips(rec)) {
        skippedBytes += Buffer.byteLength(rec.text, 'utf8') + 1;
        return;
      }
      if (textBuilder) {
        scan(textBuilder.add(rec));
        return;
      }
      // A line the fast path did not take (a message, a merge's combined diff): its text as bytes.
      const bytes = Buffer.from(rec.text, 'utf8');
      scan(bytesBuilder!.add(rec, bytes.length, (to, at) => bytes.copy(to, at)));
    },
    {
      messages: true,
      onPath: (p) => paths.push(p),
      binaryTextPerFile: opts.binaryTextPerFile,
      binaryTextTotal: opts.binaryTextTotal,
      noNul: fast,
      binaryBudget
    }
  );
  if (seg.commit !== '') parser.resume(seg.commit, seg.authorDate);
  const b = seg.bytes;
  if (!fast) {
    const feeder = new LineFeeder(parser, true);
    feeder.write(b);
    feeder.end();
    scan(textBuilder!.finish());
  } else {
    const n = b.length;
    let i = 0;
    while (i < n) {
      let nl = b.indexOf(10, i);
      if (nl < 0) nl = n;
      if (b[i] !== 43 || !parser.takesRun) {
        parser.feed(b.toString('utf8', i, nl));
        i = nl + 1;
        continue;
      }
      // Consecutive added lines of a text file: one record of up to MAX_RUN_CHARS bytes.
      const from = i;
      let end = nl;
      let count = 1;
      let length = nl - i - 1;
      while (end + 1 < n && b[end + 1] === 43 && end + 1 - from < MAX_RUN_CHARS) {
        let next = b.indexOf(10, end + 1);
        if (next < 0) next = n;
        length += next - end - 1; // the line without its '+', and the newline before it
        end = next;
        count++;
      }
      const meta = parser.takeAddedRun(count, length) as AddedLine;
      if (skips(meta)) skippedBytes += length + 1;
      else {
        meta.text = '';
        scan(bytesBuilder!.add(meta, length, (to, at) => copyAdded(b, from, end, to, at)));
      }
      i = end + 1;
    }
    parser.end();
    scan(bytesBuilder!.finish());
  }
  return { findings: [...found.values()], stats: parser.stats, paths, skippedBytes };
}
