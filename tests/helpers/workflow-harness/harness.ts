// The workflow harness: this repository's shipped workflows executed the way
// Gitea and act_runner execute them, against a real repository (a bare
// origin), the contract-checked Gitea API (GiteaContractServer) and the
// committed action bundles. Tests, not product.
//
// What it models (and refuses, loudly, whatever it does not):
//   - the installed set: the companions in docs/workflows/<dialect>/ copied
//     to .<dialect>/workflows/, with the edits an adopter makes (commands,
//     inputs); `OWNER/quality-gates/...@v1` resolves to this checkout's
//     files (reusable workflow, action.yml files, dist bundles);
//   - triggers by Gitea's rules (triggers.ts), one run per triggered
//     workflow, registered as a run on the fake forge (GITHUB_RUN_ID). Runs
//     start from the events a test sends (the event methods) and from the
//     API calls below that start runs (see "who starts runs"); the
//     installed set stands for .gitea/workflows at every ref;
//   - jobs in `needs` order, one at a time (a runner with capacity 1), each
//     in a fresh workspace, HOME and RUNNER_TEMP, with a fresh
//     RUNNER_TOOL_CACHE (the default: nothing under it outlives a job) or
//     one shared by every job of the harness (toolCache: 'shared');
//   - `if:` with the runner's implicit success() and the status functions
//     over the job's direct needs (Gitea hands the runner only those) or
//     the job's earlier steps; `needs.<id>.result/outputs`, job outputs,
//     step outputs and outcomes, `env` (workflow, job, step, GITHUB_ENV),
//     GITHUB_PATH, `secrets` (plus GITHUB_TOKEN/GITEA_TOKEN = the job
//     token), `vars`, `inputs` (workflow_call and workflow_dispatch, with
//     defaults and types), `runs-on` checked against the runner's labels,
//     `permissions` and `concurrency` evaluated and recorded (not enforced:
//     every token the contract server accepts may do everything);
//   - `jobs.<id>.uses` (workflow_call): the called workflow's jobs run as
//     jobs of the same run (Gitea >= 1.27 expands them; before, act runs
//     them inside the caller's job: the same order and contexts), its
//     outputs evaluated from `jobs`, the caller's result failure when one
//     of them failed.
//   - the forge's pull requests: the harness is the contract server's
//     ForgeBackend (the newest harness made on a forge), so GET pulls/{n},
//     GET/POST pulls/{n}/merge answer from its PRs and merge for real in a
//     temporary clone pushed to origin (merge: --no-ff; rebase: the head
//     rebased onto the base, fast-forwarded; rebase-merge: rebased, then
//     --no-ff; squash: merge --squash and one commit authored by the PR's
//     author; fast-forward-only: --ff-only), the PR then closed as merged
//     by the caller (the Actions user, or `userLogin`); manually-merged
//     marks it merged by a commit already on the base;
//   - workflow_dispatch by the API (POST actions/workflows/{file}/dispatches):
//     the ref resolved and the workflow and its inputs checked as Gitea's
//     DispatchActionWorkflow does, answered 204; whether a run starts is
//     the rule below.
//   - who starts runs, by the token of the API call. The job token is
//     `jobToken` (github.token, default the forge's `token`); any other
//     token the forge accepts (its `userTokens`) is a real user's, whose
//     login is `userLogin` (default 'qg-bot'). The rule is the platform
//     contract's (/work/shared/contracts/gitea-event-payloads.md, "Who
//     starts runs": events whose doer is the Actions user, pushes and API
//     calls made with a job's token, start no workflow runs, since Gitea
//     1.19; a real user's token's do) and GitHub's (events made with
//     GITHUB_TOKEN start no new runs, except workflow_dispatch and
//     repository_dispatch; a personal access token's do):
//       dispatch, job token: Gitea dialect, 204 and no run (recorded on the
//         FakeDispatch as startedRun false and in droppedDispatches(); set
//         jobTokenDispatchRuns: true to run them: Gitea's
//         DispatchActionWorkflow itself inserts the run without looking at
//         the doer, the contract's rule is stricter); GitHub dialect, a run;
//       dispatch, user token: a run, with the user as sender and actor;
//       merge, job token: no run (no push, no pull_request closed);
//       merge, user token: the user's events start what they trigger, the
//         push to the base branch first, then pull_request closed (merged),
//         the order Gitea's notifier sends them (Gitea handles the push
//         through a queue: a real server may insert the closed run first;
//         merged(pr, 'closed-first') models that for a maintainer's merge);
//         manually-merged: pull_request closed only;
//     A run an API call starts is created on the forge at once, waiting
//     (a dispatch's at the ref's commit of that moment; an event's with the
//     payload of that moment), and queued for the runner. Nothing runs it
//     until the test calls drain(), which runs the queue in arrival order,
//     one run at a time, including what those runs start, up to a bound.
//     The event methods do not drain unless the harness was made with
//     autoDrain: true (then each drains after its own runs and returns
//     those runs too). Not modelled: a git push a job makes starts nothing,
//     whatever token it pushed with (the origin is a local bare repository
//     that sees no token; a test that means a user's push sends pushed()
//     itself); the head branch a user's merge deletes sends no delete
//     event; the event methods (merged(), labeled(), ...) run at once,
//     whoever the test says sent them.
// Not modelled, refused by name: matrix/strategy, containers, services,
// defaults, continue-on-error, timeouts, composite and docker actions,
// other third-party actions, hashFiles(), paths filters, pre/post scripts.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type {
  DispatchOutcome,
  FakePull,
  FakeRun,
  ForgeBackend,
  ForgeCaller,
  GitMergeOutcome,
  GitMergeStyle
} from '../contract-fake-forge.ts';
import type { GiteaContractServer, RecordedRequest } from '../gitea-contract-server.ts';
import type { TestRepo } from '../git-repo.ts';
import { tempDir } from '../tmp.ts';
import { HarnessError, unsupported } from './errors.ts';
import {
  pullRequestEvent,
  pushEvent,
  workflowDispatchEvent,
  type Dialect,
  type Label,
  type PullRequestAction,
  type PullRequestState,
  type RepoInfo
} from './events.ts';
import {
  evaluate,
  isTruthy,
  toJs,
  tokenString,
  tokenStringMap,
  tokenValue,
  type Scope
} from './expressions.ts';
import {
  fileCommandEnv,
  maskText,
  readFileCommands,
  stepFiles,
  workflowCommands,
  type Annotation
} from './file-commands.ts';
import { git, run, type Exited } from './process.ts';
import {
  CHECKOUT,
  checkout,
  nodeAction,
  ROOT,
  runScript,
  selfAction,
  selfActionDir,
  upload,
  UPLOADS,
  type Executed,
  type StepRuntime
} from './steps.ts';
import { triggers, type EventInfo } from './triggers.ts';
import {
  editWorkflowText,
  parseWorkflowText,
  SELF_USES,
  type JobDef,
  type StepDef,
  type WorkflowDef
} from './workflow-file.ts';

export type JobConclusion = 'success' | 'failure' | 'skipped' | 'cancelled';

export interface StepResult {
  index: number;
  id?: string;
  name: string;
  uses?: string;
  outcome: 'success' | 'failure' | 'skipped';
  exitCode: number | null;
  outputs: Record<string, string>;
  /** INPUT_* the action was given. */
  inputs?: Record<string, string>;
  stdout: string;
  stderr: string;
  summary: string;
  annotations: Annotation[];
  durationMs: number;
}

export interface JobResult {
  /** 'merge', or 'gates/merge' for a job of a called workflow. */
  path: string;
  id: string;
  result: JobConclusion;
  outputs: Record<string, string>;
  steps: StepResult[];
  /** permissions: of the job, else its workflow's, else (called workflow) the caller job's. */
  permissions: unknown;
  runsOn?: string;
  workspace?: string;
  toolCache?: string;
  /** The forge requests made while this job ran, when no other job ran at the same time. */
  forgeCalls?: RecordedRequest[];
  /** Origin refs this job created, moved or deleted, when no other job ran at the same time. */
  pushed?: string[];
  /** Jobs of the workflow this job called. */
  called?: JobResult[];
}

export class RunResult {
  readonly id: number;
  readonly runNumber: number;
  readonly workflow: string;
  readonly event: string;
  readonly dir: string;
  readonly jobs: JobResult[];
  readonly concurrency: string | undefined;
  readonly masks: readonly string[];

  constructor(init: {
    id: number;
    runNumber: number;
    workflow: string;
    event: string;
    dir: string;
    jobs: JobResult[];
    concurrency: string | undefined;
    masks: readonly string[];
  }) {
    this.id = init.id;
    this.runNumber = init.runNumber;
    this.workflow = init.workflow;
    this.event = init.event;
    this.dir = init.dir;
    this.jobs = init.jobs;
    this.concurrency = init.concurrency;
    this.masks = init.masks;
  }

  /** Every job, called workflows' included. */
  allJobs(): JobResult[] {
    const out: JobResult[] = [];
    const walk = (js: JobResult[]) => {
      for (const j of js) {
        out.push(j);
        if (j.called) walk(j.called);
      }
    };
    walk(this.jobs);
    return out;
  }

  get conclusion(): 'success' | 'failure' {
    return this.jobs.some((j) => j.result === 'failure') ? 'failure' : 'success';
  }

  /** A job by path ('gates/merge') or by a unique id ('merge'). */
  job(name: string): JobResult {
    const all = this.allJobs();
    const hits = all.filter((j) => j.path === name || (!name.includes('/') && j.id === name));
    if (hits.length !== 1) {
      throw new Error(
        `run ${this.workflow} has ${hits.length} jobs named '${name}': ${all.map((j) => j.path).join(', ')}`
      );
    }
    return hits[0];
  }

  /** Job path -> result, e.g. { 'gates/security': 'success', ... }. */
  results(): Record<string, JobConclusion> {
    return Object.fromEntries(this.allJobs().map((j) => [j.path, j.result]));
  }

  /** The event payload the jobs read (GITHUB_EVENT_PATH). */
  eventPayload(): Record<string, unknown> {
    return JSON.parse(readFileSync(join(this.dir, 'event.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  }

  artifact(name: string): string {
    return join(this.dir, 'artifacts', name);
  }

  annotations(level?: Annotation['level']): Annotation[] {
    return this.allJobs()
      .flatMap((j) => j.steps.flatMap((s) => s.annotations))
      .filter((a) => !level || a.level === level);
  }

  /** Everything every step printed, unmasked: for proving a secret was never printed at all. */
  rawOutput(): string {
    return this.allJobs()
      .flatMap((j) => j.steps.map((s) => `${s.stdout}\n${s.stderr}`))
      .join('\n');
  }

  /** The log as the runner shows it, secrets and ::add-mask:: values masked. */
  log(): string {
    return maskText(this.rawOutput(), this.masks);
  }
}

export type InstallSpec =
  | {
      /** A file of this repository, e.g. docs/workflows/gitea/quality-gates.yml. */
      source: string;
      /** The adopter's edits: YAML path -> value. */
      edits?: { path: (string | number)[]; value: unknown }[];
    }
  | {
      /** A workflow written by the test, installed as .<dialect>/workflows/<name>. */
      name: string;
      text: string;
    };

export interface HarnessOptions {
  repo: TestRepo;
  forge: GiteaContractServer;
  dialect?: Dialect;
  /** Default: every companion in docs/workflows/<dialect>/, unedited. */
  workflows?: InstallSpec[];
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  /** github.token (the job token); '' for a run without one. Default: the forge's token. */
  jobToken?: string;
  toolCache?: 'per-job' | 'shared';
  labels?: string[];
  /** More of the runner machine's environment (every job's processes see it). */
  runnerEnv?: Record<string, string>;
  /** Each event method drains the dispatch queue after its own runs (default false: tests call drain()). */
  autoDrain?: boolean;
  /**
   * The login of whoever owns the forge's user tokens (forge userTokens, or
   * any accepted token that is not the job token): the sender of their
   * dispatches, the merger, pusher and sender of their merges. Default 'qg-bot'.
   */
  userLogin?: string;
  /**
   * Whether a workflow_dispatch made through the API with the job token
   * starts a run. Default: false with the Gitea dialect (the contract's
   * rule, /work/shared/contracts/gitea-event-payloads.md "Who starts
   * runs"), true with GitHub's (its documented exception).
   */
  jobTokenDispatchRuns?: boolean;
}

/** A run waiting for the runner: dispatched through the API, or started by a user token's merge. */
export interface QueuedRun {
  /** The installed workflow file, e.g. .gitea/workflows/quality-gates-landed.yml. */
  workflow: string;
  /** workflow_dispatch, push or pull_request. */
  event: string;
  /** pull_request: the payload's action (Gitea's or GitHub's, by dialect). */
  action?: string;
  /** The full ref the run is on. */
  ref: string;
  /** The commit the run checks out. */
  sha: string;
  /** Who caused it (github.actor). */
  actor: string;
  /** The run's id on the forge. */
  runId: number;
}

/** A workflow_dispatch the forge accepted (204) and started no run for (the job token's, on Gitea). */
export interface DroppedDispatch {
  /** The installed workflow file. */
  workflow: string;
  /** The full ref it named. */
  ref: string;
  /** The ref's commit then. */
  sha: string;
  /** The inputs the run would have seen (declared ones only, defaults filled in). */
  inputs: Record<string, string>;
}

/** A workflow_dispatch run created through the API, waiting for the runner. */
export interface QueuedDispatch {
  /** The installed workflow file, e.g. .gitea/workflows/land.yml. */
  workflow: string;
  /** The full ref the run is on (refs/heads/main). */
  ref: string;
  /** The ref's commit when it was dispatched: the commit the run checks out. */
  sha: string;
  /** The inputs the run sees (declared ones only, defaults filled in). */
  inputs: Record<string, string>;
  /** The run's id on the forge. */
  runId: number;
}

interface EventContext {
  info: EventInfo;
  ref: string;
  sha: string;
  headRef: string;
  baseRef: string;
  actor: string;
  /** The branch the forge files the run under. */
  branch: string;
}

interface RunState {
  id: number;
  runNumber: number;
  dir: string;
  event: EventContext;
  def: WorkflowDef;
  masks: Set<string>;
  jobCount: number;
}

interface CallFrame {
  /** Prefix of job paths ('' top level, 'gates/' inside a call). */
  prefix: string;
  def: WorkflowDef;
  inputs: Record<string, unknown>;
  secrets: Record<string, string>;
  inherited?: unknown;
}

export interface PullRequest
  extends
    PullRequestState,
    Pick<FakePull, 'author' | 'mergedBy' | 'mergeBase' | 'createdAt' | 'mergedAt' | 'closedAt'> {
  /** The origin ref Gitea keeps for it. */
  pullRef: string;
}

const HEX40 = /^[0-9a-f]{40}$/;

/** Queued runs one drain() runs at most before it calls it a loop. */
const DRAIN_MAX = 200;

/** Who the job token acts as: the author of its API merges and the sender of its API dispatches. */
const ACTIONS_USER: Record<Dialect, { name: string; email: string }> = {
  gitea: { name: 'gitea-actions', email: 'teabot@gitea.io' },
  github: {
    name: 'github-actions[bot]',
    email: '41898282+github-actions[bot]@users.noreply.github.com'
  }
};

interface Queued {
  def: WorkflowDef;
  event: EventContext;
  fakeRun: FakeRun;
  inputs: Record<string, string>;
}

function changedRefs(before: Map<string, string>, after: Map<string, string>): string[] {
  const refs = new Set([...before.keys(), ...after.keys()]);
  return [...refs]
    .filter((r) => before.get(r) !== after.get(r) && !r.startsWith('refs/pull/'))
    .sort();
}

export class WorkflowHarness {
  readonly dialect: Dialect;
  readonly repo: TestRepo;
  readonly forge: GiteaContractServer;
  readonly vars: Record<string, string>;
  readonly secrets: Record<string, string>;
  readonly jobToken: string;
  readonly toolCacheMode: 'per-job' | 'shared';
  readonly root: string;
  readonly sharedToolCache: string;
  readonly runs: RunResult[] = [];
  readonly installed = new Map<string, WorkflowDef>();
  private readonly labels: string[];
  private readonly machineEnv: Record<string, string>;
  private readonly called = new Map<string, WorkflowDef>();
  private readonly running = new Set<{ exclusive: boolean }>();
  private readonly pulls = new Map<number, PullRequest>();
  private nextPull = 1;
  private readonly autoDrain: boolean;
  readonly userLogin: string;
  private readonly jobTokenDispatchRuns: boolean;
  private readonly dispatchQueue: Queued[] = [];
  private readonly dropped: DroppedDispatch[] = [];
  private drainChain: Promise<unknown> = Promise.resolve();

  private constructor(opts: HarnessOptions) {
    this.dialect = opts.dialect ?? 'gitea';
    this.repo = opts.repo;
    this.forge = opts.forge;
    this.vars = opts.vars ?? {};
    this.secrets = opts.secrets ?? {};
    this.jobToken = opts.jobToken ?? opts.forge.token;
    this.toolCacheMode = opts.toolCache ?? 'per-job';
    this.labels = opts.labels ?? ['ubuntu-latest'];
    this.machineEnv = opts.runnerEnv ?? {};
    this.autoDrain = opts.autoDrain ?? false;
    this.userLogin = opts.userLogin ?? 'qg-bot';
    this.jobTokenDispatchRuns = opts.jobTokenDispatchRuns ?? this.dialect === 'github';
    this.root = tempDir('qg-harness-');
    this.sharedToolCache = join(this.root, 'toolcache');
    mkdirSync(this.sharedToolCache);
  }

  static async create(opts: HarnessOptions): Promise<WorkflowHarness> {
    const h = new WorkflowHarness(opts);
    const dir = `docs/workflows/${h.dialect}`;
    const specs: InstallSpec[] =
      opts.workflows ??
      readdirSync(join(ROOT, dir))
        .filter((f) => f.endsWith('.yml'))
        .sort()
        .map((f) => ({ source: `${dir}/${f}` }));
    for (const spec of specs) {
      const text =
        'text' in spec
          ? spec.text
          : editWorkflowText(readFileSync(join(ROOT, spec.source), 'utf8'), spec.edits ?? []);
      const file = `.${h.dialect}/workflows/${'name' in spec ? spec.name : basename(spec.source)}`;
      h.installed.set(file, await parseWorkflowText(file, text, (uses) => h.calledText(uses)));
    }
    h.forge.fake.backend = h.forgeBackend();
    for (const name of ['stop', 'needs-human']) {
      if (!h.forge.fake.repoLabels.some((l) => l.name === name)) {
        h.forge.fake.repoLabels.push({
          id: 50 + h.forge.fake.repoLabels.length,
          name,
          color: 'e11d21'
        });
      }
    }
    return h;
  }

  get repoInfo(): RepoInfo {
    return {
      owner: this.forge.fake.owner,
      name: this.forge.fake.repo,
      serverUrl: this.forge.origin,
      defaultBranch: 'main'
    };
  }

  get repository(): string {
    return `${this.forge.fake.owner}/${this.forge.fake.repo}`;
  }

  /** The text of a reusable workflow this repository ships, by its `uses:`. */
  private calledText(uses: string): string {
    const m = SELF_USES.exec(uses);
    if (!m || !m[2] || !/\.ya?ml$/.test(m[2]))
      unsupported(`reusable workflow '${uses}'`, 'jobs.<id>.uses');
    return readFileSync(join(ROOT, m[2]), 'utf8');
  }

  private async calledWorkflow(uses: string): Promise<WorkflowDef> {
    let def = this.called.get(uses);
    if (!def) {
      const path = SELF_USES.exec(uses)![2]!;
      def = await parseWorkflowText(path, this.calledText(uses), (u) => this.calledText(u));
      if (!def.call) throw new HarnessError(`${path}: no on.workflow_call`);
      this.called.set(uses, def);
    }
    return def;
  }

  // ---- the forge side: refs, pull requests, events ---------------------------------

  /** The sha `ref` names on origin. */
  async originSha(ref: string): Promise<string> {
    return (await git(this.repo.origin, ['rev-parse', ref], {})).trim();
  }

  async originHas(ref: string): Promise<boolean> {
    try {
      await this.originSha(ref);
      return true;
    } catch {
      return false;
    }
  }

  /** Opens a pull request of `branch` (on origin) into `base`; Gitea's refs/pull/N/head follows the head. */
  async openPullRequest(
    branch: string,
    opts: { base?: string; title?: string } = {}
  ): Promise<PullRequest> {
    const number = this.nextPull++;
    const base = opts.base ?? 'main';
    const pr: PullRequest = {
      number,
      title: opts.title ?? `work on ${branch}`,
      base,
      baseSha: await this.originSha(`refs/heads/${base}`),
      head: branch,
      headSha: await this.originSha(`refs/heads/${branch}`),
      labels: [],
      state: 'open',
      merged: false,
      pullRef: `refs/pull/${number}/head`,
      author: 'agent',
      createdAt: new Date().toISOString()
    };
    await git(this.repo.origin, ['update-ref', pr.pullRef, pr.headSha], {});
    this.pulls.set(number, pr);
    return pr;
  }

  /** Re-reads the PR's head and base from origin (after a push, a rebase by the merge gate, a deletion). */
  async refreshPullRequest(pr: PullRequest): Promise<PullRequest> {
    if (await this.originHas(`refs/heads/${pr.head}`)) {
      pr.headSha = await this.originSha(`refs/heads/${pr.head}`);
      await git(this.repo.origin, ['update-ref', pr.pullRef, pr.headSha], {});
    }
    pr.baseSha = await this.originSha(`refs/heads/${pr.base}`);
    return pr;
  }

  /** A pull_request event in the harness's dialect; every installed workflow it triggers runs, one after another. */
  async pullRequestEvent(
    pr: PullRequest,
    action: PullRequestAction,
    opts: { added?: Label; sender?: string; before?: string } = {}
  ): Promise<RunResult[]> {
    return this.emit(this.pullRequestContext(pr, action, opts));
  }

  private pullRequestContext(
    pr: PullRequest,
    action: PullRequestAction,
    opts: { added?: Label; sender?: string; before?: string } = {}
  ): EventContext {
    const payload = pullRequestEvent(this.repoInfo, pr, action, { dialect: this.dialect, ...opts });
    // Gitea: refs/pull/N/head at the head commit; GitHub would test refs/pull/N/merge.
    return {
      info: { name: 'pull_request', payload },
      ref: pr.pullRef,
      sha: pr.headSha,
      headRef: pr.head,
      baseRef: pr.base,
      actor: opts.sender ?? 'agent',
      branch: pr.head
    };
  }

  async opened(pr: PullRequest): Promise<RunResult[]> {
    return this.pullRequestEvent(pr, 'opened');
  }

  /** The author pushed to the branch: the PR head moves and Gitea sends `synchronized`. */
  async synchronized(pr: PullRequest): Promise<RunResult[]> {
    const before = pr.headSha;
    await this.refreshPullRequest(pr);
    return this.pullRequestEvent(pr, 'synchronized', { before });
  }

  /** Puts a label on the PR (on the forge too) and sends the label event. */
  async labeled(pr: PullRequest, name: string, sender = 'maintainer'): Promise<RunResult[]> {
    const fake = this.forge.fake;
    const label = fake.repoLabels.find((l) => l.name === name);
    if (!label) throw new HarnessError(`the forge has no label '${name}'`);
    fake.issueLabels.set(pr.number, [
      ...new Set([...(fake.issueLabels.get(pr.number) ?? []), label.id])
    ]);
    pr.labels.push(label);
    return this.pullRequestEvent(pr, 'label_updated', { added: label, sender });
  }

  /** Closes the PR without merging. */
  async closed(pr: PullRequest): Promise<RunResult[]> {
    pr.state = 'closed';
    pr.closedAt = new Date().toISOString();
    return this.pullRequestEvent(pr, 'closed', { sender: 'maintainer' });
  }

  /**
   * Merges the PR the way Gitea's "fast-forward only" merge does (main
   * moves to the head) and sends both events it causes: the push to main
   * and pull_request closed with merged true, in `order`.
   */
  async merged(
    pr: PullRequest,
    order: 'push-first' | 'closed-first' = 'push-first'
  ): Promise<{ push: RunResult[]; closed: RunResult[] }> {
    await this.refreshPullRequest(pr);
    const before = pr.baseSha;
    const work = join(tempDir('qg-merge-'), 'w');
    await git(this.repo.root, ['clone', '-q', '--branch', pr.base, this.repo.origin, work], {});
    await git(work, ['merge', '-q', '--ff-only', `origin/${pr.head}`], {});
    await git(work, ['push', '-q', 'origin', pr.base], {});
    const after = await this.originSha(`refs/heads/${pr.base}`);
    pr.state = 'closed';
    pr.merged = true;
    pr.mergeCommitSha = after;
    pr.mergedBy = 'maintainer';
    pr.mergeBase = before;
    pr.mergedAt = pr.closedAt = new Date().toISOString();
    const push = () => this.pushed(pr.base, before, after, 'maintainer');
    const closed = () => this.pullRequestEvent(pr, 'closed', { sender: 'maintainer' });
    if (order === 'push-first') {
      const p = await push();
      return { push: p, closed: await closed() };
    }
    const c = await closed();
    return { closed: c, push: await push() };
  }

  /** A push of `branch` from `before` to `after` (already on origin). */
  async pushed(
    branch: string,
    before: string,
    after: string,
    pusher = 'maintainer'
  ): Promise<RunResult[]> {
    return this.emit(await this.pushContext(branch, before, after, pusher));
  }

  private async pushContext(
    branch: string,
    before: string,
    after: string,
    pusher: string
  ): Promise<EventContext> {
    const range = HEX40.test(before) ? `${before}..${after}` : after;
    const log = (await git(this.repo.origin, ['log', '--format=%H %s', range], {})).trim();
    const commits = log
      ? log
          .split('\n')
          .map((l) => ({ id: l.slice(0, 40), message: l.slice(41) }))
          .reverse()
      : [];
    const payload = pushEvent(
      this.repoInfo,
      { ref: `refs/heads/${branch}`, before, after, commits, pusher },
      this.dialect
    );
    return {
      info: { name: 'push', payload },
      ref: `refs/heads/${branch}`,
      sha: after,
      headRef: '',
      baseRef: '',
      actor: pusher,
      branch
    };
  }

  /** Runs an installed workflow by hand (workflow_dispatch) on `ref` (a branch). */
  async dispatch(
    file: string,
    inputs: Record<string, string>,
    ref = 'main',
    actor = 'maintainer'
  ): Promise<RunResult> {
    const path = file.includes('/') ? file : `.${this.dialect}/workflows/${file}`;
    const def = this.installed.get(path);
    if (!def) throw new HarnessError(`no installed workflow ${path}`);
    if (!def.dispatchInputs) throw new HarnessError(`${path} has no workflow_dispatch`);
    for (const k of Object.keys(inputs)) {
      if (!(k in def.dispatchInputs))
        throw new HarnessError(`${path}: dispatch input '${k}' is not declared`);
    }
    const full: Record<string, string> = {};
    for (const [k, spec] of Object.entries(def.dispatchInputs)) {
      const v = inputs[k] ?? spec.default ?? '';
      if (spec.required && v === '')
        throw new HarnessError(`${path}: dispatch input '${k}' is required`);
      full[k] = v;
    }
    const sha = await this.originSha(`refs/heads/${ref}`);
    const payload = workflowDispatchEvent(
      this.repoInfo,
      { workflow: path, ref: `refs/heads/${ref}`, inputs: full, sender: actor },
      this.dialect
    );
    const runs = await this.emit({
      info: { name: 'workflow_dispatch', payload, workflowFile: path },
      ref: `refs/heads/${ref}`,
      sha,
      headRef: '',
      baseRef: '',
      actor,
      branch: ref
    });
    return runs[0];
  }

  /** Every installed workflow the event triggers, run one after another (a capacity-1 runner). */
  private async emit(event: EventContext): Promise<RunResult[]> {
    const out: RunResult[] = [];
    for (const def of this.installed.values()) {
      if (triggers(def, event.info, this.dialect)) out.push(await this.runWorkflow(def, event));
    }
    if (this.autoDrain) out.push(...(await this.drain()));
    return out;
  }

  /**
   * Every installed workflow the event triggers, as a run waiting on the
   * forge and in the queue (Gitea's notifier inserts the runs at once; the
   * runner takes them later).
   */
  private enqueue(event: EventContext): void {
    for (const def of this.installed.values()) {
      if (!triggers(def, event.info, this.dialect)) continue;
      const fakeRun = this.forge.fake.addRun({
        branch: event.branch,
        state: 'waiting',
        event: event.info.name,
        headSha: event.sha,
        workflowId: basename(def.file),
        ref: event.ref
      });
      this.dispatchQueue.push({ def, event, fakeRun, inputs: {} });
    }
  }

  // ---- runs started through the API: the queue -----------------------------------------

  /** Every run waiting for the runner (dispatched, or started by a user token's merge), oldest first. */
  queuedRuns(): QueuedRun[] {
    return this.dispatchQueue.map((q) => {
      const action = q.event.info.payload.action;
      return {
        workflow: q.def.file,
        event: q.event.info.name,
        ...(typeof action === 'string' ? { action } : {}),
        ref: q.event.ref,
        sha: q.event.sha,
        actor: q.event.actor,
        runId: q.fakeRun.id
      };
    });
  }

  /** The workflow_dispatch runs waiting for the runner, oldest first (queuedRuns() has the others too). */
  queuedDispatches(): QueuedDispatch[] {
    return this.dispatchQueue
      .filter((q) => q.event.info.name === 'workflow_dispatch')
      .map((q) => ({
        workflow: q.def.file,
        ref: q.event.ref,
        sha: q.event.sha,
        inputs: { ...q.inputs },
        runId: q.fakeRun.id
      }));
  }

  /** Dispatches the forge accepted (204) and started no run for (the job token's, on Gitea), oldest first. */
  droppedDispatches(): DroppedDispatch[] {
    return this.dropped.map((d) => ({ ...d, inputs: { ...d.inputs } }));
  }

  /**
   * Runs the queued runs in arrival order, one at a time, and the ones
   * they start, until none is left; more than `max` (default 200) is a
   * loop (HarnessError). Calls made while one drains wait for it.
   */
  drain(opts: { max?: number } = {}): Promise<RunResult[]> {
    const p = this.drainChain.then(() => this.drainNow(opts.max ?? DRAIN_MAX));
    this.drainChain = p.catch(() => undefined);
    return p;
  }

  private async drainNow(max: number): Promise<RunResult[]> {
    const out: RunResult[] = [];
    while (this.dispatchQueue.length > 0) {
      if (out.length >= max) {
        throw new HarnessError(
          `drain: ${max} queued runs and ${this.dispatchQueue.length} more queued (${this.dispatchQueue
            .slice(0, 3)
            .map((q) => basename(q.def.file))
            .join(', ')}...): a workflow that keeps dispatching?`
        );
      }
      const next = this.dispatchQueue.shift()!;
      out.push(await this.runWorkflow(next.def, next.event, next.fakeRun));
    }
    return out;
  }

  // ---- the forge's backend: pull requests, merges and dispatches for the contract server ----

  private get actionsUser(): { name: string; email: string } {
    return ACTIONS_USER[this.dialect];
  }

  private forgeBackend(): ForgeBackend {
    return {
      pull: async (index) => {
        const pr = this.pulls.get(index);
        if (pr?.state === 'open') await this.refreshPullRequest(pr);
        return pr;
      },
      mergeable: (index) => this.mergeable(this.pull(index)),
      merge: (req) => this.apiMerge(req),
      markMerged: (req) => this.markMerged(req.index, req.commit, req.caller),
      dispatch: (req) => this.apiDispatch(req)
    };
  }

  /**
   * Whose call it is: the job token's (the Actions user's), or a user's (any
   * other token the forge accepted: a real user's, `userLogin`).
   */
  private callerOf(caller: ForgeCaller): 'job' | 'user' {
    if (caller.token === undefined) throw new HarnessError('a forge call without a token');
    return caller.token === this.jobToken ? 'job' : 'user';
  }

  /** The git identity of a merge the caller makes. */
  private identityOf(who: 'job' | 'user'): { name: string; email: string } {
    return who === 'job'
      ? this.actionsUser
      : { name: this.userLogin, email: `${this.userLogin}@example.invalid` };
  }

  /** The identity and clean config of the merges the forge makes (default: the Actions user's). */
  private mergeEnv(u: { name: string; email: string } = this.actionsUser): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.root,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: u.name,
      GIT_AUTHOR_EMAIL: u.email,
      GIT_COMMITTER_NAME: u.name,
      GIT_COMMITTER_EMAIL: u.email
    };
  }

  /** Gitea's patch checker: the PR's head merges into its base without conflicts. */
  private async mergeable(pr: PullRequest): Promise<boolean> {
    if (pr.state === 'open') await this.refreshPullRequest(pr);
    const r = await run(
      'git',
      ['merge-tree', '--write-tree', '--no-messages', pr.baseSha, pr.headSha],
      { cwd: this.repo.origin, env: this.mergeEnv() }
    );
    if (r.code === 0) return true;
    if (r.code === 1) return false;
    throw new HarnessError(`git merge-tree failed (${r.code}): ${r.stderr.trim()}`);
  }

  /**
   * Gitea's doMergeAndPush: the base cloned, the PR head as `tracking`,
   * merged in the style, pushed; the caller is the merger. A user's merge
   * then queues the runs its events start: the push to the base, then the
   * pull request closed (merged), as Gitea's notifier sends them. The job
   * token's starts none.
   */
  private async apiMerge(req: {
    index: number;
    style: GitMergeStyle;
    message: string;
    deleteBranch: boolean;
    caller: ForgeCaller;
  }): Promise<GitMergeOutcome> {
    const pr = this.pull(req.index);
    const who = this.callerOf(req.caller);
    const env = this.mergeEnv(this.identityOf(who));
    const work = join(tempDir('qg-api-merge-'), 'w');
    await git(this.repo.root, ['clone', '-q', '--branch', pr.base, this.repo.origin, work], env);
    await git(work, ['fetch', '-q', 'origin', `+${pr.pullRef}:refs/heads/tracking`], env);
    const before = (await git(work, ['rev-parse', 'HEAD'], env)).trim();
    const mergeBase = (await git(work, ['merge-base', 'HEAD', 'tracking'], env)).trim();
    const attempt = (args: string[]) => run('git', args, { cwd: work, env });
    const commit = (extra: string[] = []) =>
      git(work, ['commit', '-q', '--no-verify', ...extra, '-m', req.message], env);
    switch (req.style) {
      case 'merge': {
        const m = await attempt(['merge', '--no-ff', '--no-commit', 'tracking']);
        if (m.code !== 0) return this.mergeFailure(work, env, m);
        await commit();
        break;
      }
      case 'squash': {
        const m = await attempt(['merge', '--squash', 'tracking']);
        if (m.code !== 0) return this.mergeFailure(work, env, m);
        const author = pr.author ?? 'agent';
        await commit([`--author=${author} <${author}@example.invalid>`]);
        break;
      }
      case 'rebase':
      case 'rebase-merge': {
        await git(work, ['checkout', '-q', '-b', 'staging', 'tracking'], env);
        const rb = await attempt(['rebase', '-q', pr.base]);
        if (rb.code !== 0) {
          if (!existsSync(join(work, '.git', 'REBASE_HEAD')))
            throw new HarnessError(`git rebase failed (${rb.code}): ${rb.stderr.trim()}`);
          const stopped = join(work, '.git', 'rebase-merge', 'stopped-sha');
          return {
            kind: 'rebase-conflict',
            commit: existsSync(stopped) ? readFileSync(stopped, 'utf8').trim() : '',
            stdout: rb.stdout,
            stderr: rb.stderr
          };
        }
        await git(work, ['checkout', '-q', pr.base], env);
        if (req.style === 'rebase') {
          await git(work, ['merge', '-q', '--ff-only', 'staging'], env);
        } else {
          const m = await attempt(['merge', '--no-ff', '--no-commit', 'staging']);
          if (m.code !== 0) return this.mergeFailure(work, env, m);
          await commit();
        }
        break;
      }
      case 'fast-forward-only': {
        const m = await attempt(['merge', '--ff-only', 'tracking']);
        if (m.code !== 0) {
          if (/Not possible to fast-forward/i.test(m.stderr))
            return { kind: 'not-fast-forward', stderr: m.stderr };
          throw new HarnessError(`git merge --ff-only failed (${m.code}): ${m.stderr.trim()}`);
        }
        break;
      }
    }
    const sha = (await git(work, ['rev-parse', 'HEAD'], env)).trim();
    // Not forced: a base that moved since the clone refuses the push, as Gitea's does.
    const push = await attempt(['push', '-q', 'origin', `HEAD:refs/heads/${pr.base}`]);
    if (push.code !== 0) {
      // Gitea's doMergeAndPush: ErrPushOutOfDate, else ErrPushRejected with the remote's lines.
      if (/non-fast-forward|fetch first/.test(push.stderr)) return { kind: 'push-out-of-date' };
      if (push.stderr.includes('! [remote rejected]')) {
        const remote = push.stderr
          .split('\n')
          .filter((l) => l.startsWith('remote: '))
          .map((l) => l.slice(8).trim())
          .join('\n')
          .trim();
        return { kind: 'push-rejected', remote };
      }
      throw new HarnessError(`merge push failed (${push.code}): ${push.stderr.trim()}`);
    }
    pr.baseSha = before;
    pr.mergeBase = mergeBase;
    this.closeMerged(pr, sha, who);
    if (who === 'user') {
      // Snapshots of this moment, as Gitea stores each run's payload when the event happens.
      this.enqueue(await this.pushContext(pr.base, before, sha, this.userLogin));
      this.enqueue(this.pullRequestContext(pr, 'closed', { sender: this.userLogin }));
    }
    if (req.deleteBranch) await this.deleteMergedHead(pr);
    for (const other of this.pulls.values())
      if (other.state === 'open') await this.refreshPullRequest(other);
    return { kind: 'merged', sha };
  }

  /** A failed merge command: a conflict (Gitea's ErrMergeConflicts) or a harness failure. */
  private async mergeFailure(
    work: string,
    env: NodeJS.ProcessEnv,
    m: Exited
  ): Promise<GitMergeOutcome> {
    const unmerged = (await git(work, ['ls-files', '-u'], env)).trim();
    if (existsSync(join(work, '.git', 'MERGE_HEAD')) || unmerged !== '') {
      return { kind: 'conflict', stdout: m.stdout, stderr: m.stderr };
    }
    throw new HarnessError(`git merge failed (${m.code}): ${m.stderr.trim() || m.stdout.trim()}`);
  }

  private closeMerged(pr: PullRequest, sha: string, who: 'job' | 'user'): void {
    pr.state = 'closed';
    pr.merged = true;
    pr.mergeCommitSha = sha;
    pr.mergedBy = who === 'job' ? this.actionsUser.name : this.userLogin;
    pr.mergedAt = pr.closedAt = new Date().toISOString();
  }

  /** delete_branch_after_merge: not while another open PR has the same head, never the default branch. */
  private async deleteMergedHead(pr: PullRequest): Promise<void> {
    const shared = [...this.pulls.values()].some(
      (o) => o !== pr && o.state === 'open' && o.head === pr.head
    );
    if (shared || pr.head === this.repoInfo.defaultBranch) return;
    if (await this.originHas(`refs/heads/${pr.head}`))
      await git(this.repo.origin, ['update-ref', '-d', `refs/heads/${pr.head}`], {});
  }

  /**
   * manually-merged: the commit must be on the base branch; nothing moves in
   * git. A user's: Gitea's MergedManually notifies the merge, so the pull
   * request closed (merged) starts runs (queued); no push happened.
   */
  private async markMerged(
    index: number,
    commit: string,
    caller: ForgeCaller
  ): Promise<GitMergeOutcome> {
    const pr = this.pull(index);
    const who = this.callerOf(caller);
    if (!HEX40.test(commit)) return { kind: 'wrong-commit' };
    const onBase = await run(
      'git',
      ['merge-base', '--is-ancestor', commit, `refs/heads/${pr.base}`],
      { cwd: this.repo.origin, env: this.mergeEnv() }
    );
    if (onBase.code !== 0) return { kind: 'wrong-commit' };
    this.closeMerged(pr, commit, who);
    if (who === 'user')
      this.enqueue(this.pullRequestContext(pr, 'closed', { sender: this.userLogin }));
    return { kind: 'merged', sha: commit };
  }

  /**
   * Gitea's DispatchActionWorkflow: the ref (a branch name, refs/heads/...
   * or refs/tags/...) resolved now, the workflow file looked up by name,
   * its declared inputs taken from the request or their defaults; a run
   * waiting on the forge and in the queue, the caller its sender. With the
   * job token and jobTokenDispatchRuns false (Gitea's default here): the
   * same answer and no run, recorded in droppedDispatches().
   */
  private async apiDispatch(req: {
    workflowId: string;
    ref: string;
    inputs: Record<string, string>;
    caller: ForgeCaller;
  }): Promise<DispatchOutcome> {
    const who = this.callerOf(req.caller);
    const full = /^refs\/(heads|tags)\//.test(req.ref) ? req.ref : `refs/heads/${req.ref}`;
    if (!(await this.originHas(`${full}^{commit}`))) return { kind: 'no-ref' };
    const sha = await this.originSha(`${full}^{commit}`);
    const path = `.${this.dialect}/workflows/${req.workflowId}`;
    const def = this.installed.get(path);
    if (!def) return { kind: 'no-workflow' };
    if (!def.dispatchInputs) return { kind: 'no-dispatch-trigger' };
    const declared = def.dispatchInputs;
    const inputs: Record<string, string> = {};
    for (const [k, spec] of Object.entries(declared))
      inputs[k] = Object.hasOwn(req.inputs, k) ? req.inputs[k] : (spec.default ?? '');
    const ignored = Object.keys(req.inputs).filter((k) => !Object.hasOwn(declared, k));
    if (who === 'job' && !this.jobTokenDispatchRuns) {
      this.dropped.push({ workflow: path, ref: full, sha, inputs });
      return { kind: 'no-run', inputs, ignored };
    }
    const actor = who === 'job' ? this.actionsUser.name : this.userLogin;
    const branch = full.replace(/^refs\/(heads|tags)\//, '');
    const payload = workflowDispatchEvent(
      this.repoInfo,
      { workflow: req.workflowId, ref: req.ref, inputs, sender: actor },
      this.dialect
    );
    const fakeRun = this.forge.fake.addRun({
      branch,
      state: 'waiting',
      event: 'workflow_dispatch',
      headSha: sha,
      workflowId: req.workflowId,
      ref: full
    });
    this.dispatchQueue.push({
      def,
      event: {
        info: { name: 'workflow_dispatch', payload, workflowFile: path },
        ref: full,
        sha,
        headRef: '',
        baseRef: '',
        actor,
        branch
      },
      fakeRun,
      inputs
    });
    return { kind: 'queued', runId: fakeRun.id, inputs, ignored };
  }

  // ---- runs and jobs -------------------------------------------------------------------

  /** One run of a workflow; `queued`: the forge's run a dispatch created, waiting until now. */
  private async runWorkflow(
    def: WorkflowDef,
    event: EventContext,
    queued?: FakeRun
  ): Promise<RunResult> {
    const fakeRun =
      queued ??
      this.forge.fake.addRun({
        branch: event.branch,
        state: 'running',
        event: event.info.name,
        headSha: event.sha,
        workflowId: basename(def.file),
        ref: event.ref
      });
    fakeRun.state = 'running';
    const dir = join(this.root, `run-${fakeRun.id}-${basename(def.file, '.yml')}`);
    mkdirSync(join(dir, 'artifacts'), { recursive: true });
    writeFileSync(join(dir, 'event.json'), JSON.stringify(event.info.payload, null, 2));
    const state: RunState = {
      id: fakeRun.id,
      runNumber: fakeRun.runNumber,
      dir,
      event,
      def,
      masks: new Set([this.jobToken, ...Object.values(this.secrets)].filter((s) => s !== '')),
      jobCount: 0
    };
    const frame: CallFrame = {
      prefix: '',
      def,
      inputs:
        event.info.name === 'workflow_dispatch'
          ? ((event.info.payload.inputs ?? {}) as Record<string, unknown>)
          : {},
      secrets: { ...this.secrets }
    };
    const concurrency = def.concurrency ? this.concurrencyGroup(def, state, frame) : undefined;
    let jobs: JobResult[];
    try {
      jobs = await this.runJobs(state, frame);
    } catch (err) {
      // A HarnessError (or a broken step process) ends the run on the forge too, then the test.
      fakeRun.state = 'failure';
      throw err;
    }
    const result = new RunResult({
      id: fakeRun.id,
      runNumber: fakeRun.runNumber,
      workflow: def.file,
      event: event.info.name,
      dir,
      jobs,
      concurrency,
      masks: [...state.masks]
    });
    fakeRun.state = result.conclusion;
    this.runs.push(result);
    // Gitea moves a pull request's head (and refs/pull/N/head) when its branch is pushed,
    // by the merge gate's catch-up too (a push that starts no run).
    for (const pr of this.pulls.values())
      if (pr.state === 'open') await this.refreshPullRequest(pr);
    return result;
  }

  private concurrencyGroup(def: WorkflowDef, state: RunState, frame: CallFrame): string {
    const scope: Scope = {
      contexts: {
        github: this.githubContext(state, '', ''),
        inputs: frame.inputs,
        vars: this.vars
      },
      where: `${def.file} concurrency`
    };
    const v = toJs(tokenValue(def.concurrency!, scope));
    return typeof v === 'string' ? v : String((v as { group?: unknown }).group ?? '');
  }

  private githubContext(state: RunState, job: string, workspace: string): Record<string, unknown> {
    const e = state.event;
    const refType = e.ref.startsWith('refs/tags/') ? 'tag' : 'branch';
    const refName = e.ref.replace(/^refs\/(heads|tags)\//, '').replace(/^refs\/pull\//, '');
    return {
      event: e.info.payload,
      event_name: e.info.name,
      event_path: join(state.dir, 'event.json'),
      workflow: state.def.name,
      run_id: String(state.id),
      run_number: String(state.runNumber),
      run_attempt: '1',
      actor: e.actor,
      triggering_actor: e.actor,
      repository: this.repository,
      repository_owner: this.forge.fake.owner,
      ref: e.ref,
      ref_name: refName,
      ref_type: refType,
      sha: e.sha,
      head_ref: e.headRef,
      base_ref: e.baseRef,
      token: this.jobToken,
      workspace,
      job,
      action: '',
      server_url: this.forge.origin,
      api_url: this.forge.apiUrl,
      graphql_url: '',
      retention_days: '90'
    };
  }

  /** The jobs of one workflow (top level or called), in `needs` order. */
  private async runJobs(state: RunState, frame: CallFrame): Promise<JobResult[]> {
    const done = new Map<string, JobResult>();
    const pending = [...frame.def.jobs];
    while (pending.length > 0) {
      const i = pending.findIndex((j) => j.needs.every((n) => done.has(n)));
      if (i === -1)
        throw new HarnessError(
          `${frame.def.file}: jobs ${pending.map((j) => j.id).join(', ')} can never start`
        );
      const [job] = pending.splice(i, 1);
      done.set(job.id, await this.runJob(state, frame, job, done));
    }
    return frame.def.jobs.map((j) => done.get(j.id)!);
  }

  private needsContext(job: JobDef, done: Map<string, JobResult>): Record<string, unknown> {
    return Object.fromEntries(
      job.needs.map((n) => [n, { result: done.get(n)!.result, outputs: done.get(n)!.outputs }])
    );
  }

  private async runJob(
    state: RunState,
    frame: CallFrame,
    job: JobDef,
    done: Map<string, JobResult>
  ): Promise<JobResult> {
    const path = `${frame.prefix}${job.id}`;
    const needs = this.needsContext(job, done);
    const results = job.needs.map((n) => done.get(n)!.result);
    const secrets = { ...frame.secrets, GITHUB_TOKEN: this.jobToken, GITEA_TOKEN: this.jobToken };
    const permissions = job.permissions ?? frame.def.permissions ?? frame.inherited;
    const base = {
      github: this.githubContext(state, job.id, ''),
      needs,
      inputs: frame.inputs,
      vars: this.vars
    };
    const runIf = evaluate(job.if.expression, job.if.allowed, {
      contexts: base,
      status: {
        success: () => results.every((r) => r === 'success'),
        failure: () => results.some((r) => r === 'failure'),
        cancelled: () => false
      },
      where: `${job.where} if`
    });
    if (!isTruthy(runIf)) {
      return { path, id: job.id, result: 'skipped', outputs: {}, steps: [], permissions };
    }
    if (job.uses) return this.runCall(state, frame, job, base, secrets, permissions);

    const scope = (extra: Record<string, unknown>, where: string): Scope => ({
      contexts: { ...base, secrets, strategy: {}, matrix: {}, ...extra },
      where
    });
    const runsOn = tokenString(job.runsOn, scope({}, `${job.where} runs-on`));
    if (!this.labels.includes(runsOn)) {
      throw new HarnessError(
        `${job.where}: runs-on '${runsOn}' matches no runner label (${this.labels.join(', ')})`
      );
    }
    const n = ++state.jobCount;
    const jobDir = join(state.dir, `job${n}-${path.replace('/', '-')}`);
    const workspace = join(jobDir, 'workspace', this.forge.fake.owner, this.forge.fake.repo);
    const home = join(jobDir, 'home');
    const temp = join(jobDir, 'temp');
    const toolCache =
      this.toolCacheMode === 'shared' ? this.sharedToolCache : join(jobDir, 'toolcache');
    for (const d of [workspace, home, temp, toolCache]) mkdirSync(d, { recursive: true });
    const github = this.githubContext(state, job.id, workspace);
    base.github = github;
    const runner = {
      os: 'Linux',
      arch: 'X64',
      name: 'harness',
      temp,
      tool_cache: toolCache,
      environment: 'self-hosted'
    };

    let env: Record<string, string> = {};
    env = { ...env, ...tokenStringMap(frame.def.env, scope({ env }, `${frame.def.file} env`)) };
    env = { ...env, ...tokenStringMap(job.env, scope({ env }, `${job.where} env`)) };
    const runnerEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      LANG: 'C.UTF-8',
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      ...(this.dialect === 'gitea' ? { GITEA_ACTIONS: 'true' } : {}),
      GITHUB_WORKFLOW: state.def.name,
      GITHUB_RUN_ID: String(state.id),
      GITHUB_RUN_NUMBER: String(state.runNumber),
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_ACTOR: state.event.actor,
      GITHUB_TRIGGERING_ACTOR: state.event.actor,
      GITHUB_REPOSITORY: this.repository,
      GITHUB_REPOSITORY_OWNER: this.forge.fake.owner,
      GITHUB_EVENT_NAME: state.event.info.name,
      GITHUB_EVENT_PATH: join(state.dir, 'event.json'),
      GITHUB_WORKSPACE: workspace,
      GITHUB_SHA: state.event.sha,
      GITHUB_REF: state.event.ref,
      GITHUB_REF_NAME: String(github.ref_name),
      GITHUB_REF_TYPE: String(github.ref_type),
      GITHUB_HEAD_REF: state.event.headRef,
      GITHUB_BASE_REF: state.event.baseRef,
      GITHUB_SERVER_URL: this.forge.origin,
      GITHUB_API_URL: this.forge.apiUrl,
      GITHUB_GRAPHQL_URL: '',
      GITHUB_JOB: job.id,
      GITHUB_RETENTION_DAYS: '90',
      ...(this.jobToken ? { GITHUB_TOKEN: this.jobToken } : {}),
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      RUNNER_NAME: 'harness',
      RUNNER_TEMP: temp,
      RUNNER_TOOL_CACHE: toolCache,
      // The machine's /etc/gitconfig is not the runner image's.
      GIT_CONFIG_NOSYSTEM: '1',
      ...this.machineEnv
    };
    const extraPath: string[] = [];
    const steps: StepResult[] = [];
    const stepsContext: Record<string, unknown> = {};
    let status: 'success' | 'failure' = 'success';
    const slot = { exclusive: this.running.size === 0 };
    for (const other of this.running) other.exclusive = false;
    this.running.add(slot);
    const firstRequest = this.forge.requests.length;
    const refsBefore = await this.originRefs();
    try {
      for (const step of job.steps) {
        const name = step.name ?? step.uses ?? 'Run script';
        const stepScope = (extra: Record<string, unknown>, where: string) =>
          scope({ steps: stepsContext, job: { status }, runner, env, ...extra }, where);
        const runStep = isTruthy(
          evaluate(step.if.expression, step.if.allowed, {
            ...stepScope({}, `${step.where} if`),
            status: {
              success: () => status === 'success',
              failure: () => status === 'failure',
              cancelled: () => false
            }
          })
        );
        if (!runStep) {
          steps.push({
            index: step.index,
            id: step.id,
            name,
            uses: step.uses,
            outcome: 'skipped',
            exitCode: null,
            outputs: {},
            stdout: '',
            stderr: '',
            summary: '',
            annotations: [],
            durationMs: 0
          });
          if (step.id)
            stepsContext[step.id] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
          continue;
        }
        const stepEnv = { ...env, ...tokenStringMap(step.env, stepScope({}, `${step.where} env`)) };
        const withValues = tokenStringMap(
          step.with,
          stepScope({ env: stepEnv }, `${step.where} with`)
        );
        const scratch = join(jobDir, `step${step.index + 1}`);
        mkdirSync(scratch);
        const files = stepFiles(scratch, step.index + 1);
        const processEnv: Record<string, string> = {
          ...runnerEnv,
          ...stepEnv,
          ...fileCommandEnv(files),
          PATH: [...extraPath, runnerEnv.PATH].join(':')
        };
        const rt: StepRuntime = {
          workspace,
          env: processEnv,
          scratch,
          origin: this.repo.origin,
          serverUrl: this.forge.origin,
          repository: this.repository,
          ref: state.event.ref,
          sha: state.event.sha,
          token: this.jobToken,
          artifacts: join(state.dir, 'artifacts'),
          forge: this.dialect,
          where: step.where
        };
        const started = Date.now();
        const executed = await this.executeStep(
          step,
          withValues,
          stepScope({ env: stepEnv }, step.where),
          rt
        );
        const fc = readFileCommands(files);
        const wc = workflowCommands(executed.stdout, step.where);
        for (const m of wc.masks) state.masks.add(m);
        env = { ...env, ...fc.env };
        extraPath.unshift(...fc.path.reverse());
        const outputs = { ...fc.outputs, ...(executed.outputs ?? {}) };
        const outcome = executed.code === 0 ? 'success' : 'failure';
        if (outcome === 'failure') status = 'failure';
        steps.push({
          index: step.index,
          id: step.id,
          name,
          uses: step.uses,
          outcome,
          exitCode: executed.code,
          outputs,
          inputs: executed.inputs,
          stdout: executed.stdout,
          stderr: executed.stderr,
          summary: fc.summary,
          annotations: wc.annotations,
          durationMs: Date.now() - started
        });
        if (step.id) stepsContext[step.id] = { outputs, outcome, conclusion: outcome };
      }
    } finally {
      this.running.delete(slot);
    }
    const outputs = tokenStringMap(
      job.outputs,
      scope({ steps: stepsContext, job: { status }, runner, env }, `${job.where} outputs`)
    );
    return {
      path,
      id: job.id,
      result: status,
      outputs,
      steps,
      permissions,
      runsOn,
      workspace,
      toolCache,
      forgeCalls: slot.exclusive ? this.forge.requests.slice(firstRequest) : undefined,
      pushed: slot.exclusive ? changedRefs(refsBefore, await this.originRefs()) : undefined
    };
  }

  private async executeStep(
    step: StepDef,
    withValues: Record<string, string>,
    scope: Scope,
    rt: StepRuntime
  ): Promise<Executed> {
    if (step.run !== undefined) {
      if (Object.keys(withValues).length > 0)
        throw new HarnessError(`${step.where}: with: on a run step`);
      const script = tokenString(step.run, { ...scope, where: `${step.where} run` });
      const wd = step.workingDirectory
        ? tokenString(step.workingDirectory, { ...scope, where: `${step.where} working-directory` })
        : '';
      return runScript(script, wd, rt);
    }
    const uses = step.uses!;
    if (step.workingDirectory || step.shell)
      throw new HarnessError(`${step.where}: shell/working-directory on a uses step`);
    if (uses === CHECKOUT) return checkout(withValues, rt);
    if (UPLOADS.includes(uses)) return upload(uses, withValues, rt);
    const dir = selfActionDir(uses);
    if (dir) return nodeAction(selfAction(dir), withValues, scope, rt);
    return unsupported(`action '${uses}'`, step.where);
  }

  /** A job that calls a reusable workflow: its jobs run as jobs of this run. */
  private async runCall(
    state: RunState,
    frame: CallFrame,
    job: JobDef,
    base: Record<string, unknown>,
    secrets: Record<string, string>,
    permissions: unknown
  ): Promise<JobResult> {
    const def = await this.calledWorkflow(job.uses!);
    const call = def.call!;
    const scope: Scope = {
      contexts: { ...base, secrets, strategy: {}, matrix: {} },
      where: `${job.where} with`
    };
    const given = job.with ? (toJs(tokenValue(job.with, scope)) as Record<string, unknown>) : {};
    const inputs: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(call.inputs)) {
      let v = name in given ? given[name] : undefined;
      if (v === undefined && spec.default) {
        v = toJs(
          tokenValue(spec.default, {
            contexts: { github: base.github, inputs, vars: this.vars },
            where: `${def.file} input ${name} default`
          })
        );
      }
      if (v === undefined) {
        if (spec.required)
          throw new HarnessError(`${job.where}: required input '${name}' of ${def.file} not given`);
        v = spec.type === 'boolean' ? false : spec.type === 'number' ? 0 : '';
      }
      // An expression that evaluated to null (an unset variable) is the empty value of the type.
      if (v === null) v = spec.type === 'boolean' ? false : spec.type === 'number' ? 0 : '';
      if (spec.type === 'string' && typeof v !== 'string') v = String(v);
      if (spec.type === 'boolean' && typeof v !== 'boolean') {
        if (v !== 'true' && v !== 'false')
          throw new HarnessError(`${job.where}: input '${name}' is not a boolean`);
        v = v === 'true';
      }
      inputs[name] = v;
    }
    let passed: Record<string, string>;
    if (job.secrets === 'inherit') passed = { ...frame.secrets };
    else
      passed = tokenStringMap(job.secrets, {
        contexts: { ...base, secrets, strategy: {}, matrix: {} },
        where: `${job.where} secrets`
      });
    for (const [name, spec] of Object.entries(call.secrets)) {
      if (spec.required && !passed[name])
        throw new HarnessError(`${job.where}: required secret '${name}' not passed`);
    }
    const inner: CallFrame = {
      prefix: `${frame.prefix}${job.id}/`,
      def,
      inputs,
      secrets: passed,
      inherited: permissions
    };
    const called = await this.runJobs(state, inner);
    const jobsContext = Object.fromEntries(
      called.map((j) => [j.id, { result: j.result, outputs: j.outputs }])
    );
    const outputs: Record<string, string> = {};
    for (const [name, token] of Object.entries(call.outputs)) {
      outputs[name] = tokenString(token, {
        contexts: {
          github: base.github,
          inputs,
          vars: this.vars,
          jobs: jobsContext,
          secrets: passed
        },
        where: `${def.file} outputs.${name}`
      });
    }
    return {
      path: `${frame.prefix}${job.id}`,
      id: job.id,
      result: called.some((j) => j.result === 'failure') ? 'failure' : 'success',
      outputs,
      steps: [],
      permissions,
      called
    };
  }

  /** ref -> sha of every ref on origin. */
  async originRefs(): Promise<Map<string, string>> {
    const text = await git(
      this.repo.origin,
      ['for-each-ref', '--format=%(objectname) %(refname)'],
      {}
    );
    return new Map(
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(41), l.slice(0, 40)] as [string, string])
    );
  }

  /** The pull request with this number. */
  pull(number: number): PullRequest {
    const pr = this.pulls.get(number);
    if (!pr) throw new HarnessError(`no pull request #${number}`);
    return pr;
  }
}
