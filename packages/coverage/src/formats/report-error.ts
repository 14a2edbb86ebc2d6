// The one error every coverage report reader throws: a tool error of kind
// 'coverage-tool' (its verdict is the gate's policy), one line naming the
// report and what is wrong with it.

import { ToolError } from '../../../core/src/errors.ts';

/** The ToolError kind of everything that goes wrong producing a coverage figure. */
export const COVERAGE_TOOL_KIND = 'coverage-tool';

export class CoverageReportError extends ToolError {
  /** The report as named in the message (a path, or a caller's label for text). */
  readonly source: string;
  constructor(source: string, problem: string) {
    super(COVERAGE_TOOL_KIND, `coverage report ${source}: ${problem.replace(/\s+/g, ' ').trim()}`);
    this.name = 'CoverageReportError';
    this.source = source;
  }
}
