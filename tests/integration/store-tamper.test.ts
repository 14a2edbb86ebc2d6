// The state changed by something other than quality-gates, end to end: a
// coverage command that sets the baseline to 0 in the state file (the code
// under test runs as the gate's user), another process editing the file, a
// state commit pushed to the git-ref by hand. Each is found, nothing is
// raised, lowered or used on its strength, the gate's warnings say so, and a
// maintainer's `quality-gates state reseal` puts it right.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { RunContext } from '../../packages/core/src/context.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { runTool } from '../../packages/core/src/tool.ts';
import { status } from '../../packages/merge/src/status.ts';
import { ratchetBaseline } from '../../packages/store/src/baseline.ts';
import { FileBackend } from '../../packages/store/src/backends/file.ts';
import type {
  GitRefBackend,
  GitRefBackendOptions
} from '../../packages/store/src/backends/git-ref.ts';
import { StoreError, TAMPERED_ERROR_KIND, isTampered } from '../../packages/store/src/errors.ts';
import { MIGRATIONS } from '../../packages/store/src/migrations.ts';
import { openStateDatabase } from '../../packages/store/src/open-database.ts';
import { StateStore } from '../../packages/store/src/state-store.ts';
import { stateTool } from '../../packages/store/src/state-tool.ts';
import { parseTrailer } from '../../packages/store/src/state-trailer.ts';
import {
  NODE,
  NODE_LCOV_COMMAND,
  baselineRun,
  baselineSetRun,
  coverageGateRun,
  freshStatePath,
  projectRepo
} from '../helpers/coverage-project.ts';
import { GIT_ENV, git, makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import {
  copyRemoteState,
  gitRefBackend,
  pushStateCommit,
  STATE_REF as REF
} from '../helpers/state-ref.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const REPO = 'acme/app';
const KEY = 'a-state-key-of-32-characters-000';
const SQLITE = fileURLToPath(new URL('../../node_modules/better-sqlite3', import.meta.url));
const landing = (percent: number) => ({
  repo: REPO,
  branch: 'main',
  percent,
  sha: 'b'.repeat(40),
  actor: 'ci',
  reason: 'landing'
});

/** Another process, not quality-gates, running SQL on the state file. */
function sqlInAnotherProcess(path: string, sql: string): void {
  execFileSync(NODE, [
    '-e',
    `const D = require(${JSON.stringify(SQLITE)}); const db = new D(process.argv[1]); db.exec(process.argv[2]); db.close();`,
    path,
    sql
  ]);
}

function context(workspace: string): RunContext {
  return {
    env: { ...process.env, ...GIT_ENV, GITHUB_ACTOR: 'alice' },
    workspace,
    repository: REPO,
    event: { name: 'workflow_dispatch' },
    logger: new RecordingLogger(),
    now: () => new Date()
  };
}

async function rejection(p: Promise<unknown>): Promise<StoreError> {
  try {
    await p;
  } catch (err) {
    // The message too, so an unexpected error says what it was.
    expect({ tampered: isTampered(err), message: (err as Error).message }).toMatchObject({
      tampered: true
    });
    return err as StoreError;
  }
  throw new Error('expected a rejection');
}

describe('file backend', () => {
  it('a coverage command that sets the baseline to 0 no longer lets a 68.75 % branch pass a 90 % baseline', async () => {
    const repo = projectRepo('js-app');
    const state = freshStatePath();
    const set = await baselineSetRun(repo.work, state, '90', 'the target');
    expect(set.ok).toBe(true);
    repo.git('checkout', '-q', '-b', 'agent/sneaky');
    repo.commitAll('a change', { 'docs/a.md': 'a\n' });
    const lower = `${NODE} -e ${shellQuote(
      `const D = require(${JSON.stringify(SQLITE)}); new D(${JSON.stringify(state)}).exec('UPDATE coverage_baseline SET percent = 0')`
    )}`;
    const r = await coverageGateRun(
      repo.work,
      { command: `${lower} && ${NODE_LCOV_COMMAND}`, report: 'lcov.info', 'state-path': state },
      { headRef: 'agent/sneaky', repository: REPO }
    );
    expect(r.frontmatter).toMatchObject({ measured: 68.75, baseline: 90 });
    expect(r.verdict).toBe('FAIL');
    expect(r.warnings).toContainEqual(
      `state store ${state}: tampered: coverage baseline acme/app@main was changed outside the store: the table says 0.00% (by unknown: the target), the audited value is 90.00% (by unknown: the target)`
    );
    // The override shows the audited value, not the edit.
    const show = await baselineRun(repo.work, { 'state-path': state }, { repository: REPO });
    expect(show.outputs.baseline).toBe('90.00');
  });

  it('an edit by another process: reads stay audited, the ratchet refuses, status and state verify say so, reseal restores', async () => {
    const path = freshStatePath();
    const backend = new FileBackend({ path });
    const store = new StateStore(backend);
    await store.ratchetBaseline(landing(90));
    sqlInAnotherProcess(path, 'UPDATE coverage_baseline SET percent = 0');

    expect(await store.getBaseline(REPO, 'main')).toMatchObject({ percent: 90 });
    expect(backend.tamper).toHaveLength(1);
    expect(backend.warnings).toEqual(backend.tamper);
    expect(backend.integrity?.ok).toBe(false);
    const err = await rejection(store.ratchetBaseline(landing(80)));
    expect(err.kind).toBe(TAMPERED_ERROR_KIND);
    expect(err.message).toContain('the table says 0.00%');

    const ctx = context(tempDir());
    const inputs = mapInputSource({ 'state-path': path, repository: REPO });
    const st = await runTool(status, inputs, ctx);
    expect(st.summary).toMatch(
      /; STATE DOES NOT VERIFY: coverage baseline acme\/app@main was changed/
    );
    const verify = await runTool(
      stateTool,
      mapInputSource({ operation: 'verify', 'state-path': path }),
      ctx
    );
    expect(verify.ok).toBe(false);
    expect(verify.summary).toContain(`state ${path} does not verify: coverage baseline`);
    const noReason = await runTool(
      stateTool,
      mapInputSource({ operation: 'reseal', 'state-path': path }),
      ctx
    );
    expect(noReason.summary).toMatch(/input 'reason'/);
    const reseal = await runTool(
      stateTool,
      mapInputSource({
        operation: 'reseal',
        accept: 'chain',
        reason: 'undo the edit a test made',
        'state-path': path
      }),
      ctx
    );
    expect(reseal.ok).toBe(true);
    expect(reseal.summary).toContain('resealed by alice (accept chain)');
    expect(reseal.body).toContain(
      'coverage baseline acme/app@main: restored to 90.00% (by ci: landing) (the table said 0.00% (by ci: landing))'
    );
    const again = await runTool(
      stateTool,
      mapInputSource({ operation: 'verify', full: 'true', 'state-path': path }),
      ctx
    );
    expect(again.ok).toBe(true);
    expect(again.summary).toMatch(/verifies: \d+ chain rows, newest [0-9a-f]{12}, unsigned/);
    expect(await store.ratchetBaseline(landing(91))).toMatchObject({ outcome: 'raised', old: 90 });
  });

  it('a state-key that is too short is a configuration error that does not echo it', async () => {
    const r = await runTool(
      stateTool,
      mapInputSource({
        operation: 'verify',
        'state-key': 'short-secret',
        'state-path': freshStatePath()
      }),
      context(tempDir())
    );
    expect(r.ok).toBe(false);
    expect(r.summary).toMatch(/input 'state-key': expected a secret of at least 16 characters/);
    expect(r.summary).not.toContain('short-secret');
  });
});

describe('git-ref backend', () => {
  let repo: TestRepo;
  beforeEach(() => {
    repo = makeRepo();
  });

  function backend(extra: Partial<GitRefBackendOptions> = {}): GitRefBackend {
    return gitRefBackend(repo, extra);
  }

  function tip(): string {
    return git(repo.origin, 'rev-parse', REF).trim();
  }

  function message(commit: string): string {
    return git(repo.origin, 'log', '-1', '--format=%B', commit);
  }

  /**
   * A commit made by hand, with `git commit-tree`, from a copy of the tip's
   * database changed by `sql`, on top of the tip, pushed without force.
   */
  function doctor(sql: string, msg = 'hand-made', trailer?: string): string {
    const path = copyRemoteState(repo.origin);
    const raw = new Database(path);
    raw.exec(sql);
    raw.close();
    return pushStateCommit(repo, path, [msg, ...(trailer ? [trailer] : [])], tip());
  }

  it('signs every state commit with a trailer naming its state file and chain head', async () => {
    await new StateStore(backend()).ratchetBaseline(landing(90));
    const t = parseTrailer(message(tip()));
    expect(t).toMatchObject({ form: 'v1', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(t?.hmac).toBeUndefined();
  });

  it('a doctored commit (commit-tree from a modified copy) is refused for reads and writes and left alone', async () => {
    const store = new StateStore(backend());
    await store.ratchetBaseline(landing(90));
    const doctored = doctor('UPDATE coverage_baseline SET percent = 0');
    for (const op of [
      () => store.getBaseline(REPO, 'main'),
      () => store.ratchetBaseline(landing(80))
    ]) {
      const err = await rejection(op());
      expect(err.message).toBe(
        `state store origin ${REF}: ${REF}: commit ${doctored} was not written by quality-gates (it has no Quality-Gates-State trailer); refused, the ref was left as it is (a maintainer checks it, then runs quality-gates state reseal)`
      );
    }
    expect(tip()).toBe(doctored);
    // The status says the same, and shows nothing from the doctored state.
    const st = await runTool(
      status,
      mapInputSource({ 'state-backend': 'git-ref' }),
      context(repo.work)
    );
    expect(st.ok).toBe(false);
    expect(st.summary).toContain(`commit ${doctored} was not written by quality-gates`);
  });

  it('a commit that copies the previous trailer onto a changed state file is refused', async () => {
    const store = new StateStore(backend());
    await store.ratchetBaseline(landing(90));
    const trailer = message(tip())
      .split('\n')
      .find((l) => l.startsWith('Quality-Gates-State:'))!;
    doctor('UPDATE coverage_baseline SET percent = 0', 'copied trailer', trailer);
    const err = await rejection(store.getBaseline(REPO, 'main'));
    expect(err.message).toContain("(its state file does not match the trailer's sha256)");
  });

  it("with a state-key: a forger's recomputed unsigned trailer is refused; without the key, one line", async () => {
    const store = new StateStore(backend({ stateKey: KEY }));
    await store.ratchetBaseline(landing(90));
    expect(parseTrailer(message(tip()))?.hmac).toMatch(/^[0-9a-f]{64}$/);
    // Opened without the key: said in one line, refused.
    const plain = await rejection(new StateStore(backend()).getBaseline(REPO, 'main'));
    expect(plain.message).toContain('(it is signed with a state-key and this run has none)');
    // A forger rewrites the state file and recomputes what it can: the digest and chain head.
    const path = copyRemoteState(repo.origin);
    const raw = new Database(path);
    raw.exec('UPDATE coverage_baseline SET percent = 0');
    const chain = raw
      .prepare('SELECT chain_hash FROM state_chain_checkpoint')
      .pluck()
      .get() as string;
    raw.close();
    const digest = execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0];
    pushStateCommit(
      repo,
      path,
      ['forged', `Quality-Gates-State: v1 sha256=${digest} chain=${chain}`],
      tip()
    );
    const err = await rejection(store.getBaseline(REPO, 'main'));
    expect(err.message).toContain('it carries no state-key signature and this run has a state-key');
  });

  it('reseal --accept last-written commits the last state quality-gates wrote on top of the refused tip', async () => {
    const store = new StateStore(backend());
    await store.ratchetBaseline(landing(90));
    const written = tip();
    const doctored = doctor('UPDATE coverage_baseline SET percent = 0');
    const r = await runTool(
      stateTool,
      mapInputSource({
        operation: 'reseal',
        accept: 'last-written',
        reason: 'a test run pushed the state',
        'state-backend': 'git-ref'
      }),
      context(repo.work)
    );
    expect(r.ok).toBe(true);
    const head = tip();
    expect(git(repo.origin, 'rev-parse', `${head}^`).trim()).toBe(doctored);
    expect(message(head)).toMatch(/^state resealed by alice \(accept last-written/);
    expect(await store.getBaseline(REPO, 'main')).toMatchObject({ percent: 90 });
    expect(written).not.toBe(head);
    const verify = await runTool(
      stateTool,
      mapInputSource({ operation: 'verify', full: 'true', 'state-backend': 'git-ref' }),
      context(repo.work)
    );
    expect(verify.ok).toBe(true);
    expect((JSON.parse(r.outputs.json) as { before: string[] }).before).toEqual([]);
  });

  it('reseal --accept tables takes the refused tip as it is, recorded', async () => {
    const store = new StateStore(backend());
    await store.ratchetBaseline(landing(90));
    doctor('UPDATE coverage_baseline SET percent = 85');
    const r = await runTool(
      stateTool,
      mapInputSource({
        operation: 'reseal',
        reason: 'we lowered it by hand, on purpose',
        'state-backend': 'git-ref'
      }),
      context(repo.work)
    );
    expect(r.ok).toBe(true);
    expect(r.body).toContain('coverage baseline acme/app@main: accepted 85.00%');
    expect(await store.getBaseline(REPO, 'main')).toMatchObject({ percent: 85 });
    expect(await store.verify(true)).toMatchObject({ ok: true });
  });

  it('a state from before the trailer is used and sealed by the first write; a trailer-less commit after that is refused', async () => {
    const old = join(tempDir(), 'state.sqlite');
    const db = openStateDatabase(old, {
      journal: 'delete',
      writable: true,
      migrations: MIGRATIONS.slice(0, 4)
    });
    ratchetBaseline(db, landing(70), new Date());
    db.close();
    pushStateCommit(repo, old, ['coverage baseline acme/app@main: bootstrapped none -> 70.00%']);
    const store = new StateStore(backend());
    expect(await store.getBaseline(REPO, 'main')).toMatchObject({ percent: 70 });
    expect(await store.ratchetBaseline(landing(75))).toMatchObject({ outcome: 'raised', old: 70 });
    expect(parseTrailer(message(tip()))).toBeDefined();
    expect(await store.verify(true)).toMatchObject({ ok: true });
    const err = await rejection(
      (() => {
        doctor('UPDATE coverage_baseline SET percent = 0');
        return store.getBaseline(REPO, 'main');
      })()
    );
    expect(err.message).toContain('it has no Quality-Gates-State trailer');
    // And a v4 database pushed by hand now (a rollback to the old format) is refused too.
    pushStateCommit(repo, old, ['rollback'], tip());
    const rollback = await rejection(store.getBaseline(REPO, 'main'));
    expect(rollback.message).toMatch(
      /it has no Quality-Gates-State trailer, and commit [0-9a-f]{12} before it had one/
    );
    expect(readFileSync(old).length).toBeGreaterThan(0);
  });
});

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
