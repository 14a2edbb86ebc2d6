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

  it('reads the packages map: nested paths, scopes, aliases; skips root, links and workspace folders', () => {
    const r = parsePackageLock(v3, 'package-lock.json');
    expect(pairs(r)).toEqual([
      'lodash@4.17.21',
      '@babel/core@7.24.0',
      'semver@6.3.1',
      'string-width@4.2.3',
      'gitdep@1.0.0-git'
    ]);
    expect(r.packages[2]).toEqual({
      ecosystem: 'npm',
      name: 'semver',
      version: '6.3.1',
      path: 'node_modules/@babel/core/node_modules/semver'
    });
    expect(r.notes.join(' ')).toMatch(/not auditable: node_modules\/nover/);
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
    expect(r.notes[0]).toMatch(/d@github:x\/d#abcdef/);
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

  it('rejects lines that are not requirements, with the line number', () => {
    expectLockfileError(
      () => parseRequirementsTxt('flask==2.0\n!!! not a requirement\n', 'req/requirements.txt'),
      'req/requirements.txt',
      /line 2: not a requirement/
    );
    expectLockfileError(
      () => parseRequirementsTxt('flask=2.0\n', 'requirements.txt'),
      'requirements.txt',
      /line 1: invalid version specifier "=2.0"/
    );
    expectLockfileError(
      () => parseRequirementsTxt('flask==two\n', 'requirements.txt'),
      'requirements.txt',
      /line 1: "two" is not a PEP 440 version/
    );
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

  it('berry: resolutions from npm, workspaces and patches skipped', () => {
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
    expect(pairs(parseYarnLock(lock, 'yarn.lock'))).toEqual([
      'lodash@4.17.21',
      '@types/node@18.11.9'
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
