// requirements.txt as pip reads it (pip's req_file.py): line joining and
// comments in pip's order, ${VAR} expansion, per-requirement options, -r/-c
// includes followed inside the repository only. The fixtures under
// tests/fixtures/lockfiles/requirements/ are small repositories written after
// pip's documentation; expected.txt is what pip would install.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MAX_INCLUDE_DEPTH,
  MAX_INCLUDED_FILES,
  loadRequirementIncludes,
  parseRequirementsTxt,
  resolveInclude
} from '../../packages/security/src/deps/requirements-txt.ts';
import type { ParsedLockfile } from '../../packages/security/src/deps/parsed-lockfile.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/lockfiles/requirements');
const list = (r: ParsedLockfile): string[] =>
  [...new Set(r.packages.map((p) => `${p.name}@${p.version}`))].sort();
const pairs = (r: ParsedLockfile): string[] => r.packages.map((p) => `${p.name}@${p.version}`);

/** A read over one fixture repository, recording what was asked for. */
function repo(name: string): {
  read: (p: string) => Promise<string | undefined>;
  asked: string[];
  text: (p: string) => string;
} {
  const asked: string[] = [];
  const text = (p: string): string => readFileSync(join(root, name, p), 'utf8');
  return {
    asked,
    text,
    read: async (p) => {
      asked.push(p);
      try {
        return text(p);
      } catch {
        return undefined;
      }
    }
  };
}

async function parseRepo(
  name: string,
  env: NodeJS.ProcessEnv = {}
): Promise<{ r: ParsedLockfile; includes: Map<string, string>; asked: string[] }> {
  const { read, asked, text } = repo(name);
  const body = text('requirements.txt');
  const includes = await loadRequirementIncludes('requirements.txt', body, read, { env });
  return { r: parseRequirementsTxt(body, 'requirements.txt', { includes, env }), includes, asked };
}

const expected = (name: string): string[] =>
  readFileSync(join(root, name, 'expected.txt'), 'utf8')
    .split('\n')
    .filter(Boolean);

describe('requirements fixtures after pip documentation', () => {
  it("pip's own example file: -r followed, -c pins what the requirements name, nothing more", async () => {
    const { r, includes } = await parseRepo('pip-docs');
    expect([...includes.keys()]).toEqual(['other-requirements.txt', 'constraints.txt']);
    expect(list(r)).toEqual(expected('pip-docs'));
    const notes = r.notes.join('\n');
    // keyring is only constrained: pip installs nothing for it. requests asks
    // for a range (under a marker, which the audit keeps) that the constraint pins.
    expect(list(r)).not.toContain('keyring@24.3.0');
    expect(list(r)).toContain('requests@2.8.1');
    expect(notes).toMatch(/requirement\(s\) not pinned with == are not auditable: pytest-cov/);
    expect(notes).toMatch(
      /3 URL, path or editable requirement\(s\) are not auditable: urllib3 @ https:\/\/github\.com/
    );
  });

  it('pip-compile output with hashes, ${VAR}, -C/--config-settings and comments after continuations', async () => {
    const { r } = await parseRepo('pip-compile', { URLLIB3_VERSION: '2.0.7' });
    expect(list(r)).toEqual(expected('pip-compile'));
    const notes = r.notes.join('\n');
    expect(notes).toMatch(/line 7: \$\{PIP_INDEX_TOKEN\} is not set/);
    expect(notes).toMatch(/pip ignores "ignored-by-pip==1\.0"/);
    expect(list(r)).not.toContain('ignored-by-pip@1.0');
  });

  it('never shows what a variable expanded to', async () => {
    const secret = 's3cr3t-t0ken-value';
    const { r } = await parseRepo('pip-compile', {
      URLLIB3_VERSION: '2.0.7',
      PIP_INDEX_TOKEN: secret
    });
    expect(list(r)).toEqual(expected('pip-compile'));
    expect(JSON.stringify(r)).not.toContain(secret);
    expect(r.notes.join('\n')).not.toMatch(/PIP_INDEX_TOKEN/);
    // A variable in a line pip refuses, and in an include path.
    const bad = parseRequirementsTxt(
      'foo==${TOKEN}\n-r ${TOKEN}/x.txt\nbar===${TOKEN}\n',
      'requirements.txt',
      { includes: new Map(), env: { TOKEN: 'not a version' } }
    );
    expect(JSON.stringify(bad.notes)).not.toContain('not a version');
    expect(bad.notes.join('\n')).toMatch(/\$\{TOKEN\}/);
  });

  it('without the variable set, a line is noted, not guessed', async () => {
    const { r } = await parseRepo('pip-compile');
    expect(list(r)).not.toContain('urllib3@2.0.7');
    expect(r.notes.join('\n')).toMatch(/\$\{URLLIB3_VERSION\} is not set/);
    expect(r.notes.join('\n')).toMatch(/line\(s\) that pip would refuse are skipped: line \d+: /);
  });

  it('includes: inside the repository, normalised, each once; outside, URLs, cycles and missing files noted', async () => {
    const { r, includes, asked } = await parseRepo('nested');
    expect(list(r)).toEqual(expected('nested'));
    expect([...includes.keys()].sort()).toEqual([
      'requirements/base.txt',
      'requirements/constraints.txt',
      'requirements/dev.txt',
      'requirements/extra/tools.txt'
    ]);
    // Never asked for anything outside the repository or over the network.
    expect(asked.every((p) => !p.startsWith('/') && !p.includes('..') && !p.includes(':'))).toBe(
      true
    );
    const notes = r.notes.join('\n');
    expect(notes).toMatch(
      /line 3: requirements file "?\.\.\/outside\.txt"? \(-r\) is not followed: outside the repository/
    );
    expect(notes).toMatch(
      /line 4: .*\/etc\/python\/requirements\.txt.* is not followed: an absolute path/
    );
    expect(notes).toMatch(
      /line 5: .*https:\/\/example\.com\/requirements\.txt.* is not followed: a URL/
    );
    expect(notes).toMatch(
      /line 6: requirements file requirements\/missing\.txt \(-r\) was not found/
    );
    expect(notes).toMatch(
      /requirements\/base\.txt line 4: requirements file requirements\/base\.txt \(-r\) is already being read/
    );
    expect(notes).toMatch(
      /requirements\/extra\/tools\.txt line 2: .*requirements\/dev\.txt.*a cycle/
    );
    expect(notes).toMatch(
      /2 URL, path or editable requirement\(s\) are not auditable: -e \.\/src\/mypkg/
    );
  });

  it('without the includes loaded, -r and -c are noted as not followed', () => {
    const text = readFileSync(join(root, 'nested/requirements.txt'), 'utf8');
    const r = parseRequirementsTxt(text, 'requirements.txt');
    expect(pairs(r)).toEqual(['attrs@23.1.0']);
    expect(r.notes.join('\n')).toMatch(
      /line 1: requirements file requirements\/dev\.txt \(-r\) is not followed; it is audited only if it is itself a changed lockfile/
    );
  });
});

describe('pip line handling', () => {
  const parse = (text: string, env: NodeJS.ProcessEnv = {}): ParsedLockfile =>
    parseRequirementsTxt(text, 'requirements.txt', { env });

  it('joins a backslash continuation as pip does: no space added, backslashes stripped', () => {
    expect(pairs(parse('foo==\\\n\\\n \\\n  \\\n1.2.3\n'))).toEqual(['foo@1.2.3']);
    expect(pairs(parse('bar == 4.5\\\\\n.6\n'))).toEqual(['bar@4.5.6']);
    expect(pairs(parse('Django==3.2.\\\n1\n'))).toEqual(['django@3.2.1']);
    expect(pairs(parse('qux == 10.11.12\\'))).toEqual(['qux@10.11.12']); // continued to the end
    expect(pairs(parse('a==1.0 \\\r\n  --hash=sha256:ab\r\nb==2.0\r'))).toEqual(['a@1.0', 'b@2.0']);
  });

  it('strips comments after joining', () => {
    const r = parse('baz == 7.8.9 # \\\nbaz == 1.2.3\nx==1.0 \\\n# via y\nz==2.0 # c\n');
    expect(pairs(r)).toEqual(['baz@7.8.9', 'x@1.0', 'z@2.0']);
    // '#' not after whitespace is not a comment: here it makes the version invalid.
    expect(pairs(parse('w==2.0#x\n'))).toEqual([]);
    expect(r.notes.join('\n')).toMatch(
      /line 1: the backslash ending a comment joins the next line/
    );
  });

  it('expands only ${NAME} with NAME of [A-Z0-9_], from the given environment', () => {
    const env = { VERSION: '1.2.3', lower: '9.9.9', EMPTY: '' };
    expect(pairs(parse('a==${VERSION}\n', env))).toEqual(['a@1.2.3']);
    const r = parse('b==${lower}\nc==$VERSION\nd==${EMPTY}\ne==1.0\n', env);
    expect(pairs(r)).toEqual(['e@1.0']);
    expect(r.notes.join('\n')).toMatch(/line 3: \$\{EMPTY\} is not set/);
    // ${lower} and $VERSION are not variables to pip: left as written, not noted as unset.
    expect(r.notes.join('\n')).not.toMatch(/\$\{lower\} is not set|VERSION\} is not set/);
  });

  it('reads per-requirement options and skips file options, as pip splits them', () => {
    const r = parse(
      [
        'foo1==1.0 --hash=sha256:123 --global-option=foo --config-settings=bar',
        'foo2==1.0 -C bar',
        'foo3==1.0 --hash sha256:123',
        'foo4-Client==1.0 -C bar',
        'foo5--hash==1.0',
        'foo6==1.0; python_version < "2.7" --hash=sha256:123',
        'foo7==1.0 --hash=sha256:1 unexpected_text_after_options',
        '-i https://pypi.org/simple',
        '--extra-index-url=https://example.com/simple',
        '--no-index',
        '--prefer-binary',
        '--only-binary :all:',
        '-f ./wheels',
        '--pre',
        '--require-hashes',
        '--trusted-host example.com',
        '--use-feature=truststore'
      ].join('\n')
    );
    expect(pairs(r)).toEqual([
      'foo1@1.0',
      'foo2@1.0',
      'foo3@1.0',
      'foo4-client@1.0',
      'foo5-hash@1.0',
      'foo6@1.0',
      'foo7@1.0'
    ]);
    expect(r.notes).toEqual([]);
  });

  it('notes the lines pip would refuse and reads the rest', () => {
    const r = parse(
      'asdf==\n==1.0\nasdf 1.0\nfoo==1.0 bar --hash=x\n--bogus\nflask=2.0\nflask==two\nok==1\n'
    );
    expect(pairs(r)).toEqual(['ok@1']);
    const notes = r.notes.join('\n');
    expect(notes).toMatch(/7 line\(s\) that pip would refuse are skipped: line 1: /);
    const all = parse('flask=2.0\n').notes.join('\n');
    expect(all).toMatch(/line 1: invalid version specifier "=2\.0"/);
    expect(parse('flask==two\n').notes.join('\n')).toMatch(
      /line 1: "two" is not a PEP 440 version/
    );
    expect(parse('--bogus\n').notes.join('\n')).toMatch(/line 1: no such option: --bogus/);
  });

  it('pins: == without a wildcard and ===; extras, markers and the legacy parenthesised form', () => {
    const r = parse(
      'A[x, y]==1.0\nB (==2.0)\nC===2003.10.x1\nD==1.*\nE>=1,<2\nF~=1.4\nG>=1.0,==1.2\nh==1.0+local ; sys_platform == "linux"\n'
    );
    expect(pairs(r)).toEqual(['a@1.0', 'b@2.0', 'c@2003.10.x1', 'g@1.2', 'h@1.0+local']);
    expect(r.notes.join('\n')).toMatch(
      /3 requirement\(s\) not pinned with == are not auditable: D==1\.\*, E>=1,<2, F~=1\.4/
    );
  });

  it('URL, path, VCS and editable requirements are not auditable', () => {
    const r = parse(
      [
        'pkg @ https://example.com/pkg-1.0.tar.gz',
        'git+https://github.com/x/y.git#egg=y',
        './local/wheel-1.0-py3-none-any.whl',
        'vendor/pkg-1.0.tar.gz',
        '-e .',
        '--editable=git+https://github.com/x/z.git#egg=z',
        'https://example.com/a-1.0.zip'
      ].join('\n')
    );
    expect(pairs(r)).toEqual([]);
    expect(r.notes.join('\n')).toMatch(
      /7 URL, path or editable requirement\(s\) are not auditable/
    );
  });

  it('empty, blank and comment-only files are empty lists', () => {
    for (const t of ['', '\n\n', '# only\n  # comments\n', '\uFEFF# bom\n'])
      expect(parse(t)).toEqual({ packages: [], notes: [] });
  });
});

describe('include resolution and bounds', () => {
  it('resolves from the including file and refuses what is outside', () => {
    expect(resolveInclude('requirements.txt', 'base.txt')).toEqual({ path: 'base.txt' });
    expect(resolveInclude('a/b/req.txt', '../c/./d.txt')).toEqual({ path: 'a/c/d.txt' });
    expect(resolveInclude('a/req.txt', '../../x.txt')).toEqual({
      refused: 'outside the repository'
    });
    expect(resolveInclude('req.txt', '/abs.txt')).toMatchObject({
      refused: expect.stringMatching(/absolute/)
    });
    expect(resolveInclude('req.txt', 'C:\\x.txt')).toMatchObject({
      refused: expect.stringMatching(/absolute/)
    });
    expect(resolveInclude('req.txt', 'file:///etc/x.txt')).toEqual({ refused: 'a URL' });
    expect(resolveInclude('req.txt', 'HTTPS://x/y.txt')).toEqual({ refused: 'a URL' });
  });

  it('stops at the depth bound and says so', async () => {
    const files = new Map<string, string>();
    for (let i = 0; i < MAX_INCLUDE_DEPTH + 3; i++)
      files.set(`r${i}.txt`, `-r r${i + 1}.txt\np${i}==1.0\n`);
    const read = async (p: string): Promise<string | undefined> => files.get(p);
    const includes = await loadRequirementIncludes('r0.txt', files.get('r0.txt')!, read);
    expect(includes.size).toBe(MAX_INCLUDE_DEPTH);
    const r = parseRequirementsTxt(files.get('r0.txt')!, 'r0.txt', { includes });
    expect(r.packages).toHaveLength(MAX_INCLUDE_DEPTH + 1);
    expect(r.notes.join('\n')).toMatch(new RegExp(`nest deeper than ${MAX_INCLUDE_DEPTH}`));
  });

  it('stops at the file-count bound and says so', async () => {
    const lines = Array.from({ length: MAX_INCLUDED_FILES + 5 }, (_, i) => `-r f${i}.txt`);
    const read = async (p: string): Promise<string | undefined> =>
      `${p.replace('.txt', '')}==1.0\n`;
    const root = lines.join('\n');
    const includes = await loadRequirementIncludes('requirements.txt', root, read);
    expect(includes.size).toBe(MAX_INCLUDED_FILES);
    const r = parseRequirementsTxt(root, 'requirements.txt', { includes });
    expect(r.packages).toHaveLength(MAX_INCLUDED_FILES);
    expect(r.notes.join('\n')).toMatch(
      new RegExp(`more than ${MAX_INCLUDED_FILES} included files`)
    );
  });
});
