// The set of instrumented lines of one source file, each covered or not, as
// compact as the line numbers allow: a byte per line up to the highest line
// while lines are dense (the usual case), a Map once they are not, so a
// stray huge line number cannot make a reader allocate gigabytes.

import type { LineLookup, LineState } from '../coverage-report.ts';

const UNCOVERED = 1;
const COVERED = 2;
/** Dense storage may hold this many slots per marked line before it turns sparse. */
const SLACK = 32;
const MIN_DENSE = 1 << 16;

export class LineStates implements LineLookup {
  private dense: Uint8Array | null = new Uint8Array(256);
  private sparse: Map<number, number> | null = null;
  private totalLines = 0;
  private coveredLines = 0;

  get total(): number {
    return this.totalLines;
  }

  get covered(): number {
    return this.coveredLines;
  }

  /** 0 not instrumented, 1 instrumented and not run, 2 run. */
  state(line: number): LineState {
    if (!Number.isSafeInteger(line) || line < 0) return 0;
    const v = this.dense !== null ? (this.dense[line] ?? 0) : (this.sparse?.get(line) ?? 0);
    return v as LineState;
  }

  /** Marks a line instrumented; covered wins over uncovered whatever the order. */
  mark(line: number, covered: boolean): void {
    this.set(line, covered ? COVERED : UNCOVERED);
  }

  /** Union with another file's lines (duplicate records, classes or blocks). */
  merge(other: LineStates): void {
    if (other.dense) {
      const d = other.dense;
      for (let i = 0; i < d.length; i++) if (d[i] !== 0) this.set(i, d[i]);
    } else if (other.sparse) {
      for (const [line, state] of other.sparse) this.set(line, state);
    }
  }

  private set(line: number, state: number): void {
    let d = this.dense;
    if (d !== null && line >= d.length) d = this.grow(line);
    let prev: number;
    if (d !== null) {
      prev = d[line];
      if (prev >= state) return;
      d[line] = state;
    } else {
      const s = this.sparse as Map<number, number>;
      prev = s.get(line) ?? 0;
      if (prev >= state) return;
      s.set(line, state);
    }
    if (prev === 0) this.totalLines++;
    if (state === COVERED) this.coveredLines++;
  }

  private grow(line: number): Uint8Array | null {
    const d = this.dense as Uint8Array;
    const size = Math.max(line + 1, d.length * 2);
    if (size <= Math.max(MIN_DENSE, (this.totalLines + 1) * SLACK)) {
      const bigger = new Uint8Array(size);
      bigger.set(d);
      this.dense = bigger;
      return bigger;
    }
    const s = new Map<number, number>();
    for (let i = 0; i < d.length; i++) if (d[i] !== 0) s.set(i, d[i]);
    this.sparse = s;
    this.dense = null;
    return null;
  }
}
