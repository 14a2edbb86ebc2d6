// Where a report's bytes come from: a file (streamed in 1 MiB chunks, never
// read whole) or text already in memory. Read failures become
// CoverageReportErrors naming the file.

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { CoverageReportError } from './report-error.ts';

export type ReportInput = { path: string; name?: string } | { text: string; name?: string };

export const CHUNK_BYTES = 1 << 20;
const MAX_LINE_BYTES = 16 << 20;

/** How the report is named in messages. */
export function inputName(input: ReportInput): string {
  if (input.name !== undefined) return input.name;
  return 'path' in input ? input.path : '<text>';
}

function readFailure(input: ReportInput, err: unknown): CoverageReportError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'not found'
      : code === 'EISDIR'
        ? 'is a directory, not a report file'
        : `cannot be read (${code ?? (err as Error).message})`;
  return new CoverageReportError(inputName(input), why);
}

/** Calls onChunk for each chunk in order; chunks are fresh buffers a callee may keep. */
export async function forEachChunk(
  input: ReportInput,
  onChunk: (chunk: Buffer) => void
): Promise<void> {
  if ('text' in input) {
    onChunk(Buffer.from(input.text, 'utf8'));
    return;
  }
  const stream = createReadStream(input.path, { highWaterMark: CHUNK_BYTES });
  try {
    for await (const chunk of stream) onChunk(chunk as Buffer);
  } catch (err) {
    stream.destroy();
    // A parser's own error passes through; only I/O failures are translated.
    if (err instanceof CoverageReportError) throw err;
    if ((err as NodeJS.ErrnoException).code !== undefined) throw readFailure(input, err);
    throw err;
  }
}

/**
 * Calls onLine for each line (without its '\n' or '\r\n'), numbered from 1.
 * UTF-8 sequences split across chunks are decoded whole. `unterminated` marks
 * a last line without a newline: where it fails to parse, the file was
 * probably cut short.
 */
export async function forEachLine(
  input: ReportInput,
  onLine: (line: string, lineNo: number, unterminated: boolean) => void
): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let lineNo = 0;
  const emit = (text: string, last: boolean): void => {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      let end = nl;
      if (end > start && text.charCodeAt(end - 1) === 13) end--;
      onLine(text.slice(start, end), ++lineNo, last && nl === text.length - 1);
      start = nl + 1;
    }
    carry = text.slice(start);
  };
  await forEachChunk(input, (chunk) => {
    const s = decoder.write(chunk);
    emit(carry.length > 0 ? carry + s : s, false);
  });
  const rest = carry + decoder.end();
  if (rest.length > 0) {
    carry = '';
    emit(`${rest}\n`, true);
  }
}

/** The first `bytes` bytes (fewer when the report is shorter), for format detection. */
export async function readHead(input: ReportInput, bytes: number): Promise<Buffer> {
  if ('text' in input) {
    const b = Buffer.from(input.text.slice(0, bytes), 'utf8');
    return b.length > bytes ? b.subarray(0, bytes) : b;
  }
  let fh;
  try {
    fh = await open(input.path, 'r');
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } catch (err) {
    throw readFailure(input, err);
  } finally {
    await fh?.close();
  }
}

/**
 * Calls onLine(buf, start, end, lineNo, unterminated) for each line as a byte
 * range (the '\n' and a trailing '\r' excluded), without decoding: for line
 * formats whose hot lines are parsed straight from bytes. buf is only valid
 * during the call; `unterminated` as for forEachLine.
 */
export async function forEachLineBytes(
  input: ReportInput,
  onLine: (buf: Buffer, start: number, end: number, lineNo: number, unterminated: boolean) => void
): Promise<void> {
  let carry: Buffer | null = null;
  let lineNo = 0;
  const line = (buf: Buffer, start: number, end: number, unterminated = false): void => {
    if (end > start && buf[end - 1] === 13) end--;
    onLine(buf, start, end, ++lineNo, unterminated);
  };
  await forEachChunk(input, (chunk) => {
    let start = 0;
    if (carry !== null) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        carry = Buffer.concat([carry, chunk]);
        // No line format has lines this long; refuse rather than grow without end.
        if (carry.length > MAX_LINE_BYTES) {
          throw new CoverageReportError(
            inputName(input),
            `line ${lineNo + 1} is longer than 16 MiB`
          );
        }
        return;
      }
      const joined = Buffer.concat([carry, chunk.subarray(0, nl)]);
      carry = null;
      line(joined, 0, joined.length);
      start = nl + 1;
    }
    // A plain loop: Buffer#indexOf costs more per call than the ~10-byte lines it would skip.
    const n = chunk.length;
    for (let k = start; k < n; k++) {
      if (chunk[k] === 10) {
        line(chunk, start, k);
        start = k + 1;
      }
    }
    if (start < chunk.length) carry = Buffer.from(chunk.subarray(start));
  });
  if (carry !== null) line(carry, 0, (carry as Buffer).length, true);
}
