// A gate run with its publishing: commit statuses, the sticky comment, the
// retry cap's needs-human label and the alerts, against a forge that checks
// every request against the Gitea contract, a real repository and a real
// state file. Publishing never changes a verdict.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import type { RunContext } from '../../packages/core/src/context.ts';
import { readEvent } from '../../packages/core/src/context.ts';
import type { GateDefinition } from '../../packages/core/src/gate.ts';
import { mapInputSource, readEnum } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { runPublishedGate } from '../../packages/publish/src/run.ts';
import { makeRepo, type TestRepo } from '../helpers/git-repo.ts';
import { GiteaContractServer, TEST_TOKEN } from '../helpers/gitea-contract-server.ts';
import { giteaPullRequestEvent } from '../helpers/runner.ts';
import { WebhookReceiver } from '../helpers/webhook-receiver.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

let forge: GiteaContractServer;
let repo: TestRepo;
let head: string;

beforeAll(async () => {
  forge = await GiteaContractServer.start();
  forge.fake.repoLabels.push({ id: 50, name: 'needs-human', color: 'e99695' });
  repo = makeRepo();
  repo.git('checkout', '-q', '-b', 'agent/task');
  head = repo.commit('src/a.txt', 'a\n');
});

afterAll(async () => {
  await forge.close();
  cleanupTempDirs();
});

afterEach(() => expect(forge.violations).toEqual([]));

type Cfg = { verdict: 'PASS' | 'FAIL' | 'DEFER' };

/** A gate whose verdict is its input, reporting the checked-out head. */
const coverageLike: GateDefinition<Cfg> = {
  gate: 'coverage',
  reportFile: '18-coverage-report.md',
  statusKey: 'coverage_status',
  inputs: ['verdict'],
  policy: () => ({ byKind: {}, default: 'fail-closed' }),
  buildConfig: (src) => ({
    verdict: readEnum(
      src,
      'verdict',
      ['pass', 'fail', 'defer'] as const,
      'pass'
    ).toUpperCase() as Cfg['verdict']
  }),
  evaluate: async (c) => ({
    verdict: c.verdict,
    summary:
      c.verdict === 'FAIL' ? 'coverage 70.00% is below the baseline 80.00%' : 'coverage 81.00%',
    fields: { head_sha: head, measured: c.verdict === 'FAIL' ? 70 : 81, baseline: 80 },
    body: 'body\n',
    warnings: []
  })
};

function context(
  pr: number,
  env: NodeJS.ProcessEnv = {}
): RunContext & { logger: RecordingLogger } {
  const event = join(tempDir('qg-pub-event-'), 'event.json');
  writeFileSync(
    event,
    JSON.stringify(
      giteaPullRequestEvent({
        base: 'main',
        head: 'agent/task',
        headSha: head,
        repo: 'acme/service',
        number: pr
      })
    )
  );
  const full = {
    GITHUB_API_URL: forge.apiUrl,
    GITHUB_SERVER_URL: forge.origin,
    GITHUB_REPOSITORY: 'acme/service',
    GITHUB_RUN_ID: '77',
    GITHUB_RUN_NUMBER: '7',
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: event,
    ...env
  };
  return {
    env: full,
    workspace: repo.work,
    repository: 'acme/service',
    event: readEvent(full),
    logger: new RecordingLogger(),
    now: () => new Date()
  };
}

const state = () => join(tempDir('qg-pub-state-'), 'state.sqlite');

function run(pr: number, inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  const ctx = context(pr, env);
  return runPublishedGate(
    coverageLike,
    mapInputSource({ token: TEST_TOKEN, 'report-dir': tempDir('qg-pub-reports-'), ...inputs }),
    ctx,
    { backoffMs: 1 }
  ).then((r) => ({ ...r, ctx }));
}

describe('publishing a verdict', () => {
  it('sets pending then the final status on the gated sha, with a link to the run, and one comment row', async () => {
    const r = await run(1, { verdict: 'pass', 'state-path': state() });
    expect(r.result.verdict).toBe('PASS');
    const mine = forge.fake.statuses.filter(
      (s) => s.sha === head && s.context === 'quality-gates/coverage'
    );
    expect(mine.map((s) => s.state)).toEqual(['pending', 'success']);
    expect(mine[1].description).toBe('PASS: coverage 81.00%');
    expect(mine[1].targetUrl).toBe(`${forge.origin}/acme/service/actions/runs/77`);
    const comments = forge.fake.comments.filter((c) => c.issue === 1);
    expect(comments).toHaveLength(1);
    expect(comments[0].body).toMatch(/coverage[^\n]*PASS[^\n]*81\.00% \(baseline 80\.00%\)/);
    expect(r.publish.warnings).toEqual([]);
    // Every call counted: pending and final status; the comment found, created, then
    // read back (list and get) to confirm no other job's write was lost.
    expect(forge.requests.slice(-r.apiCalls).map((q) => q.operationId)).toEqual([
      'repoCreateStatus',
      'repoCreateStatus',
      'issueGetComments',
      'issueCreateComment',
      'issueGetComments',
      'issueGetComment'
    ]);
  });

  it('labels the PR needs-human at the max-developer-retries-th FAIL, and says so in the comment', async () => {
    const path = state();
    const outcomes = [];
    for (let i = 0; i < 3; i++)
      outcomes.push(
        await run(2, { verdict: 'fail', 'state-path': path, 'max-developer-retries': '3' })
      );
    expect(outcomes.map((o) => o.result.verdict)).toEqual(['FAIL', 'FAIL', 'FAIL']);
    expect(outcomes.map((o) => [o.publish.failures, o.publish.needsHuman])).toEqual([
      [1, false],
      [2, false],
      [3, true]
    ]);
    expect(forge.fake.issueLabels.get(2)).toEqual([50]);
    const comments = forge.fake.comments.filter((c) => c.issue === 2);
    expect(comments).toHaveLength(1);
    expect(comments[0].body).toMatch(
      /coverage failed 3 times on agent\/task \(max-developer-retries 3\)/
    );
  });

  it('alerts a webhook on FAIL, signed; a PASS sends nothing', async () => {
    const hook = await WebhookReceiver.start('s3cret-value');
    try {
      const inputs = {
        'state-path': state(),
        'webhook-url': `${hook.origin}/hooks/qg`,
        'webhook-secret': 's3cret-value'
      };
      await run(3, { ...inputs, verdict: 'pass' });
      expect(hook.deliveries).toHaveLength(0);
      const r = await run(3, { ...inputs, verdict: 'fail' });
      expect(r.publish.alerted).toEqual(['webhook']);
      expect(hook.deliveries).toHaveLength(1);
      expect(hook.deliveries[0].signatureValid).toBe(true);
      expect(hook.deliveries[0].body).toMatchObject({
        kind: 'fail',
        repository: 'acme/service',
        branch: 'agent/task',
        gate: 'coverage',
        verdict: 'FAIL',
        sha: head
      });
    } finally {
      await hook.close();
    }
  });

  it('alerts on the defer-alert-after-th DEFER in a row of the merge gate, not before', async () => {
    const hook = await WebhookReceiver.start();
    try {
      const mergeDefers: GateDefinition<Cfg> = {
        ...coverageLike,
        gate: 'merge',
        reportFile: '19-merge-report.md',
        statusKey: 'merge_status',
        evaluate: async () => ({
          verdict: 'DEFER',
          summary: 'merge lock busy, held by agent/other since 2026-11-22T07:00:00.000Z',
          fields: { head_sha: head, failure_class: 'lock-busy' },
          body: 'b\n',
          warnings: []
        })
      };
      const inputs = mapInputSource({
        token: TEST_TOKEN,
        'state-path': state(),
        'report-dir': tempDir(),
        'webhook-url': `${hook.origin}/hook`,
        'defer-alert-after': '2'
      });
      const alerted = [];
      for (let i = 0; i < 3; i++)
        alerted.push(
          (await runPublishedGate(mergeDefers, inputs, context(9), { backoffMs: 1 })).publish
            .alerted
        );
      expect(alerted).toEqual([[], ['webhook'], ['webhook']]);
      expect(hook.deliveries.map((d) => (d.body as { kind: string }).kind)).toEqual([
        'defer',
        'defer'
      ]);
      // DEFER is not a code fault: the status is error, not failure.
      const merge = forge.fake.statuses.filter(
        (x) => x.context === 'quality-gates/merge' && x.state !== 'pending'
      );
      expect(merge.at(-1)?.state).toBe('error');
    } finally {
      await hook.close();
    }
  });

  it('with no token the verdict stands and one warning says nothing was published', async () => {
    const before = forge.requests.length;
    const r = await run(4, { verdict: 'fail', token: '', 'state-path': state() });
    expect(r.result.verdict).toBe('FAIL');
    expect(forge.requests.length).toBe(before);
    expect(r.publish.warnings).toEqual([
      "verdict not published to the forge: input 'token' is empty (no commit status, no PR comment)"
    ]);
    expect(r.apiCalls).toBe(0);
  });

  it('off any forge (a local CLI run: no token, no GITHUB_API_URL) it publishes nothing and warns nothing', async () => {
    const before = forge.requests.length;
    const r = await run(
      8,
      { verdict: 'fail', token: '', 'state-path': state() },
      { GITHUB_API_URL: '' }
    );
    expect(r.result.verdict).toBe('FAIL');
    expect(r.publish.warnings).toEqual([]);
    expect(r.ctx.logger.entries.filter((e) => e.level === 'warning')).toEqual([]);
    expect(forge.requests.length).toBe(before);
    // The retry cap still counts: the store needs no forge.
    expect(r.publish.failures).toBe(1);
  });

  it('a forge that answers 500 to every status changes no verdict: a warning names what was not published', async () => {
    // Every attempt of the pending and the final status (first try and 3 retries each).
    forge.fail('repoCreateStatus', { status: 500, times: 8 });
    const r = await run(5, { verdict: 'pass', 'state-path': state() });
    expect(r.result.verdict).toBe('PASS');
    expect(r.publish.warnings.some((w) => /^commit status not published: .*500/.test(w))).toBe(
      true
    );
    expect(r.publish.warnings.join('\n')).not.toContain(TEST_TOKEN);
    expect(forge.fake.comments.filter((c) => c.issue === 5)).toHaveLength(1);
  });

  it("a bad publishing input is the gate's configuration error: FAIL, one line naming the input", async () => {
    const r = await run(6, {
      verdict: 'pass',
      'max-developer-retries': 'lots',
      'state-path': state()
    });
    expect(r.result.verdict).toBe('FAIL');
    expect(r.result.summary).toBe(
      'configuration error: input \'max-developer-retries\': expected a whole number from 1 to 100 (got "lots")'
    );
  });

  it("a rebased head gets the earlier gates' success carried over, saying from where", async () => {
    const old = repo.sha('HEAD');
    const other = repo.commit('src/b.txt', 'b\n');
    // The security gate passed on the old head (another job).
    forge.fake.statuses.push({
      id: 9000,
      sha: old,
      state: 'success',
      context: 'quality-gates/security',
      description: 'PASS: no secrets',
      targetUrl: 'http://x/run/1',
      createdAt: new Date().toISOString()
    });
    repo.git('checkout', '-q', old);
    const mergeLike: GateDefinition<Cfg> = {
      ...coverageLike,
      gate: 'merge',
      reportFile: '19-merge-report.md',
      statusKey: 'merge_status',
      evaluate: async () => ({
        verdict: 'PASS',
        summary: 'rebased onto main',
        fields: { head_sha: old, new_head: other, rebased: true },
        body: 'b\n',
        warnings: []
      })
    };
    const ctx = context(7);
    await runPublishedGate(
      mergeLike,
      mapInputSource({ token: TEST_TOKEN, 'state-path': state(), 'report-dir': tempDir() }),
      ctx
    );
    repo.git('checkout', '-q', 'agent/task');
    const onNew = forge.fake.statuses.filter((s) => s.sha === other);
    expect(onNew.map((s) => [s.context, s.state])).toEqual([
      ['quality-gates/merge', 'success'],
      ['quality-gates/security', 'success']
    ]);
    expect(onNew[1].description).toBe(`PASS: no secrets (carried from ${old.slice(0, 12)})`);
    const onOld = forge.fake.statuses.filter(
      (s) => s.sha === old && s.context === 'quality-gates/merge'
    );
    // This run's two (earlier tests set statuses on the same commit).
    expect(onOld.slice(-2).map((s) => s.state)).toEqual(['pending', 'success']);
    expect(onOld.at(-1)?.description).toMatch(/branch moved to/);
  });

  it('the coverage row carries the patch figure, and the changed lines no test ran show on a PASS', async () => {
    const withPatch: GateDefinition<Cfg> = {
      ...coverageLike,
      evaluate: async () => ({
        verdict: 'PASS',
        summary: 'coverage holds',
        fields: {
          head_sha: head,
          measured: 81,
          baseline: 80,
          patch_coverage: 45.45,
          patch_lines: 11,
          patch_covered: 5,
          patch_missing: ['src/calc/keys.py: 80-85']
        },
        body: 'b\n',
        warnings: []
      })
    };
    const ctx = context(12);
    await runPublishedGate(
      withPatch,
      mapInputSource({ token: TEST_TOKEN, 'state-path': state(), 'report-dir': tempDir() }),
      ctx,
      { backoffMs: 1 }
    );
    const body = forge.fake.comments.filter((c) => c.issue === 12)[0].body;
    expect(body).toMatch(/\| coverage \| PASS \| 81\.00% \(baseline 80\.00%\), patch 45\.45% \|/);
    expect(body).toContain(
      '#### Changed lines no test ran (coverage)\n\n- src/calc/keys.py: 80-85'
    );
  });
});
