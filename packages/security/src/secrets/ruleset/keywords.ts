// The keyword prefilter: one pass over a text finds, for every keyword of the
// rules, the lines it occurs on (gitleaks lower-cases the text and looks for
// each keyword; a rule runs only where one of its keywords is).
//
// An Aho-Corasick automaton (a DFA over the keywords' characters) read
// directly over the text, ASCII letters folded to lower case on the way, so
// the text is neither lower-cased (a copy) nor searched once per keyword; the
// same pass records where each line starts. Hand-written rather than taken
// from a library, measured on 33 MB of vendored JavaScript: the library made
// for it (modern-ahocorasick 3.3) needs a lower-cased copy and returns an
// array per match: 5.2 s; lower-casing plus a 278-way regex alternation and
// per-match bookkeeping (this engine before): 0.95 s; this pass 0.12-0.28 s.

/** Keyword occurrences of one text, and where each line starts. */
export interface KeywordLines {
  /**
   * For each keyword index: where it occurs (offset of its first character),
   * ascending: its first occurrence on each line, then on the same line the
   * next one at least `spacing` characters on (scan()'s argument).
   */
  at: (number[] | undefined)[];
  /** lineStarts[i]: offset where line i starts; one more entry: the text's length. */
  lineStarts: Int32Array;
  lineCount: number;
  /** With scan()'s `runs`: [start, end) pairs of every maximal run of its characters at least its length long. */
  runs?: Int32Array;
}

/** Runs of characters scan() can find on the way: which ASCII characters (table[c] = 1) and how long a run must be. */
export interface RunSpec {
  chars: Uint8Array;
  min: number;
}

const NO_RUN_CHARS = new Uint8Array(128);

/** `a` in an array twice as long. */
function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(a.length * 2);
  grown.set(a);
  return grown;
}

/** Two characters outside ASCII whose lower case is an ASCII letter (Unicode lower-casing, as Go's strings.ToLower). */
const KELVIN = 0x212a; // 'K' -> 'k'
const DOTTED_I = 0x130; // 'İ' -> 'i' + U+0307

export class KeywordAutomaton {
  readonly keywords: readonly string[];
  /** Symbol of each ASCII character (0: in no keyword). */
  private readonly symbol = new Int32Array(128);
  private readonly symbols: number;
  /**
   * delta[base + symbol], base = state * symbols: the next state's base,
   * negated when that state completes a keyword (the root, base 0, never does).
   */
  private readonly delta: Int32Array;
  /** By base / symbols: the keyword indexes each state completes (own and through failure links). */
  private readonly output: (number[] | undefined)[];

  private readonly indexes: Map<string, number>;
  private readonly lengths: Int32Array;

  constructor(keywords: readonly string[]) {
    this.keywords = keywords;
    this.lengths = Int32Array.from(keywords, (k) => k.length);
    this.indexes = new Map(keywords.map((k, i) => [k, i]));
    let next = 1;
    for (const k of keywords)
      for (let i = 0; i < k.length; i++) {
        const c = k.charCodeAt(i);
        if (c >= 128 || c === 10)
          throw new Error('keywords must be ASCII characters other than a newline');
        const lc = c >= 65 && c <= 90 ? c + 32 : c;
        if (this.symbol[lc] === 0) this.symbol[lc] = next++;
      }
    // Upper-case ASCII letters read as their lower case.
    for (let c = 65; c <= 90; c++) this.symbol[c] = this.symbol[c + 32];
    this.symbols = next;
    const S = next;
    // The trie.
    const children: number[][] = [new Array<number>(S).fill(-1)];
    const output: (number[] | undefined)[] = [undefined];
    keywords.forEach((k, ki) => {
      let s = 0;
      for (let i = 0; i < k.length; i++) {
        const c = k.charCodeAt(i);
        const sym = this.symbol[c >= 65 && c <= 90 ? c + 32 : c];
        if (children[s][sym] < 0) {
          children[s][sym] = children.length;
          children.push(new Array<number>(S).fill(-1));
          output.push(undefined);
        }
        s = children[s][sym];
      }
      (output[s] ??= []).push(ki);
    });
    // Breadth first: failure links folded into a complete transition table.
    const n = children.length;
    const delta = new Int32Array(n * S);
    const fail = new Int32Array(n);
    const queue: number[] = [];
    for (let sym = 0; sym < S; sym++) {
      const t = children[0][sym];
      if (t > 0) {
        delta[sym] = t;
        fail[t] = 0;
        queue.push(t);
      } else delta[sym] = 0;
    }
    for (let qi = 0; qi < queue.length; qi++) {
      const s = queue[qi];
      const f = fail[s];
      if (output[f]) output[s] = [...(output[s] ?? []), ...output[f]!];
      for (let sym = 0; sym < S; sym++) {
        const t = children[s][sym];
        if (t > 0) {
          fail[t] = delta[f * S + sym];
          delta[s * S + sym] = t;
          queue.push(t);
        } else delta[s * S + sym] = delta[f * S + sym];
      }
    }
    // Bases instead of state numbers, negative where a keyword ends: one lookup per character.
    for (let i = 0; i < delta.length; i++) {
      const t = delta[i];
      delta[i] = output[t] ? -t * S : t * S;
    }
    this.delta = delta;
    this.output = output;
  }

  /** The index of a keyword (as given to the constructor). */
  indexOf(keyword: string): number {
    return this.indexes.get(keyword) ?? -1;
  }

  /** Every keyword's occurrences in `text` (see KeywordLines.at), and the line starts, in one pass. */
  scan(text: string, spacing = Infinity, runs?: RunSpec): KeywordLines {
    const runChars = runs?.chars ?? NO_RUN_CHARS;
    const minRun = runs?.min ?? Infinity;
    // Plain locals, no closure over them: the loop below keeps them in registers.
    let found = new Int32Array(runs ? 256 : 2);
    let foundLength = 0;
    let runStart = -1;
    const { symbol, delta, output } = this;
    const S = this.symbols;
    const symI = symbol[105];
    const symK = symbol[107];
    const at: (number[] | undefined)[] = new Array(this.keywords.length);
    const lastLine = new Int32Array(this.keywords.length).fill(-1);
    const lastAt = new Float64Array(this.keywords.length);
    let starts = new Int32Array(1024);
    let lineCount = 1;
    starts[0] = 0;
    let state = 0;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c < 128 && runChars[c] === 1) {
        if (runStart < 0) runStart = i;
      } else if (runStart >= 0) {
        if (i - runStart >= minRun) {
          if (foundLength + 2 > found.length) found = grow(found);
          found[foundLength++] = runStart;
          found[foundLength++] = i;
        }
        runStart = -1;
      }
      let sym: number;
      if (c < 128) {
        if (c === 10) {
          if (lineCount === starts.length) starts = grow(starts);
          starts[lineCount++] = i + 1;
          state = 0;
          continue;
        }
        sym = symbol[c];
      } else sym = c === KELVIN ? symK : c === DOTTED_I ? symI : 0;
      const next = delta[state + sym];
      if (next >= 0) state = next;
      else {
        state = -next;
        const out = output[state / S]!;
        const line = lineCount - 1;
        for (let o = 0; o < out.length; o++) {
          const k = out[o];
          const pos = i + 1 - this.lengths[k];
          if (lastLine[k] === line && pos - lastAt[k] < spacing) continue;
          lastLine[k] = line;
          lastAt[k] = pos;
          const list = at[k];
          if (list === undefined) at[k] = [pos];
          else list.push(pos);
        }
      }
    }
    if (lineCount === starts.length) starts = grow(starts);
    starts[lineCount] = n;
    if (runStart >= 0 && n - runStart >= minRun) {
      if (foundLength + 2 > found.length) found = grow(found);
      found[foundLength++] = runStart;
      found[foundLength++] = n;
    }
    const result: KeywordLines = { at, lineStarts: starts, lineCount };
    if (runs) result.runs = found.subarray(0, foundLength);
    return result;
  }
}
