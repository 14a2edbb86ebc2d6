// After (and before) a gate: the commit status on the gated sha, the sticky
// PR comment, the retry cap and its needs-human label, and the alerts. It
// never changes a verdict: every failure here is a warning line, and with no
// token or no forge the gate still gives its verdict and says what it skipped.

import type { RunContext } from '../../core/src/context.ts';
import { describeError } from '../../core/src/errors.ts';
import type { GateName, GateResult } from '../../core/src/verdict.ts';
import type { RepoRef } from '../../forge/src/actions-api.ts';
import { ForgeClient } from '../../forge/src/client.ts';
import type { FetchLike } from '../../forge/src/fetch-like.ts';
import { addLabel } from '../../forge/src/labels.ts';
import { gateContext, runUrl, setCommitStatus, verdictToStatus } from '../../forge/src/statuses.ts';
import { upsertGateRow } from '../../forge/src/sticky-comment.ts';
import { alertFor } from '../../notify/src/alerts.ts';
import { notify } from '../../notify/src/notify.ts';
import type { StateBackend } from '../../store/src/backend.ts';
import { isCancelled } from '../../store/src/branch-state.ts';
import { recordDefer, recordGateVerdict, resetBranch } from '../../store/src/retries.ts';
import { openStateBackend } from '../../store/src/state-inputs.ts';
import { blockingLines, blockingTotal, detailLines, gatedSha, keyFigure } from './figures.ts';
import { NEEDS_HUMAN_LABEL, type PublishConfig } from './config.ts';
import { gatedBranch, workspaceHead } from './where.ts';

/** Every gate's status context starts so (gateContext). */
const STATUS_CONTEXT_PREFIX = gateContext('');

/** A commit status as both forges list it (Gitea says `status`, GitHub `state`). */
interface ForgeStatus {
  context?: string;
  status?: string;
  state?: string;
  description?: string;
  target_url?: string;
}

export interface PublishDeps {
  /** Default: the global fetch. Every forge request goes through it (and is counted). */
  fetch?: FetchLike;
  /** Passed to the forge client (tests shorten backoff). */
  backoffMs?: number;
}

export interface PublishOutcome {
  warnings: string[];
  /** FAIL verdicts of this gate on this branch, counting this one (undefined without a store). */
  failures?: number;
  needsHuman: boolean;
  /** Channels an alert reached. */
  alerted: string[];
}

export class Publisher {
  /** Forge requests made so far (each attempt of a retried request counts). */
  apiCalls = 0;
  private readonly client?: ForgeClient;
  private readonly repo?: RepoRef;
  private readonly prNumber?: number;
  private readonly link?: string;
  private startSha?: string;
  private readonly warnings: string[] = [];
  private readonly gate: GateName;
  private readonly cfg: PublishConfig | undefined;
  private readonly ctx: RunContext;

  constructor(
    gate: GateName,
    cfg: PublishConfig | undefined,
    ctx: RunContext,
    deps: PublishDeps = {}
  ) {
    this.gate = gate;
    this.cfg = cfg;
    this.ctx = ctx;
    const [owner, name] = ctx.repository.split('/');
    if (owner && name) this.repo = { owner, repo: name };
    this.prNumber = ctx.event.prNumber;
    this.link = runUrl(ctx.env);
    if (!cfg) return;
    if (cfg.token === '' && cfg.apiUrl === '') {
      // Not on a forge at all (a local CLI run): nothing to publish, nothing to warn about.
      ctx.logger.debug('no forge (GITHUB_API_URL and token empty): verdict not published');
      return;
    }
    if (cfg.token === '' || cfg.apiUrl === '' || !this.repo) {
      const missing =
        cfg.token === ''
          ? "input 'token'"
          : cfg.apiUrl === ''
            ? 'GITHUB_API_URL'
            : 'GITHUB_REPOSITORY';
      this.warn(
        `verdict not published to the forge: ${missing} is empty (no commit status, no PR comment)`
      );
      return;
    }
    const base = deps.fetch ?? (globalThis.fetch as FetchLike);
    const counted: FetchLike = (url, init) => {
      this.apiCalls++;
      return base(url, init);
    };
    this.client = new ForgeClient({
      apiUrl: cfg.apiUrl,
      token: cfg.token,
      fetch: counted,
      logger: ctx.logger,
      ...(deps.backoffMs !== undefined ? { backoffMs: deps.backoffMs } : {})
    });
  }

  /**
   * Before the gate: a cancelled branch whose PR is reopened starts from
   * scratch (only on `reopened`: runs STOP could not cancel must still find
   * the branch cancelled); the status goes pending.
   */
  async start(): Promise<void> {
    // The branch matters here only for a reopened PR (one git process less otherwise).
    const reopened = this.ctx.event.action === 'reopened';
    const [head, branch] = await Promise.all([
      workspaceHead(this.ctx),
      reopened ? gatedBranch(this.ctx) : undefined
    ]);
    this.startSha = head ?? this.ctx.event.headSha;
    await this.step('state store', async (backend) => {
      if (!branch || !reopened) return;
      const cancelled = await backend.withDb('read', (db) =>
        isCancelled(db, this.ctx.repository, branch)
      );
      if (!cancelled) return;
      await backend.withDb('write', (db) => resetBranch(db, this.ctx.repository, branch), {
        message: () => `branch ${branch} reopened after STOP: counters reset`
      });
      this.ctx.logger.info(
        `branch ${branch} was cancelled by STOP and its PR reopened: it starts from scratch`
      );
    });
    if (this.client && this.repo && this.startSha) {
      await this.forgeStep('pending status', () =>
        setCommitStatus(this.client!, this.repo!, this.startSha!, {
          state: 'pending',
          context: gateContext(this.gate),
          description: `${this.gate} gate running`,
          targetUrl: this.link
        })
      );
    }
  }

  async finish(result: GateResult): Promise<PublishOutcome> {
    const sha = gatedSha(result) ?? this.startSha;
    const branch = await gatedBranch(this.ctx);
    let failures: number | undefined;
    let deferStreak = 0;
    await this.step('retry count', async (backend) => {
      if (!branch || result.verdict === 'SKIPPED') return;
      const rec = {
        repo: this.ctx.repository,
        branch,
        gate: this.gate,
        verdict: result.verdict,
        sha: sha ?? ''
      };
      const now = this.ctx.now();
      failures = (
        await backend.withDb('write', (db) => recordGateVerdict(db, rec, now), {
          message: () => `${this.gate} verdict ${result.verdict} for ${branch}`
        })
      ).failures;
      if (result.verdict === 'DEFER') {
        deferStreak = await backend.withDb(
          'write',
          (db) => recordDefer(db, this.ctx.repository, branch),
          {
            message: () => `merge deferred for ${branch}`
          }
        );
      }
    });
    const needsHuman =
      result.verdict === 'FAIL' &&
      failures !== undefined &&
      this.cfg !== undefined &&
      failures >= this.cfg.maxRetries;
    const humanNote = needsHuman
      ? `${this.gate} failed ${failures} times on ${branch} (max-developer-retries ${this.cfg!.maxRetries}): labelled ${NEEDS_HUMAN_LABEL}; a human should look before another attempt`
      : undefined;
    if (humanNote) this.ctx.logger.warning(humanNote);

    if (this.client && this.repo && sha) await this.publishStatus(result, sha);
    if (this.client && this.repo && this.prNumber !== undefined) {
      await this.forgeStep('PR comment', async () => {
        const r = await upsertGateRow(
          this.client!,
          this.repo!,
          this.prNumber!,
          {
            gate: this.gate,
            verdict: result.verdict,
            figure: keyFigure(this.gate, result.frontmatter),
            summary: result.summary,
            link: this.link,
            blocking: blockingLines(result),
            blockingTotal: blockingTotal(result),
            ...(detailLines(result) ? { details: detailLines(result) } : {}),
            headSha: sha ?? ''
          },
          humanNote ? { needsHuman: humanNote } : {},
          { settleMs: 0 }
        );
        for (const w of r.warnings) this.warn(w);
      });
      if (needsHuman) {
        await this.forgeStep(`label ${NEEDS_HUMAN_LABEL}`, async () => {
          const r = await addLabel(this.client!, this.repo!, this.prNumber!, NEEDS_HUMAN_LABEL);
          if (typeof r === 'string') this.warn(r);
        });
      }
    } else if (this.client && this.prNumber === undefined) {
      this.ctx.logger.info('no pull request in the event: no PR comment');
    }

    const alerted: string[] = [];
    const alert = alertFor({
      verdict: result.verdict,
      gate: this.gate,
      failureClass:
        typeof result.frontmatter.failure_class === 'string'
          ? result.frontmatter.failure_class
          : undefined,
      deferCount: deferStreak,
      deferThreshold: this.cfg?.notify.deferAlertAfter ?? 3,
      infraAlert: result.frontmatter.failure_class === 'timeout',
      tampered: result.frontmatter.state_integrity === 'tampered'
    });
    if (alert && this.cfg) {
      const sent = await notify(
        {
          kind: alert.kind,
          repository: this.ctx.repository,
          branch: branch ?? '',
          gate: this.gate,
          verdict: result.verdict,
          summary: result.summary,
          sha: sha ?? '',
          runUrl: this.link ?? '',
          at: this.ctx.now().toISOString()
        },
        this.cfg.notify,
        this.ctx.logger
      );
      alerted.push(...sent.sent);
      for (const w of sent.warnings) this.warn(w);
    }
    return { warnings: [...this.warnings], failures, needsHuman, alerted };
  }

  /** The final status on the gated sha; when the merge gate moved the head, the old head and the earlier gates follow. */
  private async publishStatus(result: GateResult, sha: string): Promise<void> {
    const status = {
      state: verdictToStatus(result.verdict),
      context: gateContext(this.gate),
      description: `${result.verdict}: ${result.summary}`,
      targetUrl: this.link
    };
    await this.forgeStep('commit status', () =>
      setCommitStatus(this.client!, this.repo!, sha, status)
    );
    const old = this.startSha;
    if (!old || old === sha) return;
    await this.forgeStep('commit status of the old head', () =>
      setCommitStatus(this.client!, this.repo!, old, {
        ...status,
        description: `${result.verdict} (branch moved to ${sha.slice(0, 12)}): ${result.summary}`
      })
    );
    await this.forgeStep('earlier statuses carried to the new head', () =>
      this.carryStatuses(old, sha)
    );
  }

  /**
   * A clean rebase keeps the branch's own changes, so the verdicts of earlier
   * gates (security) still hold on the new head; the PR shows the new head's
   * statuses only, so they are copied there, saying from where.
   */
  private async carryStatuses(from: string, to: string): Promise<void> {
    const { owner, repo } = this.repo!;
    // The combined status holds the newest status of each context.
    const combined = await this.client!.request<{ statuses?: ForgeStatus[] | null }>(
      'GET',
      `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/commits/${from}/status`
    );
    const mine = gateContext(this.gate);
    const latest = new Map<string, ForgeStatus>();
    for (const s of combined?.statuses ?? []) {
      const name = s.context ?? '';
      if (name.startsWith(STATUS_CONTEXT_PREFIX) && name !== mine) latest.set(name, s);
    }
    for (const [context, s] of latest) {
      const state = s.status ?? s.state;
      if (state !== 'success') continue;
      await setCommitStatus(this.client!, this.repo!, to, {
        state: 'success',
        context,
        description: `${s.description ?? ''} (carried from ${from.slice(0, 12)})`,
        targetUrl: s.target_url || this.link
      });
    }
  }

  private async step(what: string, fn: (backend: StateBackend) => Promise<void>): Promise<void> {
    if (!this.cfg || !this.ctx.repository) return;
    try {
      await fn(await openStateBackend(this.cfg.state, this.ctx.event.baseRef ?? 'main', this.ctx));
    } catch (err) {
      this.warn(`${what} not recorded: ${describeError(err)}`);
    }
  }

  private async forgeStep(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.warn(`${what} not published: ${describeError(err)}`);
    }
  }

  private warn(line: string): void {
    this.warnings.push(line);
    this.ctx.logger.warning(line);
  }
}
