// Streams a report through the JSON reader and names the report in any
// syntax error: empty, truncated or invalid at a byte offset.

import { JsonStreamParser, JsonSyntaxError, type JsonVisitor } from './json-stream.ts';
import { CoverageReportError } from './report-error.ts';
import { forEachChunk, inputName, type ReportInput } from './report-input.ts';

export async function readJsonReport(input: ReportInput, visitor: JsonVisitor): Promise<void> {
  const parser = new JsonStreamParser(visitor);
  try {
    await forEachChunk(input, (chunk) => parser.write(chunk));
    parser.end();
  } catch (err) {
    if (err instanceof JsonSyntaxError) {
      throw new CoverageReportError(inputName(input), err.empty ? 'empty file' : err.message);
    }
    throw err;
  }
}
