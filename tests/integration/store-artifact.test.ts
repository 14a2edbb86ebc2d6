// The artifact state backend against the contract server: the newest
// successful run's artefact on the target branch becomes the local state
// file (opened with better-sqlite3); no artefact or only expired ones start
// empty with a warning; damaged archives and state files are errors naming
// them; the job token's 403 on the run list falls back to the artefact list
// when that list is complete. No test leaves a contract violation.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { ForgeClient } from '../../packages/forge/src/client.ts';
import {
  ArtifactBackend,
  type ArtifactBackendOptions
} from '../../packages/store/src/backends/artifact.ts';
import { STATE_ERROR_KIND, StoreError } from '../../packages/store/src/errors.ts';
import { makeZip, type ZipFixtureEntry } from '../helpers/contract-zip.ts';
import { stateDbWithBaseline } from '../helpers/state-fixture.ts';
import { GiteaContractServer, TEST_TOKEN } from '../helpers/gitea-contract-server.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

const NAME = 'quality-gates-state';
let server: GiteaContractServer;
let dir: string;
let logger: RecordingLogger;

beforeEach(async () => {
  server = await GiteaContractServer.start();
  dir = tempDir('qg-artifact-');
  logger = new RecordingLogger();
});

afterEach(async () => {
  expect(server.violations).toEqual([]);
  await server.close();
});

afterAll(cleanupTempDirs);

const stateDb = stateDbWithBaseline;

function stateZip(value: number, extra: ZipFixtureEntry[] = []): Buffer {
  return makeZip([{ name: 'state.sqlite', data: stateDb(value) }, ...extra]);
}

function backend(opts: Partial<ArtifactBackendOptions> = {}): ArtifactBackend {
  return new ArtifactBackend({
    api: new ForgeClient({ apiUrl: server.apiUrl, token: TEST_TOKEN, backoffMs: 1, logger }),
    owner: 'acme',
    repo: 'service',
    branch: 'main',
    localPath: join(dir, 'state', 'state.sqlite'),
    logger,
    ...opts
  });
}

const readBaseline = (b: ArtifactBackend): Promise<number | undefined> =>
  b.withDb('read', (db) => {
    const row = db
      .prepare(
        "SELECT percent FROM coverage_baseline WHERE repo = 'acme/service' AND branch = 'main'"
      )
      .get() as { percent: number } | undefined;
    return row?.percent;
  });

const setBaseline = (b: ArtifactBackend, percent: number): Promise<void> =>
  b.withDb('write', (db) => {
    db.prepare(
      `INSERT INTO coverage_baseline (repo, branch, percent, sha, updated_at, updated_by, reason)
       VALUES ('acme/service', 'main', ?, ?, '2025-01-02T00:00:00Z', 'test', 'ratchet')
       ON CONFLICT (repo, branch) DO UPDATE SET percent = excluded.percent`
    ).run(percent, 'e'.repeat(40));
  });

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('finding the state', () => {
  test("downloads the newest successful run's artefact on the target branch and opens it", async () => {
    const f = server.fake;
    f.addArtifact(f.addRun({ branch: 'main' }).id, NAME, stateZip(70));
    const newest = f.addRun({ branch: 'main' });
    const art = f.addArtifact(newest.id, NAME, stateZip(75));
    f.addArtifact(f.addRun({ branch: 'main', state: 'failure' }).id, NAME, stateZip(10));
    f.addArtifact(f.addRun({ branch: 'main', state: 'running' }).id, NAME, stateZip(11));
    f.addArtifact(f.addRun({ branch: 'task/x' }).id, NAME, stateZip(12));
    f.addArtifact(newest.id, 'coverage-report', makeZip([{ name: 'r.json', data: '{}' }]));

    const b = backend();
    expect(b.atomic).toBe(false);
    expect(b.name).toBe('artifact');
    expect(await readBaseline(b)).toBe(75);
    expect(b.origin).toEqual({
      kind: 'artifact',
      runId: newest.id,
      artifactId: art.id,
      entry: 'state.sqlite'
    });
    expect(b.notes.join('\n')).toMatch(
      new RegExp(
        `state from state file 'state.sqlite' in artefact '${NAME}' \\(id ${art.id}, run #\\d+ \\(id ${newest.id}\\)\\)`
      )
    );
    // The local copy is a plain SQLite file the workflow can upload as is.
    const db = new Database(b.localPath, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    db.close();
    expect(server.calls('getWorkflowRuns')[0].query).toMatchObject({
      branch: ['main'],
      status: ['success']
    });
    expect(server.calls('getArtifactsOfRun')).toHaveLength(1);
    expect(server.calls('getArtifactsOfRun')[0].query).toEqual({ name: [NAME] });
  });

  test('walks back past successful runs that uploaded nothing', async () => {
    const f = server.fake;
    f.addArtifact(f.addRun({ branch: 'main' }).id, NAME, stateZip(60));
    f.addRun({ branch: 'main' });
    f.addRun({ branch: 'main' });
    expect(await readBaseline(backend())).toBe(60);
    expect(server.calls('getArtifactsOfRun')).toHaveLength(3);
  });

  test('walks across pages of runs, and stops at the bound', async () => {
    const f = server.fake;
    f.addArtifact(f.addRun({ branch: 'main' }).id, NAME, stateZip(55));
    for (let i = 0; i < 60; i++) f.addRun({ branch: 'main' });
    expect(await readBaseline(backend())).toBe(55);
    expect(server.calls('getWorkflowRuns').map((r) => r.query.page)).toEqual([['1'], ['2']]);

    const bounded = backend({ maxRuns: 10, localPath: join(dir, 'other', 'state.sqlite') });
    expect(await readBaseline(bounded)).toBeUndefined();
    expect(bounded.notes.join('\n')).toMatch(/stopped after the newest 10 successful runs on main/);
  });

  test('no artefact: an empty database and a warning that the baseline starts over', async () => {
    server.fake.addRun({ branch: 'main' });
    const b = backend();
    expect(await readBaseline(b)).toBeUndefined();
    expect(existsSync(b.localPath)).toBe(false); // a read leaves nothing to upload
    expect(b.origin).toMatchObject({ kind: 'empty' });
    expect(logger.entries.filter((e) => e.level === 'warning').map((e) => e.message)).toEqual([
      `no non-expired '${NAME}' artefact in the successful runs of main: starting from an empty state database; the baseline starts over (first run, or the artefact expired)`
    ]);
    expect(b.changed).toBe(false);
    await setBaseline(b, 80);
    expect(b.changed).toBe(true);
    expect(await readBaseline(b)).toBe(80);
    expect(existsSync(`${b.localPath}-wal`)).toBe(false);
    expect(server.calls('getWorkflowRuns')).toHaveLength(1); // fetched once per backend
  });

  test('a leftover local file from an earlier run is not taken for the state', async () => {
    const first = backend();
    await setBaseline(first, 1);
    expect(existsSync(first.localPath)).toBe(true);
    const second = backend();
    expect(await readBaseline(second)).toBeUndefined();
    expect(existsSync(second.localPath)).toBe(false);
  });

  test('expired artefacts are skipped, by flag or by date', async () => {
    const f = server.fake;
    f.addArtifact(f.addRun({ branch: 'main' }).id, NAME, stateZip(50));
    f.addArtifact(f.addRun({ branch: 'main' }).id, NAME, stateZip(51), {
      expiresAt: '2024-01-01T00:00:00Z'
    });
    f.addArtifact(f.addRun({ branch: 'main' }).id, NAME, stateZip(52), { expired: true });
    const b = backend();
    expect(await readBaseline(b)).toBe(50);
    expect(b.notes.filter((n) => /has expired; looking at older runs/.test(n))).toHaveLength(2);
    expect(server.calls('downloadArtifact')).toHaveLength(1);
  });

  test('only expired artefacts: an empty start with the warning', async () => {
    const f = server.fake;
    f.addArtifact(f.addRun({ branch: 'main' }).id, NAME, stateZip(50), { expired: true });
    const b = backend();
    expect(await readBaseline(b)).toBeUndefined();
    expect(b.origin).toMatchObject({ kind: 'empty' });
    expect(logger.text()).toMatch(/warning: .*the baseline starts over/);
  });

  test('an artefact that expires between listing and download is skipped', async () => {
    const f = server.fake;
    f.addArtifact(f.addRun({ branch: 'main' }).id, NAME, stateZip(40));
    const gone = f.addArtifact(f.addRun({ branch: 'main' }).id, NAME, stateZip(41));
    server.handle('downloadArtifact', (r) => {
      if (r.params.artifact_id === String(gone.id))
        return { status: 404, body: { message: 'Artifact has expired' } };
      return server.fake.handlers().downloadArtifact(r);
    });
    const b = backend();
    expect(await readBaseline(b)).toBe(40);
    expect(b.notes.join('\n')).toMatch(
      new RegExp(`artefact id ${gone.id} .* could not be downloaded \\(404\\)`)
    );
  });

  test('object storage on another origin (ServeDirect) gets no token', async () => {
    server.fake.downloads = 'external';
    server.fake.addArtifact(server.fake.addRun({ branch: 'main' }).id, NAME, stateZip(33));
    expect(await readBaseline(backend())).toBe(33);
    expect(server.requests.find((r) => r.target === 'blob')?.authorization).toBeUndefined();
  });

  test('a directory upload with the origin marker in it still yields the state file', async () => {
    server.fake.addArtifact(
      server.fake.addRun({ branch: 'main' }).id,
      NAME,
      stateZip(66, [{ name: 'state.sqlite.origin.json', data: '{}' }])
    );
    expect(await readBaseline(backend())).toBe(66);
  });
});

describe('refusals', () => {
  test('a zip with a traversal path is refused and nothing is written', async () => {
    const run = server.fake.addRun({ branch: 'main' });
    server.fake.addArtifact(
      run.id,
      NAME,
      makeZip([{ name: '../../etc/state.sqlite', data: stateDb(1) }])
    );
    const b = backend();
    const err = await rejection(readBaseline(b));
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).kind).toBe(STATE_ERROR_KIND);
    expect(err.message).toMatch(
      /^state store artefact 'quality-gates-state' \(id \d+, run #1 \(id \d+\)\): is refused: entry "\.\.\/\.\.\/etc\/state\.sqlite" is refused: its name has a '\.\.' segment \(path traversal\)$/
    );
    expect(existsSync(b.localPath)).toBe(false);
  });

  test('a corrupt state file is an error naming it, and never replaces the local file', async () => {
    const good = stateDb(1);
    const corrupt = Buffer.from(good);
    corrupt.fill(0xab, 100); // header intact, every page garbage
    server.fake.addArtifact(
      server.fake.addRun({ branch: 'main' }).id,
      NAME,
      makeZip([{ name: 'state.sqlite', data: corrupt }])
    );
    const b = backend();
    const err = await rejection(readBaseline(b));
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toMatch(
      /^state store state file 'state\.sqlite' in artefact 'quality-gates-state' \(id \d+, run #1 \(id \d+\)\): (is not a readable SQLite database|fails SQLite's quick_check)/
    );
    expect(existsSync(b.localPath)).toBe(false);
  });

  test('a file that is not SQLite at all is named too', async () => {
    server.fake.addArtifact(
      server.fake.addRun({ branch: 'main' }).id,
      NAME,
      makeZip([{ name: 'state.sqlite', data: 'hello' }])
    );
    const err = await rejection(readBaseline(backend()));
    expect(err.message).toMatch(
      /^state store state file 'state\.sqlite' in artefact .*: is not a SQLite database \(5 bytes without a valid SQLite header\)/
    );
  });

  test("another application's SQLite database is refused, named", async () => {
    const path = join(tempDir('qg-foreign-'), 'other.sqlite');
    const db = new Database(path);
    db.exec('CREATE TABLE notes (body TEXT)');
    db.close();
    server.fake.addArtifact(
      server.fake.addRun({ branch: 'main' }).id,
      NAME,
      makeZip([{ name: 'state.sqlite', data: readFileSync(path) }])
    );
    const b = backend();
    const err = await rejection(readBaseline(b));
    expect(err.message).toMatch(
      /^state store state file 'state\.sqlite' in artefact .*: is a SQLite database but not a quality-gates state database \(tables notes\)/
    );
    expect(existsSync(b.localPath)).toBe(false);
  });

  test('a damaged entry (CRC) and an archive with several unrelated files are errors', async () => {
    const f = server.fake;
    f.addArtifact(
      f.addRun({ branch: 'main' }).id,
      NAME,
      makeZip([{ name: 'state.sqlite', data: stateDb(1), crc: 1 }])
    );
    const err = await rejection(readBaseline(backend()));
    expect(err.message).toMatch(
      /state file 'state\.sqlite' .* cannot be extracted: state\.sqlite fails its size or CRC check/
    );

    const other = await GiteaContractServer.start();
    try {
      other.fake.addArtifact(
        other.fake.addRun({ branch: 'main' }).id,
        NAME,
        makeZip([
          { name: 'a.db', data: 'x' },
          { name: 'b.db', data: 'y' }
        ])
      );
      const b = new ArtifactBackend({
        api: { apiUrl: other.apiUrl, token: TEST_TOKEN },
        owner: 'acme',
        repo: 'service',
        branch: 'main',
        localPath: join(dir, 'x', 'state.sqlite'),
        logger
      });
      const err2 = await rejection(readBaseline(b));
      expect(err2.message).toMatch(
        /holds 2 files \(a\.db, b\.db\); expected the single state file state\.sqlite$/
      );
      expect(other.violations).toEqual([]);
    } finally {
      await other.close();
    }
  });

  test('a refused token is an error, never an empty start', async () => {
    server.fake.addArtifact(server.fake.addRun({ branch: 'main' }).id, NAME, stateZip(5));
    const b = new ArtifactBackend({
      api: new ForgeClient({ apiUrl: server.apiUrl, token: 'revoked-token-value' }),
      owner: 'acme',
      repo: 'service',
      branch: 'main',
      localPath: join(dir, 'state.sqlite'),
      logger
    });
    const err = await rejection(readBaseline(b));
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toMatch(
      /^state store artifact 'quality-gates-state' \(acme\/service, branch main\): 401 from GET \/repos\/acme\/service\/actions\/runs: the token was rejected/
    );
    expect(err.message).not.toContain('revoked-token-value');
    expect(b.origin).toBeUndefined();
  });

  test('transient 5xx during the search are retried; a failed fetch is retried on the next call', async () => {
    server.fake.addArtifact(server.fake.addRun({ branch: 'main' }).id, NAME, stateZip(9));
    server.fail('getArtifactsOfRun', { status: 503, times: 2 });
    const b = backend();
    expect(await readBaseline(b)).toBe(9);

    const c = backend({ localPath: join(dir, 'again', 'state.sqlite') });
    server.fail('getWorkflowRuns', { status: 500, times: 4 });
    await expect(readBaseline(c)).rejects.toThrow(/failed 4 time\(s\), last: HTTP 500/);
    expect(await readBaseline(c)).toBe(9);
  });
});

describe('the job token on Gitea (403 on the run list)', () => {
  const ownerOnly = {
    status: 403,
    times: 5,
    body: { message: 'user should be the owner of the repo' }
  };

  test("falls back to the repository's artefact list when it is complete", async () => {
    const f = server.fake;
    f.addArtifact(f.addRun({ branch: 'main' }).id, NAME, stateZip(20));
    const wanted = f.addRun({ branch: 'main' });
    f.addArtifact(wanted.id, NAME, stateZip(21));
    f.addArtifact(f.addRun({ branch: 'main', state: 'failure' }).id, NAME, stateZip(22));
    f.addArtifact(f.addRun({ branch: 'task/y' }).id, NAME, stateZip(23));
    server.fail('getWorkflowRuns', ownerOnly);
    const b = backend();
    expect(await readBaseline(b)).toBe(21);
    expect(b.origin).toMatchObject({ runId: wanted.id });
    expect(b.notes.join('\n')).toMatch(
      /the token may not list runs \(403 from GET \/repos\/acme\/service\/actions\/runs\); found the state through the repository's artefact list instead/
    );
    expect(server.calls('getArtifacts')[0].query).toEqual({ name: [NAME] });
  });

  test('Gitea 1.24 (no run list: 404) takes the same fallback and says so with the 404', async () => {
    const f = server.fake;
    const wanted = f.addRun({ branch: 'main' });
    f.addArtifact(wanted.id, NAME, stateZip(24));
    server.fail('getWorkflowRuns', { status: 404, times: 5, body: { message: 'Not Found' } });
    const b = backend();
    expect(await readBaseline(b)).toBe(24);
    expect(b.origin).toMatchObject({ runId: wanted.id });
    expect(b.notes.join('\n')).toMatch(
      /this Gitea has no run list \(404 from GET \/repos\/acme\/service\/actions\/runs\); found the state through the repository's artefact list instead/
    );
  });

  test('refuses the fallback when the artefact list is truncated (oldest first, no paging in the contract)', async () => {
    const f = server.fake;
    for (let i = 0; i < 31; i++) f.addArtifact(f.addRun({ branch: 'main' }).id, NAME, stateZip(i));
    server.fail('getWorkflowRuns', ownerOnly);
    const err = await rejection(readBaseline(backend()));
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toMatch(
      /^state store artifact 'quality-gates-state' \(acme\/service, branch main\): 403 from GET \/repos\/acme\/service\/actions\/runs: the token may not list this repository's workflow runs .*; the fallback through the artefact list cannot help: it shows 30 of 31 'quality-gates-state' artefacts, oldest first/
    );
  });
});

describe('several gates in one run', () => {
  test("a second backend in the same run reuses the first one's copy and keeps its write", async () => {
    server.fake.addArtifact(server.fake.addRun({ branch: 'main' }).id, NAME, stateZip(30));
    const first = backend({ runId: '42.1' });
    await setBaseline(first, 31);
    const second = backend({ runId: '42.1' });
    expect(await readBaseline(second)).toBe(31);
    expect(second.origin).toEqual({ kind: 'reused' });
    expect(server.calls('downloadArtifact')).toHaveLength(1);

    const nextRun = backend({ runId: '43.1' });
    expect(await readBaseline(nextRun)).toBe(30);
    expect(server.calls('downloadArtifact')).toHaveLength(2);
  });
});
