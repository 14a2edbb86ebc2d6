// A minimal streaming XML reader for the narrow shapes of coverage reports
// (Cobertura, JaCoCo): elements and their attributes, in document order, with
// well-formedness checked (tags balanced, one root, attributes quoted and
// unique). Text and CDATA are skipped unless the visitor asks for one
// element's text (Cobertura's <source>), comments and processing instructions
// ignored. No DTD is ever fetched or applied: a DOCTYPE whose internal subset
// declares anything is refused (an empty one, `[]` as .NET writes it for
// Pester, is accepted) and only the five predefined and numeric character
// references are decoded, so no entity expansion (billion laughs, external
// entities) can happen.

export interface XmlVisitor {
  /** A start tag (also for `<x/>`, followed at once by close). */
  open(name: string, attrs: Record<string, string>): void;
  /**
   * An end tag. `text` is the element's own text (character data with its
   * references decoded, CDATA as written, child elements' text left out)
   * when wantsText said so at its open, else undefined.
   */
  close(name: string, text?: string): void;
  /**
   * Asked right after open(): whether the element's text is wanted at its
   * close. Only one element's text is collected at a time (not one nested in
   * another that is collected), at most 1 MiB of it.
   */
  wantsText?(name: string): boolean;
}

export class XmlSyntaxError extends Error {
  readonly offset: number;
  readonly truncated: boolean;
  readonly empty: boolean;
  constructor(message: string, offset: number, truncated = false, empty = false) {
    super(message);
    this.name = 'XmlSyntaxError';
    this.offset = offset;
    this.truncated = truncated;
    this.empty = empty;
  }
}

const LT = 0x3c;
const GT = 0x3e;
/** A tag (or DOCTYPE) longer than this is not a coverage report. */
const MAX_TAG_BYTES = 1 << 20;

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isNameChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x5f ||
    c === 0x3a ||
    c === 0x2d ||
    c === 0x2e ||
    c >= 0x80
  );
}

function startsWith(b: Buffer, i: number, s: string): boolean {
  if (i + s.length > b.length) return false;
  for (let k = 0; k < s.length; k++) if (b[i + k] !== s.charCodeAt(k)) return false;
  return true;
}

/** Whether b[i..] could still turn out to start with s once more bytes arrive. */
function couldStartWith(b: Buffer, i: number, s: string): boolean {
  const n = Math.min(b.length - i, s.length);
  for (let k = 0; k < n; k++) if (b[i + k] !== s.charCodeAt(k)) return false;
  return true;
}

export class XmlStreamParser {
  private readonly visitor: XmlVisitor;
  private readonly stack: string[] = [];
  private carry: Buffer | null = null;
  /** Set while inside a comment, PI or CDATA section: the text that ends it. */
  private skipUntil: string | null = null;
  private skipWhat = '';
  private rootSeen = false;
  private started = false;
  private sawBytes = false;
  /** Offset of the first byte of the current buffer (carry included). */
  private base = 0;
  /** Whether the section being skipped is CDATA (its bytes are text). */
  private skipCdata = false;
  /** Depth (stack length) of the element whose text is collected, -1 when none. */
  private textDepth = -1;
  /** Its text so far: raw byte runs, each character data (false) or CDATA (true). */
  private textParts: Buffer[] = [];
  private textCdata: boolean[] = [];
  private textBytes = 0;
  private textAt = 0;

  constructor(visitor: XmlVisitor) {
    this.visitor = visitor;
  }

  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    let buf = chunk;
    if (this.carry !== null) {
      // base already points at the carried bytes.
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let i = 0;
    if (!this.started) {
      if (buf.length < 3 && couldStartWith(buf, 0, '\xef\xbb\xbf')) {
        this.keep(buf, 0);
        return;
      }
      this.started = true;
      if (startsWith(buf, 0, '\xef\xbb\xbf')) i = 3;
    }
    const n = buf.length;
    while (i < n) {
      if (this.skipUntil !== null) {
        const end = buf.indexOf(this.skipUntil, i, 'latin1');
        if (end === -1) {
          // Keep just enough to find the terminator split across chunks.
          const from = Math.max(i, n - (this.skipUntil.length - 1));
          if (this.skipCdata) this.addText(buf, i, from, true);
          this.keep(buf, from);
          return;
        }
        if (this.skipCdata) this.addText(buf, i, end, true);
        i = end + this.skipUntil.length;
        this.skipUntil = null;
        this.skipCdata = false;
        continue;
      }
      const lt = buf.indexOf(LT, i);
      const textEnd = lt === -1 ? n : lt;
      if (this.stack.length === 0) this.checkOutsideText(buf, i, textEnd);
      else if (textEnd > i) this.addText(buf, i, textEnd, false);
      if (lt === -1) {
        i = n;
        break;
      }
      i = lt;
      const next = this.markup(buf, i);
      if (next === -1) {
        this.keep(buf, i);
        return;
      }
      i = next;
    }
    this.base += n;
  }

  end(): void {
    const at = this.base + (this.carry?.length ?? 0);
    if (this.skipUntil !== null) {
      throw new XmlSyntaxError(
        `truncated XML: the document ends inside ${this.skipWhat}`,
        at,
        true
      );
    }
    if (this.carry !== null && this.carry.length > 0) {
      if (!this.rootSeen && this.carry.every((c) => isSpace(c))) {
        throw new XmlSyntaxError('empty document', at, true, true);
      }
      throw new XmlSyntaxError('truncated XML: the document ends inside a tag', at, true);
    }
    if (this.stack.length > 0) {
      throw new XmlSyntaxError(
        `truncated XML: ${this.stack.length} element${this.stack.length === 1 ? '' : 's'} not closed (innermost <${this.stack[this.stack.length - 1]}>)`,
        at,
        true
      );
    }
    if (!this.rootSeen) {
      throw new XmlSyntaxError(
        this.sawBytes ? 'no root element' : 'empty document',
        at,
        true,
        !this.sawBytes
      );
    }
  }

  private fail(message: string, offset: number): never {
    throw new XmlSyntaxError(`invalid XML at byte ${offset}: ${message}`, offset);
  }

  private keep(buf: Buffer, from: number): void {
    if (buf.length - from > MAX_TAG_BYTES) this.fail('a tag longer than 1 MiB', this.base + from);
    this.carry = Buffer.from(buf.subarray(from));
    this.base += from;
  }

  /** Outside the root only whitespace may appear between markup. */
  private checkOutsideText(buf: Buffer, from: number, to: number): void {
    for (let k = from; k < to; k++) {
      if (!isSpace(buf[k])) {
        this.sawBytes = true;
        this.fail(
          this.rootSeen ? 'content after the root element' : 'text before the root element',
          this.base + k
        );
      }
    }
  }

  /**
   * Handles the markup starting at buf[i] === '<'; returns the index after it,
   * or -1 when it continues past the end of the buffer.
   */
  private markup(buf: Buffer, i: number): number {
    const n = buf.length;
    this.sawBytes = true;
    if (i + 1 >= n) return -1;
    const c = buf[i + 1];
    if (c === 0x21 /* ! */) {
      if (couldStartWith(buf, i, '<!--') && n - i < 4) return -1;
      if (startsWith(buf, i, '<!--')) return this.skip(buf, i + 4, '-->', 'a comment');
      if (couldStartWith(buf, i, '<![CDATA[') && n - i < 9) return -1;
      if (startsWith(buf, i, '<![CDATA[')) {
        if (this.stack.length === 0) this.fail('CDATA outside the root element', this.base + i);
        return this.skip(buf, i + 9, ']]>', 'a CDATA section', true);
      }
      if (couldStartWith(buf, i, '<!DOCTYPE') && n - i < 9) return -1;
      if (startsWith(buf, i, '<!DOCTYPE')) return this.doctype(buf, i);
      this.fail('unexpected markup after <!', this.base + i);
    }
    if (c === 0x3f /* ? */) return this.skip(buf, i + 2, '?>', 'a processing instruction');
    const end = this.tagEnd(buf, i + 1);
    if (end === -1) return -1;
    if (c === 0x2f /* / */) this.endTag(buf, i + 2, end);
    else this.startTag(buf, i + 1, end);
    return end + 1;
  }

  private skip(buf: Buffer, from: number, terminator: string, what: string, cdata = false): number {
    const end = buf.indexOf(terminator, from, 'latin1');
    if (end !== -1) {
      if (cdata) this.addText(buf, from, end, true);
      return end + terminator.length;
    }
    this.skipUntil = terminator;
    this.skipWhat = what;
    this.skipCdata = cdata;
    const next = buf.length - Math.min(buf.length - from, terminator.length - 1);
    if (cdata) this.addText(buf, from, next, true);
    return next;
  }

  /** Text bytes buf[from..to) directly inside the current element, kept when its text is wanted. */
  private addText(buf: Buffer, from: number, to: number, cdata: boolean): void {
    if (this.textDepth !== this.stack.length || to <= from) return;
    this.textBytes += to - from;
    if (this.textBytes > MAX_TAG_BYTES) {
      this.fail(
        `the text of <${this.stack[this.stack.length - 1]}> is longer than 1 MiB`,
        this.base + from
      );
    }
    // The buffer is reused by the next chunk: copy the run.
    this.textParts.push(Buffer.from(buf.subarray(from, to)));
    this.textCdata.push(cdata);
  }

  /** The collected text, decoded; collection ends. */
  private takeText(): string {
    let out = '';
    let k = 0;
    const parts = this.textParts;
    while (k < parts.length) {
      const cdata = this.textCdata[k];
      let j = k + 1;
      while (j < parts.length && this.textCdata[j] === cdata) j++;
      // Runs of one kind are joined before decoding: a character may be split across chunks.
      const run = (j - k === 1 ? parts[k] : Buffer.concat(parts.slice(k, j))).toString('utf8');
      out += !cdata && run.includes('&') ? this.decodeRefs(run, this.textAt, 'in text') : run;
      k = j;
    }
    this.textDepth = -1;
    this.textParts = [];
    this.textCdata = [];
    this.textBytes = 0;
    return out;
  }

  /** Index of the '>' closing a tag that starts before `from`, quotes respected. */
  private tagEnd(buf: Buffer, from: number): number {
    let quote = 0;
    for (let k = from; k < buf.length; k++) {
      const c = buf[k];
      if (quote !== 0) {
        if (c === quote) quote = 0;
      } else if (c === 0x22 || c === 0x27) quote = c;
      else if (c === GT) return k;
      else if (c === LT) this.fail("'<' inside a tag", this.base + k);
    }
    return -1;
  }

  private doctype(buf: Buffer, i: number): number {
    if (this.rootSeen) this.fail('DOCTYPE after the root element', this.base + i);
    let quote = 0;
    for (let k = i + 9; k < buf.length; k++) {
      const c = buf[k];
      if (quote !== 0) {
        if (c === quote) quote = 0;
      } else if (c === 0x22 || c === 0x27) quote = c;
      else if (c === 0x5b /* [ */) {
        // Only an internal subset without declarations (whitespace at most) is let through.
        let j = k + 1;
        while (j < buf.length && isSpace(buf[j])) j++;
        if (j === buf.length) return -1;
        if (buf[j] !== 0x5d /* ] */) {
          this.fail(
            'a DOCTYPE with an internal subset is refused (entities are never expanded)',
            this.base + k
          );
        }
        k = j;
      } else if (c === GT) return k + 1;
    }
    return -1;
  }

  private readName(buf: Buffer, from: number, to: number): number {
    let k = from;
    while (k < to && isNameChar(buf[k])) k++;
    const c = buf[from];
    if (k === from || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e) {
      this.fail('a tag or attribute without a valid name', this.base + from);
    }
    return k;
  }

  private endTag(buf: Buffer, from: number, end: number): void {
    const nameEnd = this.readName(buf, from, end);
    for (let k = nameEnd; k < end; k++) {
      if (!isSpace(buf[k])) this.fail('junk in an end tag', this.base + k);
    }
    const name = buf.toString('latin1', from, nameEnd);
    const open = this.stack.pop();
    if (open !== name) {
      this.fail(
        open === undefined ? `</${name}> without a start tag` : `</${name}> closes <${open}>`,
        this.base + from
      );
    }
    this.visitor.close(
      name,
      this.textDepth === this.stack.length + 1 ? this.takeText() : undefined
    );
  }

  private startTag(buf: Buffer, from: number, end: number): void {
    const selfClosing = buf[end - 1] === 0x2f;
    const last = selfClosing ? end - 1 : end;
    const nameEnd = this.readName(buf, from, last);
    const name = buf.toString('latin1', from, nameEnd);
    if (this.stack.length === 0) {
      if (this.rootSeen) this.fail(`a second root element <${name}>`, this.base + from);
      this.rootSeen = true;
    }
    const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
    let k = nameEnd;
    while (k < last) {
      const c = buf[k];
      if (isSpace(c)) {
        k++;
        continue;
      }
      if (!isSpace(buf[k - 1]))
        this.fail(`no space before an attribute of <${name}>`, this.base + k);
      const an = this.readName(buf, k, last);
      const attr = buf.toString('latin1', k, an);
      k = an;
      while (k < last && isSpace(buf[k])) k++;
      if (buf[k] !== 0x3d) this.fail(`attribute ${attr} of <${name}> has no value`, this.base + k);
      k++;
      while (k < last && isSpace(buf[k])) k++;
      const q = buf[k];
      if (q !== 0x22 && q !== 0x27)
        this.fail(`attribute ${attr} of <${name}> is not quoted`, this.base + k);
      const close = buf.indexOf(q, k + 1);
      if (close === -1 || close >= last)
        this.fail(`attribute ${attr} of <${name}> is not closed`, this.base + k);
      let value = buf.toString('utf8', k + 1, close);
      if (value.includes('<')) this.fail(`'<' in attribute ${attr} of <${name}>`, this.base + k);
      if (value.includes('&')) value = this.decodeRefs(value, this.base + k);
      if (attr in attrs) this.fail(`attribute ${attr} repeated in <${name}>`, this.base + k);
      attrs[attr] = value;
      k = close + 1;
    }
    if (!selfClosing) this.stack.push(name);
    this.visitor.open(name, attrs);
    const wants = this.textDepth === -1 && this.visitor.wantsText?.(name) === true;
    if (selfClosing) this.visitor.close(name, wants ? '' : undefined);
    else if (wants) {
      this.textDepth = this.stack.length;
      this.textAt = this.base + end + 1;
    }
  }

  private decodeRefs(value: string, at: number, where = 'in an attribute'): string {
    return value.replace(/&([^;&]*);?/g, (whole, ref: string) => {
      if (!whole.endsWith(';')) this.fail(`'&' not starting a reference ${where}`, at);
      const named = PREDEFINED[ref];
      if (named !== undefined) return named;
      const m = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(ref);
      if (m !== null) {
        const cp = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2], 10);
        if (cp > 0 && cp <= 0x10ffff) return String.fromCodePoint(cp);
      }
      return this.fail(`undefined entity &${ref}; (only the predefined ones are decoded)`, at);
    });
  }
}
