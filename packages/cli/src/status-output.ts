// What `quality-gates status` prints: for a person, the status tables (the
// body: lease holder, merge queue, baselines, runs, retry counts, cancelled
// branches, counters, integrity); with --json, the status object itself
// (RepositoryStatus of packages/merge/src/status.ts), pretty, instead of the
// generic tool JSON that would carry it as a string in outputs.json. A
// refused read (a tampered git-ref state) prints its own JSON output, a
// { repository, tampered } object; a result without that output (a
// configuration error) falls back to the generic tool JSON.

import type { ToolOutcome } from '../../core/src/tool.ts';

/** The text to print for a status result; undefined: print it as any tool's. */
export function printStatus(r: ToolOutcome, json: boolean): string | undefined {
  if (!json) return r.body.endsWith('\n') ? r.body : `${r.body}\n`;
  const raw = r.outputs.json;
  if (raw === undefined) return undefined;
  return `${JSON.stringify(JSON.parse(raw), null, 2)}\n`;
}
