// What a state backend may do in this job, decided by where the state was
// placed (state-default.ts) and enforced around every operation, whoever
// opens the backend (gates, the publisher, the tools):
//
//   - a file that does not outlive the job takes no write: the first write
//     is refused with one ConfigurationError line naming the fix (a merge
//     lease, a baseline or a count kept there would be lost with the job,
//     silently); a read goes on, with one warning saying what it sees;
//   - git-ref from a fork's pull request (read-only job token): writes run
//     on a private copy that is dropped (a measurement, a gate run, a retry
//     count are not kept, said in one warning); one that would take, change
//     or release a merge lease, or set a coverage baseline, fails closed;
//   - git-ref in a forge job, before its first operation: the default file
//     of earlier releases is imported once into a ref that does not exist
//     yet (state-import.ts), said in one line.

import { existsSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import type { RunContext } from '../../core/src/context.ts';
import { ConfigurationError, ToolError, describeError } from '../../core/src/errors.ts';
import type { StateBackend, StateBackendName, WithDbOptions } from './backend.ts';
import { CHAINED_ROWS, keyParts } from './chained-rows.ts';
import { isTampered } from './errors.ts';
import type { StatePlacement } from './state-default.ts';
import { importLegacyState } from './state-import.ts';

/** The ToolError kind of a state change refused from a fork: no gate lists it as fail-open. */
export const FORK_STATE_ERROR_KIND = 'state-read-only';

export interface GuardInput {
  placement?: StatePlacement;
  repository: string;
  stateKey?: string;
}

/** `inner`, guarded as its placement requires (the backend itself when nothing applies). */
export function guardStateBackend(
  inner: StateBackend,
  input: GuardInput,
  ctx: RunContext
): StateBackend {
  const p = input.placement;
  if (!p) return inner;
  if (p.chosen) once(`info ${p.chosen}`, () => ctx.logger.info(`state: ${p.chosen}`));
  const legacy =
    inner.name === 'git-ref' &&
    p.legacyPath !== undefined &&
    p.fork === undefined &&
    input.repository !== '' &&
    existsSync(p.legacyPath)
      ? p.legacyPath
      : undefined;
  if (!p.jobScoped && !p.fork && !legacy) return inner;
  return new GuardedBackend(inner, p, legacy, input, ctx);
}

class GuardedBackend implements StateBackend {
  readonly name: StateBackendName;
  readonly atomic: boolean;
  private readonly inner: StateBackend;
  private readonly placement: StatePlacement;
  private readonly legacy?: string;
  private readonly input: GuardInput;
  private readonly ctx: RunContext;
  private readonly own: string[] = [];

  constructor(
    inner: StateBackend,
    placement: StatePlacement,
    legacy: string | undefined,
    input: GuardInput,
    ctx: RunContext
  ) {
    this.inner = inner;
    this.name = inner.name;
    this.atomic = inner.atomic;
    this.placement = placement;
    this.legacy = legacy;
    this.input = input;
    this.ctx = ctx;
  }

  get stats() {
    return this.inner.stats;
  }

  get warnings(): readonly string[] {
    return [...this.own, ...(this.inner.warnings ?? [])];
  }

  get tamper() {
    return this.inner.tamper;
  }

  get integrity() {
    return this.inner.integrity;
  }

  describe(): string {
    return this.inner.describe();
  }

  async withDb<T>(
    mode: 'read' | 'write',
    fn: (db: Database) => T,
    opts?: WithDbOptions<T>
  ): Promise<T> {
    const scoped = this.placement.jobScoped;
    if (scoped) {
      if (mode === 'write') throw new ConfigurationError(scoped.input, scoped.expected, scoped.got);
      this.warn(scoped.warning);
    }
    if (this.legacy) {
      try {
        await this.importLegacy(this.legacy);
      } catch (err) {
        // A state that does not verify refuses everything; a push that failed only stops writes.
        if (mode === 'write' || isTampered(err)) throw err;
        this.warn(
          `state: ${this.legacy}, the default file of earlier releases, was not imported into ${this.describe()} (${describeError(err)}); this step reads ${this.describe()} without it`
        );
      }
    }
    const fork = this.placement.fork;
    if (fork === undefined || mode === 'read') return this.inner.withDb(mode, fn, opts);
    let changed = false;
    const value = await this.inner.withDb('read', (db) => {
      const before = held(db);
      const changes = totalChanges(db);
      const v = fn(db);
      const refused = heldChange(before, held(db));
      if (refused) throw new ToolError(FORK_STATE_ERROR_KIND, this.forkLine(fork, refused));
      changed = totalChanges(db) !== changes;
      return v;
    });
    if (changed)
      this.warn(
        `${this.forkLine(fork)}: what this step recorded (measurements, gate runs, retry counts) was not kept`
      );
    return value;
  }

  private forkLine(fork: string, refused?: string): string {
    const head = `state store ${this.describe()}: a pull request from the fork ${fork} cannot push it (read-only token)`;
    return refused === undefined
      ? head
      : `${head}, so ${refused} from here (fail closed): land it from a branch of ${this.input.repository || 'the repository'}`;
  }

  private importLegacy(path: string): Promise<void> {
    const key = `${path}\0${this.describe()}\0${this.input.repository}`;
    let run = imports.get(key);
    if (!run) {
      run = importLegacyState(this.inner, {
        path,
        repository: this.input.repository,
        stateKey: this.input.stateKey,
        now: this.ctx.now
      }).then((line) => {
        if (line) this.warn(line);
      });
      // A failed import is not remembered: the next operation tries again and refuses the same way.
      run.catch(() => imports.delete(key));
      imports.set(key, run);
    }
    return run;
  }

  private warn(line: string): void {
    if (this.own.includes(line)) return;
    this.own.push(line);
    this.ctx.logger.warning(line);
  }
}

const imports = new Map<string, Promise<void>>();
const said = new Set<string>();

function once(key: string, fn: () => void): void {
  if (said.has(key)) return;
  said.add(key);
  fn();
}

/** The merge leases and coverage baselines of a state, as chain values. */
function held(db: Database): { lease: Map<string, string>; baseline: Map<string, string> } {
  return { lease: CHAINED_ROWS.lease.all(db), baseline: CHAINED_ROWS.baseline.all(db) };
}

/** What a write changed that a fork's run may not: undefined when neither a lease nor a baseline changed. */
function heldChange(
  before: ReturnType<typeof held>,
  after: ReturnType<typeof held>
): string | undefined {
  for (const kind of ['lease', 'baseline'] as const) {
    const a = before[kind];
    const b = after[kind];
    for (const key of new Set([...a.keys(), ...b.keys()]))
      if (a.get(key) !== b.get(key))
        return kind === 'lease'
          ? 'the merge lease is not taken or released'
          : `the coverage baseline of ${keyParts(key)[1] ?? key} is not set`;
  }
  return undefined;
}

function totalChanges(db: Database): number {
  return db.prepare('SELECT total_changes()').pluck().get() as number;
}
