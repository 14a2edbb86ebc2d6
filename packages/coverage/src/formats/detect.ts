// Which format a report is in, from its first bytes: the JSON shape (first
// keys), the XML root element, or the first line of a line-based format. The
// file name only settles what content cannot (an empty `{}` named
// coverage-final.json); a misnamed report is still read by what it holds.

import { isReportFormat, type CoverageFormat } from '../coverage-report.ts';
import { JsonStreamParser, JsonSyntaxError } from './json-stream.ts';
import { GO_BLOCK } from './go-profile.ts';
import { CoverageReportError } from './report-error.ts';
import { XmlStreamParser, XmlSyntaxError } from './xml-stream.ts';

/** How many leading bytes detection reads. */
export const HEAD_BYTES = 64 * 1024;

const SUPPORTED =
  'supported: coverage.py JSON, istanbul coverage-summary.json or coverage-final.json, LCOV, Cobertura XML, JaCoCo XML, Go cover profile; set the format explicitly to override';

const LCOV_KEY = /^(TN|SF|VER|FN|FNDA|FNF|FNH|FNL|FNA|BRDA|BRF|BRH|DA|LF|LH):/;
const GO_MODE = /^mode: /;

/** Thrown by the sniffing visitors once they have seen enough. */
class Enough extends Error {}

interface JsonShape {
  /** Top-level keys, in order (the first few). */
  top: string[];
  /** Keys of the first top-level value, when it is an object (the first few). */
  second: string[];
  /** The top-level value is not an object. */
  notObject: boolean;
  /** A syntax error inside the head (not the head merely ending early). */
  broken?: JsonSyntaxError;
}

function sniffJson(head: Buffer): JsonShape {
  const shape: JsonShape = { top: [], second: [], notObject: false };
  const parser = new JsonStreamParser({
    select(p) {
      if (p.length === 0) return 'walk';
      if (p.length === 1) {
        if (typeof p[0] !== 'string') {
          shape.notObject = true;
          throw new Enough();
        }
        shape.top.push(p[0]);
        if (shape.top.length >= 4) throw new Enough();
        return shape.top.length === 1 ? 'walk' : 'skip';
      }
      if (p.length === 2 && typeof p[1] === 'string' && shape.second.length < 8) {
        shape.second.push(p[1]);
      }
      return 'skip';
    },
    value() {},
    end(p) {
      if (p.length === 1 && shape.top.length >= 2) throw new Enough();
    }
  });
  try {
    parser.write(head);
    parser.end();
  } catch (err) {
    // A head cut mid-document is expected; a broken one is judged by what was seen.
    if (err instanceof JsonSyntaxError) {
      if (!err.truncated) shape.broken = err;
    } else if (!(err instanceof Enough)) throw err;
  }
  return shape;
}

function jsonFormat(shape: JsonShape, fileName: string): CoverageFormat | string | Error {
  const { top, second } = shape;
  if (shape.notObject) return 'a JSON document that is not an object';
  if (top[0] === 'meta' || (top.includes('files') && top.includes('totals'))) return 'coverage-py';
  if (top[0] === 'total' && second.includes('lines')) return 'istanbul-summary';
  if (second.includes('lines') && second.includes('statements')) return 'istanbul-summary';
  if (second.includes('statementMap') || second.includes('path') || second[0] === 'data') {
    return 'istanbul-final';
  }
  if (shape.broken) return shape.broken;
  if (top.length === 0) {
    // `{}` is what istanbul's json reporter writes when nothing was instrumented.
    if (/coverage-final\.json$/i.test(fileName)) return 'istanbul-final';
    return 'an empty JSON object';
  }
  return `JSON with top-level keys ${top.map((k) => JSON.stringify(k)).join(', ')}`;
}

function xmlFormat(head: Buffer): CoverageFormat | string | Error {
  let root: { name: string; attrs: Record<string, string> } | null = null;
  const parser = new XmlStreamParser({
    open(name, attrs) {
      root = { name, attrs };
      throw new Enough();
    },
    close() {}
  });
  try {
    parser.write(head);
    parser.end();
  } catch (err) {
    if (!(err instanceof Enough) && !(err instanceof XmlSyntaxError)) throw err;
    // Broken before its root element: that is the report's problem, whatever its format.
    if (err instanceof XmlSyntaxError && !err.truncated) return err;
  }
  const r = root as { name: string; attrs: Record<string, string> } | null;
  if (r === null) return 'XML without a root element in its first 64 KiB';
  if (r.name === 'report') return 'jacoco';
  if (r.name === 'coverage') {
    if ('line-rate' in r.attrs || 'lines-valid' in r.attrs) return 'cobertura';
    if ('clover' in r.attrs) return 'Clover XML (not supported)';
    return 'XML <coverage> without line-rate (not Cobertura)';
  }
  return `XML with root <${r.name}>`;
}

function isBinary(head: Buffer): boolean {
  const n = Math.min(head.length, 512);
  for (let i = 0; i < n; i++) {
    const c = head[i];
    if (c < 0x09 || (c > 0x0d && c < 0x20 && c !== 0x1b)) return true;
  }
  return false;
}

/**
 * The format of a report from its first bytes (HEAD_BYTES suffice). `path`
 * names the report in errors and breaks the one tie content cannot.
 */
export function detectFormat(path: string, head: Uint8Array | string): CoverageFormat {
  let buf = typeof head === 'string' ? Buffer.from(head, 'utf8') : Buffer.from(head);
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf)
    buf = buf.subarray(3);
  let i = 0;
  while (
    i < buf.length &&
    (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)
  )
    i++;
  const fileName = path.split(/[\\/]/).pop() ?? path;
  if (i === buf.length) {
    throw new CoverageReportError(
      path,
      buf.length < HEAD_BYTES
        ? 'empty file'
        : `unknown format: only whitespace in the first ${HEAD_BYTES} bytes; ${SUPPORTED}`
    );
  }
  const body = buf.subarray(i);
  let found: CoverageFormat | string | Error;
  if (body[0] === 0x7b /* { */ || body[0] === 0x5b /* [ */) {
    found = jsonFormat(sniffJson(body), fileName);
  } else if (body[0] === 0x3c /* < */) {
    found = xmlFormat(body);
  } else if (isBinary(body)) {
    // JaCoCo's execution data starts with 0xC0C0; Go's GOCOVERDIR files are binary too.
    found =
      body[0] === 0x01 && body[1] === 0xc0 && body[2] === 0xc0
        ? 'JaCoCo execution data (.exec); use its XML report'
        : 'binary data';
  } else {
    const nl = body.indexOf(0x0a);
    const first = body
      .toString('utf8', 0, nl === -1 ? Math.min(body.length, 200) : Math.min(nl, 200))
      .trimEnd();
    // A block line first still means Go: its reader then says the mode line is missing.
    if (GO_MODE.test(first) || GO_BLOCK.test(first)) found = 'go';
    else if (LCOV_KEY.test(first) || first === 'end_of_record') found = 'lcov';
    else found = `text starting ${JSON.stringify(first.slice(0, 40))}`;
  }
  if (found instanceof Error) throw new CoverageReportError(path, found.message);
  if (isReportFormat(found)) return found;
  throw new CoverageReportError(path, `unknown format: ${found}; ${SUPPORTED}`);
}
