// StateStore: the domain operations over a backend, one backend operation
// each. The clock is read once per call, outside the function the backend
// may re-run, so a retried git-ref change records the same time.

import type { Database } from 'better-sqlite3';
import type { StateBackend } from './backend.ts';
import {
  auditLog,
  getBaseline,
  ratchetBaseline,
  resetBaseline,
  setBaseline,
  type AuditEntry,
  type Baseline,
  type BaselineInput,
  type RatchetResult,
  type ResetInput,
  type ResetResult,
  type SetResult
} from './baseline.ts';
import { recentGateRuns, recordGateRun, type GateRun, type GateRunInput } from './gate-run.ts';
import {
  findMeasurementByTree,
  latestMeasurement,
  recordMeasurement,
  type Measurement,
  type MeasurementInput
} from './measurement.ts';
import { repoKey } from './keys.ts';
import { verifyState, type IntegrityReport } from './state-chain.ts';

export interface StateStoreOptions {
  now?: () => Date;
}

export class StateStore {
  readonly backend: StateBackend;
  private readonly now: () => Date;

  constructor(backend: StateBackend, opts: StateStoreOptions = {}) {
    this.backend = backend;
    this.now = opts.now ?? (() => new Date());
  }

  getBaseline(repo: string, branch: string): Promise<Baseline | undefined> {
    return this.read((db) => getBaseline(db, repo, branch));
  }

  ratchetBaseline(input: BaselineInput): Promise<RatchetResult> {
    const at = this.now();
    return this.backend.withDb('write', (db) => ratchetBaseline(db, input, at), {
      message: (r) =>
        `coverage baseline ${where(input)}: ${r.outcome} ${pct(r.old)} -> ${pct(r.new)} at ${short(input.sha)} by ${input.actor}`
    });
  }

  setBaseline(input: BaselineInput): Promise<SetResult> {
    const at = this.now();
    return this.backend.withDb('write', (db) => setBaseline(db, input, at), {
      message: (r) =>
        `coverage baseline ${where(input)}: set ${pct(r.old)} -> ${pct(r.new)} by ${input.actor}: ${input.reason}`
    });
  }

  resetBaseline(input: ResetInput): Promise<ResetResult> {
    const at = this.now();
    return this.backend.withDb('write', (db) => resetBaseline(db, input, at), {
      message: (r) =>
        `coverage baseline ${where(input)}: reset (was ${pct(r.old)}) by ${input.actor}: ${input.reason}`
    });
  }

  auditLog(repo: string, branch: string, limit?: number): Promise<AuditEntry[]> {
    return this.read((db) => auditLog(db, repo, branch, limit));
  }

  recordMeasurement(m: MeasurementInput): Promise<number> {
    const at = this.now();
    return this.backend.withDb('write', (db) => recordMeasurement(db, m, at), {
      message: () => `coverage measurement ${where(m)}: ${pct(m.percent)} at ${short(m.sha)}`
    });
  }

  findMeasurementByTree(repo: string, treeSha: string): Promise<Measurement | undefined> {
    return this.read((db) => findMeasurementByTree(db, repo, treeSha));
  }

  latestMeasurement(repo: string, branch: string): Promise<Measurement | undefined> {
    return this.read((db) => latestMeasurement(db, repo, branch));
  }

  recordGateRun(run: GateRunInput): Promise<number> {
    const at = this.now();
    return this.backend.withDb('write', (db) => recordGateRun(db, run, at), {
      message: () => `${run.gate} gate run ${where(run)}: ${run.verdict} at ${short(run.sha)}`
    });
  }

  recentGateRuns(repo: string, limit?: number): Promise<GateRun[]> {
    return this.read((db) => recentGateRuns(db, repo, limit));
  }

  /** The state checked against its chain (state-chain.ts); `full` walks every row. */
  verify(full = false): Promise<IntegrityReport> {
    return this.read((db) => verifyState(db, { full }));
  }

  private read<T>(fn: (db: Database) => T): Promise<T> {
    return this.backend.withDb('read', fn);
  }
}

function where(x: { repo: string; branch: string }): string {
  return `${repoKey(x.repo)}@${x.branch}`;
}

function pct(v: number | null): string {
  return v === null ? 'none' : `${v.toFixed(2)}%`;
}

function short(sha: string | undefined): string {
  return sha ? sha.slice(0, 12) : '-';
}
