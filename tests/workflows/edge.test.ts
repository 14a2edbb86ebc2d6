// The edge as a pull request meets it: the shipped caller
// (docs/workflows/gitea/quality-gates.yml) calls
// .gitea/workflows/deploy-staging-gates.yml, every job runs the committed
// bundles in a fresh workspace and tool cache, the forge is the
// contract-checked Gitea API and the image goes to a real registry. Each
// scenario asserts what a user sees: the jobs, the statuses by context on
// the head the PR shows, one sticky comment, the state, origin's refs.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LocalRegistry, requireRegistryTools } from '../helpers/oci-registry.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';
import { ROOT } from '../helpers/workflow-harness/index.ts';
import {
  adopted,
  commentsOn,
  edgeJobs,
  FAILING,
  gitRefState,
  labelsOn,
  openAndGate,
  originRefs,
  statusesOn,
  world,
  type World,
  expectCleanForge
} from './scenario.ts';

import { jest } from '@jest/globals';

jest.setTimeout(120_000);

const BUILD = `bash ${join(ROOT, 'tests/workflows/fixtures/build-image.sh')}`;
let registry: LocalRegistry;
const RETRIES = { 'max-developer-retries': '1' };

beforeAll(async () => {
  requireRegistryTools();
  registry = await LocalRegistry.start();
});
afterAll(async () => {
  await registry?.stop();
  cleanupTempDirs();
});

/** A world whose caller checks an image in the local registry, built by `build`. */
function imageWorld(
  tag: string,
  build: string,
  extra: Record<string, string> = {}
): Promise<World> {
  return world({
    workflows: adopted('gitea', {
      'registry-insecure': 'true',
      'image-build-command': build,
      ...extra
    }),
    vars: { QG_STATE_BACKEND: 'git-ref', QG_IMAGE: `${registry.host}/acme/service:${tag}` }
  });
}

const CONTEXTS = ['security', 'merge', 'coverage', 'image-freshness'].map(
  (g) => `quality-gates/${g}`
);

describe('a passing branch', () => {
  let w: World;
  beforeAll(async () => {
    w = await imageWorld('pass', BUILD);
  });
  afterAll(() => w?.forge.close());

  it('passes every gate on the caught-up head, builds the image from it, holds the lease for the landing', async () => {
    const { pr, run, head } = await openAndGate(
      w,
      'agent/pass',
      { 'src/feature.js': 'module.exports = 2;\n' },
      true
    );
    expect(run.results()).toEqual(
      edgeJobs({
        security: 'success',
        merge: 'success',
        coverage: 'success',
        'image-freshness': 'success'
      })
    );
    // The caller's concurrency group, evaluated (Gitea 1.26 honours it); the permissions each job runs with.
    expect(run.concurrency).toBe('quality-gates-agent/pass');
    expect(run.job('gates/merge').permissions).toMatchObject({
      contents: 'write',
      statuses: 'write'
    });
    const out = run.job('gates').outputs;
    expect(out).toMatchObject({
      'security-status': 'PASS',
      'merge-status': 'PASS',
      'coverage-status': 'PASS',
      'image-freshness-status': 'PASS'
    });
    const newHead = out['new-head'];
    expect(newHead).not.toBe(head);
    expect(pr.headSha).toBe(newHead);
    // The image job built from the new head: plan said stale, the build ran, verify passed.
    const image = run.job('gates/image-freshness');
    expect(image.steps.map((s) => [s.id ?? s.name, s.outcome])).toEqual([
      ['actions/checkout@v4', 'success'],
      ['plan', 'success'],
      ['Build the image from the new head', 'success'],
      ['gate', 'success'],
      ['christopherhx/gitea-upload-artifact@v4', 'success']
    ]);
    expect(image.steps[2].stdout).toContain(`from ${newHead}`);
    // The user's view: every gate green on the head the PR now shows, one comment.
    expect(originRefs(w.repo)['refs/heads/agent/pass']).toBe(newHead);
    expect(statusesOn(w.forge, newHead)).toEqual(
      Object.fromEntries(CONTEXTS.map((c) => [c, 'success']))
    );
    expect(commentsOn(w.forge, pr.number)).toHaveLength(1);
    expect(labelsOn(w.forge, pr.number)).toEqual([]);
    expect(gitRefState(w)?.lease).toMatchObject({ branch: 'agent/pass', headSha: head });
    for (const g of ['security', 'merge', 'coverage', 'image-freshness']) {
      expect(readdirSync(run.artifact(`gate-report-${g}`)).length).toBeGreaterThan(0);
    }
    // Each job had its own workspace and tool cache; the token never reached a log.
    const jobs = run.allJobs().filter((j) => j.workspace);
    expect(new Set(jobs.map((j) => j.toolCache)).size).toBe(jobs.length);
    expect(run.rawOutput()).not.toContain(w.forge.token);
    expectCleanForge(w);
  });
});

describe('a failure at each gate', () => {
  const failing = (gate: string, files: Record<string, string>) =>
    openAndGate(w, `agent/${gate}`, files, true);

  let w: World;
  beforeEach(async () => {
    // One FAIL is the developer's last try: the PR is labelled needs-human.
    w = await imageWorld('fail', BUILD, RETRIES);
  });
  afterEach(() => w?.forge.close());

  it('security: the later gates do not run, nothing was leased or pushed', async () => {
    const { pr, run, head } = await failing('security', FAILING.security());
    expect(run.results()).toEqual(edgeJobs({ security: 'failure' }));
    expect(statusesOn(w.forge, head)).toEqual({ 'quality-gates/security': 'failure' });
    expect(commentsOn(w.forge, pr.number)).toHaveLength(1);
    expect(labelsOn(w.forge, pr.number)).toEqual(['needs-human']);
    expect(originRefs(w.repo)['refs/heads/agent/security']).toBe(head);
    expect(gitRefState(w)?.lease).toBeUndefined();
    expect(readdirSync(run.artifact('gate-report-security')).length).toBe(1);
    expectCleanForge(w);
  });

  it('merge: a red re-test holds no lease, release-lease has nothing to do', async () => {
    const { pr, run, head } = await failing('merge', FAILING.merge());
    expect(run.results()).toEqual(edgeJobs({ security: 'success', merge: 'failure' }));
    expect(run.job('gates').outputs['merge-status']).toBe('FAIL');
    expect(statusesOn(w.forge, head)).toEqual({
      'quality-gates/security': 'success',
      'quality-gates/merge': 'failure'
    });
    expect(commentsOn(w.forge, pr.number)).toHaveLength(1);
    expect(labelsOn(w.forge, pr.number)).toEqual(['needs-human']);
    expect(gitRefState(w)?.lease).toBeUndefined();
    expectCleanForge(w);
  });

  it('coverage: the image job is skipped and release-lease frees the lease the merge gate took', async () => {
    const { pr, run } = await failing('coverage', FAILING.coverage());
    expect(run.results()).toEqual(
      edgeJobs({
        security: 'success',
        merge: 'success',
        coverage: 'failure',
        'release-lease': 'success'
      })
    );
    const newHead = run.job('gates').outputs['new-head'];
    expect(originRefs(w.repo)['refs/heads/agent/coverage']).toBe(newHead);
    expect(statusesOn(w.forge, newHead)).toEqual({
      'quality-gates/security': 'success',
      'quality-gates/merge': 'success',
      'quality-gates/coverage': 'failure'
    });
    expect(commentsOn(w.forge, pr.number)).toHaveLength(1);
    expect(labelsOn(w.forge, pr.number)).toEqual(['needs-human']);
    expect(run.job('gates/release-lease').steps[1].outputs.outcome).toBe('released');
    expect(gitRefState(w)?.lease).toBeUndefined();
    expectCleanForge(w);
  });

  it('image-freshness: an image built from another commit fails verify; release-lease frees the lease', async () => {
    await w.forge.close();
    w = await imageWorld('stale', `QG_REVISION=${'0'.repeat(40)} ${BUILD}`, RETRIES);
    const { pr, run } = await failing('image', { 'src/feature.js': 'module.exports = 3;\n' });
    expect(run.results()).toEqual(
      edgeJobs({
        security: 'success',
        merge: 'success',
        coverage: 'success',
        'image-freshness': 'failure',
        'release-lease': 'success'
      })
    );
    const newHead = run.job('gates').outputs['new-head'];
    expect(statusesOn(w.forge, newHead)).toEqual({
      'quality-gates/security': 'success',
      'quality-gates/merge': 'success',
      'quality-gates/coverage': 'success',
      'quality-gates/image-freshness': 'failure'
    });
    expect(commentsOn(w.forge, pr.number)).toHaveLength(1);
    expect(labelsOn(w.forge, pr.number)).toEqual(['needs-human']);
    expect(gitRefState(w)?.lease).toBeUndefined();
    expectCleanForge(w);
  });
});

describe('a run with no token', () => {
  let w: World;
  beforeAll(async () => {
    w = await world({ jobToken: '' });
  });
  afterAll(() => w?.forge.close());

  it('gates and leases as usual, says once per gate that the forge was not updated, sends the forge nothing', async () => {
    const { run } = await openAndGate(
      w,
      'agent/quiet',
      { 'src/feature.js': 'module.exports = 4;\n' },
      true
    );
    expect(run.results()).toEqual(
      edgeJobs({ security: 'success', merge: 'success', coverage: 'success' })
    );
    const newHead = run.job('gates').outputs['new-head'];
    expect(originRefs(w.repo)['refs/heads/agent/quiet']).toBe(newHead);
    expect(gitRefState(w)?.lease?.branch).toBe('agent/quiet');
    expect(w.forge.requests).toEqual([]);
    const warnings = run.annotations('warning').map((a) => a.message);
    expect(warnings).toHaveLength(3);
    for (const m of warnings)
      expect(m).toMatch(/not published to the forge: input 'token' is empty/);
  });
});
