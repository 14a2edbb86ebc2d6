// The shipped workflows and action.yml files, checked as a forge would read
// them: YAML parses, every `uses:` exists, every input passed is declared,
// every `needs:` names a job, no `${{ }}` inside a `run:` script, every gate
// job uploads its report, the edge runs security -> merge -> coverage ->
// image-freshness, and the GitHub copies differ from the Gitea ones only as
// docs/workflows.md documents.
import { fileURLToPath } from 'node:url';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { load } from 'js-yaml';
import { killSwitchVariable } from '../../packages/core/src/gate.ts';
import type { GateName } from '../../packages/core/src/verdict.ts';
import { edgeInputName } from '../../packages/cli/src/edge-inputs.ts';
import { readActionMeta } from '../../scripts/action-meta.ts';
import { entries } from '../../scripts/entries.ts';
import {
  gateOfStep,
  jobsOf,
  lintWorkflow,
  loadYaml,
  needsOf,
  SELF,
  selfPath,
  UPLOAD_ACTIONS,
  ymlFiles,
  type Job,
  type Yaml
} from '../helpers/workflow-lint.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const rel = (p: string) => relative(root, p);

const GITEA_DIRS = ['.gitea/workflows', 'docs/workflows/gitea'];
const GITHUB_DIRS = ['.github/workflows', 'docs/workflows/github'];
const workflows = [...GITEA_DIRS, ...GITHUB_DIRS].flatMap((d) => ymlFiles(join(root, d)));
const REUSABLE = [
  '.gitea/workflows/deploy-staging-gates.yml',
  '.github/workflows/deploy-staging-gates.yml'
];
const actionFiles = [
  join(root, 'action.yml'),
  ...readdirSync(join(root, 'actions'))
    .map((d) => join(root, 'actions', d, 'action.yml'))
    .filter((p) => existsSync(p))
];
const EDGE_JOBS: GateName[] = ['security', 'merge', 'coverage', 'image-freshness'];
const REPORT_DIR = 'gate-reports';

/**
 * The documented differences between a Gitea file and its GitHub copy
 * (docs/workflows.md, section "GitHub differences"): `doc` must appear there.
 */
const DIFFERENCES = [
  {
    doc: '`christopherhx/gitea-upload-artifact@v4`',
    apply: (text: string) =>
      text.replaceAll('christopherhx/gitea-upload-artifact@v4', 'actions/upload-artifact@v4')
  },
  {
    doc: '`.gitea/workflows/deploy-staging-gates.yml`',
    apply: (text: string) =>
      text.replaceAll(
        '.gitea/workflows/deploy-staging-gates.yml',
        '.github/workflows/deploy-staging-gates.yml'
      )
  },
  {
    doc: '`runs-on` on the job that calls the reusable workflow',
    apply: (text: string) => text,
    applyParsed: (doc: Yaml) => {
      for (const [, job] of jobsOf(doc)) if (job.uses) delete job['runs-on'];
      return doc;
    }
  }
];

function githubCopyOf(giteaText: string): Yaml {
  let text = giteaText;
  for (const d of DIFFERENCES) text = d.apply(text);
  let doc = load(text);
  for (const d of DIFFERENCES) if (d.applyParsed) doc = d.applyParsed(doc);
  return doc;
}

/** Gate jobs that do not upload their report (always, the report directory). */
function uploadProblems(name: string, doc: Yaml): string[] {
  const problems: string[] = [];
  for (const [id, job] of jobsOf(doc)) {
    const steps = job.steps ?? [];
    if (!steps.some((s) => gateOfStep(s))) continue;
    const upload = steps.find((s) => (UPLOAD_ACTIONS as readonly string[]).includes(s.uses ?? ''));
    if (!upload) problems.push(`${name}: job '${id}' runs a gate but uploads no report`);
    else {
      if (!String(upload.if ?? '').includes('always()'))
        problems.push(`${name}: job '${id}': the report upload must run if: always()`);
      if (!String(upload.with?.path ?? '').startsWith(REPORT_DIR))
        problems.push(`${name}: job '${id}': the upload path must be ${REPORT_DIR}/`);
      const dirs = steps
        .filter((s) => gateOfStep(s))
        .map((s) => String(s.with?.['report-dir'] ?? REPORT_DIR));
      if (dirs.some((d) => !d.startsWith(REPORT_DIR)))
        problems.push(`${name}: job '${id}': a gate writes its report outside ${REPORT_DIR}/`);
    }
  }
  return problems;
}

describe('every workflow and action.yml', () => {
  it('has workflows to check (the shipped set)', () => {
    expect(workflows.map(rel).sort()).toEqual(
      expect.arrayContaining([
        ...REUSABLE,
        ...['gitea', 'github'].flatMap((f) =>
          [
            'quality-gates',
            'quality-gates-landed',
            'quality-gates-closed',
            'quality-gates-baseline',
            'quality-gates-stop'
          ].map((n) => `docs/workflows/${f}/${n}.yml`)
        )
      ])
    );
  });

  it.each(workflows.map(rel))(
    '%s parses; its uses, inputs, secrets, needs and expressions resolve; no ${{ }} in run:',
    (file) => {
      expect(lintWorkflow(root, file, loadYaml(join(root, file)))).toEqual([]);
    }
  );

  it.each(workflows.map(rel))('%s: every job that runs a gate uploads its report', (file) => {
    expect(uploadProblems(file, loadYaml(join(root, file)))).toEqual([]);
  });

  it.each(actionFiles.map(rel))(
    '%s parses, runs node24 from a bundle the build produces',
    (file) => {
      const meta = readActionMeta(join(root, file));
      expect(meta.name).not.toBe('');
      expect(meta.runs.using).toBe('node24');
      const bundle = relative(root, join(dirname(join(root, file)), meta.runs.main ?? ''));
      const m = /^dist\/([^/]+)\/index\.js$/.exec(bundle);
      expect(m).not.toBeNull();
      expect(entries(root).map((e) => e.name)).toContain(m![1]);
      for (const i of meta.inputs) expect(typeof i.default).toBe('string');
    }
  );

  it('every reference to this repository uses one owner and one ref', () => {
    const refs = new Set<string>();
    for (const f of workflows)
      for (const m of readFileSync(f, 'utf8').matchAll(/uses:\s*(\S+)/g)) {
        const s = SELF.exec(m[1]);
        if (s) refs.add(`${s[1]}@${s[3]}`);
      }
    expect([...refs]).toHaveLength(1);
  });
});

describe('the reusable edge workflow', () => {
  it.each(REUSABLE)('%s chains security -> merge -> coverage -> image-freshness', (file) => {
    const doc = loadYaml(join(root, file));
    const jobs = doc.jobs as Record<string, Job>;
    for (const [i, gate] of EDGE_JOBS.entries()) {
      const job = jobs[gate];
      expect(job).toBeDefined();
      expect((job.steps ?? []).map(gateOfStep).filter(Boolean)).toEqual(
        expect.arrayContaining([gate])
      );
      if (i === 0) expect(needsOf(job)).toEqual([]);
      else expect(needsOf(job)).toContain(EDGE_JOBS[i - 1]);
      // The org/repo kill-switch reaches every gate.
      expect(job.env?.[killSwitchVariable(gate)]).toBe(`\${{ vars.${killSwitchVariable(gate)} }}`);
    }
  });

  it.each(REUSABLE)('%s passes each gate its settings under the root action names', (file) => {
    const doc = loadYaml(join(root, file));
    const mismatches: string[] = [];
    for (const [id, job] of jobsOf(doc))
      for (const step of job.steps ?? []) {
        const gate = gateOfStep(step) as GateName | undefined;
        if (!gate) continue;
        for (const [k, v] of Object.entries(step.with ?? {})) {
          const m = /^\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}$/.exec(String(v));
          if (m && m[1] !== edgeInputName(gate, k))
            mismatches.push(
              `${id}: ${k} <- inputs.${m[1]} (expected inputs.${edgeInputName(gate, k)})`
            );
        }
      }
    expect(mismatches).toEqual([]);
  });

  it.each(REUSABLE)(
    "%s: later jobs test the merge gate's new head; DEFER stops the edge",
    (file) => {
      const doc = loadYaml(join(root, file));
      const jobs = doc.jobs as Record<string, Job>;
      expect(jobs.merge.outputs?.['new-head']).toBe('${{ steps.gate.outputs.new-head }}');
      for (const id of ['coverage', 'image-freshness']) {
        const checkout = jobs[id].steps!.find((s) => s.uses?.startsWith('actions/checkout@'));
        expect(String(checkout?.with?.ref)).toMatch(/^\$\{\{ needs\.merge\.outputs\.new-head\b/);
        expect(checkout?.with?.['fetch-depth']).toBe(0);
      }
      const defer = jobs.merge.steps!.find((s) =>
        /steps\.gate\.outputs\.status == 'DEFER'/.test(String(s.if))
      );
      expect(defer?.run).toMatch(/not a code fault/);
      expect(defer?.run).toMatch(/exit 1/);
      // The merge job pushes the caught-up branch: it checks the branch out, with write access.
      const mergeCheckout = jobs.merge.steps!.find((s) => s.uses?.startsWith('actions/checkout@'));
      expect(String(mergeCheckout?.with?.ref)).toContain('github.event.pull_request.head.ref');
      expect((jobs.merge as Yaml).permissions?.contents).toBe('write');
    }
  );

  it.each(REUSABLE)(
    '%s: the image job is skipped without an image, and builds between plan and verify',
    (file) => {
      const job = (loadYaml(join(root, file)).jobs as Record<string, Job>)['image-freshness'];
      expect(job.if).toMatch(/inputs\.image != ''/);
      const steps = job.steps!;
      const plan = steps.findIndex((s) => s.with?.mode === 'plan');
      const build = steps.findIndex((s) => s.env?.QG_BUILD_COMMAND !== undefined);
      const verify = steps.findIndex((s) => s.with?.mode === 'verify');
      expect(plan).toBeGreaterThanOrEqual(0);
      expect(build).toBeGreaterThan(plan);
      expect(verify).toBeGreaterThan(build);
      expect(steps[build].if).toMatch(/steps\.plan\.outputs\.rebuild-needed == 'true'/);
      expect(steps[verify].id).toBe('gate');
    }
  );

  it.each(REUSABLE)(
    '%s releases the lease only on a failure after the merge gate passed',
    (file) => {
      const jobs = loadYaml(join(root, file)).jobs as Record<string, Job>;
      const release = Object.values(jobs).find((j) =>
        (j.steps ?? []).some((s) => selfPath(s.uses ?? '') === 'actions/lease-release/action.yml')
      );
      expect(release).toBeDefined();
      expect(needsOf(release!)).toEqual(expect.arrayContaining(EDGE_JOBS));
      expect(release!.if).toMatch(/failure\(\)/);
      expect(release!.if).toMatch(/needs\.merge\.outputs\.status == 'PASS'/);
    }
  );
});

/**
 * Job permissions as the forges apply them. GitHub: each listed scope, every
 * unlisted one `none`. Gitea from 1.26 (services/actions/permission_parser.go,
 * parseRawPermissionsExplicit): the same rule over its own scopes, where
 * `contents` sets code and releases, commit statuses need code write, and
 * `statuses` is not a scope (ignored).
 */
const ACCESS = { none: 0, read: 1, write: 2 } as const;
type Access = keyof typeof ACCESS;
const GITEA_SCOPES = [
  'code',
  'issues',
  'pull-requests',
  'packages',
  'actions',
  'wiki',
  'releases',
  'projects'
];

function declaredPermissions(doc: Yaml, job: Job): Record<string, Access> | undefined {
  const p = (job as Yaml).permissions ?? doc.permissions;
  if (p === undefined || p === null) return undefined;
  if (typeof p === 'string') {
    const all = p === 'write-all' ? 'write' : p === 'read-all' ? 'read' : 'none';
    return Object.fromEntries(
      [...GITEA_SCOPES, 'contents', 'statuses'].map((k) => [k, all as Access])
    );
  }
  return p as Record<string, Access>;
}

function giteaScopes(perms: Record<string, Access>): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(GITEA_SCOPES.map((k) => [k, 0]));
  if (perms.contents) out.code = out.releases = ACCESS[perms.contents];
  for (const [k, v] of Object.entries(perms))
    if (k !== 'contents' && GITEA_SCOPES.includes(k)) out[k] = ACCESS[v];
  return out;
}

const githubAccess = (perms: Record<string, Access>, scope: string): number =>
  ACCESS[perms[scope] ?? 'none'];

/** Actions whose state may live in the artifact backend, downloaded through /actions/artifacts. */
const ARTIFACT_STATE_READERS = [
  'security-gate',
  'coverage-gate',
  'image-freshness-gate',
  'coverage-ratchet',
  'coverage-baseline',
  'lease-release'
];
/** Actions that wake the next waiting branch when they free the lease. */
const WAKERS = ['merge-gate', 'lease-release', 'land', 'stop'];
/** Publishing gates: commit statuses, the sticky comment, the needs-human label. */
const PUBLISHING = ['security-gate', 'merge-gate', 'coverage-gate', 'image-freshness-gate'];

function selfActions(job: Job): { name: string; step: Yaml }[] {
  return (job.steps ?? []).flatMap((s) => {
    const m = /^actions\/([^/]+)\/action\.yml$/.exec(selfPath(s.uses ?? '') ?? '');
    return m ? [{ name: m[1], step: s }] : [];
  });
}

/** What a job's steps need, as [scope, access, why] on GitHub's names. */
function needs(job: Job): [string, Access, string][] {
  const out: [string, Access, string][] = [];
  for (const { name, step } of selfActions(job)) {
    if (PUBLISHING.includes(name))
      out.push(
        ['contents', 'write', `${name}: git-ref state and the catch-up push`],
        ['statuses', 'write', `${name}: commit statuses`],
        ['issues', 'write', `${name}: the sticky comment`],
        ['pull-requests', 'write', `${name}: the sticky comment and the needs-human label`]
      );
    if (ARTIFACT_STATE_READERS.includes(name) && step.with?.['state-backend'] !== undefined)
      out.push(['actions', 'read', `${name}: the artifact state backend's download`]);
    // The merge queue's wake-up: a workflow_dispatch of the caller when the lease frees.
    if (WAKERS.includes(name) && step.with?.['wake-workflow'] !== 'off')
      out.push(
        ['actions', 'write', `${name}: the merge queue's wake-up (workflow_dispatch)`],
        ['pull-requests', 'read', `${name}: the wake-up skips closed pull requests`]
      );
    if (name === 'land')
      out.push(
        ['contents', 'write', 'land: git-ref state and the merge'],
        ['pull-requests', 'write', 'land: the merge through the API'],
        ['issues', 'write', 'land: the one-line refusal comment']
      );
    if (name === 'stop')
      out.push(
        ['contents', 'write', 'stop: the branch deletion'],
        ['statuses', 'write', 'stop: the cancelled statuses'],
        ['actions', 'write', 'stop: listing and cancelling the branch runs']
      );
  }
  return out;
}

/** Jobs that lack a scope their steps need, or grant actions without a reason. */
function permissionProblems(doc: Yaml): string[] {
  const problems: string[] = [];
  for (const [id, job] of jobsOf(doc)) {
    if (job.uses) continue;
    const wanted = needs(job);
    if (wanted.length === 0) continue;
    const perms = declaredPermissions(doc, job);
    if (!perms) {
      problems.push(`${id}: declares no permissions`);
      continue;
    }
    const gitea = giteaScopes(perms);
    for (const [scope, access, why] of wanted) {
      if (githubAccess(perms, scope) < ACCESS[access])
        problems.push(`${id}: GitHub needs ${scope}: ${access} (${why})`);
      // Gitea has no `statuses` scope (code write covers statuses); PR comments
      // and labels are pull-request writes there, not issue writes.
      const giteaScope = scope === 'contents' || scope === 'statuses' ? 'code' : scope;
      if (scope !== 'issues' && gitea[giteaScope] < ACCESS[access])
        problems.push(`${id}: Gitea 1.26 needs ${giteaScope}: ${access} (${why})`);
    }
    // Exactly where needed: no job reaches the Actions API without a reason.
    const actionsWanted = Math.max(
      0,
      ...wanted.filter(([s]) => s === 'actions').map(([, a]) => ACCESS[a])
    );
    if (githubAccess(perms, 'actions') > actionsWanted)
      problems.push(`${id}: grants actions: ${perms.actions} it does not need`);
  }
  return problems;
}

describe('job permissions (GitHub, and Gitea from 1.26: unlisted scopes are none)', () => {
  it.each(workflows.map(rel))('%s: every job grants what its steps need', (file) => {
    expect(permissionProblems(loadYaml(join(root, file)))).toEqual([]);
  });

  it.each(workflows.map(rel))(
    '%s: a job calling the reusable workflow grants at least what the called jobs get',
    (file) => {
      const doc = loadYaml(join(root, file));
      for (const [, job] of jobsOf(doc)) {
        const target = job.uses ? selfPath(job.uses) : undefined;
        if (!target) continue;
        const called = loadYaml(join(root, target));
        const caller = declaredPermissions(doc, job) ?? {};
        for (const [, calledJob] of jobsOf(called)) {
          const perms = declaredPermissions(called, calledJob) ?? {};
          for (const [scope, access] of Object.entries(perms))
            expect([scope, githubAccess(caller, scope) >= ACCESS[access]]).toEqual([scope, true]);
        }
      }
    }
  );

  it('the STOP workflows fire on the labels both forges send, not on `label` (absent on Gitea)', () => {
    for (const f of ['gitea', 'github']) {
      const doc = loadYaml(join(root, `docs/workflows/${f}/quality-gates-stop.yml`));
      const job = (doc.jobs as Record<string, Job>).stop;
      expect(job.if).toBe(
        "github.event_name == 'workflow_dispatch' || contains(github.event.pull_request.labels.*.name, 'stop')"
      );
      expect(doc.on.pull_request.types).toEqual(['labeled']);
    }
    for (const f of workflows)
      expect([rel(f), /event\.label\b/.test(readFileSync(f, 'utf8'))]).toEqual([rel(f), false]);
  });

  it('the check catches a missing scope, a Gitea-only gap and an unneeded actions grant', () => {
    const problems = permissionProblems(
      load(`
on: push
jobs:
  ratchet:
    runs-on: x
    permissions: { contents: write }
    steps:
      - uses: OWNER/quality-gates/actions/coverage-ratchet@v1
        with: { state-backend: artifact }
  gate:
    runs-on: x
    permissions: { statuses: write, issues: write, pull-requests: write, actions: write }
    steps:
      - uses: OWNER/quality-gates/actions/merge-gate@v1
        with: { wake-workflow: 'off' }
  bare:
    runs-on: x
    steps:
      - uses: OWNER/quality-gates/actions/stop@v1
`)
    );
    expect(problems).toEqual([
      "ratchet: GitHub needs actions: read (coverage-ratchet: the artifact state backend's download)",
      "ratchet: Gitea 1.26 needs actions: read (coverage-ratchet: the artifact state backend's download)",
      'gate: GitHub needs contents: write (merge-gate: git-ref state and the catch-up push)',
      'gate: Gitea 1.26 needs code: write (merge-gate: git-ref state and the catch-up push)',
      'gate: Gitea 1.26 needs code: write (merge-gate: commit statuses)',
      'gate: grants actions: write it does not need',
      'bare: declares no permissions'
    ]);
    expect(giteaScopes({ contents: 'write', statuses: 'write' })).toMatchObject({
      code: 2,
      releases: 2,
      actions: 0,
      'pull-requests': 0
    });
  });
});

describe('GitHub copies', () => {
  const pairs = GITEA_DIRS.flatMap((d, i) =>
    ymlFiles(join(root, d)).map((f) => [rel(f), `${GITHUB_DIRS[i]}/${basename(f)}`] as const)
  );

  it.each(pairs)('%s has a GitHub copy %s that differs only as documented', (gitea, github) => {
    expect(existsSync(join(root, github))).toBe(true);
    const expected = githubCopyOf(readFileSync(join(root, gitea), 'utf8'));
    expect(loadYaml(join(root, github))).toEqual(expected);
  });

  it('every GitHub file has a Gitea original', () => {
    const gitea = new Set(pairs.map(([, g]) => g));
    for (const d of GITHUB_DIRS)
      for (const f of ymlFiles(join(root, d))) expect(gitea).toContain(rel(f));
  });

  it('docs/workflows.md documents each difference the comparison allows', () => {
    const text = readFileSync(join(root, 'docs', 'workflows.md'), 'utf8');
    const section = text.slice(text.indexOf('## GitHub differences'));
    expect(section.length).toBeLessThan(text.length);
    for (const d of DIFFERENCES) expect(section).toContain(d.doc);
  });
});

describe('the checks catch what they claim to', () => {
  const broken = (yaml: string) => lintWorkflow(root, 'broken.yml', load(yaml));

  it('an input the action does not declare, a missing job, a missing step output', () => {
    const problems = broken(`
on: { workflow_call: { inputs: { a: { type: string } } } }
jobs:
  one:
    runs-on: x
    needs: zero
    steps:
      - id: g
        uses: OWNER/quality-gates/actions/merge-gate@v1
        with: { test-comand: x }
      - uses: actions/checkout@v4
        with: { ref: '\${{ steps.g.outputs.new-haed }}' }
`);
    expect(problems.join('\n')).toMatch(/needs 'zero', which is not a job/);
    expect(problems.join('\n')).toMatch(/passes input 'test-comand'/);
    expect(problems.join('\n')).toMatch(/has no output 'new-haed'/);
  });

  it('a path that does not exist, an unknown third-party action, ${{ }} in run:, an undeclared input', () => {
    const problems = broken(`
on: { workflow_call: { inputs: { a: { type: string } } } }
jobs:
  one:
    runs-on: x
    steps:
      - uses: OWNER/quality-gates/actions/no-such-gate@v1
      - uses: someone/else@v1
      - run: echo "\${{ github.event.pull_request.title }}"
      - uses: actions/checkout@v4
        with: { ref: '\${{ inputs.b }}' }
`);
    const text = problems.join('\n');
    expect(text).toMatch(/actions\/no-such-gate\/action\.yml does not exist/);
    expect(text).toMatch(/'someone\/else@v1' is not an allowed third-party action/);
    expect(text).toMatch(/run: contains \$\{\{ github\.event\.pull_request\.title \}\}/);
    expect(text).toMatch(/inputs\.b is not a declared input/);
  });

  it('a reusable-workflow call with an undeclared input or secret, or without a required input', () => {
    const text = broken(`
on: pull_request
jobs:
  gates:
    uses: OWNER/quality-gates/.gitea/workflows/deploy-staging-gates.yml@v1
    with: { coverage-comand: x }
    secrets: { TOKEN: x }
`).join('\n');
    expect(text).toMatch(/passes input 'coverage-comand'/);
    expect(text).toMatch(/passes secret 'TOKEN'/);
    expect(text).toMatch(/does not pass required input 'test-command'/);
  });

  it('a gate job without a report upload, or uploading only on success', () => {
    const noUpload = load(`
on: push
jobs:
  g: { runs-on: x, steps: [ { uses: OWNER/quality-gates/actions/security-gate@v1 } ] }
`);
    expect(uploadProblems('x.yml', noUpload)).toEqual([
      "x.yml: job 'g' runs a gate but uploads no report"
    ]);
    const onSuccess = load(`
on: push
jobs:
  g:
    runs-on: x
    steps:
      - uses: OWNER/quality-gates/actions/security-gate@v1
      - { uses: actions/upload-artifact@v4, with: { name: r, path: gate-reports/ } }
`);
    expect(uploadProblems('x.yml', onSuccess)[0]).toMatch(/if: always\(\)/);
  });

  it('a GitHub copy with an undocumented change', () => {
    const gitea = readFileSync(join(root, REUSABLE[0]), 'utf8');
    const github = loadYaml(join(root, REUSABLE[1]));
    expect(githubCopyOf(gitea)).toEqual(github);
    expect(githubCopyOf(gitea.replace('fetch-depth: 0', 'fetch-depth: 1'))).not.toEqual(github);
  });
});

describe('docs/workflows.md', () => {
  it('names every shipped workflow file', () => {
    const text = readFileSync(join(root, 'docs', 'workflows.md'), 'utf8');
    for (const f of workflows) expect(text).toContain(basename(f));
    for (const d of [...GITEA_DIRS, ...GITHUB_DIRS]) expect(text).toContain(d);
  });
});
