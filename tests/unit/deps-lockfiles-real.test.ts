// Lockfiles written here by the package managers themselves
// (scripts/make-lockfile-fixtures.sh): each directory under
// tests/fixtures/lockfiles/ whose name starts with a manager holds one
// lockfile and expected.txt, the name@version of every package that manager
// installed, read from the node_modules it laid out (never from the lockfile).
// Our parsers must read exactly that list.

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lockfileKindFor } from '../../packages/security/src/deps/lockfile-kinds.ts';
import { parsePnpmLock } from '../../packages/security/src/deps/pnpm-lock.ts';
import { parseYarnLock } from '../../packages/security/src/deps/yarn-lock.ts';
import { parsePackageLock } from '../../packages/security/src/deps/npm-lock.ts';
import type { ParsedLockfile } from '../../packages/security/src/deps/parsed-lockfile.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/lockfiles');
const MANAGERS = /^(npm|yarn|pnpm)-/;

interface Fixture {
  dir: string;
  file: string;
  text: string;
  expected: string[];
}

function fixture(dir: string): Fixture {
  const file = readdirSync(join(root, dir)).find((f) => lockfileKindFor(f) !== undefined);
  if (!file) throw new Error(`${dir}: no lockfile`);
  return {
    dir,
    file,
    text: readFileSync(join(root, dir, file), 'utf8'),
    expected: readFileSync(join(root, dir, 'expected.txt'), 'utf8')
      .split('\n')
      .filter(Boolean)
  };
}

const list = (r: ParsedLockfile): string[] =>
  [...new Set(r.packages.map((p) => `${p.name}@${p.version}`))].sort();

const dirs = readdirSync(root)
  .filter((d) => MANAGERS.test(d))
  .sort();

describe('lockfiles the package managers wrote', () => {
  it('has a fixture for each manager and lockfile generation', () => {
    for (const want of [
      'npm-6-v1',
      'npm-11-v2',
      'npm-11-v3',
      'yarn-1',
      'yarn-berry-3',
      'yarn-berry-4',
      'pnpm-5',
      'pnpm-6',
      'pnpm-7',
      'pnpm-8',
      'pnpm-9',
      'pnpm-10'
    ])
      expect(dirs).toContain(want);
  });

  it.each(dirs)('%s: the installed packages, exactly', (dir) => {
    const f = fixture(dir);
    const kind = lockfileKindFor(f.file)!;
    const r = kind.parse(f.text, `${dir}/${f.file}`);
    expect(list(r)).toEqual(f.expected);
    expect(r.packages.every((p) => p.ecosystem === 'npm')).toBe(true);
  });
});

describe('defects, on the real lockfiles that show them', () => {
  it('pnpm 5: keys with a registry host name the package after the host', () => {
    // pnpm 5 wrote `registry.npmjs.org/ms/2.1.1` and `127.0.0.1+PORT/escape-html/1.0.3`
    // (the scoped aliases @alias/ms and @mirror/escape-html resolve elsewhere);
    // the name was read as "registry.npmjs.org/ms", matched nothing and said nothing.
    for (const dir of ['pnpm-5', 'pnpm-6', 'pnpm-7', 'pnpm-8']) {
      const f = fixture(dir);
      expect(f.text).toMatch(/^ {2}registry\.npmjs\.org\/ms[/@]2\.1\.1:$/m);
      expect(f.text).toMatch(/^ {2}127\.0\.0\.1\+\d+\/escape-html[/@]1\.0\.3:$/m);
      const got = list(parsePnpmLock(f.text, 'pnpm-lock.yaml'));
      expect(got).toContain('ms@2.1.1');
      expect(got).toContain('escape-html@1.0.3');
      expect(got.some((p) => p.includes('registry.npmjs.org') || p.includes('127.0.0.1'))).toBe(
        false
      );
      // The key alone suffices: without the name/version fields pnpm adds to
      // such entries, the same list.
      const keysOnly = f.text.replace(/^ {4}(name|version): .*\n/gm, '');
      expect(keysOnly).not.toMatch(/^ {4}name: /m);
      expect(list(parsePnpmLock(keysOnly, 'pnpm-lock.yaml'))).toEqual(f.expected);
    }
  });

  it('pnpm: peer suffixes, patch hashes and the registry-layout tarball key', () => {
    const v5 = fixture('pnpm-7').text;
    expect(v5).toMatch(/^ {2}\/is-number\/7\.0\.0_[a-z0-9]+:$/m); // patched (5.4)
    expect(v5).toMatch(/^ {2}\/react-dom\/18\.2\.0_react@18\.2\.0:$/m);
    const v6 = fixture('pnpm-8').text;
    expect(v6).toMatch(/^ {2}\/is-number@7\.0\.0\(patch_hash=[a-z0-9]+\):$/m);
    expect(v6).toMatch(/^ {2}'@registry\.npmjs\.org\/isarray\/-\/isarray-2\.0\.5\.tgz':$/m);
    for (const dir of ['pnpm-7', 'pnpm-8', 'pnpm-9']) {
      const got = list(parsePnpmLock(fixture(dir).text, 'pnpm-lock.yaml'));
      expect(got).toEqual(
        expect.arrayContaining(['is-number@7.0.0', 'react-dom@18.2.0', 'isarray@2.0.5'])
      );
    }
  });

  it('pnpm: an empty packages map (null, {}) is an empty list, not a stop', () => {
    const f = fixture('pnpm-9');
    // The real file, its packages and snapshots emptied as a merge leaves them.
    const head = f.text.slice(0, f.text.indexOf('\npackages:'));
    for (const empty of ['packages:\n', 'packages: {}\n', 'packages: ~\n', 'packages: null\n']) {
      const r = parsePnpmLock(`${head}\n${empty}\nsnapshots:\n`, 'pnpm-lock.yaml');
      expect(r.packages).toEqual([]);
    }
  });

  it('pnpm: local directories are counted in a note, workspace links are not packages', () => {
    const r = parsePnpmLock(fixture('pnpm-9').text, 'pnpm-lock.yaml');
    expect(r.notes).toEqual([
      expect.stringMatching(
        /^1 entr\(ies\) not from a registry are not audited \(1 local directory or file\): local-lib@file:/
      )
    ]);
    expect(list(r).some((p) => p.startsWith('@fx/') || p.startsWith('local-lib@'))).toBe(false);
  });

  it('yarn 1: quoted keys, several per header, and a header without a range', () => {
    const f = fixture('yarn-1');
    expect(f.text).toMatch(/^is-odd@:$/m); // "is-odd": "" in package.json
    expect(f.text).toMatch(/^"@alias\/ms@npm:ms@2\.1\.1":$/m);
    expect(f.text).toMatch(/^"@babel\/code-frame@7\.22\.13":$/m);
    const got = list(parseYarnLock(f.text, 'yarn.lock'));
    expect(got).toEqual(
      expect.arrayContaining(['is-odd@3.0.1', 'ms@2.1.1', '@babel/code-frame@7.22.13'])
    );
    // The same header quoted ("is-odd@":) and with no '@' at all (is-odd:), as
    // yarn 1 also reads and writes them.
    for (const header of ['"is-odd@":', 'is-odd:']) {
      const edited = f.text.replace(/^is-odd@:$/m, header);
      expect(edited).toContain(`\n${header}\n`);
      expect(list(parseYarnLock(edited, 'yarn.lock'))).toEqual(f.expected);
    }
  });

  it('yarn berry: a patch: resolution is its npm version; workspaces are skipped', () => {
    const f = fixture('yarn-berry-4');
    expect(f.text).toMatch(/resolution: "is-number@patch:is-number@npm%3A7\.0\.0#/);
    expect(f.text).toMatch(/resolution: "resolve@patch:resolve@npm%3A1\.22\.8#/);
    const r = parseYarnLock(f.text, 'yarn.lock');
    expect(list(r)).toEqual(expect.arrayContaining(['is-number@7.0.0', 'resolve@1.22.8']));
    expect(r.notes.join('\n')).not.toMatch(/@workspace:/);
  });

  it('npm: aliases, nested copies and workspace links', () => {
    const r = parsePackageLock(fixture('npm-11-v3').text, 'package-lock.json');
    const paths = r.packages.map((p) => `${p.path} ${p.name}@${p.version}`);
    expect(paths).toContain('node_modules/lodash-old lodash@4.17.20');
    expect(paths).toContain('node_modules/@alias/ms ms@2.1.1');
    expect(paths.some((p) => p.startsWith('node_modules/@fx/'))).toBe(false);
  });
});
