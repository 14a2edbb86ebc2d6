// The issue's scenario through the coverage gate, with the real tools
// (pytest + coverage.py with the system python) on a real repository with a
// bare origin: main holds about 10,000 covered lines; a branch adds a module
// of 11 executable lines whose tests run 5 (lines 80-85 never run). The
// total moves by 0.05 points, inside the default epsilon of 0.1, so the
// total alone passes; the patch part sees 45.45 % and, with patch-floor 80,
// FAILs naming the file and its missing ranges, the way diff-cover does.
import { readFileSync } from 'node:fs';
import {
  coverageGateRun,
  freshStatePath,
  projectRepo,
  ratchetRun,
  type ProjectRepo
} from '../helpers/coverage-project.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

/** ~10,000 statements, every one run by importing the module. */
function bulkModule(lines: number): string {
  const out = ['"""Constants, all run on import."""', ''];
  for (let i = 1; i <= lines; i++) out.push(`V${i} = ${i}`);
  return `${out.join('\n')}\n`;
}

/**
 * keys.py: executable lines 74-77 and 79 (run) and 80-85 (a function no test calls), with
 * comments and blank lines above so the missing lines are 80-85 as in the
 * issue's diff-cover output.
 */
function keysModule(): string {
  const out: string[] = [];
  for (let i = 1; i <= 72; i++) out.push(`# key handling, note ${i}`);
  out.push(''); // 73
  out.push('def fingerprint(key):'); // 74
  out.push('    parts = key.split(":")'); // 75
  out.push('    head = parts[0]'); // 76
  out.push('    return head + parts[-1]'); // 77
  out.push(''); // 78
  out.push('def rotate(key, n):'); // 79: a def runs on import
  out.push('    parts = key.split(":")'); // 80
  out.push('    n = n % len(parts)'); // 81
  out.push('    parts = parts[n:] + parts[:n]'); // 82
  out.push('    joined = ":".join(parts)'); // 83
  out.push('    assert joined'); // 84
  out.push('    return joined'); // 85
  return `${out.join('\n')}\n`;
}

const KEYS_TEST = `import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from calc import keys  # noqa: E402


def test_fingerprint():
    assert keys.fingerprint("a:b:c") == "ac"
`;

describe('patch coverage: six untested new lines in a 10,000-line repository', () => {
  let repo: ProjectRepo;
  let state: string;

  beforeAll(async () => {
    repo = projectRepo('python-app', {
      'src/calc/bulk.py': bulkModule(10_000),
      'tests/test_bulk.py':
        'import sys\nfrom pathlib import Path\n\nsys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))\n\nfrom calc import bulk  # noqa: E402\n\n\ndef test_bulk():\n    assert bulk.V10000 == 10000\n'
    });
    state = freshStatePath();
    // The baseline: main measured and ratcheted, as the landed workflow does.
    const r = await ratchetRun(repo.work, { 'state-path': state });
    expect(r.ok).toBe(true);
    repo.git('checkout', '-q', '-b', 'agent/keys');
    repo.commitAll('keys: fingerprint and rotate', {
      'src/calc/keys.py': keysModule(),
      'tests/test_keys.py': KEYS_TEST
    });
    repo.git('push', '-q', 'origin', 'agent/keys');
    // main moves on after the branch started: its lines are not the branch's.
    repo.git('checkout', '-q', 'main');
    repo.commitAll('main: a comment', {
      'src/calc/ops.py': `${readFileSync(`${repo.work}/src/calc/ops.py`, 'utf8')}# later\n`
    });
    repo.git('push', '-q', 'origin', 'main');
    repo.git('checkout', '-q', 'agent/keys');
    repo.git('merge', '-q', '--no-edit', 'main');
  }, 120_000);

  it('the total holds within epsilon; patch-floor off reports 45.45% (5 of 11) and PASSes', async () => {
    const r = await coverageGateRun(repo.work, { 'state-path': state }, { headRef: 'agent/keys' });
    expect(r.verdict).toBe('PASS');
    expect(r.summary).toMatch(/within the tolerance 0\.10 of the baseline/);
    expect(r.frontmatter).toMatchObject({
      patch_floor: null,
      patch_coverage: 45.45,
      patch_lines: 11,
      patch_covered: 5,
      patch_missing: ['src/calc/keys.py: 80-85'],
      patch_files_not_in_report: 1
    });
    expect(r.body).toContain('### Patch coverage (the lines this branch adds or changes)');
    expect(r.body).toContain('| src/calc/keys.py | 85 | 11 | 5 | 45.45% | 80-85 |');
    expect(r.body).toMatch(/does not mention \(1; not counted[^)]*\): `tests\/test_keys.py`/);
  });

  it('patch-floor 80: FAIL naming the patch figure, whatever the total says', async () => {
    const r = await coverageGateRun(
      repo.work,
      { 'state-path': state, 'patch-floor': '80' },
      { headRef: 'agent/keys' }
    );
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toMatch(
      /; patch coverage 45\.45% \(5 of 11 changed executable lines\) is below the patch floor 80\.00% by 34\.55 points$/
    );
    expect(r.frontmatter.patch_floor).toBe(80);
    expect(r.frontmatter.patch_missing).toEqual(['src/calc/keys.py: 80-85']);
  });

  it('patch-floor 45.45 is met exactly at the boundary (hundredths)', async () => {
    const r = await coverageGateRun(
      repo.work,
      { 'state-path': state, 'patch-floor': '45.45' },
      { headRef: 'agent/keys' }
    );
    expect(r.verdict).toBe('PASS');
    expect(r.summary).toMatch(
      /patch coverage 45\.45% \(5 of 11 changed executable lines\) meets the patch floor 45\.45%$/
    );
  });

  it('a branch that changes no executable line passes the patch part', async () => {
    repo.git('checkout', '-q', '-b', 'agent/readme', 'main');
    repo.commitAll('docs', { 'README.md': '# calc\n' });
    const r = await coverageGateRun(
      repo.work,
      { 'state-path': state, 'patch-floor': '80' },
      { headRef: 'agent/readme' }
    );
    expect(r.verdict).toBe('PASS');
    expect(r.summary).toMatch(/; patch coverage: no executable changes \(the patch part passes\)$/);
    expect(r.frontmatter).toMatchObject({
      patch_coverage: null,
      patch_lines: 0,
      patch_covered: 0,
      patch_missing: []
    });
  });

  it('a patch-floor that is not a percentage is a one-line configuration error naming it', async () => {
    const r = await coverageGateRun(
      repo.work,
      { 'state-path': state, 'patch-floor': 'eighty' },
      { headRef: 'agent/readme' }
    );
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toMatch(/patch-floor/);
    expect(r.summary.split('\n')).toHaveLength(1);
  });
});

describe('patch coverage when the changed lines cannot be taken', () => {
  it('no remote and no local base branch: not measured, a warning; with patch-floor and coverage-tool-fail-closed: FAIL', async () => {
    const repo = projectRepo('python-app');
    const state = freshStatePath();
    repo.git('remote', 'remove', 'origin');
    repo.git('checkout', '-q', '-b', 'agent/x');
    repo.git('branch', '-q', '-D', 'main');
    const open = await coverageGateRun(
      repo.work,
      { 'state-path': state, 'patch-floor': '80' },
      { headRef: 'agent/x' }
    );
    expect(open.verdict).toBe('PASS');
    expect(open.warnings.join('\n')).toMatch(
      /patch coverage not measured: no remote 'origin' and no local branch main to compare with/
    );
    expect(open.frontmatter.patch_coverage).toBeNull();
    const closed = await coverageGateRun(
      repo.work,
      { 'state-path': state, 'patch-floor': '80', 'coverage-tool-fail-closed': 'true' },
      { headRef: 'agent/x' }
    );
    expect(closed.verdict).toBe('FAIL');
    expect(closed.summary).toMatch(
      /patch-floor 80\.00% not applied: FAIL \(coverage-tool-fail-closed\)/
    );
  });
});

// A branch of a repository whose coverage command lies about the base: the
// changed lines were taken before it ran, so moving origin/main to HEAD
// does not shrink the patch.
describe('the coverage command cannot shrink its own patch', () => {
  it('a command that points refs/remotes/origin/main at HEAD still sees the branch new lines', async () => {
    const repo = projectRepo('python-app');
    const state = freshStatePath();
    repo.git('checkout', '-q', '-b', 'agent/sneaky');
    repo.commitAll('keys', { 'src/calc/keys.py': keysModule(), 'tests/test_keys.py': KEYS_TEST });
    const command =
      'git update-ref refs/remotes/origin/main HEAD && /usr/bin/python3 -m pytest --cov=src --cov-report= -q && /usr/bin/python3 -m coverage json -q -o coverage.json';
    const r = await coverageGateRun(
      repo.work,
      { 'state-path': state, 'patch-floor': '80', command },
      { headRef: 'agent/sneaky' }
    );
    expect(r.frontmatter.patch_lines).toBe(11);
    expect(r.verdict).toBe('FAIL');
  });
});
