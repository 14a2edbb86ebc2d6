// Batches added lines into "virtual sources": one string made of the lines of
// many commits and files, so the rules run a few dozen times over megabytes
// instead of once per (commit, file). An offset table maps any match back to
// the line it starts on. Consecutive lines of one block stay adjacent (a
// private key spans lines); unrelated blocks are kept apart by a "\0" line
// that no rule can match across.

import type { AddedLine } from '../../../git/src/added-lines.ts';

export interface VirtualSource {
  text: string;
  /** records[i] starts at offset starts[i] of text. */
  starts: number[];
  records: AddedLine[];
}

export const BLOCK_SEPARATOR = '\0\n';

export interface ChunkLimits {
  /** A chunk is handed on once it holds this many characters. */
  targetChars: number;
  /**
   * When a single block outgrows a chunk it is cut, and the next chunk starts
   * again with up to this many characters of its last lines, so a multi-line
   * secret lying across the cut is still seen whole by one chunk.
   */
  overlapChars: number;
}

export const DEFAULT_LIMITS: ChunkLimits = { targetChars: 1 << 20, overlapChars: 48 * 1024 };

/**
 * What the chunk builders share (this one over characters, segment-scan.ts's
 * over bytes; sizes count in the builder's unit): a new block is kept apart
 * from the last by a separator, or starts the next chunk once the chunk is
 * full; a block is cut only when it outgrows a chunk by itself, the next
 * chunk starting again with up to overlapChars of its last records.
 */
export abstract class ChunkBuilder {
  protected readonly limits: ChunkLimits;
  protected records: AddedLine[] = [];
  /** The chunk's size so far. */
  protected size = 0;
  /** Size of the current block in this chunk. */
  protected blockChars = 0;
  private lastBlock = -1;

  constructor(limits: ChunkLimits) {
    this.limits = limits;
  }

  /** Before a record `length` long (without its newline) joins the chunk: the chunk that is full, if any. */
  protected begin(rec: AddedLine, length: number): VirtualSource | undefined {
    let ready: VirtualSource | undefined;
    if (this.records.length > 0) {
      if (rec.block !== this.lastBlock) {
        if (this.size >= this.limits.targetChars) ready = this.take();
        else this.separate();
        this.blockChars = 0;
      } else if (
        this.size >= this.limits.targetChars &&
        this.blockChars >= this.limits.overlapChars
      ) {
        // Only a big block is cut; a small one may finish first (the chunk
        // then exceeds its target by less than overlapChars).
        ready = this.cutWithOverlap();
      }
    } else {
      this.blockChars = 0;
    }
    this.blockChars += length + 1;
    this.lastBlock = rec.block;
    return ready;
  }

  /** The chunk so far, and an empty one to go on with. */
  protected abstract take(): VirtualSource;
  /** The chunk so far; the next starts with the last records of its block (see ChunkLimits.overlapChars). */
  protected abstract cutWithOverlap(): VirtualSource;
  /** Appends BLOCK_SEPARATOR. */
  protected abstract separate(): void;
}

export class VirtualSourceBuilder extends ChunkBuilder {
  /** The chunk's text so far: appended to (V8 ropes), flattened once by the first regex; an array join of a million lines measured 3x slower. */
  private text = '';
  private starts: number[] = [];

  constructor(limits: ChunkLimits = DEFAULT_LIMITS) {
    super(limits);
  }

  /** Adds one line; returns a full chunk when one is ready. */
  add(rec: AddedLine): VirtualSource | undefined {
    const ready = this.begin(rec, rec.text.length);
    this.starts.push(this.size);
    this.records.push(rec);
    this.text += rec.text;
    this.text += '\n';
    this.size += rec.text.length + 1;
    return ready;
  }

  /** The last, partial chunk (undefined when empty). */
  finish(): VirtualSource | undefined {
    return this.records.length > 0 ? this.take() : undefined;
  }

  protected separate(): void {
    this.append(BLOCK_SEPARATOR);
  }

  private append(s: string): void {
    this.text += s;
    this.size += s.length;
  }

  protected take(): VirtualSource {
    const chunk: VirtualSource = {
      text: this.text,
      starts: this.starts,
      records: this.records
    };
    this.text = '';
    this.starts = [];
    this.records = [];
    this.size = 0;
    return chunk;
  }

  protected cutWithOverlap(): VirtualSource {
    const records = this.records;
    let keep = records.length;
    let kept = 0;
    while (keep > 1 && kept + records[keep - 1].text.length + 1 <= this.limits.overlapChars) {
      keep--;
      kept += records[keep].text.length + 1;
    }
    const tail = records.slice(keep);
    const chunk = this.take();
    this.blockChars = 0;
    for (const r of tail) {
      this.blockChars += r.text.length + 1;
      this.starts.push(this.size);
      this.records.push(r);
      this.append(r.text);
      this.append('\n');
    }
    return chunk;
  }
}

/** Index of the record a text offset falls in (a separator belongs to the record after it). */
export function recordIndexAt(src: VirtualSource, offset: number): number {
  const { starts } = src;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  if (offset > starts[lo] + src.records[lo].text.length && lo + 1 < starts.length) return lo + 1;
  return lo;
}
