// The commits a branch adds, in a shallow checkout whose tip is a merge (what
// "update branch" and PR merge refs make). With depth 2 the merge-base is
// found through main's side after one deepening, while the branch's own early
// commits are still cut off: the gate once scanned that cut range and passed a
// real leak. A range is complete only when no commit of it sits on the shallow
// boundary and every parent of it is present; the gate deepens until it is,
// and otherwise FAILs, whatever the engine.
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { ToolError } from '../../packages/core/src/errors.ts';
import { runGate } from '../../packages/core/src/gate.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import type { GateResult } from '../../packages/core/src/verdict.ts';
import { Git } from '../../packages/git/src/git.ts';
import { securityGate } from '../../packages/security/src/gate.ts';
import { runGitleaks } from '../../packages/security/src/gitleaks/run.ts';
import { resolveBranchRange } from '../../packages/security/src/range.ts';
import { randomAwsAccessKeyId } from '../../packages/security/src/secrets/token-samples.ts';
import { FAKE_GITLEAKS, fakeEnv } from '../fixtures/fake-gitleaks/helpers.ts';
import { git, makeLocalRepo, makeRepo, tickingDate, type TestRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const BRANCH = 'agent/long';
const BRANCH_COMMITS = 60;

interface Scenario {
  repo: TestRepo;
  secret: string;
  /** The commit that adds the secret, early on the branch. */
  leak: string;
  /** Commits the branch adds over main: its own, the merge and the one after it. */
  added: number;
}

/**
 * main with history; a branch of BRANCH_COMMITS commits (the third adds a
 * secret, the fourth removes it) that merges the moved main and adds one more commit; all pushed.
 */
function mergedBranch(): Scenario {
  const repo = makeRepo({ date: tickingDate });
  for (let i = 1; i <= 5; i++) repo.commit(`main-${i}.txt`, `main ${i}\n`);
  repo.git('push', '-q', 'origin', 'main');
  repo.git('checkout', '-q', '-b', BRANCH);
  const secret = randomAwsAccessKeyId();
  let leak = '';
  for (let i = 1; i <= BRANCH_COMMITS; i++) {
    // The next commit removes the secret again: only a scan of commit 3 itself sees it.
    const sha =
      i === 4
        ? repo.commit('work/3.txt', 'moved to the vault\n', `branch ${i}`)
        : repo.commit(
            `work/${i}.txt`,
            i === 3 ? `aws_access_key_id = "${secret}"\n` : `step ${i}\n`,
            `branch ${i}`
          );
    if (i === 3) leak = sha;
  }
  repo.git('checkout', '-q', 'main');
  for (let i = 6; i <= 8; i++) repo.commit(`main-${i}.txt`, `main ${i}\n`);
  repo.git('push', '-q', 'origin', 'main');
  repo.git('checkout', '-q', BRANCH);
  repo.git('merge', '-q', '--no-ff', '--no-edit', 'main');
  repo.commit('work/after-merge.txt', 'after the merge\n', 'after the merge');
  repo.git('push', '-q', 'origin', BRANCH);
  return { repo, secret, leak, added: BRANCH_COMMITS + 2 };
}

/** What actions/checkout makes: the branch at `depth`, then main's tip at depth 1. */
function shallowClone(repo: TestRepo, depth: number, mainDepth = 1): string {
  const dir = join(tempDir('qg-shallow-'), 'checkout');
  git(
    repo.root,
    'clone',
    '-q',
    `--depth=${depth}`,
    '--branch',
    BRANCH,
    `file://${repo.origin}`,
    dir
  );
  git(
    dir,
    'fetch',
    '-q',
    '--no-tags',
    `--depth=${mainDepth}`,
    'origin',
    '+refs/heads/main:refs/remotes/origin/main'
  );
  return dir;
}

function shallowFile(dir: string): string {
  const p = join(dir, '.git', 'shallow');
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

/** Makes the bare origin unreachable, as a runner without network or credentials sees it. */
function cutOff(repo: TestRepo): void {
  renameSync(repo.origin, `${repo.origin}.gone`);
}

async function gate(
  dir: string,
  inputs: Record<string, string> = {},
  env: NodeJS.ProcessEnv = {}
): Promise<GateResult & { log: string }> {
  const logger = new RecordingLogger();
  const ctx: RunContext = {
    env: { ...process.env, ...env },
    workspace: dir,
    repository: 'acme/service',
    event: { name: '' },
    logger,
    now: () => new Date()
  };
  const r = await runGate(
    securityGate,
    mapInputSource({
      'base-ref': 'main',
      'dep-audit': 'false',
      'report-dir': join(tempDir(), 'reports'),
      ...inputs
    }),
    ctx
  );
  return { ...r, log: logger.text() };
}

function everything(r: GateResult & { log: string }): string {
  return [r.summary, r.body, r.log, JSON.stringify(r.frontmatter), ...r.warnings].join('\n');
}

describe('secrets: a shallow checkout with a merge near the tip', () => {
  let s: Scenario;
  beforeAll(() => {
    s = mergedBranch();
  }, 120_000);

  it('is cut off after one deepening: the merge-base is found while early branch commits are missing', () => {
    // The state the gate used to accept: this is what made it scan 51 of 63 commits.
    const dir = shallowClone(s.repo, 2);
    git(dir, 'fetch', '-q', '--no-tags', '--deepen=50', 'origin');
    const base = git(dir, 'merge-base', 'origin/main', 'HEAD').trim();
    expect(base).toBe(s.repo.sha('main'));
    const present = Number(git(dir, 'rev-list', '--count', `${base}..HEAD`).trim());
    expect(present).toBeLessThan(s.added);
    // The commit with the secret was never fetched.
    expect(() => git(dir, 'cat-file', '-e', `${s.leak}^{commit}`)).toThrow();
  });

  it('deepens until the whole range is present and finds the secret in an early commit', async () => {
    const dir = shallowClone(s.repo, 2);
    const r = await gate(dir);
    expect(r.verdict).toBe('FAIL');
    expect(r.frontmatter.secrets_found).toBe(1);
    expect(r.frontmatter.commits_scanned).toBe(s.added);
    expect(String(r.frontmatter.blocking)).toContain(s.leak.slice(0, 12));
    expect(r.warnings.join('\n')).toMatch(/history was fetched/);
    expect(everything(r)).not.toContain(s.secret);
  });

  it('the gitleaks engine also sees the whole range once deepened', async () => {
    const dir = shallowClone(s.repo, 2);
    const r = await gate(
      dir,
      { 'secrets-engine': 'gitleaks', 'gitleaks-path': FAKE_GITLEAKS },
      fakeEnv()
    );
    expect(r.verdict).toBe('FAIL');
    expect(r.frontmatter.secrets_engine).toBe('gitleaks');
    expect(r.frontmatter.secrets_found).toBe(1);
    expect(r.frontmatter.commits_scanned).toBe(s.added);
    expect(everything(r)).not.toContain(s.secret);
  });
});

describe('secrets: a cut range that cannot be deepened is FAIL, never PASS', () => {
  let s: Scenario;
  /** A checkout already deepened once (merge-base found, range cut), origin unreachable. */
  let dir: string;
  let base: string;
  beforeAll(() => {
    s = mergedBranch();
    dir = shallowClone(s.repo, 2);
    git(dir, 'fetch', '-q', '--no-tags', '--deepen=50', 'origin');
    base = git(dir, 'merge-base', 'origin/main', 'HEAD').trim();
    cutOff(s.repo);
  }, 120_000);

  it('FAILs with one line naming the cut-off commits and fetch-depth: 0, even with dep audit fail-open', async () => {
    const r = await gate(dir, { 'dep-audit-fail-closed': 'false' });
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).not.toContain('\n');
    expect(r.summary).toMatch(/^secrets tool error: /);
    expect(r.summary).toMatch(/1 commit of .* is cut off/);
    expect(r.summary).toMatch(/fetch-depth: 0/);
    expect(r.summary).toMatch(/\(fail-closed => FAIL\)$/);
    expect(everything(r)).not.toContain(s.secret);
  });

  it('resolveBranchRange throws a secrets ToolError instead of returning the cut range', async () => {
    const logger = new RecordingLogger();
    const err = await resolveBranchRange(
      new Git(dir, { timeoutMs: 60_000 }),
      { baseRef: 'main', headRef: 'HEAD', remote: 'origin' },
      logger
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).kind).toBe('secrets');
    expect((err as Error).message).toMatch(/is cut off/);
    expect((err as Error).message).toMatch(/fetch-depth: 0/);
    expect((err as Error).message).not.toContain('\n');
  });

  it('the gitleaks engine refuses the cut range before gitleaks runs', async () => {
    const argvFile = join(tempDir(), 'argv.json');
    const err = await runGitleaks({
      binary: FAKE_GITLEAKS,
      repoDir: dir,
      base,
      head: git(dir, 'rev-parse', 'HEAD').trim(),
      timeoutMs: 60_000,
      logger: new RecordingLogger(),
      env: fakeEnv({ FAKE_GITLEAKS_ARGV_FILE: argvFile })
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).kind).toBe('secrets');
    expect((err as Error).message).toMatch(/is cut off/);
    // The probe (`gitleaks version`) may have run; a scan must not have.
    const argv = existsSync(argvFile)
      ? (JSON.parse(readFileSync(argvFile, 'utf8')) as string[])
      : [];
    expect(argv.some((a) => a.startsWith('--log-opts'))).toBe(false);
  });

  it('the gate with the gitleaks engine FAILs the same way', async () => {
    const r = await gate(
      dir,
      { 'secrets-engine': 'gitleaks', 'gitleaks-path': FAKE_GITLEAKS },
      fakeEnv()
    );
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toMatch(/is cut off.*fetch-depth: 0/);
  });

  it('a depth-2 checkout with no merge-base and no way to deepen FAILs naming fetch-depth: 0', async () => {
    const t = mergedBranch();
    const d = shallowClone(t.repo, 2);
    cutOff(t.repo);
    const r = await gate(d);
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).not.toContain('\n');
    expect(r.summary).toMatch(/shallow/);
    expect(r.summary).toMatch(/fetch-depth: 0/);
  }, 120_000);
});

describe('secrets: a shallow checkout whose boundary lies outside the range', () => {
  it('needs no deepening: nothing is fetched and the whole range is scanned', async () => {
    const repo = makeRepo({ date: tickingDate });
    for (let i = 1; i <= 5; i++) repo.commit(`main-${i}.txt`, `main ${i}\n`);
    repo.git('push', '-q', 'origin', 'main');
    repo.git('checkout', '-q', '-b', BRANCH);
    for (let i = 1; i <= 3; i++) repo.commit(`work/${i}.txt`, `step ${i}\n`);
    repo.git('push', '-q', 'origin', BRANCH);
    // Depth 6 reaches 3 commits below the fork point; main's tip is the fork point.
    const dir = shallowClone(repo, 6);
    const before = shallowFile(dir);
    expect(before).not.toBe('');
    cutOff(repo); // any deepening would now fail

    const logger = new RecordingLogger();
    const range = await resolveBranchRange(
      new Git(dir, { timeoutMs: 60_000 }),
      { baseRef: 'main', headRef: 'HEAD', remote: 'origin' },
      logger
    );
    expect(range.base).toBe(repo.sha('main'));
    expect(range.commits).toBe(3);
    expect(range.notes).toEqual([]);
    expect(logger.text()).not.toMatch(/deepening|full history/);
    expect(shallowFile(dir)).toBe(before);

    const r = await gate(dir);
    expect(r.verdict).toBe('PASS');
    expect(r.frontmatter.commits_scanned).toBe(3);
    expect(r.warnings.join('\n')).not.toMatch(/history was fetched/);
    expect(shallowFile(dir)).toBe(before);
  });
});

describe('secrets: a range with a parent missing from the object store', () => {
  it('is not complete: the gitleaks engine refuses it and Git reports it', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    const base = repo.commit('a.txt', 'a\n', 'a');
    const middle = repo.commit('b.txt', 'b\n', 'b');
    const head = repo.commit('c.txt', 'c\n', 'c');
    // Not shallow, just incomplete: the commit object between base and head is gone.
    rmSync(join(repo.work, '.git', 'objects', middle.slice(0, 2), middle.slice(2)));
    const g = new Git(repo.work, { timeoutMs: 60_000 });
    await expect(g.isShallow()).resolves.toBe(false);
    await expect(g.rangeCompleteness(base, head)).rejects.toThrow(/git rev-list failed/);
    const err = await runGitleaks({
      binary: FAKE_GITLEAKS,
      repoDir: repo.work,
      base,
      head,
      timeoutMs: 60_000,
      logger: new RecordingLogger(),
      env: fakeEnv()
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).kind).toBe('secrets');
    expect((err as Error).message).toMatch(
      /cannot check that every commit of .* is present.*fetch-depth: 0/
    );
  });

  it('a complete repository has no cut commits', async () => {
    const repo = makeLocalRepo({ date: tickingDate });
    const base = repo.commit('a.txt', 'a\n', 'a');
    repo.commit('b.txt', 'b\n', 'b');
    const head = repo.commit('c.txt', 'c\n', 'c');
    const c = await new Git(repo.work, { timeoutMs: 60_000 }).rangeCompleteness(base, head);
    expect(c).toEqual({ commits: 2, shallow: [], missingParents: [] });
  });
});
