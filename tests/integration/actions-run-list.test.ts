// The run list a Gitea server may not have: before 1.25 GET .../actions/runs
// does not exist (404), on 1.25 only the owner may call it (403). Against
// the contract server: ActionsApi reports the 404 as the same refusal as the
// 403, so the artifact state backend finds the state through the artefact
// list either way; GitHub's 404 stays a 404; a repository the token cannot
// see still fails, on the artefact list, with its own 404.
import { join } from 'node:path';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { ActionsApi, RunListUnavailable } from '../../packages/forge/src/actions-api.ts';
import { ForgeClient } from '../../packages/forge/src/client.ts';
import { ForgeError } from '../../packages/forge/src/forge-error.ts';
import { ArtifactBackend } from '../../packages/store/src/backends/artifact.ts';
import { makeZip } from '../helpers/contract-zip.ts';
import { stateDbWithBaseline } from '../helpers/state-fixture.ts';
import { GiteaContractServer, TEST_TOKEN } from '../helpers/gitea-contract-server.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

const NAME = 'quality-gates-state';
let server: GiteaContractServer;
let logger: RecordingLogger;

beforeEach(async () => {
  server = await GiteaContractServer.start();
  logger = new RecordingLogger();
});

afterEach(async () => {
  expect(server.violations).toEqual([]);
  await server.close();
});

afterAll(cleanupTempDirs);

const client = (apiUrl = server.apiUrl) =>
  new ForgeClient({ apiUrl, token: TEST_TOKEN, backoffMs: 1, logger });

function stateZip(percent: number): Buffer {
  return makeZip([{ name: 'state.sqlite', data: stateDbWithBaseline(percent) }]);
}

const noRunList = { status: 404, times: 5, body: { message: 'Not Found' } };

describe('ActionsApi.listWorkflowRuns on a Gitea without a run list (before 1.25)', () => {
  test('the 404 is a RunListUnavailable: a refusal (403) whose message keeps the 404', async () => {
    server.fail('getWorkflowRuns', noRunList);
    const api = new ActionsApi(client(), { owner: 'acme', repo: 'service' });
    const err = await api.listWorkflowRuns({ branch: 'main' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunListUnavailable);
    expect(err).toBeInstanceOf(ForgeError);
    expect(err).toMatchObject({
      status: 403,
      answered: 404,
      method: 'GET',
      path: '/repos/acme/service/actions/runs'
    });
    expect((err as Error).message).toBe(
      '404 from GET /repos/acme/service/actions/runs: this Gitea has no run list (GET .../actions/runs came in Gitea 1.25), or the repository is not visible to the token'
    );
  });

  test('other answers pass through unchanged (a 403 stays the 403 it was)', async () => {
    server.fail('getWorkflowRuns', { status: 403, body: { message: 'owner only' } });
    const api = new ActionsApi(client(), { owner: 'acme', repo: 'service' });
    const err = await api.listWorkflowRuns({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect(err).not.toBeInstanceOf(RunListUnavailable);
    expect(err).toMatchObject({ status: 403 });
  });
});

describe('the artifact state backend when the run list answers 404', () => {
  function backend(): ArtifactBackend {
    return new ArtifactBackend({
      api: client(),
      owner: 'acme',
      repo: 'service',
      branch: 'main',
      localPath: join(tempDir('qg-runlist-'), 'state.sqlite'),
      logger
    });
  }

  test("falls back to the repository's artefact list, as on the owner-only 403", async () => {
    const f = server.fake;
    f.addArtifact(f.addRun({ branch: 'main' }).id, NAME, stateZip(40));
    const wanted = f.addRun({ branch: 'main' });
    f.addArtifact(wanted.id, NAME, stateZip(41));
    f.addArtifact(f.addRun({ branch: 'agent/x' }).id, NAME, stateZip(42));
    server.fail('getWorkflowRuns', noRunList);
    const b = backend();
    const percent = await b.withDb('read', (db) => {
      const row = db
        .prepare("SELECT percent FROM coverage_baseline WHERE repo = 'acme/service'")
        .get() as { percent: number } | undefined;
      return row?.percent;
    });
    expect(percent).toBe(41);
    expect(b.origin).toMatchObject({ runId: wanted.id });
    expect(b.notes.join('\n')).toMatch(
      /found the state through the repository's artefact list instead/
    );
    expect(server.calls('getWorkflowRuns').map((c) => c.status)).toEqual([404]);
    expect(server.calls('getArtifacts')).toHaveLength(1);
  });

  test('a repository the token cannot see still fails, naming the artefact list', async () => {
    server.fail('getWorkflowRuns', noRunList);
    server.fail('getArtifacts', { status: 404, body: { message: 'Not Found' } });
    const err = await backend()
      .withDb('read', () => undefined)
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /404 from GET \/repos\/acme\/service\/actions\/artifacts/
    );
  });
});
