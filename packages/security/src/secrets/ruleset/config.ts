// A repository's .gitleaks.toml for the embedded engine, with gitleaks'
// meaning: no file -> our default rules; a file without [extend] -> its own
// rules only; [extend] useDefault = true -> the defaults, minus
// disabledRules, with the file's rules added (a rule of the same id extends
// the default one: the fields it sets replace, keywords, tags and allowlists
// add up) and its global allowlists added. Both the deprecated single
// [allowlist] / [rules.allowlist] tables and the [[allowlists]] arrays are
// read. [extend] path (another file) is not followed: a note says so.

import { parse as parseToml } from 'smol-toml';
import { ToolError } from '../../../../core/src/errors.ts';
import { DEFAULT_RULES, DEFAULT_GLOBAL_ALLOWLISTS } from './defaults.ts';
import { RuleError, Ruleset } from './engine.ts';
import type { GitleaksAllowlist, GitleaksConfig, GitleaksRule } from './schema.ts';

export interface LoadedRules {
  ruleset: Ruleset;
  notes: string[];
  /** Every rule id in force. */
  ids: ReadonlySet<string>;
  /** A repository's rules and global allowlists as configured (absent: the default ruleset), for a worker thread to compile. */
  source?: { defaults: false; rules: GitleaksRule[]; globals: GitleaksAllowlist[] };
}

let defaultLoaded: LoadedRules | undefined;
/** What this project ships (its tests validate it): compiled without the re2js check. */
const TRUSTED = new Set<GitleaksRule | GitleaksAllowlist>([
  ...DEFAULT_RULES,
  ...DEFAULT_GLOBAL_ALLOWLISTS
]);

/** The default ruleset, compiled once per process. */
export function defaultRules(): LoadedRules {
  defaultLoaded ??= {
    ruleset: new Ruleset(DEFAULT_RULES, DEFAULT_GLOBAL_ALLOWLISTS, TRUSTED),
    notes: [],
    ids: new Set(DEFAULT_RULES.map((r) => r.id))
  };
  return defaultLoaded;
}

/** Parses gitleaks' TOML into our schema; `where` names the file in errors. */
export function parseGitleaksToml(text: string, where: string): GitleaksConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw bad(where, 'valid TOML', msg);
  }
  const cfg: GitleaksConfig = { rules: [], allowlists: [] };
  if (typeof doc.title === 'string') cfg.title = doc.title;
  const ext = doc.extend;
  if (ext !== undefined) {
    const e = obj(ext, where, '[extend]');
    cfg.extend = {
      useDefault: e.useDefault === true,
      ...(typeof e.path === 'string' ? { path: e.path } : {}),
      disabledRules: strings(e.disabledRules, where, '[extend] disabledRules')
    };
  }
  const rules = doc.rules === undefined ? [] : arr(doc.rules, where, '[[rules]]');
  rules.forEach((raw, i) => {
    const r = obj(raw, where, `[[rules]] #${i + 1}`);
    const id = typeof r.id === 'string' ? r.id : '';
    const at = `rule '${id || `#${i + 1}`}'`;
    if (!id) throw bad(where, `an id in ${at}`, 'none');
    const rule: GitleaksRule = {
      id,
      description: typeof r.description === 'string' ? r.description : ''
    };
    if (r.regex !== undefined) rule.regex = str(r.regex, where, `${at} regex`);
    if (r.path !== undefined) rule.path = str(r.path, where, `${at} path`);
    if (r.secretGroup !== undefined)
      rule.secretGroup = num(r.secretGroup, where, `${at} secretGroup`);
    if (r.entropy !== undefined) rule.entropy = num(r.entropy, where, `${at} entropy`);
    if (r.keywords !== undefined) rule.keywords = strings(r.keywords, where, `${at} keywords`);
    if (r.tags !== undefined) rule.tags = strings(r.tags, where, `${at} tags`);
    const lists = [
      ...(r.allowlist !== undefined ? [r.allowlist] : []),
      ...(r.allowlists === undefined ? [] : arr(r.allowlists, where, `${at} allowlists`))
    ];
    if (lists.length)
      rule.allowlists = lists.map((a, j) => allowlist(a, where, `${at} allowlist ${j + 1}`));
    cfg.rules.push(rule);
  });
  const globals = [
    ...(doc.allowlist !== undefined ? [doc.allowlist] : []),
    ...(doc.allowlists === undefined ? [] : arr(doc.allowlists, where, '[[allowlists]]'))
  ];
  cfg.allowlists = globals.map((a, j) => allowlist(a, where, `global allowlist ${j + 1}`, true));
  return cfg;
}

/** The ruleset a repository's config text means (undefined text: the defaults). */
export function loadRules(text: string | undefined, where = '.gitleaks.toml'): LoadedRules {
  if (text === undefined) return defaultRules();
  const cfg = parseGitleaksToml(text, where);
  const notes: string[] = [];
  let rules: GitleaksRule[];
  let globals: GitleaksAllowlist[];
  if (cfg.extend?.useDefault) {
    const disabled = new Set(cfg.extend.disabledRules ?? []);
    const own = new Map(cfg.rules.map((r) => [r.id, r]));
    rules = DEFAULT_RULES.filter((r) => !disabled.has(r.id)).map((r) => {
      const o = own.get(r.id);
      if (!o) return r;
      own.delete(r.id);
      return extendRule(r, o);
    });
    rules.push(...own.values());
    globals = [...DEFAULT_GLOBAL_ALLOWLISTS, ...cfg.allowlists];
    for (const id of disabled)
      if (!DEFAULT_RULES.some((r) => r.id === id))
        notes.push(
          `${where}: disabledRules names '${id}', which is no default rule; it has no effect`
        );
  } else {
    rules = cfg.rules;
    globals = cfg.allowlists;
    if (cfg.extend?.disabledRules?.length)
      notes.push(`${where}: disabledRules without useDefault = true has no effect`);
  }
  if (cfg.extend?.path)
    notes.push(
      `${where}: [extend] path is not followed by the embedded engine; only this file's rules apply`
    );
  if (rules.length === 0) notes.push(`${where} leaves no rule in force: no secret can be found`);
  let ruleset: Ruleset;
  try {
    ruleset = new Ruleset(rules, globals, TRUSTED);
  } catch (err) {
    if (err instanceof RuleError)
      throw bad(where, `a valid ${err.field} in rule '${err.ruleId}'`, err.message);
    throw err;
  }
  return {
    ruleset,
    notes,
    ids: new Set(rules.map((r) => r.id)),
    source: { defaults: false, rules, globals }
  };
}

function extendRule(base: GitleaksRule, o: GitleaksRule): GitleaksRule {
  const r: GitleaksRule = { ...base };
  if (o.description) r.description = o.description;
  if (o.regex) {
    r.regex = o.regex;
    // Our endsWith describes our regex, not theirs.
    delete r.endsWith;
  }
  if (o.path) r.path = o.path;
  if (o.secretGroup) r.secretGroup = o.secretGroup;
  if (o.entropy) r.entropy = o.entropy;
  if (o.keywords) r.keywords = [...(base.keywords ?? []), ...o.keywords];
  if (o.tags) r.tags = [...(base.tags ?? []), ...o.tags];
  if (o.allowlists) r.allowlists = [...(base.allowlists ?? []), ...o.allowlists];
  return r;
}

function allowlist(raw: unknown, where: string, at: string, global = false): GitleaksAllowlist {
  const a = obj(raw, where, at);
  const out: GitleaksAllowlist = {};
  if (typeof a.description === 'string') out.description = a.description;
  if (a.condition !== undefined) {
    const c = str(a.condition, where, `${at} condition`).toUpperCase();
    if (c !== 'OR' && c !== 'AND') throw bad(where, `${at} condition OR or AND`, c);
    out.condition = c;
  }
  if (a.commits !== undefined) out.commits = strings(a.commits, where, `${at} commits`);
  if (a.paths !== undefined) out.paths = strings(a.paths, where, `${at} paths`);
  if (a.regexTarget !== undefined) {
    const t = str(a.regexTarget, where, `${at} regexTarget`);
    if (t !== 'secret' && t !== 'match' && t !== 'line')
      throw bad(where, `${at} regexTarget secret, match or line`, t);
    out.regexTarget = t;
  }
  if (a.regexes !== undefined) out.regexes = strings(a.regexes, where, `${at} regexes`);
  if (a.stopwords !== undefined) out.stopwords = strings(a.stopwords, where, `${at} stopwords`);
  if (global && a.targetRules !== undefined)
    out.targetRules = strings(a.targetRules, where, `${at} targetRules`);
  return out;
}

/** A config the target branch holds that cannot be used: the scan fails closed, in one line. */
function bad(where: string, expected: string, got: string): ToolError {
  const shown = got.length > 120 ? `${got.slice(0, 117)}...` : got;
  return new ToolError('secrets', `${where}: expected ${expected} (got ${JSON.stringify(shown)})`);
}
function obj(v: unknown, where: string, at: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw bad(where, `a table at ${at}`, typeof v);
  return v as Record<string, unknown>;
}
function arr(v: unknown, where: string, at: string): unknown[] {
  if (!Array.isArray(v)) throw bad(where, `an array at ${at}`, typeof v);
  return v;
}
function str(v: unknown, where: string, at: string): string {
  if (typeof v !== 'string') throw bad(where, `a string at ${at}`, typeof v);
  return v;
}
function num(v: unknown, where: string, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(where, `a number at ${at}`, typeof v);
  return v;
}
function strings(v: unknown, where: string, at: string): string[] {
  if (v === undefined) return [];
  return arr(v, where, at).map((x) => str(x, where, at));
}
