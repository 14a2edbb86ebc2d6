// The harness itself, on small workflows written here: what it models
// behaves as act_runner and the real actions do, and what it does not model
// fails loudly instead of being skipped.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GiteaContractServer } from '../helpers/gitea-contract-server.ts';
import { readActionMeta } from '../../scripts/action-meta.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';
import {
  HarnessError,
  parseWorkflowText,
  pullRequestEvent,
  pushEvent,
  ROOT,
  triggers,
  workflowDispatchEvent,
  WorkflowHarness,
  type InstallSpec
} from '../helpers/workflow-harness/index.ts';
import { branch, serviceRepo } from './scenario.ts';
import type { TestRepo } from '../helpers/git-repo.ts';

import { jest } from '@jest/globals';

jest.setTimeout(60_000);

let forge: GiteaContractServer;
let repo: TestRepo;
let feature: string;
beforeAll(async () => {
  forge = await GiteaContractServer.start();
  repo = serviceRepo();
  feature = branch(repo, 'agent/x', { 'x.txt': 'x\n' });
});
afterAll(async () => {
  await forge?.close();
  cleanupTempDirs();
});

function harness(
  workflows: InstallSpec[],
  opts: {
    toolCache?: 'per-job' | 'shared';
    jobToken?: string;
    secrets?: Record<string, string>;
  } = {}
): Promise<WorkflowHarness> {
  return WorkflowHarness.create({ repo, forge, workflows, ...opts });
}

const one = (text: string): InstallSpec[] => [{ name: 't.yml', text }];

describe('the shipped files, as GitHub’s parser reads them', () => {
  const files = [
    '.gitea/workflows/deploy-staging-gates.yml',
    ...readdirSync(join(ROOT, 'docs/workflows/gitea')).map((f) => `docs/workflows/gitea/${f}`),
    '.github/workflows/deploy-staging-gates.yml',
    ...readdirSync(join(ROOT, 'docs/workflows/github')).map((f) => `docs/workflows/github/${f}`)
  ];
  it.each(files)(
    '%s parses and validates; the only Gitea adjustment is runs-on on the reusable call',
    async (f) => {
      const def = await parseWorkflowText(f, readFileSync(join(ROOT, f), 'utf8'), (uses) => {
        const m = /^[^/]+\/quality-gates\/(.+)@v1$/.exec(uses);
        return readFileSync(join(ROOT, m![1]), 'utf8');
      });
      expect(def.jobs.length).toBeGreaterThan(0);
      expect(def.adjustments).toEqual(
        f === 'docs/workflows/gitea/quality-gates.yml'
          ? ["job 'gates': runs-on on a reusable-workflow call (Gitea < 1.27) ignored"]
          : []
      );
    }
  );
});

describe('needs, if: and the status functions', () => {
  it('job and step results, outputs across needs, env layers', async () => {
    const h = await harness(
      one(`
name: t
on: workflow_dispatch
env:
  WF: wf
jobs:
  a:
    runs-on: ubuntu-latest
    outputs:
      x: \${{ steps.s.outputs.x }}
    steps:
      - id: s
        run: echo "x=from-a" >> "$GITHUB_OUTPUT"
  b:
    needs: a
    runs-on: ubuntu-latest
    env:
      JOB: job
    steps:
      - run: exit 3
      - id: f
        if: failure()
        env:
          X: \${{ needs.a.outputs.x }}
        run: echo "seen=$X/$WF/$JOB" >> "$GITHUB_OUTPUT"
      - if: success()
        run: echo never
      - id: al
        if: always()
        run: echo "outcome=\${{ steps.f.outcome }}" >> "$GITHUB_OUTPUT"
  c:
    needs: b
    runs-on: ubuntu-latest
    steps:
      - run: echo c
  d:
    needs: [a, b]
    if: failure()
    runs-on: ubuntu-latest
    steps:
      - run: echo d
  e:
    needs: b
    if: always() && needs.b.result == 'failure'
    runs-on: ubuntu-latest
    steps:
      - run: echo e
  f:
    needs: c
    if: always() && needs.c.result == 'skipped'
    runs-on: ubuntu-latest
    steps:
      - run: echo f
  g:
    needs: c
    runs-on: ubuntu-latest
    steps:
      - run: echo g
  h:
    needs: a
    if: cancelled()
    runs-on: ubuntu-latest
    steps:
      - run: echo h
`)
    );
    const run = await h.dispatch('t.yml', {});
    expect(run.results()).toEqual({
      a: 'success',
      b: 'failure',
      c: 'skipped',
      d: 'success',
      e: 'success',
      f: 'success',
      g: 'skipped',
      h: 'skipped'
    });
    expect(run.job('a').outputs).toEqual({ x: 'from-a' });
    const b = run.job('b');
    expect(b.steps.map((s) => s.outcome)).toEqual(['failure', 'success', 'skipped', 'success']);
    expect(b.steps[1].outputs).toEqual({ seen: 'from-a/wf/job' });
    expect(b.steps[3].outputs).toEqual({ outcome: 'success' });
    expect(run.conclusion).toBe('failure');
  });
});

describe('workspace, tool cache, checkout', () => {
  const text = (ref: string) => `
name: t
on: workflow_dispatch
jobs:
  shallow:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          token: \${{ secrets.QG_TOKEN || github.token }}
      - id: s
        run: |
          touch "$RUNNER_TOOL_CACHE/left-by-shallow" left-in-workspace
          {
            echo "shallow=$(git rev-parse --is-shallow-repository)"
            echo "commits=$(git rev-list --count HEAD)"
            echo "head=$(git rev-parse HEAD)"
            echo "header=$(git config --local --get-regexp 'http\\..*\\.extraheader' | cut -d' ' -f4)"
          } >> "$GITHUB_OUTPUT"
  full:
    needs: shallow
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${ref}
          fetch-depth: 0
          persist-credentials: false
      - id: s
        run: |
          {
            echo "shallow=$(git rev-parse --is-shallow-repository)"
            echo "branch=$(git symbolic-ref -q --short HEAD || echo detached)"
            echo "head=$(git rev-parse HEAD)"
            echo "remotes=$(git branch -r | tr -d ' ' | sort | tr '\\n' ' ')"
            echo "headers=$(git config --local --get-regexp 'http\\..*\\.extraheader' | wc -l)"
            echo "workspace=$(ls -A | grep -c left-in-workspace || true)"
            echo "cache=$(ls -A "$RUNNER_TOOL_CACHE")"
          } >> "$GITHUB_OUTPUT"
`;

  it('fetch-depth 1 with the persisted extraheader; fetch-depth 0 of a branch without it; a fresh workspace and tool cache per job', async () => {
    const h = await harness(one(text('agent/x')), { secrets: { QG_TOKEN: 'qg-token-of-a-bot' } });
    const run = await h.dispatch('t.yml', {}, 'main');
    const shallow = run.job('shallow').steps[1].outputs;
    expect(shallow).toMatchObject({ shallow: 'true', commits: '1', head: repo.sha('origin/main') });
    // The token input, not the job token: secrets.QG_TOKEN || github.token.
    expect(Buffer.from(shallow.header, 'base64').toString()).toBe(
      'x-access-token:qg-token-of-a-bot'
    );
    const full = run.job('full').steps[1].outputs;
    expect(full).toMatchObject({
      shallow: 'false',
      branch: 'agent/x',
      head: feature,
      headers: '0',
      workspace: '0',
      cache: ''
    });
    expect(full.remotes.trim().split(' ')).toEqual(['origin/agent/x', 'origin/main']);
    expect(run.job('shallow').toolCache).not.toBe(run.job('full').toolCache);
    // The extraheader is for the forge the token belongs to.
    const config = execFileSync('git', ['config', '--list', '--local'], {
      cwd: run.job('shallow').workspace!,
      encoding: 'utf8'
    });
    expect(config).toContain(`http.${forge.origin}/.extraheader=AUTHORIZATION: basic `);
  });

  it('a sha ref is checked out detached; the shared tool cache outlives the job', async () => {
    const h = await harness(one(text(feature)), { toolCache: 'shared' });
    const run = await h.dispatch('t.yml', {}, 'main');
    expect(run.job('full').steps[1].outputs).toMatchObject({
      branch: 'detached',
      head: feature,
      cache: 'left-by-shallow'
    });
  });
});

describe('this repository’s actions, with INPUT_* as act_runner sets them', () => {
  it('with: keys and the action.yml defaults, ${{ github.token }} evaluated', async () => {
    // A file on a volume every job mounts (not RUNNER_TEMP: the action refuses state that dies with the job).
    const volume = join(tempDir('qg-volume-'), 'state.sqlite');
    const h = await harness(
      one(`
name: t
on: workflow_dispatch
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - id: rel
        uses: OWNER/quality-gates/actions/lease-release@v1
        with:
          branch: \${{ format('agent/{0}', 'x') }}
          state-backend: file
          state-path: ${volume}
`)
    );
    const run = await h.dispatch('t.yml', {});
    const step = run.job('release').steps[1];
    // Every declared input, as act names it; defaults as action.yml says them, expressions evaluated.
    const meta = readActionMeta(join(ROOT, 'actions/lease-release/action.yml'));
    const expected = Object.fromEntries(
      meta.inputs.map((i) => [`INPUT_${i.name.toUpperCase()}`, i.default])
    );
    expect(expected['INPUT_TOKEN']).toBe('${{ github.token }}');
    Object.assign(expected, {
      INPUT_BRANCH: 'agent/x',
      'INPUT_STATE-BACKEND': 'file',
      'INPUT_STATE-PATH': volume,
      INPUT_TOKEN: forge.token
    });
    expect(step.inputs).toEqual(expected);
    expect(step.outcome).toBe('success');
    expect(step.outputs.outcome).toBe('absent');
  });

  it('without a job token the token default is empty', async () => {
    const h = await harness(
      one(`
name: t
on: workflow_dispatch
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: OWNER/quality-gates/actions/lease-release@v1
        with:
          branch: agent/x
          state-path: ${join(tempDir('qg-volume-'), 'state.sqlite')}
`),
      { jobToken: '' }
    );
    const run = await h.dispatch('t.yml', {});
    expect(run.job('release').steps[0].inputs!.INPUT_TOKEN).toBe('');
    expect(run.job('release').steps[0].outcome).toBe('success');
  });
});

describe('artefacts', () => {
  it('a copy per name; hidden files left out; a second upload of a name refused unless overwrite; missing files by if-no-files-found', async () => {
    const h = await harness(
      one(`
name: t
on: workflow_dispatch
jobs:
  up:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir -p out .state && echo a > out/a.txt && echo h > out/.hidden && echo s > .state/s.db
      - uses: christopherhx/gitea-upload-artifact@v4
        with:
          name: state
          path: .state/s.db
      - uses: christopherhx/gitea-upload-artifact@v4
        with:
          name: r
          path: out/
      - uses: christopherhx/gitea-upload-artifact@v4
        with:
          name: r
          path: out/
          overwrite: true
      - uses: christopherhx/gitea-upload-artifact@v4
        with:
          name: none
          path: missing/
      - uses: christopherhx/gitea-upload-artifact@v4
        with:
          name: r
          path: out/
      - if: always()
        uses: christopherhx/gitea-upload-artifact@v4
        with:
          name: strict
          path: missing/
          if-no-files-found: error
      - if: always()
        uses: actions/upload-artifact@v4
        with:
          name: github-only
          path: out/
`)
    );
    const run = await h.dispatch('t.yml', {});
    expect(run.job('up').steps.map((s) => s.outcome)).toEqual([
      'success',
      'success',
      'success',
      'success',
      'success',
      'failure',
      'failure',
      'failure'
    ]);
    expect(readdirSync(run.artifact('r'))).toEqual(['a.txt']);
    expect(readdirSync(run.artifact('state'))).toEqual(['s.db']);
    expect(existsSync(run.artifact('none'))).toBe(false);
    expect(run.annotations('warning').map((a) => a.message)).toEqual([
      'No files were found with the provided path: missing/. No artifacts will be uploaded.'
    ]);
    expect(run.annotations('error').map((a) => a.message)).toContain(
      '@actions/artifact v2.0.0+, upload-artifact@v4+ and download-artifact@v4+ are not currently supported on GHES.'
    );
  });
});

/** A caller of the shipped reusable workflow with these `with:` lines. */
const CALL = (withLines: string) => `
name: t
on: workflow_dispatch
jobs:
  gates:
    uses: OWNER/quality-gates/.gitea/workflows/deploy-staging-gates.yml@v1
    with:
${withLines}
`;

describe('what the harness does not model fails loudly', () => {
  const job = (body: string) => `
name: t
on: workflow_dispatch
jobs:
  j:
    runs-on: ubuntu-latest
${body}
`;
  it.each([
    [
      'a matrix',
      job('    strategy:\n      matrix:\n        n: [1, 2]\n    steps:\n      - run: echo'),
      /job key 'strategy'/
    ],
    [
      'a container',
      job('    container: node:24\n    steps:\n      - run: echo'),
      /job key 'container'/
    ],
    [
      'continue-on-error',
      job('    steps:\n      - run: echo\n        continue-on-error: true'),
      /step key 'continue-on-error'/
    ],
    [
      'a shell other than bash',
      job('    steps:\n      - run: echo\n        shell: sh'),
      /shell 'sh'/
    ],
    ['a misspelt key', job('    stpes:\n      - run: echo'), /does not parse/],
    [
      'an unknown context',
      job('    steps:\n      - run: echo\n        env:\n          X: ${{ gitea.sha }}'),
      /does not parse/
    ],
    [
      'a reusable-workflow call without its required input',
      CALL('      coverage-command: x'),
      /test-command/
    ],
    [
      'a reusable-workflow call with an undeclared input',
      CALL('      test-command: x\n      tset-command: y'),
      /tset-command/
    ],
    [
      'a reusable workflow of another repository',
      CALL('      test-command: x').replace('OWNER/quality-gates/', 'OWNER/other/'),
      /Unable to find reusable workflow/
    ]
  ])('%s is refused when the workflow is installed', async (_what, text, message) => {
    await expect(harness(one(text))).rejects.toThrow(message);
  });

  it.each([
    [
      'another third-party action',
      job('    steps:\n      - uses: actions/setup-node@v4'),
      /action 'actions\/setup-node@v4'/
    ],
    [
      'hashFiles()',
      job("    steps:\n      - run: echo\n        env:\n          X: ${{ hashFiles('x') }}"),
      /hashFiles\(\) is not modelled/
    ],
    [
      'a runner label it does not have',
      job('    runs-on: windows-latest\n    steps:\n      - run: echo').replace(
        '    runs-on: ubuntu-latest\n',
        ''
      ),
      /matches no runner label/
    ],
    [
      'a disabled workflow command',
      job('    steps:\n      - run: echo "::set-output name=x::y"'),
      /'::set-output::' is not modelled/
    ],
    [
      'a checkout input it does not model',
      job(
        '    steps:\n      - uses: actions/checkout@v4\n        with:\n          submodules: true'
      ),
      /input 'submodules'/
    ]
  ])('%s is refused when it runs', async (_what, text, message) => {
    const h = await harness(one(text));
    await expect(h.dispatch('t.yml', {})).rejects.toThrow(HarnessError);
    await expect(h.dispatch('t.yml', {})).rejects.toThrow(message);
  });

  it('a paths filter is refused when an event is matched against it', async () => {
    const h = await harness(
      one(
        'name: t\non:\n  push:\n    paths: [src/**]\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n'
      )
    );
    const main = repo.sha('origin/main');
    await expect(h.pushed('main', main, main)).rejects.toThrow(/filter 'paths'/);
  });
});

describe('triggers and payloads', () => {
  const info = { owner: 'acme', name: 'service', serverUrl: 'http://forge', defaultBranch: 'main' };
  const pr = {
    number: 3,
    title: 't',
    base: 'main',
    baseSha: 'b'.repeat(40),
    head: 'agent/x',
    headSha: 'a'.repeat(40),
    labels: [{ id: 9, name: 'stop', color: 'e11d21' }],
    state: 'open' as const,
    merged: false
  };

  it('Gitea’s pull_request payload: its action names, no top-level label, the fields of the contract', () => {
    const doc = readFileSync(
      join(ROOT, 'tests/fixtures/contracts/gitea-event-payloads.md'),
      'utf8'
    );
    const fields = (heading: RegExp) => {
      const para = doc.slice(doc.search(heading)).split('\n\n')[0];
      return new Set([...para.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]));
    };
    const event = pullRequestEvent(info, pr, 'label_updated', {
      dialect: 'gitea',
      added: pr.labels[0]
    });
    expect(event.action).toBe('label_updated');
    expect(event).not.toHaveProperty('label');
    for (const k of Object.keys(event)) expect(fields(/^Top level:/m)).toContain(k);
    for (const k of Object.keys(event.pull_request as object))
      expect(fields(/^`pull_request` \(`PullRequest`\)/m)).toContain(k);
    for (const k of Object.keys((event.pull_request as { head: object }).head))
      expect(fields(/^`base` \/ `head`/m)).toContain(k);
    const push = pushEvent(
      info,
      { ref: 'refs/heads/main', before: pr.baseSha, after: pr.headSha, commits: [] },
      'gitea'
    );
    for (const k of Object.keys(push)) expect(fields(/^`ref` \(full ref name\)/m)).toContain(k);
    const dispatch = workflowDispatchEvent(
      info,
      { workflow: 'w.yml', ref: 'refs/heads/main', inputs: {} },
      'gitea'
    );
    for (const k of Object.keys(dispatch))
      expect(fields(/^`workflow` \(file name or path\)/m)).toContain(k);
    const github = pullRequestEvent(info, pr, 'label_updated', {
      dialect: 'github',
      added: pr.labels[0]
    });
    expect(github).toMatchObject({ action: 'labeled', label: { name: 'stop' } });
  });

  it('Gitea matches label_updated to labeled, synchronized to synchronize, and the base branch filter', async () => {
    const h = await WorkflowHarness.create({ repo, forge });
    const def = (f: string) => h.installed.get(`.gitea/workflows/${f}`)!;
    const ev = (action: Parameters<typeof pullRequestEvent>[2], base = 'main') => ({
      name: 'pull_request',
      payload: pullRequestEvent(info, { ...pr, base }, action, { dialect: 'gitea' })
    });
    expect(triggers(def('quality-gates-stop.yml'), ev('label_updated'), 'gitea')).toBe(true);
    expect(triggers(def('quality-gates-stop.yml'), ev('opened'), 'gitea')).toBe(false);
    expect(triggers(def('quality-gates.yml'), ev('synchronized'), 'gitea')).toBe(true);
    expect(triggers(def('quality-gates.yml'), ev('synchronized', 'release'), 'gitea')).toBe(false);
    expect(triggers(def('quality-gates.yml'), ev('label_updated'), 'gitea')).toBe(false);
    expect(triggers(def('quality-gates-closed.yml'), ev('closed'), 'gitea')).toBe(true);
    const push = (ref: string) => ({
      name: 'push',
      payload: pushEvent(info, { ref, before: pr.baseSha, after: pr.headSha, commits: [] }, 'gitea')
    });
    expect(triggers(def('quality-gates-landed.yml'), push('refs/heads/main'), 'gitea')).toBe(true);
    expect(triggers(def('quality-gates-landed.yml'), push('refs/heads/agent/x'), 'gitea')).toBe(
      false
    );
  });
});
