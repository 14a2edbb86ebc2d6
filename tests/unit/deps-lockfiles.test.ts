import { parsePackageLock } from '../../packages/security/src/deps/npm-lock.ts';
import { parseRequirementsTxt } from '../../packages/security/src/deps/requirements-txt.ts';
import { parsePoetryLock } from '../../packages/security/src/deps/poetry-lock.ts';
import { parseUvLock } from '../../packages/security/src/deps/uv-lock.ts';
import { parsePipfileLock } from '../../packages/security/src/deps/pipfile-lock.ts';
import { parseYarnLock } from '../../packages/security/src/deps/yarn-lock.ts';
import { parsePnpmLock } from '../../packages/security/src/deps/pnpm-lock.ts';
import { lockfileKindFor } from '../../packages/security/src/deps/lockfile-kinds.ts';
import { LockfileError } from '../../packages/security/src/deps/parsed-lockfile.ts';
import { normalizePypiName } from '../../packages/security/src/deps/package-ref.ts';
import type { ParsedLockfile } from '../../packages/security/src/deps/parsed-lockfile.ts';

const pairs = (r: ParsedLockfile): string[] => r.packages.map((p) => `${p.name}@${p.version}`);

function expectLockfileError(fn: () => unknown, file: string, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(LockfileError);
  const e = caught as LockfileError;
  expect(e.file).toBe(file);
  expect(e.kind).toBe('lockfile');
  expect(e.message.startsWith(`${file}: `)).toBe(true);
  expect(e.message).not.toContain('\n');
  expect(e.message).toMatch(pattern);
}

describe('package-lock.json', () => {
  const v3 = JSON.stringify({
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'app', version: '1.0.0', dependencies: { lodash: '^4.17.0' } },
      'node_modules/lodash': {
        version: '4.17.21',
        resolved: 'https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz'
      },
      'node_modules/@babel/core': { version: '7.24.0' },
      'node_modules/@babel/core/node_modules/semver': { version: '6.3.1' },
      'node_modules/string-width-cjs': { name: 'string-width', version: '4.2.3' },
      'node_modules/my-workspace': { resolved: 'packages/ws', link: true },
      'packages/ws': { name: 'my-workspace', version: '0.0.1' },
      'node_modules/gitdep': {
        version: '1.0.0-git',
        resolved: 'git+ssh://git@github.com/x/y.git#abc'
      },
      'node_modules/nover': {}
    }
  });

  it('reads the packages map: nested paths, scopes, aliases; skips root, links, workspace folders and git', () => {
    const r = parsePackageLock(v3, 'package-lock.json');
    expect(pairs(r)).toEqual([
      'lodash@4.17.21',
      '@babel/core@7.24.0',
      'semver@6.3.1',
      'string-width@4.2.3'
    ]);
    expect(r.packages[2]).toEqual({
      ecosystem: 'npm',
      name: 'semver',
      version: '6.3.1',
      path: 'node_modules/@babel/core/node_modules/semver'
    });
    expect(r.notes).toEqual([
      '2 entr(ies) not from a registry are not audited (1 git, 1 without a version): gitdep@1.0.0-git, node_modules/nover'
    ]);
  });

  it('reads a v1 dependencies tree, nested and aliased', () => {
    const v1 = JSON.stringify({
      lockfileVersion: 1,
      dependencies: {
        a: { version: '1.0.0', dependencies: { b: { version: '2.0.0' } } },
        c: { version: 'npm:real-c@3.1.0' },
        d: { version: 'github:x/d#abcdef' }
      }
    });
    const r = parsePackageLock(v1, 'sub/npm-shrinkwrap.json');
    expect(pairs(r)).toEqual(['a@1.0.0', 'b@2.0.0', 'real-c@3.1.0']);
    expect(r.packages[1].path).toBe('node_modules/a/node_modules/b');
    expect(r.notes[0]).toMatch(/\(1 git\): d@github:x\/d#abcdef/);
  });

  it('prefers packages over dependencies in a v2 file', () => {
    const v2 = JSON.stringify({
      lockfileVersion: 2,
      packages: { 'node_modules/x': { version: '1.0.0' } },
      dependencies: { y: { version: '9.9.9' } }
    });
    expect(pairs(parsePackageLock(v2, 'package-lock.json'))).toEqual(['x@1.0.0']);
  });

  it('rejects corrupt files with one line naming the file', () => {
    expectLockfileError(
      () => parsePackageLock('{"lockfileVersion": 3, "packages": {', 'app/package-lock.json'),
      'app/package-lock.json',
      /not valid JSON/
    );
    expectLockfileError(
      () => parsePackageLock('[]', 'package-lock.json'),
      'package-lock.json',
      /JSON object/
    );
    expectLockfileError(
      () => parsePackageLock('{"lockfileVersion": "3"}', 'package-lock.json'),
      'package-lock.json',
      /lockfileVersion/
    );
    expectLockfileError(
      () => parsePackageLock('{"lockfileVersion": 3}', 'package-lock.json'),
      'package-lock.json',
      /without a 'packages' map/
    );
    expectLockfileError(
      () =>
        parsePackageLock(
          '{"lockfileVersion": 3, "packages": {"node_modules/x": {"version": 3}}}',
          'package-lock.json'
        ),
      'package-lock.json',
      /version is not a string/
    );
    expectLockfileError(
      () =>
        parsePackageLock(
          '{"lockfileVersion": 3, "packages": {"node_modules/x": "1.0.0"}}',
          'package-lock.json'
        ),
      'package-lock.json',
      /not an object/
    );
  });
});

describe('requirements.txt', () => {
  const text = [
    '# generated by pip-compile',
    '-r base.txt',
    '--constraint constraints.txt',
    '--index-url https://pypi.org/simple',
    'Flask==2.0.1  # web',
    'requests[security,socks]==2.25.1 \\',
    '    --hash=sha256:aaaa \\',
    '    --hash=sha256:bbbb',
    'zope.interface==5.4.0 ; python_version >= "3.6"',
    'Jinja2 (==3.0.1)',
    'django>=3.2',
    'numpy',
    'pytz==2021.*',
    'legacy===1.0-custom',
    '-e git+https://github.com/x/y.git#egg=y',
    'pkg @ https://example.com/pkg-1.0.tar.gz',
    './local/wheel-1.0-py3-none-any.whl',
    'six==1.16.0;python_version<"3"',
    ''
  ].join('\n');

  it('keeps exact pins, normalises names, strips extras, hashes, markers and comments', () => {
    const r = parseRequirementsTxt(text, 'requirements.txt');
    expect(pairs(r)).toEqual([
      'flask@2.0.1',
      'requests@2.25.1',
      'zope-interface@5.4.0',
      'jinja2@3.0.1',
      'legacy@1.0-custom',
      'six@1.16.0'
    ]);
    expect(r.packages.every((p) => p.ecosystem === 'PyPI')).toBe(true);
  });

  it('notes nested files, unpinned and URL requirements instead of guessing', () => {
    const notes = parseRequirementsTxt(text, 'requirements.txt').notes.join('\n');
    expect(notes).toMatch(/line 2: requirements file base\.txt \(-r\) is not followed/);
    expect(notes).toMatch(/line 3: constraints file constraints\.txt/);
    expect(notes).toMatch(
      /3 requirement\(s\) not pinned with == are not auditable: django>=3\.2, numpy, pytz==2021\.\*/
    );
    expect(notes).toMatch(/3 URL, path or editable requirement\(s\) are not auditable/);
  });

  it('notes lines that pip would refuse, with the line number, and reads the rest', () => {
    const r = parseRequirementsTxt(
      'flask==2.0\n!!! not a requirement\nflask=2.0\nflask==two\n',
      'req/requirements.txt'
    );
    expect(pairs(r)).toEqual(['flask@2.0']);
    expect(r.notes).toEqual([
      '3 line(s) that pip would refuse are skipped: line 2: not a requirement in "!!! not a requirement", line 3: invalid version specifier "=2.0" in "flask=2.0", line 4: "two" is not a PEP 440 version in "flask==two"'
    ]);
    expectLockfileError(
      () => parseRequirementsTxt('flask==1.0\0', 'requirements.txt'),
      'requirements.txt',
      /NUL/
    );
  });
});

describe('poetry.lock', () => {
  const lock = `
[[package]]
name = "Django"
version = "3.2.0"
description = "web"
optional = false
python-versions = ">=3.6"

[[package]]
name = "typing_extensions"
version = "4.0.0"

[[package]]
name = "myproject-lib"
version = "0.1.0"
[package.source]
type = "directory"
url = "lib"

[metadata]
lock-version = "2.0"
`;
  it('reads [[package]] tables and skips local directory sources', () => {
    expect(pairs(parsePoetryLock(lock, 'poetry.lock'))).toEqual([
      'django@3.2.0',
      'typing-extensions@4.0.0'
    ]);
  });
  it('rejects invalid TOML and packages without a version', () => {
    expectLockfileError(
      () => parsePoetryLock('[[package]\nname = "x"', 'py/poetry.lock'),
      'py/poetry.lock',
      /not valid TOML/
    );
    expectLockfileError(
      () => parsePoetryLock('[[package]]\nname = "x"\n', 'poetry.lock'),
      'poetry.lock',
      /package #1 \(x\) has no version/
    );
    expectLockfileError(
      () => parsePoetryLock('package = "x"\n', 'poetry.lock'),
      'poetry.lock',
      /not an array of tables/
    );
  });
});

describe('uv.lock and Pipfile.lock', () => {
  it('uv.lock: registry packages only', () => {
    const lock = `version = 1
[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }

[[package]]
name = "Ruamel.YAML"
version = "0.17.21"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "dyn"
source = { virtual = "packages/dyn" }
`;
    expect(pairs(parseUvLock(lock, 'uv.lock'))).toEqual(['ruamel-yaml@0.17.21']);
    expectLockfileError(
      () => parseUvLock('[[package]]\nname = "x"\nsource = { registry = "r" }\n', 'uv.lock'),
      'uv.lock',
      /has no version/
    );
  });

  it('Pipfile.lock: default and develop, exact versions only', () => {
    const lock = JSON.stringify({
      _meta: { hash: { sha256: 'x' } },
      default: {
        requests: { version: '==2.25.1', hashes: [] },
        mylib: { editable: true, path: '.' }
      },
      develop: { PyTest: { version: '==6.2.4' } }
    });
    const r = parsePipfileLock(lock, 'Pipfile.lock');
    expect(pairs(r)).toEqual(['requests@2.25.1', 'pytest@6.2.4']);
    expect(r.notes[0]).toMatch(/mylib/);
    expectLockfileError(
      () => parsePipfileLock('{"default": []}', 'Pipfile.lock'),
      'Pipfile.lock',
      /'default' is not an object/
    );
  });
});

describe('yarn.lock', () => {
  it('classic v1: multi-descriptor headers, scopes, aliases; skips file: entries', () => {
    const lock = `# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
  version "7.12.13"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.12.13.tgz#abc"
  integrity sha512-x
  dependencies:
    "@babel/highlight" "^7.12.13"

js-tokens@^4.0.0, "js-tokens@^3.0.0 || ^4.0.0":
  version "4.0.0"

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"

"local@file:../local":
  version "1.0.0"
`;
    const r = parseYarnLock(lock, 'yarn.lock');
    expect(pairs(r)).toEqual([
      '@babel/code-frame@7.12.13',
      'js-tokens@4.0.0',
      'string-width@4.2.3'
    ]);
  });

  it('classic v1: an entry without a version is corrupt', () => {
    expectLockfileError(
      () => parseYarnLock('lodash@^4.0.0:\n  resolved "x"\n', 'web/yarn.lock'),
      'web/yarn.lock',
      /line 1: entry lodash@\^4\.0\.0 has no version/
    );
    expectLockfileError(
      () => parseYarnLock('lodash@^4.0.0\n  version "1"\n', 'yarn.lock'),
      'yarn.lock',
      /line 1: expected an entry header/
    );
  });

  it('berry: resolutions from npm and patches of them; workspaces skipped', () => {
    const lock = `__metadata:
  version: 6
  cacheKey: 8

"lodash@npm:^4.17.20":
  version: 4.17.21
  resolution: "lodash@npm:4.17.21"
  checksum: abc

"@types/node@npm:^18":
  version: 18.11.9
  resolution: "@types/node@npm:18.11.9"

"resolve@patch:resolve@^1.0.0#~builtin<compat/resolve>":
  version: 1.22.1
  resolution: "resolve@patch:resolve@npm%3A1.22.1#~builtin<compat/resolve>::version=1.22.1&hash=07638b"

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
`;
    // A patch: resolution is the npm version it patches.
    expect(pairs(parseYarnLock(lock, 'yarn.lock'))).toEqual([
      'lodash@4.17.21',
      '@types/node@18.11.9',
      'resolve@1.22.1'
    ]);
  });
});

describe('pnpm-lock.yaml', () => {
  it('v5 keys', () => {
    const lock = `lockfileVersion: 5.4
packages:
  /lodash/4.17.21:
    resolution: {integrity: sha512-x}
    dev: false
  /@babel/core/7.12.3_supports-color@5.5.0:
    resolution: {integrity: sha512-y}
`;
    expect(pairs(parsePnpmLock(lock, 'pnpm-lock.yaml'))).toEqual([
      'lodash@4.17.21',
      '@babel/core@7.12.3'
    ]);
  });
  it('v6 and v9 keys with peer suffixes; versions are never read as numbers', () => {
    const v6 = `lockfileVersion: '6.0'
packages:
  /lodash@4.17.21:
    resolution: {integrity: sha512-x}
  /@emotion/react@11.10.0(@types/react@18.0.0)(react@18.2.0):
    resolution: {integrity: sha512-y}
  /tarball-dep@1.10.0:
    name: tarball-dep
    version: 1.10.0
    resolution: {tarball: https://example.com/t.tgz}
`;
    expect(pairs(parsePnpmLock(v6, 'pnpm-lock.yaml'))).toEqual([
      'lodash@4.17.21',
      '@emotion/react@11.10.0',
      'tarball-dep@1.10.0'
    ]);
    const v9 = `lockfileVersion: '9.0'
importers:
  .: {}
packages:
  lodash@4.17.21:
    resolution: {integrity: sha512-x}
  '@scope/pkg@2.0.0-beta.1':
    resolution: {integrity: sha512-y}
snapshots:
  lodash@4.17.21: {}
`;
    expect(pairs(parsePnpmLock(v9, 'pnpm-lock.yaml'))).toEqual([
      'lodash@4.17.21',
      '@scope/pkg@2.0.0-beta.1'
    ]);
  });
  it('rejects invalid YAML and a missing lockfileVersion', () => {
    expectLockfileError(
      () => parsePnpmLock('packages: [\n', 'pnpm-lock.yaml'),
      'pnpm-lock.yaml',
      /not valid YAML/
    );
    expectLockfileError(
      () => parsePnpmLock('packages: {}\n', 'pnpm-lock.yaml'),
      'pnpm-lock.yaml',
      /no lockfileVersion/
    );
  });
});

describe('lockfile detection and names', () => {
  it('finds lockfiles at any depth by name, not under node_modules', () => {
    const kind = (p: string): string | undefined => lockfileKindFor(p)?.kind;
    expect(kind('package-lock.json')).toBe('package-lock');
    expect(kind('apps/web/package-lock.json')).toBe('package-lock');
    expect(kind('npm-shrinkwrap.json')).toBe('npm-shrinkwrap');
    expect(kind('svc/poetry.lock')).toBe('poetry-lock');
    expect(kind('requirements.txt')).toBe('requirements-txt');
    expect(kind('requirements-dev.txt')).toBe('requirements-txt');
    expect(kind('dev-requirements.txt')).toBe('requirements-txt');
    expect(kind('requirements/base.txt')).toBe('requirements-txt');
    expect(kind('node_modules/x/package-lock.json')).toBeUndefined();
    expect(kind('package.json')).toBeUndefined();
    expect(kind('notrequirements.txt')).toBeUndefined();
    expect(kind('docs/requirements.md')).toBeUndefined();
  });
  it('normalises PyPI names per PEP 503', () => {
    expect(normalizePypiName('Friendly-Bard')).toBe('friendly-bard');
    expect(normalizePypiName('FRIENDLY_BARD')).toBe('friendly-bard');
    expect(normalizePypiName('friendly.bard')).toBe('friendly-bard');
    expect(normalizePypiName('friendly--._bard')).toBe('friendly-bard');
  });
});

describe('empty and comment-only files', () => {
  it('every kind reads them as an empty list, not a defect', () => {
    const cases: [string, string[]][] = [
      ['package-lock.json', ['', '  \n', '\uFEFF']],
      ['npm-shrinkwrap.json', ['']],
      ['yarn.lock', ['', '# THIS IS AN AUTOGENERATED FILE.\n# yarn lockfile v1\n\n\n']],
      ['pnpm-lock.yaml', ['', '\n', '# nothing locked yet\n']],
      ['poetry.lock', ['', '# This file is automatically @generated by Poetry\n']],
      ['Pipfile.lock', ['', '\n']],
      ['uv.lock', ['', '# comment\n\n']],
      ['requirements.txt', ['', '# comment\n\n   # indented\n']]
    ];
    for (const [file, texts] of cases)
      for (const t of texts)
        expect(lockfileKindFor(file)!.parse(t, file)).toEqual({ packages: [], notes: [] });
  });

  it('a lockfile with its header and no packages is empty', () => {
    expect(
      parsePnpmLock("lockfileVersion: '9.0'\n\nimporters:\n\n  .: {}\n", 'pnpm-lock.yaml')
    ).toEqual({
      packages: [],
      notes: []
    });
    expect(
      parseYarnLock('__metadata:\n  version: 8\n  cacheKey: 10c0\n', 'yarn.lock').packages
    ).toEqual([]);
    expect(
      parsePackageLock(
        '{"lockfileVersion": 3, "packages": {"": {"name": "x"}}}',
        'package-lock.json'
      )
    ).toEqual({
      packages: [],
      notes: []
    });
    expect(parsePoetryLock('[metadata]\nlock-version = "2.0"\n', 'poetry.lock').packages).toEqual(
      []
    );
    expect(parseUvLock('version = 1\nrequires-python = ">=3.12"\n', 'uv.lock').packages).toEqual(
      []
    );
  });
});

describe('pnpm keys by hand, after pnpm dependency-path and encode-registry', () => {
  it('v5: absolute keys name a registry host (host:port written host+port), peers after _', () => {
    const lock = `lockfileVersion: 5.4
packages:
  registry.npmjs.org/foo/1.1.0:
    resolution: {integrity: sha512-a}
  registry.npmjs.org/@foo/bar/1.1.0:
    resolution: {integrity: sha512-b}
  npm.example.com+8443/foo/1.3.0_bar@2.0.0:
    resolution: {integrity: sha512-c, registry: 'https://npm.example.com:8443/artifactory/api/npm/npm/'}
  /foo/1.4.0_@types+babel__core@7.1.14:
    resolution: {integrity: sha512-d}
  /@scope/pkg/2.0.0-beta.1_ton3fs4fmulgcski52dpqid2oq:
    resolution: {integrity: sha512-e}
  github.com/kevva/is-positive/97edff6f525f192a3f83cea1944765f769ae2678:
    resolution: {tarball: https://codeload.github.com/kevva/is-positive/tar.gz/97edff6f525f192a3f83cea1944765f769ae2678}
    name: is-positive
    version: 3.1.0
  '@example.com/tarballs/foo-9.9.9.tgz':
    resolution: {tarball: https://example.com/tarballs/foo-9.9.9.tgz}
    name: foo
    version: 9.9.9
  '@npm.example.com/foo/-/foo-1.5.0.tgz':
    resolution: {tarball: https://npm.example.com/foo/-/foo-1.5.0.tgz}
    name: foo
    version: 1.5.0
  file:packages/local:
    resolution: {directory: packages/local, type: directory}
    name: local
    version: 0.0.0
`;
    const r = parsePnpmLock(lock, 'pnpm-lock.yaml');
    expect(pairs(r)).toEqual([
      'foo@1.1.0',
      '@foo/bar@1.1.0',
      'foo@1.3.0',
      'foo@1.4.0',
      '@scope/pkg@2.0.0-beta.1',
      'foo@1.5.0'
    ]);
    expect(r.notes).toEqual([
      '3 entr(ies) not from a registry are not audited (1 git, 1 tarball URL, 1 local directory or file): github.com/kevva/is-positive/97edff6f525f192a3f83cea1944765f769ae2678, @example.com/tarballs/foo-9.9.9.tgz, file:packages/local'
    ]);
  });

  it('v6 and v9: peers and patch hashes in parentheses, URL and file keys excluded', () => {
    const v6 = `lockfileVersion: '6.0'
packages:
  /foo@1.0.0(patch_hash=abc)(react@18.2.0):
    resolution: {integrity: sha512-a}
  registry.npmjs.org/ms@2.1.1:
    resolution: {integrity: sha512-b}
`;
    expect(pairs(parsePnpmLock(v6, 'pnpm-lock.yaml'))).toEqual(['foo@1.0.0', 'ms@2.1.1']);
    const v9 = `lockfileVersion: '9.0'
packages:
  '@scope/a@1.0.0':
    resolution: {integrity: sha512-a}
  b@https://codeload.github.com/u/b/tar.gz/0123456789abcdef:
    resolution: {tarball: https://codeload.github.com/u/b/tar.gz/0123456789abcdef}
    version: 1.0.0
  c@file:vendor/c:
    resolution: {directory: vendor/c, type: directory}
    version: 1.0.0
snapshots:
  '@scope/a@1.0.0(react@18.2.0)': {}
  d@2.0.0(patch_hash=xyz): {}
  b@https://codeload.github.com/u/b/tar.gz/0123456789abcdef: {}
`;
    const r = parsePnpmLock(v9, 'pnpm-lock.yaml');
    expect(pairs(r)).toEqual(['@scope/a@1.0.0', 'd@2.0.0']);
    expect(r.notes[0]).toMatch(
      /^2 entr\(ies\) not from a registry are not audited \(1 git, 1 local directory or file\)/
    );
  });
});

describe('yarn and npm by hand', () => {
  it('yarn v1: aliases of scoped packages, git and tarball entries', () => {
    const lock = `# yarn lockfile v1


"alias@npm:@scope/real@^1.0.0":
  version "1.2.3"

"bare@npm:@scope/other", same@npm:^2.0.0:
  version "2.0.0"

"gitdep@git+https://github.com/u/gitdep.git#abc":
  version "1.0.0"
  resolved "git+https://github.com/u/gitdep.git#abcdef"

"ms@https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz":
  version "2.1.3"
  resolved "https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz#hash"

"other@https://example.com/other.tgz":
  version "0.1.0"
  resolved "https://example.com/other.tgz#hash"
`;
    const r = parseYarnLock(lock, 'yarn.lock');
    expect(pairs(r)).toEqual(['@scope/real@1.2.3', '@scope/other@2.0.0', 'ms@2.1.3']);
    expect(pairs(parseYarnLock('same@npm:^2.0.0:\n  version "2.1.0"\n', 'yarn.lock'))).toEqual([
      'same@2.1.0'
    ]);
    expect(r.notes[0]).toMatch(
      /^2 entr\(ies\) not from a registry are not audited \(1 git, 1 tarball URL\)/
    );
  });

  it('npm: bundled dependencies are installed packages (v3 inBundle, v1 bundled)', () => {
    const v3 = JSON.stringify({
      lockfileVersion: 3,
      packages: {
        '': { name: 'x' },
        'node_modules/a': { version: '1.0.0', bundleDependencies: ['b'] },
        'node_modules/a/node_modules/b': { version: '2.0.0', inBundle: true }
      }
    });
    expect(pairs(parsePackageLock(v3, 'package-lock.json'))).toEqual(['a@1.0.0', 'b@2.0.0']);
    const v1 = JSON.stringify({
      lockfileVersion: 1,
      dependencies: {
        a: { version: '1.0.0', dependencies: { b: { version: '2.0.0', bundled: true } } },
        c: { version: 'https://registry.npmjs.org/c/-/c-3.0.0.tgz' },
        d: { version: 'file:vendor/d' }
      }
    });
    const r = parsePackageLock(v1, 'package-lock.json');
    expect(pairs(r)).toEqual(['a@1.0.0', 'b@2.0.0', 'c@3.0.0']);
    expect(r.notes[0]).toMatch(/\(1 local directory or file\): d@file:vendor\/d/);
  });
});
