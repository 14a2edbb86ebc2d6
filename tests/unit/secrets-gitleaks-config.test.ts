// A repository's .gitleaks.toml means for the embedded engine what it means
// for gitleaks: no [extend] replaces the defaults, useDefault extends them
// (disabledRules, a rule of the same id extended, global allowlists added),
// both allowlist spellings, targetRules, AND/OR, regexTarget, stopwords; a
// broken file fails closed in one line.

import {
  loadRules,
  parseGitleaksToml
} from '../../packages/security/src/secrets/ruleset/config.ts';
import { ToolError } from '../../packages/core/src/errors.ts';
import { CHARS, random, rng } from '../helpers/secret-samples/kit.ts';

const r = rng('gitleaks-config');
const GHP = `ghp_${random(r, CHARS.alnum, 36)}`;
const INTERNAL = `acme_${random(r, CHARS.lowerAlnum, 32)}`;
const ids = (text: string, cfg?: string, path = 'src/app.ts'): string[] =>
  loadRules(cfg)
    .ruleset.detect(text, { pathAt: () => path, commitAt: () => 'a'.repeat(40) })
    .map((h) => h.ruleId)
    .sort();

const CUSTOM = `
[[rules]]
id = "acme-internal-token"
description = "ACME internal token"
regex = '''\\b(acme_[a-z0-9]{32})\\b'''
keywords = ["acme_"]
`;

describe('.gitleaks.toml', () => {
  it('absent: the default rules', () => {
    expect(ids(`token = "${GHP}"`)).toEqual(['github-pat']);
  });

  it('without [extend]: only its own rules', () => {
    expect(ids(`a = "${GHP}"\nb = "${INTERNAL}"`, CUSTOM)).toEqual(['acme-internal-token']);
  });

  it('[extend] useDefault: the defaults plus its own, minus disabledRules', () => {
    const cfg = `[extend]\nuseDefault = true\n${CUSTOM}`;
    expect(ids(`a = "${GHP}"\nb = "${INTERNAL}"`, cfg)).toEqual([
      'acme-internal-token',
      'github-pat'
    ]);
    const off = `[extend]\nuseDefault = true\ndisabledRules = ["github-pat", "no-such-rule"]\n`;
    expect(ids(`a = "${GHP}"`, off)).toEqual([]);
    expect(loadRules(off).notes).toEqual([
      ".gitleaks.toml: disabledRules names 'no-such-rule', which is no default rule; it has no effect"
    ]);
  });

  it('a rule of a default id extends it: its allowlist is added', () => {
    const cfg = `[extend]\nuseDefault = true\n[[rules]]\nid = "github-pat"\n[[rules.allowlists]]\nregexes = ['''^ghp_${GHP.slice(4, 10)}''']\n`;
    expect(ids(`a = "${GHP}"`, cfg)).toEqual([]);
  });

  it('global allowlists: paths, stopwords, regexTarget line, targetRules, commits; the old [allowlist] table too', () => {
    const base = `[extend]\nuseDefault = true\n`;
    expect(
      ids(`a = "${GHP}"`, `${base}[[allowlists]]\npaths = ['''^fixtures/''']`, 'fixtures/x.ts')
    ).toEqual([]);
    expect(
      ids(`a = "${GHP}"`, `${base}[[allowlists]]\npaths = ['''^fixtures/''']`, 'src/x.ts')
    ).toEqual(['github-pat']);
    expect(
      ids(
        `a = "${GHP}" # test-only`,
        `${base}[allowlist]\nregexTarget = "line"\nregexes = ['''test-only''']`
      )
    ).toEqual([]);
    expect(
      ids(
        `a = "${GHP}"`,
        `${base}[[allowlists]]\ntargetRules = ["aws-access-token"]\nstopwords = ["${GHP.slice(8, 14).toLowerCase()}"]`
      )
    ).toEqual(['github-pat']);
    expect(
      ids(
        `a = "${GHP}"`,
        `${base}[[allowlists]]\ntargetRules = ["github-pat"]\nstopwords = ["${GHP.slice(8, 14).toLowerCase()}"]`
      )
    ).toEqual([]);
    expect(ids(`a = "${GHP}"`, `${base}[[allowlists]]\ncommits = ["${'a'.repeat(40)}"]`)).toEqual(
      []
    );
  });

  it('condition AND: every criterion set must hold', () => {
    const cfg = `[extend]\nuseDefault = true\n[[allowlists]]\ncondition = "AND"\npaths = ['''^docs/''']\nregexes = ['''^ghp_''']`;
    expect(ids(`a = "${GHP}"`, cfg, 'docs/a.md')).toEqual([]);
    expect(ids(`a = "${GHP}"`, cfg, 'src/a.ts')).toEqual(['github-pat']);
  });

  it('a broken file fails closed in one line naming it and what is expected', () => {
    const cases: [string, RegExp][] = [
      ['[[rules]\nid = 1', /^\.gitleaks\.toml: expected valid TOML \(got /],
      [
        '[[rules]]\nid = "x"\nregex = "(?=a)b"',
        /^\.gitleaks\.toml: expected a valid regex in rule 'x' \(got "rule 'x' regex: not a valid RE2 regex/
      ],
      [
        '[[rules]]\ndescription = "no id"\nregex = "a"',
        /^\.gitleaks\.toml: expected an id in rule '#1' \(got "none"\)$/
      ],
      [
        '[[allowlists]]\ndescription = "empty"',
        /must contain at least one of commits, paths, regexes, stopwords/
      ],
      ['[[rules]]\nid = "x"\nregex = "a"\nsecretGroup = 2', /secretGroup/]
    ];
    for (const [text, re] of cases) {
      let err: unknown;
      try {
        loadRules(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ToolError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('never echoes a pattern, which may spell out a value', () => {
    let err: unknown;
    try {
      loadRules(`[[rules]]\nid = "x"\nregex = '''${GHP}('''`);
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toMatch(
      /not a valid RE2 regex \(error parsing regexp: missing closing \)\)/
    );
    expect((err as Error).message).not.toContain(GHP.slice(4, 12));
  });

  it('parses both spellings of a rule allowlist into the schema', () => {
    const cfg = parseGitleaksToml(
      `[[rules]]\nid = "a"\nregex = "x"\n[rules.allowlist]\nstopwords = ["s"]\n[[rules.allowlists]]\nregexTarget = "match"\nregexes = ["y"]\n`,
      't.toml'
    );
    expect(cfg.rules[0].allowlists).toEqual([
      { stopwords: ['s'] },
      { regexTarget: 'match', regexes: ['y'] }
    ]);
  });
});
