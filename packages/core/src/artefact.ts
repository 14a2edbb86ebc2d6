// Gate artefacts: a markdown file whose YAML frontmatter is the single source
// of truth for the verdict. write -> read back -> verdict from the parsed
// frontmatter only; anything missing, unparsable or inconsistent is FAIL.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dump, load, JSON_SCHEMA } from 'js-yaml';
import { isVerdict, type Frontmatter, type FrontmatterValue, type Verdict } from './verdict.ts';

export const CHECKSUM_KEY = 'checksum';

/** sha256 over the canonical JSON of every key but the checksum itself, in key order. */
export function frontmatterChecksum(fm: Frontmatter): string {
  const keys = Object.keys(fm)
    .filter((k) => k !== CHECKSUM_KEY)
    .sort();
  const canonical = JSON.stringify(keys.map((k) => [k, fm[k]]));
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

export function renderReport(fm: Frontmatter, body: string): string {
  const sealed: Frontmatter = { ...fm, [CHECKSUM_KEY]: frontmatterChecksum(fm) };
  // JSON_SCHEMA keeps values as strings/numbers/bools on the way back: no
  // timestamps or octal surprises from a sha that happens to look numeric.
  const yaml = dump(sealed, { schema: JSON_SCHEMA, lineWidth: -1, noRefs: true });
  return `---\n${yaml}---\n\n${body.trimEnd()}\n`;
}

/**
 * mkdir -p, one level at a time. Node's recursive mkdirSync spins forever on
 * some pseudo file systems (a report-dir under /proc hangs the process), and
 * a gate must answer, not hang.
 */
export function ensureDir(dir: string): void {
  const missing: string[] = [];
  let cur = dir;
  while (!existsSync(cur)) {
    missing.unshift(cur);
    const up = dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  for (const d of missing) mkdirSync(d);
}

/** Writes atomically (temp file + rename) so a reader never sees half a report. */
export function writeReport(path: string, fm: Frontmatter, body: string): void {
  ensureDir(dirname(path));
  const tmp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(tmp, renderReport(fm, body), { mode: 0o644 });
  renameSync(tmp, path);
}

export interface ReadBack {
  verdict: Verdict;
  frontmatter: Frontmatter;
  body: string;
  /** Set when the verdict was forced to FAIL because the artefact is unusable. */
  problem?: string;
}

export interface Expectation {
  statusKey: string;
  gate: string;
  headSha?: string;
}

/** Parse an artefact's text; any defect yields FAIL with a one-line problem. */
export function parseReport(text: string, expect: Expectation): ReadBack {
  const fail = (problem: string, fm: Frontmatter = {}, body = text): ReadBack => ({
    verdict: 'FAIL',
    frontmatter: fm,
    body,
    problem
  });
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text);
  if (!m) return fail('report has no YAML frontmatter');
  let parsed: unknown;
  try {
    parsed = load(m[1], { schema: JSON_SCHEMA });
  } catch {
    return fail('report frontmatter is not valid YAML');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return fail('report frontmatter is not a mapping');
  }
  const fm = parsed as Record<string, unknown>;
  for (const [k, v] of Object.entries(fm)) {
    if (!isFrontmatterValue(v)) return fail(`report frontmatter key '${k}' has an unexpected type`);
  }
  const typed = fm as Frontmatter;
  const body = m[2].replace(/^\n/, '');
  if (typed[CHECKSUM_KEY] !== frontmatterChecksum(typed)) {
    return fail(
      'report frontmatter was altered after it was written (checksum mismatch)',
      typed,
      body
    );
  }
  if (typed.gate !== expect.gate) {
    return fail(
      `report belongs to gate '${String(typed.gate)}', expected '${expect.gate}'`,
      typed,
      body
    );
  }
  if (expect.headSha && typed.head_sha !== expect.headSha) {
    return fail(
      `report is for commit ${String(typed.head_sha)}, expected ${expect.headSha}`,
      typed,
      body
    );
  }
  const status = typed[expect.statusKey];
  if (!isVerdict(status)) {
    return fail(`report key '${expect.statusKey}' is missing or not a verdict`, typed, body);
  }
  return { verdict: status, frontmatter: typed, body };
}

export function readReport(path: string, expect: Expectation): ReadBack {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    return {
      verdict: 'FAIL',
      frontmatter: {},
      body: '',
      problem: `report ${path} could not be read back (${code})`
    };
  }
  return parseReport(text, expect);
}

function isFrontmatterValue(v: unknown): v is FrontmatterValue {
  if (v === null) return true;
  if (Array.isArray(v)) return v.every((x) => typeof x === 'string');
  return ['string', 'number', 'boolean'].includes(typeof v);
}
