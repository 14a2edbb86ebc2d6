// A maintainers' report (status, state verify) whose read was refused
// because the state was changed outside quality-gates (git-ref: a commit
// quality-gates did not write): the refusal's one line is the whole report,
// and nothing from the refused state is shown.

import type { ToolResult } from '../../core/src/tool.ts';
import { isTampered } from './errors.ts';

/**
 * The failed result for a report whose read threw `err`: the refusal's line
 * as the summary and under `## heading`, the outputs `outputs` makes of it.
 * Anything but a tampered state is rethrown.
 */
export function tamperedReport(
  err: unknown,
  heading: string,
  outputs: (line: string) => Record<string, string>,
  warnings: readonly string[] = []
): ToolResult {
  if (!isTampered(err)) throw err;
  const line = err.message;
  return {
    ok: false,
    summary: line,
    outputs: outputs(line),
    body: `## ${heading}\n\n${line}\n`,
    warnings: [...warnings]
  };
}
