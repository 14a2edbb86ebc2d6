// The verdict model shared by every gate: what a gate can conclude and the
// shape of a finished run before it becomes an artefact.

export const VERDICTS = ['PASS', 'FAIL', 'SKIPPED', 'DEFER'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const GATES = ['security', 'merge', 'coverage', 'image-freshness'] as const;
export type GateName = (typeof GATES)[number];

/** Frontmatter values are plain YAML scalars or lists of strings. */
export type FrontmatterValue = string | number | boolean | null | string[];
export type Frontmatter = Record<string, FrontmatterValue>;

/** What a gate's evaluation produces; runGate turns it into an artefact. */
export interface GateOutcome {
  verdict: Verdict;
  /** One line, no newlines: why this verdict. */
  summary: string;
  /** Gate-specific frontmatter keys (beside the common ones runGate adds). */
  fields: Frontmatter;
  /** Markdown body for humans. */
  body: string;
  warnings: string[];
}

/** The final, read-back result of one gate run. */
export interface GateResult {
  gate: GateName;
  verdict: Verdict;
  summary: string;
  reportPath: string;
  frontmatter: Frontmatter;
  body: string;
  warnings: string[];
}

export function isVerdict(v: unknown): v is Verdict {
  return typeof v === 'string' && (VERDICTS as readonly string[]).includes(v);
}

/** Collapse any text to one line, so a summary can never break a log or a table. */
export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
