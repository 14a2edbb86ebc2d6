// A streaming JSON reader that checks the whole document's syntax but builds
// only the values a caller selects by path. Coverage JSON can be hundreds of
// MB of line-number arrays that no figure needs: those are scanned byte by
// byte and never decoded, so memory stays bounded by what is selected.

export type JsonPath = readonly (string | number)[];

/**
 * What to do with a value: `skip` it (syntax checked only), `walk` into it
 * (its children are offered to `select` in turn), `build` it (it is
 * materialised whole and handed to `value`), or walk into it and build
 * `each` child without asking `select` (each handed to `value` as if `build`
 * had been chosen for it; fast for long arrays of numbers).
 */
export type JsonSelection = 'skip' | 'walk' | 'build' | 'each';

export interface JsonVisitor {
  /** Asked for the root and for every child of a walked container. `path` is live: copy to keep. */
  select(path: JsonPath): JsonSelection;
  /** A built value, complete. Objects are null-prototype, so `__proto__` is only a key. */
  value(path: JsonPath, value: unknown): void;
  /** A walked container (`walk` or `each`) has closed. */
  end?(path: JsonPath): void;
}

export class JsonSyntaxError extends Error {
  /** Byte offset of the problem (the document's length when it ended early). */
  readonly offset: number;
  /** The document ended before its value was complete. */
  readonly truncated: boolean;
  /** There was no value at all (only whitespace). */
  readonly empty: boolean;
  constructor(message: string, offset: number, truncated = false, empty = false) {
    super(message);
    this.name = 'JsonSyntaxError';
    this.offset = offset;
    this.truncated = truncated;
    this.empty = empty;
  }
}

const OBJ = 0;
const ARR = 1;

// What the grammar expects next, outside any token.
const E_VALUE = 0;
const E_VALUE_OR_CLOSE = 1;
const E_KEY_OR_CLOSE = 2;
const E_KEY = 3;
const E_COLON = 4;
const E_COMMA_OR_CLOSE = 5;
const E_END = 6;

// A token that may continue into the next chunk.
const T_NONE = 0;
const T_STRING = 1;
const T_NUMBER = 2;
const T_LITERAL = 3;

// String escape state: none, just after a backslash, or 1..4 hex digits still due.
const ESC_NONE = -1;
const ESC_BACKSLASH = -2;

const MODE_SKIP = 0;
const MODE_WALK = 1;
const MODE_BUILD = 2;
const MODE_EACH = 3;
const MODES: Record<JsonSelection, number> = {
  skip: MODE_SKIP,
  walk: MODE_WALK,
  build: MODE_BUILD,
  each: MODE_EACH
};

const NUM_CHAR = new Uint8Array(256);
for (const c of '0123456789+-.eE') NUM_CHAR[c.charCodeAt(0)] = 1;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
const ESCAPABLE = new Uint8Array(256);
for (const c of '"\\/bfnrtu') ESCAPABLE[c.charCodeAt(0)] = 1;
const NUMBER_RE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Checks -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? over bytes [i, j) without allocating. */
function validNumber(b: Uint8Array, i: number, j: number): boolean {
  if (b[i] === 0x2d) i++;
  if (i >= j) return false;
  if (b[i] === 0x30) i++;
  else if (b[i] >= 0x31 && b[i] <= 0x39) while (i < j && isDigit(b[i])) i++;
  else return false;
  if (i < j && b[i] === 0x2e) {
    i++;
    const s = i;
    while (i < j && isDigit(b[i])) i++;
    if (i === s) return false;
  }
  if (i < j && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < j && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    const s = i;
    while (i < j && isDigit(b[i])) i++;
    if (i === s) return false;
  }
  return i === j;
}

function numberValue(b: Uint8Array, i: number, j: number): number {
  if (j - i <= 15) {
    let v = 0;
    let k = i;
    for (; k < j; k++) {
      const c = b[k];
      if (!isDigit(c)) break;
      v = v * 10 + (c - 0x30);
    }
    if (k === j) return v;
  }
  return Number(Buffer.from(b.buffer, b.byteOffset + i, j - i).toString('latin1'));
}

function shown(c: number): string {
  return c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16)}`;
}

export class JsonStreamParser {
  private readonly visitor: JsonVisitor;
  private expect = E_VALUE;
  private done = false;
  private started = false;
  /** Bytes consumed before the current chunk. */
  private base = 0;

  // One entry per open container.
  private readonly types: number[] = [];
  private readonly modes: number[] = [];
  private readonly builders: unknown[] = [];
  private readonly keys: string[] = [];
  private readonly indexes: number[] = [];
  /** path[d] is the key or index of the current child of container d (walked containers only). */
  private readonly path: (string | number)[] = [];

  // The token in progress.
  private tok = T_NONE;
  private tokMode = MODE_SKIP;
  private strIsKey = false;
  private strDecode = false;
  private strEscaped = false;
  private esc = ESC_NONE;
  private strParts: Buffer[] = [];
  private numCarry = '';
  private litWord = '';
  private litPos = 0;

  constructor(visitor: JsonVisitor) {
    this.visitor = visitor;
  }

  write(input: Uint8Array): void {
    const chunk = Buffer.isBuffer(input)
      ? input
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const n = chunk.length;
    let i = 0;
    if (!this.started && n > 0) {
      this.started = true;
      // A UTF-8 byte order mark is not JSON, but editors on Windows add one.
      if (n >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
    }
    if (this.tok === T_STRING) i = this.scanString(chunk, i);
    else if (this.tok === T_NUMBER) i = this.scanNumber(chunk, i, true);
    else if (this.tok === T_LITERAL) i = this.scanLiteral(chunk, i);
    while (i < n) {
      const c = chunk[i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        i++;
        continue;
      }
      switch (this.expect) {
        case E_COMMA_OR_CLOSE: {
          const top = this.types[this.types.length - 1];
          if (c === 0x2c) {
            this.expect = top === OBJ ? E_KEY : E_VALUE;
            i++;
          } else if (c === (top === OBJ ? 0x7d : 0x5d)) {
            this.closeContainer();
            i++;
          } else {
            this.fail(
              `expected ',' or '${top === OBJ ? '}' : ']'}', found ${shown(c)}`,
              this.base + i
            );
          }
          break;
        }
        case E_VALUE_OR_CLOSE:
          if (c === 0x5d) {
            this.closeContainer();
            i++;
            break;
          }
          i = this.startValue(chunk, i);
          break;
        case E_VALUE:
          i = this.startValue(chunk, i);
          break;
        case E_KEY_OR_CLOSE:
        case E_KEY: {
          if (c === 0x7d && this.expect === E_KEY_OR_CLOSE) {
            this.closeContainer();
            i++;
            break;
          }
          if (c !== 0x22) this.fail(`expected a key string, found ${shown(c)}`, this.base + i);
          const d = this.types.length - 1;
          this.startString(true, this.modes[d] !== MODE_SKIP, MODE_SKIP);
          i = this.scanString(chunk, i + 1);
          break;
        }
        case E_COLON:
          if (c !== 0x3a) this.fail(`expected ':', found ${shown(c)}`, this.base + i);
          this.expect = E_VALUE;
          i++;
          break;
        default:
          this.fail(`unexpected ${shown(c)} after the end of the JSON value`, this.base + i);
      }
    }
    this.base += n;
  }

  /** The document is complete: throws a JsonSyntaxError when it is not. */
  end(): void {
    const at = this.base;
    if (this.tok === T_NUMBER) this.finishNumberText(this.numCarry, at);
    else if (this.tok === T_STRING) {
      this.fail('truncated JSON: the document ends inside a string', at, true);
    } else if (this.tok === T_LITERAL) {
      this.fail('truncated JSON: the document ends inside a literal', at, true);
    }
    if (this.done) return;
    if (this.types.length === 0)
      throw new JsonSyntaxError('empty document: no JSON value', at, true, true);
    const open = this.types[this.types.length - 1] === OBJ ? 'an object' : 'an array';
    this.fail(
      `truncated JSON: the document ends inside ${open} (${this.types.length} level${this.types.length === 1 ? '' : 's'} open)`,
      at,
      true
    );
  }

  private fail(message: string, offset: number, truncated = false): never {
    throw new JsonSyntaxError(
      truncated ? message : `invalid JSON at byte ${offset}: ${message}`,
      offset,
      truncated
    );
  }

  /** The mode of a value starting now, as its parent (or the visitor) decides. */
  private childMode(): number {
    const d = this.types.length;
    if (d === 0) {
      if (this.done) return MODE_SKIP;
      this.path.length = 0;
      return MODES[this.visitor.select(this.path)];
    }
    const pm = this.modes[d - 1];
    if (pm !== MODE_WALK && pm !== MODE_EACH) return pm;
    if (this.types[d - 1] === ARR) this.path[d - 1] = this.indexes[d - 1]++;
    else this.path[d - 1] = this.keys[d - 1];
    this.path.length = d;
    return pm === MODE_EACH ? MODE_BUILD : MODES[this.visitor.select(this.path)];
  }

  /**
   * The end of the number starting at chunk[i] when the chunk holds all of
   * it (checked: an invalid number fails), else -1 (the token path reads it).
   */
  private wholeNumber(chunk: Buffer, i: number): number {
    const n = chunk.length;
    let j = i + 1;
    while (j < n && NUM_CHAR[chunk[j]]) j++;
    if (j >= n) return -1;
    if (!validNumber(chunk, i, j))
      this.fail(`invalid number '${chunk.toString('latin1', i, j)}'`, this.base + i);
    return j;
  }

  private startValue(chunk: Buffer, i: number): number {
    const c = chunk[i];
    const d = this.types.length;
    if (d > 0 && this.modes[d - 1] === MODE_SKIP && (isDigit(c) || c === 0x2d)) {
      // Fast path for the bulk of coverage JSON: numbers in arrays nobody reads.
      const j = this.wholeNumber(chunk, i);
      if (j >= 0) {
        this.expect = E_COMMA_OR_CLOSE;
        return j;
      }
    }
    if (
      d > 0 &&
      this.modes[d - 1] === MODE_EACH &&
      this.types[d - 1] === ARR &&
      (isDigit(c) || c === 0x2d)
    ) {
      // Fast path for arrays of numbers read one by one: no token state, no select.
      const j = this.wholeNumber(chunk, i);
      if (j >= 0) {
        const v = numberValue(chunk, i, j);
        this.path[d - 1] = this.indexes[d - 1]++;
        this.path.length = d;
        if (!Number.isFinite(v)) this.outOfRange(chunk.toString('latin1', i, j), this.base + i);
        this.visitor.value(this.path, v);
        this.expect = E_COMMA_OR_CLOSE;
        return j;
      }
    }
    if (this.done)
      this.fail(`unexpected ${shown(c)} after the end of the JSON value`, this.base + i);
    const isStart =
      c === 0x7b ||
      c === 0x5b ||
      c === 0x22 ||
      c === 0x2d ||
      isDigit(c) ||
      c === 0x74 ||
      c === 0x66 ||
      c === 0x6e;
    if (!isStart) {
      // Python's json module writes NaN and Infinity unless told not to.
      const hint = c === 0x4e || c === 0x49 ? ' (NaN and Infinity are not JSON numbers)' : '';
      this.fail(`expected a value, found ${shown(c)}${hint}`, this.base + i);
    }
    const mode = this.childMode();
    if (c === 0x7b || c === 0x5b) {
      this.types.push(c === 0x7b ? OBJ : ARR);
      this.modes.push(mode);
      this.builders.push(mode === MODE_BUILD ? (c === 0x7b ? Object.create(null) : []) : null);
      this.keys.push('');
      this.indexes.push(0);
      this.expect = c === 0x7b ? E_KEY_OR_CLOSE : E_VALUE_OR_CLOSE;
      return i + 1;
    }
    if (c === 0x22) {
      this.startString(false, mode === MODE_BUILD, mode);
      return this.scanString(chunk, i + 1);
    }
    this.tokMode = mode;
    if (c === 0x74 || c === 0x66 || c === 0x6e) {
      this.tok = T_LITERAL;
      this.litWord = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
      this.litPos = 0;
      return this.scanLiteral(chunk, i);
    }
    this.tok = T_NUMBER;
    this.numCarry = '';
    return this.scanNumber(chunk, i, false);
  }

  private startString(isKey: boolean, decode: boolean, mode: number): void {
    this.tok = T_STRING;
    this.strIsKey = isKey;
    this.strDecode = decode;
    this.strEscaped = false;
    this.esc = ESC_NONE;
    this.strParts = [];
    this.tokMode = mode;
  }

  /** Scans string bytes from i; returns the index after the closing quote, or n. */
  private scanString(chunk: Buffer, i: number): number {
    const n = chunk.length;
    const start = i;
    let esc = this.esc;
    while (i < n) {
      const c = chunk[i];
      if (esc === ESC_NONE) {
        // The hot loop: plain string bytes.
        if (c === 0x22) break;
        if (c === 0x5c) {
          esc = ESC_BACKSLASH;
          this.strEscaped = true;
        } else if (c < 0x20) {
          this.fail(`control character ${shown(c)} inside a string`, this.base + i);
        }
      } else if (esc === ESC_BACKSLASH) {
        if (!ESCAPABLE[c]) this.fail(`invalid escape '\\${String.fromCharCode(c)}'`, this.base + i);
        esc = c === 0x75 ? 4 : ESC_NONE;
      } else {
        if (!HEX[c]) this.fail('invalid \\u escape: expected 4 hex digits', this.base + i);
        esc = esc === 1 ? ESC_NONE : esc - 1;
      }
      i++;
    }
    this.esc = esc;
    if (i === n) {
      // The string goes on in the next chunk: keep a copy of what is needed.
      if (this.strDecode && i > start) this.strParts.push(Buffer.from(chunk.subarray(start, i)));
      return n;
    }
    // chunk[i] is the closing quote.
    this.tok = T_NONE;
    if (this.strIsKey) {
      if (this.strDecode) this.keys[this.keys.length - 1] = this.decodeString(chunk, start, i);
      this.expect = E_COLON;
    } else {
      const v = this.strDecode ? this.decodeString(chunk, start, i) : undefined;
      this.complete(v, this.tokMode);
    }
    return i + 1;
  }

  private decodeString(chunk: Buffer, start: number, end: number): string {
    let text: string;
    if (this.strParts.length === 0) text = chunk.toString('utf8', start, end);
    else {
      this.strParts.push(chunk.subarray(start, end));
      text = Buffer.concat(this.strParts).toString('utf8');
      this.strParts = [];
    }
    // Escapes were validated while scanning; JSON.parse decodes them exactly.
    return this.strEscaped ? (JSON.parse(`"${text}"`) as string) : text;
  }

  private scanNumber(chunk: Buffer, i: number, continued: boolean): number {
    const n = chunk.length;
    const start = i;
    while (i < n && NUM_CHAR[chunk[i]]) i++;
    if (i === n) {
      this.numCarry += chunk.toString('latin1', start, n);
      return n;
    }
    if (continued) {
      this.finishNumberText(this.numCarry + chunk.toString('latin1', start, i), this.base + i);
      return i;
    }
    if (!validNumber(chunk, start, i)) {
      this.fail(`invalid number '${chunk.toString('latin1', start, i)}'`, this.base + start);
    }
    this.tok = T_NONE;
    let v: number | undefined;
    if (this.tokMode === MODE_BUILD) {
      v = numberValue(chunk, start, i);
      if (!Number.isFinite(v))
        this.outOfRange(chunk.toString('latin1', start, i), this.base + start);
    }
    this.complete(v, this.tokMode);
    return i;
  }

  private finishNumberText(text: string, at: number): void {
    if (!NUMBER_RE.test(text)) this.fail(`invalid number '${text.slice(0, 40)}'`, at);
    this.tok = T_NONE;
    this.numCarry = '';
    let v: number | undefined;
    if (this.tokMode === MODE_BUILD) {
      v = Number(text);
      if (!Number.isFinite(v)) this.outOfRange(text, at - text.length);
    }
    this.complete(v, this.tokMode);
  }

  /**
   * A number a caller asked for that no double can hold (1e400): JSON allows
   * it, but it would arrive as Infinity, so the message names it as written.
   */
  private outOfRange(text: string, offset: number): never {
    const shownText = text.length > 40 ? `${text.slice(0, 37)}...` : text;
    throw new JsonSyntaxError(
      `${this.where()} is ${shownText}, out of range for a number (byte ${offset})`,
      offset
    );
  }

  /** The path of the value being completed, as `"key".name[0]["k"]`, for messages. */
  private where(): string {
    let out = '';
    for (let d = 0; d < this.types.length; d++) {
      const part =
        this.modes[d] === MODE_BUILD
          ? this.types[d] === ARR
            ? (this.builders[d] as unknown[]).length
            : this.keys[d]
          : this.path[d];
      if (typeof part === 'number') out += `[${part}]`;
      else if (d === 0) out += JSON.stringify(part);
      else out += /^[A-Za-z_$][\w$]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
    }
    return out === '' ? 'the document' : out;
  }

  private scanLiteral(chunk: Buffer, i: number): number {
    const n = chunk.length;
    const word = this.litWord;
    while (i < n && this.litPos < word.length) {
      if (chunk[i] !== word.charCodeAt(this.litPos)) {
        this.fail(`unexpected ${shown(chunk[i])} (expected '${word}')`, this.base + i);
      }
      this.litPos++;
      i++;
    }
    if (this.litPos === word.length) {
      this.tok = T_NONE;
      const v = word === 'true' ? true : word === 'false' ? false : null;
      this.complete(v, this.tokMode);
    }
    return i;
  }

  private closeContainer(): void {
    const mode = this.modes.pop() as number;
    const value = this.builders.pop();
    this.types.pop();
    this.keys.pop();
    this.indexes.pop();
    if ((mode === MODE_WALK || mode === MODE_EACH) && this.visitor.end) {
      const d = this.types.length;
      if (d > 0)
        this.path[d - 1] = this.types[d - 1] === ARR ? this.indexes[d - 1] - 1 : this.keys[d - 1];
      this.path.length = d;
      this.visitor.end(this.path);
    }
    this.complete(value, mode);
  }

  /** A value of the given mode is complete: attach it, hand it over, or drop it. */
  private complete(value: unknown, mode: number): void {
    const d = this.types.length;
    if (mode === MODE_BUILD) {
      if (d > 0 && this.modes[d - 1] === MODE_BUILD) {
        const parent = this.builders[d - 1];
        if (this.types[d - 1] === ARR) (parent as unknown[]).push(value);
        else (parent as Record<string, unknown>)[this.keys[d - 1]] = value;
      } else {
        if (d > 0) {
          this.path[d - 1] = this.types[d - 1] === ARR ? this.indexes[d - 1] - 1 : this.keys[d - 1];
        }
        this.path.length = d;
        this.visitor.value(this.path, value);
      }
    }
    if (d === 0) {
      this.done = true;
      this.expect = E_END;
    } else {
      this.expect = E_COMMA_OR_CLOSE;
    }
  }
}

/** Parses a whole text or buffer with a visitor (small inputs and tests). */
export function visitJson(input: string | Uint8Array, visitor: JsonVisitor): void {
  const p = new JsonStreamParser(visitor);
  p.write(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
  p.end();
}
