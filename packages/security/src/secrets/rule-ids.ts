// The ids the embedded engine can report: the supplementary rules' own and
// the stable names given to secretlint's messages. Used to tell a user when
// an allowlist `rule:` entry names nothing this engine reports.

import { secretlintStableIds } from './secretlint-rules.ts';
import { SUPPLEMENTARY_RULES } from './supplementary-rules.ts';

export const EMBEDDED_RULE_IDS: ReadonlySet<string> = new Set([
  ...SUPPLEMENTARY_RULES.map((r) => r.id),
  ...secretlintStableIds()
]);
