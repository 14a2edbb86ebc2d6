// Streams a report through the XML reader and names the report in any
// syntax error: empty, truncated or invalid at a byte offset.

import { CoverageReportError } from './report-error.ts';
import { forEachChunk, inputName, type ReportInput } from './report-input.ts';
import { XmlStreamParser, XmlSyntaxError, type XmlVisitor } from './xml-stream.ts';

export async function readXmlReport(input: ReportInput, visitor: XmlVisitor): Promise<void> {
  const parser = new XmlStreamParser(visitor);
  try {
    await forEachChunk(input, (chunk) => parser.write(chunk));
    parser.end();
  } catch (err) {
    if (err instanceof XmlSyntaxError) {
      throw new CoverageReportError(inputName(input), err.empty ? 'empty file' : err.message);
    }
    throw err;
  }
}
