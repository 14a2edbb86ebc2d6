// state-backend auto and the checks around a state that cannot outlive the
// job (issue 9): what each input combination resolves to, in a forge job and
// outside one, and the guard's refusal and warning lines.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { ConfigurationError } from '../../packages/core/src/errors.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import type { StateBackend } from '../../packages/store/src/backend.ts';
import { FileBackend } from '../../packages/store/src/backends/file.ts';
import { getBaseline, setBaseline } from '../../packages/store/src/baseline.ts';
import { StoreError } from '../../packages/store/src/errors.ts';
import {
  defaultStatePath,
  forkPullRequest,
  inForgeJob
} from '../../packages/store/src/state-default.ts';
import { guardStateBackend } from '../../packages/store/src/state-guard.ts';
import {
  readStateConfig,
  stateBackendFor,
  type StateConfig
} from '../../packages/store/src/state-inputs.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

interface Job {
  ctx: RunContext;
  logger: RecordingLogger;
  toolCache: string;
  temp: string;
  workspace: string;
}

/** A context; `forge` sets GITHUB_ACTIONS and a per-job tool cache, temp dir and home. The workspace is no git checkout. */
function job(forge: boolean, event: Partial<RunContext['event']> = {}): Job {
  const toolCache = tempDir('qg-tc-');
  const temp = tempDir('qg-rt-');
  const workspace = tempDir('qg-ws-');
  const logger = new RecordingLogger();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: tempDir('qg-home-'),
    RUNNER_TOOL_CACHE: toolCache,
    RUNNER_TEMP: temp,
    ...(forge ? { GITHUB_ACTIONS: 'true' } : {})
  };
  const ctx: RunContext = {
    env,
    workspace,
    repository: 'acme/app',
    event: { name: 'pull_request', ...event },
    logger,
    now: () => new Date('2026-01-02T03:04:05Z')
  };
  return { ctx, logger, toolCache, temp, workspace };
}

const config = (j: Job, inputs: Record<string, string> = {}): StateConfig =>
  readStateConfig(mapInputSource(inputs), j.ctx);

describe('state-backend auto: what it resolves to', () => {
  it('is the default, also for an empty input; a bad value names auto among the choices', () => {
    const j = job(false);
    expect(config(j).placement?.requested).toBe('auto');
    expect(config(j, { 'state-backend': '' }).placement?.requested).toBe('auto');
    expect(() => config(j, { 'state-backend': 's3' })).toThrow(
      `input 'state-backend': expected one of file | git-ref | artifact | auto (got "s3")`
    );
  });

  it('outside a forge job (a local CLI run): the file in the tool cache or ~/.cache, no checks', () => {
    const j = job(false);
    const c = config(j);
    expect(c.backend).toBe('file');
    expect(c.path).toBe(join(j.toolCache, 'quality-gates', 'state.sqlite'));
    expect(c.placement).toEqual({
      requested: 'auto',
      backend: 'file',
      path: c.path,
      chosen: `state-backend auto: file ${c.path} (not a forge job)`
    });
    delete j.ctx.env.RUNNER_TOOL_CACHE;
    expect(config(j).path).toBe(join(String(j.ctx.env.HOME), '.cache/quality-gates/state.sqlite'));
  });

  it('a named state-path is the file there, resolved against the workspace', () => {
    const j = job(true);
    const c = config(j, { 'state-path': '/var/lib/quality-gates/state.sqlite' });
    expect(c.backend).toBe('file');
    expect(c.placement?.chosen).toBe(
      'state-backend auto: file /var/lib/quality-gates/state.sqlite (state-path is set)'
    );
    expect(c.placement?.jobScoped).toBeUndefined();
    expect(config(j, { 'state-path': 'state/s.sqlite' }).path).toBe(
      join(j.workspace, 'state/s.sqlite')
    );
  });

  it('a forge job without a git checkout: the default file, refused for writes with a line naming the checkout', () => {
    const j = job(true);
    const c = config(j);
    expect(c.backend).toBe('file');
    expect(c.placement?.chosen).toBeUndefined();
    expect(c.placement?.jobScoped).toEqual({
      input: 'state-backend',
      expected: `a checkout of the repository before this step, or state-path on a volume every job mounts (auto keeps the state on refs/quality-gates/state of origin, and ${j.workspace} is not a git checkout with remote origin)`,
      got: 'auto',
      warning: `state: auto keeps the state on refs/quality-gates/state of origin, and ${j.workspace} is not a git checkout with remote origin; this step reads ${c.path}, which does not outlive the job: check out the repository first, or set state-path to a file on a volume every job mounts`
    });
  });

  it('GITEA_ACTIONS alone is a forge job too; anything but "true" is not', () => {
    expect(inForgeJob({ GITEA_ACTIONS: 'true' })).toBe(true);
    expect(inForgeJob({ GITHUB_ACTIONS: 'true' })).toBe(true);
    expect(inForgeJob({ GITHUB_ACTIONS: 'false' })).toBe(false);
    expect(inForgeJob({})).toBe(false);
  });

  it('an explicit git-ref from a fork is marked read-only; the same repository, or pull_request_target, is not', () => {
    const fork = job(true, { headRepo: 'mallory/app' });
    expect(config(fork, { 'state-backend': 'git-ref' }).placement).toMatchObject({
      backend: 'git-ref',
      fork: 'mallory/app',
      legacyPath: join(fork.toolCache, 'quality-gates', 'state.sqlite')
    });
    expect(forkPullRequest(job(true, { headRepo: 'ACME/app' }).ctx)).toBeUndefined();
    expect(
      forkPullRequest(job(true, { headRepo: 'mallory/app', name: 'pull_request_target' }).ctx)
    ).toBeUndefined();
    // A local run imports nothing from the user's own file.
    expect(
      config(job(false), { 'state-backend': 'git-ref' }).placement?.legacyPath
    ).toBeUndefined();
  });
});

describe('an explicit file in a forge job', () => {
  it.each([
    ['the default path (the tool cache)', (_j: Job) => '', 'RUNNER_TOOL_CACHE'],
    ['under RUNNER_TEMP', (j: Job) => join(j.temp, 'state.sqlite'), 'RUNNER_TEMP'],
    ['in the workspace', (_j: Job) => '.qg/state.sqlite', 'the workspace']
  ])('%s does not outlive the job', (_what, path, where) => {
    const j = job(true);
    const c = config(j, { 'state-backend': 'file', 'state-path': path(j) });
    expect(c.placement?.jobScoped).toMatchObject({
      input: 'state-path',
      expected: `a file on a volume every job mounts, or state-backend: git-ref (under ${where}, a lease or baseline dies with the job${where === 'RUNNER_TOOL_CACHE' ? ': per job from act_runner v3.2 on' : ''})`,
      got: c.path
    });
  });

  it('without RUNNER_TOOL_CACHE the default is in the job home, refused the same way', () => {
    const j = job(true);
    delete j.ctx.env.RUNNER_TOOL_CACHE;
    const c = config(j, { 'state-backend': 'file' });
    expect(c.path).toBe(defaultStatePath(j.ctx.env));
    expect(c.placement?.jobScoped?.expected).toContain("(under the job's home directory, ");
  });

  it('a path elsewhere (a volume) is taken as given', () => {
    const j = job(true);
    const c = config(j, { 'state-backend': 'file', 'state-path': join(tempDir(), 's.sqlite') });
    expect(c.placement?.jobScoped).toBeUndefined();
  });
});

describe('the guard around a file that does not outlive the job', () => {
  it('refuses a write with the one ConfigurationError line, creating nothing; a read warns once and goes on', async () => {
    const j = job(true);
    const c = config(j, { 'state-backend': 'file' });
    const backend = stateBackendFor(c, 'main', j.ctx);
    const write = backend.withDb('write', () => 'written');
    await expect(write).rejects.toBeInstanceOf(ConfigurationError);
    await expect(write).rejects.toThrow(
      `input 'state-path': expected a file on a volume every job mounts, or state-backend: git-ref (under RUNNER_TOOL_CACHE, a lease or baseline dies with the job: per job from act_runner v3.2 on) (got ${JSON.stringify(c.path)})`
    );
    expect(existsSync(c.path)).toBe(false);
    expect(await backend.withDb('read', () => 'read')).toBe('read');
    expect(await backend.withDb('read', () => 'again')).toBe('again');
    const warning = `state-path ${c.path} is under RUNNER_TOOL_CACHE, which does not outlive this job: this step reads an empty or stale state; set state-path to a file on a volume every job mounts, or state-backend: git-ref`;
    expect(backend.warnings).toEqual([warning]);
    expect(j.logger.entries.filter((e) => e.level === 'warning')).toEqual([
      { level: 'warning', message: warning }
    ]);
    expect(backend.name).toBe('file');
    expect(backend.atomic).toBe(true);
  });

  it('a state that may outlive the job, or a config built by hand, is the backend itself', () => {
    const j = job(true);
    const dir = tempDir();
    mkdirSync(join(dir, 'v'));
    const c = config(j, { 'state-path': join(dir, 'v', 's.sqlite') });
    expect(stateBackendFor(c, 'main', j.ctx)).toBeInstanceOf(FileBackend);
    const inner = new FileBackend({ path: join(dir, 'x.sqlite') });
    expect(guardStateBackend(inner, { repository: 'acme/app' }, j.ctx)).toBe(inner);
  });
});

describe('the import of the default file of earlier releases, when the ref cannot be pushed', () => {
  /** A git-ref stand-in: reads an empty state, every write is rejected as a push without rights would be. */
  function readOnlyRef(): StateBackend {
    const empty = new FileBackend({ path: join(tempDir('qg-ref-'), 'state.sqlite') });
    return {
      name: 'git-ref',
      atomic: true,
      describe: () => 'origin refs/quality-gates/state',
      withDb: (mode, fn) =>
        mode === 'read'
          ? empty.withDb('read', fn)
          : Promise.reject(
              new StoreError(
                'origin refs/quality-gates/state',
                'git push failed: permission denied'
              )
            )
    };
  }

  it('a read warns in one line and reads without it; a write fails; the file is left alone', async () => {
    const j = job(true);
    const legacy = defaultStatePath(j.ctx.env);
    mkdirSync(join(j.toolCache, 'quality-gates'));
    const old = new FileBackend({ path: legacy });
    await old.withDb('write', (db) =>
      setBaseline(
        db,
        {
          repo: 'acme/app',
          branch: 'main',
          percent: 80,
          sha: 'a'.repeat(40),
          actor: 'me',
          reason: 'seed'
        },
        new Date()
      )
    );
    const c = config(j, { 'state-backend': 'git-ref' });
    expect(c.placement?.legacyPath).toBe(legacy);
    const backend = guardStateBackend(
      readOnlyRef(),
      { placement: c.placement, repository: 'acme/app' },
      j.ctx
    );
    expect(
      await backend.withDb('read', (db) => getBaseline(db, 'acme/app', 'main'))
    ).toBeUndefined();
    expect(backend.warnings).toEqual([
      `state: ${legacy}, the default file of earlier releases, was not imported into origin refs/quality-gates/state (state store origin refs/quality-gates/state: git push failed: permission denied); this step reads origin refs/quality-gates/state without it`
    ]);
    await expect(backend.withDb('write', () => 1)).rejects.toThrow(
      'git push failed: permission denied'
    );
    expect((await old.withDb('read', (db) => getBaseline(db, 'acme/app', 'main')))?.percent).toBe(
      80
    );
  });
});
