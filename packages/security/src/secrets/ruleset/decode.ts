// Decoding passes for the embedded secrets engine, in the spirit of
// gitleaks' `--max-decode-depth`: a secret that sits in a file encoded
// (base64 in a Kubernetes Secret or a docker config.json, hex, percent
// escapes, JSON string escapes in a Jupyter notebook) is made visible to the
// rules by replacing each encoded run with its decoded text, in place, so the
// context around it (`password: <decoded>`) stays for keyword rules.
//
// Each pass returns a layer: the new text plus the segments it decoded, with
// their ranges in the new text and in the pass' input, so a match found in
// the layer can be mapped back to the original file (mapBack). Nested
// encodings are handled by the caller, which runs decodeLayer again on a
// layer's text.
//
// Everything here is a hand-written scanning loop, linear in the input
// (every character is looked at a small, bounded number of times), bounded by
// DecodeLimits, and never throws: an adversarial 2 MB line costs tens of
// milliseconds, not a backtracking regex's minutes.

export interface DecodedSegment {
  /** [start, end) of the decoded text inside the NEW text. */
  start: number;
  end: number;
  /** [start, end) of the encoded run inside the INPUT text of this layer. */
  origStart: number;
  origEnd: number;
  encoding: 'base64' | 'hex' | 'percent' | 'json-escape';
}

export interface DecodeLayer {
  text: string;
  segments: DecodedSegment[];
  /** A run was left undecoded because a limit was reached. */
  cut?: true;
}

export interface DecodeLimits {
  /** Decoded text a layer may hold in all, in UTF-16 units (bytes for ASCII), per layer (default 1 MiB). */
  maxDecodedBytes: number;
  /** Segments a layer may hold (default 10 000); decoding stops there. */
  maxSegments: number;
}

export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxDecodedBytes: 1024 * 1024,
  maxSegments: 10_000
});

/** Shortest base64 run tried (characters before any `=` padding). */
const MIN_BASE64 = 16;
/** Shortest hex run tried (characters, even). */
const MIN_HEX = 32;
/** Fewest %XX escapes a percent-encoded run needs. */
const MIN_PERCENT_ESCAPES = 3;
/** Share of a decoded text's characters that must be printable. */
const MIN_PRINTABLE_RATIO = 0.9;
/** base64-decoded texts shorter than this (characters) get the stricter test in printableCheck. */
const SHORT_TEXT = 32;

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const PERCENT = 0x25;
const EQUALS = 0x3d;
const SLASH = 0x2f;
const PLUS = 0x2b;
const DASH = 0x2d;
const UNDERSCORE = 0x5f;

// base64 digit values; both alphabets (std `+/`, url `-_`) share one table.
const B64_VALUE = new Int8Array(128).fill(-1);
// hex digit values.
const HEX_VALUE = new Int8Array(128).fill(-1);
{
  const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  for (let i = 0; i < alnum.length; i++) B64_VALUE[alnum.charCodeAt(i)] = i;
  B64_VALUE[PLUS] = 62;
  B64_VALUE[DASH] = 62;
  B64_VALUE[SLASH] = 63;
  B64_VALUE[UNDERSCORE] = 63;
  for (let i = 0; i < 10; i++) HEX_VALUE[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    HEX_VALUE[0x41 + i] = 10 + i;
    HEX_VALUE[0x61 + i] = 10 + i;
  }
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

// Scratch buffers reused across calls (grown on demand, bounded by the
// limits): no allocation per candidate run.
let byteScratch: Uint8Array = new Uint8Array(4096);
let unitScratch: Uint16Array = new Uint16Array(4096);

function bytesFor(size: number): Uint8Array {
  if (byteScratch.length < size)
    byteScratch = new Uint8Array(Math.max(size, byteScratch.length * 2));
  return byteScratch;
}

function unitsFor(size: number): Uint16Array {
  if (unitScratch.length < size) {
    const grown = new Uint16Array(Math.max(size, unitScratch.length * 2));
    grown.set(unitScratch);
    unitScratch = grown;
  }
  return unitScratch;
}

/** units[0, length) as a string, in chunks (no argument-count limit). */
function unitsToString(units: Uint16Array, length: number): string {
  if (length <= 8192)
    return String.fromCharCode.apply(null, units.subarray(0, length) as unknown as number[]);
  const parts: string[] = [];
  for (let k = 0; k < length; k += 8192) {
    parts.push(
      String.fromCharCode.apply(
        null,
        units.subarray(k, Math.min(length, k + 8192)) as unknown as number[]
      )
    );
  }
  return parts.join('');
}

function hexValue(c: number): number {
  return c < 128 ? HEX_VALUE[c] : -1;
}

/** Characters that may sit inside a percent-encoded run (a URL or form value): printable ASCII but quotes, `<>`, backslash. */
function isUrlChar(c: number): boolean {
  return (
    c > 0x20 &&
    c < 0x7f &&
    c !== QUOTE &&
    c !== 0x27 &&
    c !== 0x60 &&
    c !== 0x3c &&
    c !== 0x3e &&
    c !== BACKSLASH
  );
}

function resolveLimits(limits: Partial<DecodeLimits> | undefined): DecodeLimits {
  const pick = (value: unknown, fallback: number): number =>
    typeof value === 'number' && !Number.isNaN(value) ? Math.max(0, Math.floor(value)) : fallback;
  return {
    maxDecodedBytes: pick(limits?.maxDecodedBytes, DEFAULT_DECODE_LIMITS.maxDecodedBytes),
    maxSegments: pick(limits?.maxSegments, DEFAULT_DECODE_LIMITS.maxSegments)
  };
}

/** Builds a layer's text from the input, replacing runs left to right. */
class LayerBuilder {
  private readonly parts: string[] = [];
  readonly segments: DecodedSegment[] = [];
  private outLength = 0;
  private cursor = 0;
  private decoded = 0;
  private cut = false;
  private readonly input: string;
  private readonly limits: DecodeLimits;
  /** Only the segments are wanted: the layer's text is not built (it is ''). */
  private readonly segmentsOnly: boolean;

  constructor(input: string, limits: DecodeLimits, segmentsOnly = false) {
    this.input = input;
    this.limits = limits;
    this.segmentsOnly = segmentsOnly;
  }

  /** Whether no further segment may be added. */
  get full(): boolean {
    return this.segments.length >= this.limits.maxSegments;
  }

  /** Decoded characters still within the budget. */
  get remaining(): number {
    return this.limits.maxDecodedBytes - this.decoded;
  }

  /** Whether `size` more decoded characters fit the budget. */
  fits(size: number): boolean {
    const ok = !this.full && this.decoded + size <= this.limits.maxDecodedBytes;
    if (!ok) this.cut = true;
    return ok;
  }

  /** Replace input[origStart, origEnd) (at or after the last replacement) by `text`; false when over the limits. */
  replace(
    origStart: number,
    origEnd: number,
    text: string,
    encoding: DecodedSegment['encoding']
  ): boolean {
    if (
      origStart < this.cursor ||
      origEnd <= origStart ||
      text.length === 0 ||
      !this.fits(text.length)
    ) {
      return false;
    }
    if (origStart > this.cursor) {
      if (!this.segmentsOnly) this.parts.push(this.input.slice(this.cursor, origStart));
      this.outLength += origStart - this.cursor;
    }
    this.segments.push({
      start: this.outLength,
      end: this.outLength + text.length,
      origStart,
      origEnd,
      encoding
    });
    if (!this.segmentsOnly) this.parts.push(text);
    this.outLength += text.length;
    this.decoded += text.length;
    this.cursor = origEnd;
    return true;
  }

  finish(): DecodeLayer | undefined {
    if (this.segments.length === 0) return undefined;
    if (this.cursor < this.input.length && !this.segmentsOnly)
      this.parts.push(this.input.slice(this.cursor));
    const layer: DecodeLayer = { text: this.parts.join(''), segments: this.segments };
    if (this.cut || this.full) layer.cut = true;
    return layer;
  }
}

/**
 * Whether decoding `layer.text` again can find anything new. A run outside
 * the layer's decoded segments was already tried on the text before it and
 * would give the same result, so only runs touching a segment matter: false
 * when no segment, widened over the base64/hex characters and '%' around
 * it, holds a run long enough to decode or a '%'. True when the layer was
 * cut at a limit (runs were left untried).
 */
export function mayDecodeFurther(layer: DecodeLayer): boolean {
  if (layer.cut) return true;
  const t = layer.text;
  const inRun = (c: number): boolean => (c < 128 && B64_VALUE[c] >= 0) || c === PERCENT;
  for (const seg of layer.segments) {
    let s = seg.start;
    while (s > 0 && inRun(t.charCodeAt(s - 1))) s--;
    let e = seg.end;
    while (e < t.length && inRun(t.charCodeAt(e))) e++;
    if (CANDIDATE.test(t.slice(s, e))) return true;
  }
  return false;
}

/** What a further decoding layer could start from: a long base64/hex run or a percent escape. */
const CANDIDATE = new RegExp(`[A-Za-z0-9+/_-]{${MIN_BASE64},}|%`);

// ---------------------------------------------------------------------------
// JSON string escapes

/**
 * JSON/notebook string escapes (\n \t \" \\ \/ \uXXXX incl. surrogate pairs)
 * undone inside each double-quoted string that contains a backslash;
 * undefined when nothing changed.
 *
 * A string is a `"` to the next unescaped `"` on the same line (JSON strings
 * hold no raw line break); an unterminated one is skipped up to the line end.
 * Each run of consecutive escapes becomes one segment, so the plain text
 * between escapes maps back exactly. Unknown escapes (`\q`) and lone
 * surrogates are left as written. `segmentsOnly`: the segments alone, the
 * text not built (where decoding matters, without copying the text).
 */
export function unescapeJsonStrings(
  text: string,
  limits?: Partial<DecodeLimits>,
  segmentsOnly = false
): DecodeLayer | undefined {
  try {
    if (typeof text !== 'string' || text.indexOf('\\') < 0) return undefined;
    const builder = new LayerBuilder(text, resolveLimits(limits), segmentsOnly);
    const n = text.length;
    let i = 0;
    while (i < n) {
      const open = text.indexOf('"', i);
      if (open < 0) break;
      let j = open + 1;
      let hasBackslash = false;
      let terminated = false;
      while (j < n) {
        const c = text.charCodeAt(j);
        if (c === QUOTE) {
          terminated = true;
          break;
        }
        if (c === LF || c === CR) break;
        if (c === BACKSLASH) {
          const next = j + 1 < n ? text.charCodeAt(j + 1) : LF;
          if (next === LF || next === CR) {
            j++;
            break;
          }
          hasBackslash = true;
          j += 2;
          continue;
        }
        j++;
      }
      if (!terminated) {
        // Unterminated: resume at the line break (or the end), never rescan.
        i = j;
        continue;
      }
      if (hasBackslash && !unescapeRange(text, open + 1, j, builder)) break;
      i = j + 1;
    }
    return builder.finish();
  } catch {
    return undefined;
  }
}

function hex4(text: string, at: number, end: number): number {
  if (at + 4 > end) return -1;
  let value = 0;
  for (let k = at; k < at + 4; k++) {
    const d = hexValue(text.charCodeAt(k));
    if (d < 0) return -1;
    value = value * 16 + d;
  }
  return value;
}

/** Undo the escapes in text[start, end) (a string's body); false once the limits stop decoding. */
function unescapeRange(text: string, start: number, end: number, builder: LayerBuilder): boolean {
  let runStart = -1;
  let runEnd = -1;
  let units: Uint16Array = unitScratch;
  let length = 0;
  const flush = (): boolean => {
    if (runStart < 0) return true;
    const ok = builder.replace(runStart, runEnd, unitsToString(units, length), 'json-escape');
    runStart = -1;
    length = 0;
    return ok;
  };
  const budget = builder.remaining;
  let k = start;
  while (k < end) {
    if (text.charCodeAt(k) !== BACKSLASH) {
      if (!flush()) return false;
      k++;
      continue;
    }
    const e = text.charCodeAt(k + 1);
    let first = -1;
    let second = -1;
    let consumed = 2;
    if (e === 0x75 /* u */) {
      const unit = hex4(text, k + 2, end);
      if (unit >= 0xd800 && unit <= 0xdbff) {
        // A high surrogate only with its low half: `\uD83D\uDE00`.
        const low =
          text.charCodeAt(k + 6) === BACKSLASH && text.charCodeAt(k + 7) === 0x75
            ? hex4(text, k + 8, end)
            : -1;
        if (low >= 0xdc00 && low <= 0xdfff) {
          first = unit;
          second = low;
          consumed = 12;
        }
      } else if (unit >= 0 && !(unit >= 0xdc00 && unit <= 0xdfff)) {
        first = unit;
        consumed = 6;
      }
    } else {
      first = simpleEscape(e);
    }
    if (first < 0) {
      // Not an escape we undo: keep it as written, the two characters included.
      if (!flush()) return false;
      k += 2;
      continue;
    }
    if (runStart < 0) {
      if (builder.full) return false;
      runStart = k;
    }
    if (length + 2 > units.length) units = unitsFor(length + 2);
    units[length++] = first;
    if (second >= 0) units[length++] = second;
    if (length > budget) return false; // over the budget: stop here
    k += consumed;
    runEnd = k;
  }
  return flush();
}

/** The code unit a one-character escape (`\n`, `\"`, ...) stands for, else -1. */
function simpleEscape(c: number): number {
  switch (c) {
    case 0x6e: // n
      return LF;
    case 0x74: // t
      return 0x09;
    case 0x72: // r
      return CR;
    case 0x62: // b
      return 0x08;
    case 0x66: // f
      return 0x0c;
    case QUOTE:
    case BACKSLASH:
    case SLASH:
      return c;
    default:
      return -1;
  }
}

// ---------------------------------------------------------------------------
// base64 / hex / percent

/**
 * One decoding pass: every base64 (std and url alphabets, padded or not,
 * >= 16 chars), hex (>= 32 chars, even length) and percent-encoded (at least
 * 3 %XX escapes) run replaced by its decoded text when that text is valid
 * UTF-8 and at least 90% printable; undefined when nothing decoded.
 *
 * Runs are maximal runs of the base64 alphabet (both alphabets; a run mixing
 * `+/` with `-_` is not base64) plus up to two `=`. An all-hex run is tried
 * as hex first. When a run does not decode as a whole, its `/`-separated
 * pieces are tried as base64 (a path or URL ending in a base64 value) and its
 * maximal hex sub-runs as hex (`0x…`, `key_…`). Percent runs go from the
 * first to the last %XX of a run of URL characters. `segmentsOnly`: the
 * segments alone, the text not built. `runs`: the text's maximal runs of
 * BASE64_RUN as [start, end) pairs, when a pass over the text found them
 * already (the keyword pass does).
 */
export function decodeLayer(
  text: string,
  limits?: Partial<DecodeLimits>,
  segmentsOnly = false,
  runs?: Int32Array
): DecodeLayer | undefined {
  try {
    if (typeof text !== 'string' || text.length < MIN_PERCENT_ESCAPES * 3) return undefined;
    const resolved = resolveLimits(limits);
    const builder = new LayerBuilder(text, resolved, segmentsOnly);
    const percent = findPercentRuns(text, resolved);
    const n = text.length;
    let next = 0; // index into `percent`
    let i = 0;
    let r = 0; // index into `runs` (pairs)
    while (i < n && !builder.full) {
      const p = next < percent.length ? percent[next] : undefined;
      if (p !== undefined && i >= p.start) {
        builder.replace(p.start, p.end, p.text, 'percent');
        next++;
        i = Math.max(i, p.end);
        continue;
      }
      const stop = p !== undefined ? p.start : n;
      let runStart: number;
      if (runs) {
        // The runs were found already (the keyword pass, BASE64_RUN): the next one ending after i.
        while (r < runs.length && runs[r + 1] <= i) r += 2;
        if (r >= runs.length || Math.max(i, runs[r]) >= stop) {
          i = stop;
          continue;
        }
        runStart = Math.max(i, runs[r]);
        i = Math.min(stop, runs[r + 1]);
      } else {
        // Tight loops over the characters (most of the text is not in a run long enough).
        let c = 0;
        while (i < stop && ((c = text.charCodeAt(i)) >= 128 || B64_VALUE[c] < 0)) i++;
        if (i >= stop) continue;
        runStart = i;
        while (i < stop && (c = text.charCodeAt(i)) < 128 && B64_VALUE[c] >= 0) i++;
      }
      const bodyEnd = i;
      if (bodyEnd - runStart < MIN_BASE64) continue;
      while (i < stop && i - bodyEnd < 2 && text.charCodeAt(i) === EQUALS) i++;
      decodeRun(text, runStart, bodyEnd, i, builder);
    }
    return builder.finish();
  } catch {
    return undefined;
  }
}

interface PendingRun {
  start: number;
  end: number;
  text: string;
}

/** Percent-encoded runs that decode to printable text, in order (bounded by the limits). */
function findPercentRuns(text: string, limits: DecodeLimits): PendingRun[] {
  const runs: PendingRun[] = [];
  const n = text.length;
  let budget = 0;
  let i = 0;
  while (i < n && runs.length < limits.maxSegments) {
    const first = text.indexOf('%', i);
    if (first < 0) break;
    let k = first;
    let escapes = 0;
    let firstEscape = -1;
    let lastEnd = first;
    while (k < n) {
      if (isEscapeAt(text, k)) {
        if (firstEscape < 0) firstEscape = k;
        escapes++;
        k += 3;
        lastEnd = k;
        continue;
      }
      if (!isUrlChar(text.charCodeAt(k))) break;
      k++;
    }
    if (escapes >= MIN_PERCENT_ESCAPES && budget + escapes <= limits.maxDecodedBytes) {
      const decoded = percentDecode(text, firstEscape, lastEnd);
      if (decoded !== undefined && budget + decoded.length <= limits.maxDecodedBytes) {
        runs.push({ start: firstEscape, end: lastEnd, text: decoded });
        budget += decoded.length;
      }
    }
    i = Math.max(k, first + 1);
  }
  return runs;
}

function isEscapeAt(text: string, k: number): boolean {
  return (
    text.charCodeAt(k) === PERCENT &&
    hexValue(text.charCodeAt(k + 1)) >= 0 &&
    hexValue(text.charCodeAt(k + 2)) >= 0
  );
}

function percentDecode(text: string, start: number, end: number): string | undefined {
  const bytes = bytesFor(end - start);
  let length = 0;
  let k = start;
  while (k < end) {
    if (isEscapeAt(text, k)) {
      bytes[length++] = hexValue(text.charCodeAt(k + 1)) * 16 + hexValue(text.charCodeAt(k + 2));
      k += 3;
    } else {
      bytes[length++] = text.charCodeAt(k) & 0x7f; // URL characters are ASCII
      k++;
    }
  }
  return printableText(bytes, length);
}

/** Try a base64-alphabet run [start, bodyEnd) with its padding up to padEnd. */
function decodeRun(
  text: string,
  start: number,
  bodyEnd: number,
  padEnd: number,
  builder: LayerBuilder
): void {
  const length = bodyEnd - start;
  if (length < MIN_BASE64) return;
  let allHex = true;
  for (let k = start; k < bodyEnd && allHex; k++) allHex = hexValue(text.charCodeAt(k)) >= 0;
  if (allHex && length >= MIN_HEX && length % 2 === 0 && tryHex(text, start, bodyEnd, builder))
    return;
  if (tryBase64(text, start, bodyEnd, padEnd, builder)) return;
  if (builder.full) return;

  // Fallback: the `/`-separated pieces as base64, then their hex sub-runs.
  const split = indexIn(text, SLASH, start, bodyEnd) < bodyEnd;
  let pieceStart = start;
  while (pieceStart < bodyEnd && !builder.full) {
    const pieceEnd = split ? indexIn(text, SLASH, pieceStart, bodyEnd) : bodyEnd;
    const piecePad = pieceEnd === bodyEnd ? padEnd : pieceEnd;
    if (!split || !tryBase64(text, pieceStart, pieceEnd, piecePad, builder)) {
      if (split || !allHex) hexSubRuns(text, pieceStart, pieceEnd, builder);
    }
    pieceStart = pieceEnd + 1;
  }
}

/** The first index of char code `c` in text[from, to), else `to`. */
function indexIn(text: string, c: number, from: number, to: number): number {
  for (let k = from; k < to; k++) if (text.charCodeAt(k) === c) return k;
  return to;
}

function hexSubRuns(text: string, start: number, end: number, builder: LayerBuilder): void {
  let k = start;
  while (k < end && !builder.full) {
    if (hexValue(text.charCodeAt(k)) < 0) {
      k++;
      continue;
    }
    const runStart = k;
    while (k < end && hexValue(text.charCodeAt(k)) >= 0) k++;
    if (k - runStart >= MIN_HEX && (k - runStart) % 2 === 0) tryHex(text, runStart, k, builder);
  }
}

/** Characters of a long run decoded and checked first, to drop garbage without decoding it all. */
const PREFIX_CHARS = 1024;

function tryHex(text: string, start: number, end: number, builder: LayerBuilder): boolean {
  const size = (end - start) / 2;
  if (!builder.fits(Math.ceil(size / 4))) return false; // cannot fit even at 4 bytes a character
  const bytes = bytesFor(size);
  const prefix = size > PREFIX_CHARS ? PREFIX_CHARS / 2 : size;
  let k = 0;
  for (; k < size; k++) {
    if (k === prefix && !printableCheck(bytes, prefix, true)) return false;
    bytes[k] =
      hexValue(text.charCodeAt(start + 2 * k)) * 16 + hexValue(text.charCodeAt(start + 2 * k + 1));
  }
  const decoded = printableText(bytes, size, builder.remaining);
  return decoded !== undefined && builder.replace(start, end, decoded, 'hex');
}

function tryBase64(
  text: string,
  start: number,
  bodyEnd: number,
  padEnd: number,
  builder: LayerBuilder
): boolean {
  const length = bodyEnd - start;
  if (length < MIN_BASE64 || length % 4 === 1) return false;
  // Most runs are identifiers, whose first bytes are not UTF-8: the whole run would fail
  // printableCheck later; its first two groups fail it now (a tenth of the work).
  if (!utf8Start(text, start)) return false;
  const size = Math.floor((length * 3) / 4);
  if (!builder.fits(Math.ceil(size / 4))) return false;
  // A run mixing the std (`+/`) and url (`-_`) alphabets is not base64.
  let std = false;
  let url = false;
  for (let k = start; k < bodyEnd; k++) {
    const c = text.charCodeAt(k);
    if (c === PLUS || c === SLASH) std = true;
    else if (c === DASH || c === UNDERSCORE) url = true;
  }
  if (std && url) return false;
  const rest = length % 4;
  // An encoder leaves the unused bits of a last partial group zero.
  if (rest === 2 && (B64_VALUE[text.charCodeAt(bodyEnd - 1)] & 0x0f) !== 0) return false;
  if (rest === 3 && (B64_VALUE[text.charCodeAt(bodyEnd - 1)] & 0x03) !== 0) return false;
  const bytes = bytesFor(size);
  const prefixEnd = length > PREFIX_CHARS ? start + PREFIX_CHARS : -1;
  let out = 0;
  let k = start;
  for (; k + 4 <= bodyEnd; k += 4) {
    if (k === prefixEnd && !printableCheck(bytes, out, true)) return false;
    const v =
      (B64_VALUE[text.charCodeAt(k)] << 18) |
      (B64_VALUE[text.charCodeAt(k + 1)] << 12) |
      (B64_VALUE[text.charCodeAt(k + 2)] << 6) |
      B64_VALUE[text.charCodeAt(k + 3)];
    bytes[out++] = (v >> 16) & 0xff;
    bytes[out++] = (v >> 8) & 0xff;
    bytes[out++] = v & 0xff;
  }
  if (rest === 2) {
    bytes[out++] = (B64_VALUE[text.charCodeAt(k)] << 2) | (B64_VALUE[text.charCodeAt(k + 1)] >> 4);
  } else if (rest === 3) {
    const b = B64_VALUE[text.charCodeAt(k + 1)];
    bytes[out++] = (B64_VALUE[text.charCodeAt(k)] << 2) | (b >> 4);
    bytes[out++] = ((b & 0x0f) << 4) | (B64_VALUE[text.charCodeAt(k + 2)] >> 2);
  }
  const decoded = printableText(bytes, out, builder.remaining, true);
  return decoded !== undefined && builder.replace(start, padEnd, decoded, 'base64');
}

function isPrintable(cp: number): boolean {
  if (cp < 0x20) return cp === 0x09 || cp === 0x0a || cp === 0x0d;
  if (cp < 0x7f) return true;
  if (cp < 0xa0) return false; // DEL and the C1 controls
  if (cp === 0xfffe || cp === 0xffff) return false;
  return true;
}

/** bytes[0, length) as text when they are valid UTF-8 with >= 90% printable characters, else undefined. */
/** Whether the 6 bytes the first 8 base64 characters at `at` decode to begin valid UTF-8 (a sequence cut at the 6th byte counts as valid). */
function utf8Start(text: string, at: number): boolean {
  const b = startBytes;
  for (let g = 0; g < 2; g++) {
    const k = at + 4 * g;
    const v =
      (B64_VALUE[text.charCodeAt(k)] << 18) |
      (B64_VALUE[text.charCodeAt(k + 1)] << 12) |
      (B64_VALUE[text.charCodeAt(k + 2)] << 6) |
      B64_VALUE[text.charCodeAt(k + 3)];
    b[3 * g] = (v >> 16) & 0xff;
    b[3 * g + 1] = (v >> 8) & 0xff;
    b[3 * g + 2] = v & 0xff;
  }
  let i = 0;
  while (i < 6) {
    const need = utf8Need(b[i]);
    if (need < 0) return false;
    for (let j = 1; j <= need && i + j < 6; j++) if ((b[i + j] & 0xc0) !== 0x80) return false;
    i += need + 1;
  }
  return true;
}

const startBytes = new Uint8Array(6);

/** What decodeLayer's `runs` must be: maximal runs of these characters, at least `min` long. */
export const BASE64_RUN = {
  chars: Uint8Array.from({ length: 128 }, (_, c) => (B64_VALUE[c] >= 0 ? 1 : 0)),
  min: MIN_BASE64
};

/** Continuation bytes a UTF-8 sequence starting with byte `b` needs; -1: `b` cannot start one. */
function utf8Need(b: number): number {
  if (b < 0x80) return 0;
  if (b >= 0xc2 && b <= 0xdf) return 1;
  if (b >= 0xe0 && b <= 0xef) return 2;
  if (b >= 0xf0 && b <= 0xf4) return 3;
  return -1;
}

function printableText(
  bytes: Uint8Array,
  length: number,
  maxChars = Infinity,
  strictShort = false
): string | undefined {
  return printableCheck(bytes, length, false, maxChars, strictShort)
    ? utf8.decode(bytes.subarray(0, length))
    : undefined;
}

/**
 * Whether bytes[0, length) are valid UTF-8 with >= 90% printable characters
 * and at most `maxChars` characters. `strictShort` (base64, where any word
 * is a candidate): a short text needs all of them printable, no tab or line
 * break, and at most a quarter non-ASCII.
 * `partial`: a prefix of a longer text, so a character cut at the end is not
 * an error and the text is not short.
 */
function printableCheck(
  bytes: Uint8Array,
  length: number,
  partial: boolean,
  maxChars = Infinity,
  strictShort = false
): boolean {
  if (length === 0) return false;
  // Characters <= bytes, so this many unprintable ones already fail the ratio.
  const hardLimit = length * (1 - MIN_PRINTABLE_RATIO);
  let chars = 0;
  let bad = 0;
  let odd = 0; // code points below U+0020, tab and line breaks included
  let nonAscii = 0;
  let i = 0;
  while (i < length) {
    const b = bytes[i];
    const need = utf8Need(b);
    if (need < 0) return false;
    if (i + need >= length) {
      if (partial) break;
      return false;
    }
    let cp: number;
    if (need === 0) {
      cp = b;
    } else {
      const b1 = bytes[i + 1];
      if ((b1 & 0xc0) !== 0x80) return false;
      if (need === 1) {
        cp = ((b & 0x1f) << 6) | (b1 & 0x3f);
      } else {
        const b2 = bytes[i + 2];
        if ((b2 & 0xc0) !== 0x80) return false;
        if (need === 2) {
          if (b === 0xe0 && b1 < 0xa0) return false; // overlong
          if (b === 0xed && b1 > 0x9f) return false; // surrogate
          cp = ((b & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
        } else {
          if ((bytes[i + 3] & 0xc0) !== 0x80) return false;
          if (b === 0xf0 && b1 < 0x90) return false; // overlong
          if (b === 0xf4 && b1 > 0x8f) return false; // above U+10FFFF
          cp = 0x10000; // astral: printable
        }
      }
    }
    i += need + 1;
    if (++chars > maxChars) return false;
    if (cp < 0x20) odd++;
    else if (cp >= 0x80) nonAscii++;
    if (!isPrintable(cp) && ++bad > hardLimit) return false;
  }
  if (chars === 0) return false;
  if (strictShort && !partial && chars < SHORT_TEXT) {
    // A short text is held to more: no control character, tab or line break
    // at all, and mostly ASCII. An identifier that happens to be in the
    // base64 alphabet, or a short random token, decodes to a dozen random
    // bytes, which now and then are valid UTF-8 of mixed scripts and controls.
    return odd === 0 && bad === 0 && nonAscii * 4 <= chars;
  }
  return bad <= chars * (1 - MIN_PRINTABLE_RATIO);
}

// ---------------------------------------------------------------------------
// Mapping back

/**
 * Map an offset range of a layer's text back to the input text: inside a
 * segment -> that segment's whole original run; outside -> shifted by the
 * segments before it. Offsets are clamped to the texts; a reversed range is
 * taken in order.
 */
export function mapBack(layer: DecodeLayer, start: number, end: number): [number, number] {
  try {
    let a = sanitize(start, layer.text.length);
    let b = sanitize(end, layer.text.length);
    if (a > b) [a, b] = [b, a];
    const segments = layer.segments;
    if (segments.length === 0) return [a, b];
    return [mapOffset(segments, a, false), mapOffset(segments, b, true)];
  } catch {
    return [0, 0];
  }
}

function sanitize(value: number, max: number): number {
  if (typeof value !== 'number' || Number.isNaN(value)) return 0;
  return Math.min(max, Math.max(0, Math.floor(value)));
}

/** Last segment index whose start is < pos (isEnd) or <= pos (start), or -1. */
function findSegment(segments: DecodedSegment[], pos: number, isEnd: boolean): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const s = segments[mid].start;
    if (isEnd ? s < pos : s <= pos) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

function mapOffset(segments: DecodedSegment[], pos: number, isEnd: boolean): number {
  const index = findSegment(segments, pos, isEnd);
  if (index < 0) return pos;
  const seg = segments[index];
  if (isEnd ? pos <= seg.end : pos < seg.end) return isEnd ? seg.origEnd : seg.origStart;
  return pos + (seg.origEnd - seg.end);
}
