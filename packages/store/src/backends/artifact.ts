// The `artifact` state backend: the SQLite state file travels between runs
// as a workflow artefact named `quality-gates-state`.
//
// At the first withDb() it downloads the state through the REST API from the
// newest successful run on the target branch that has a non-expired artefact
// of that name (runs newest first, that run's artefacts, the zip, the single
// state file in it), checks it, and keeps it at the local path (input
// state-path). Writes change only that local file; uploading it is the
// workflow's step after the gate (`changed` says whether there is anything
// to upload). Nothing is atomic (`atomic: false`):
//
// - A lost race: two runs both download version N, both write, both upload.
//   The later upload becomes the newest state; the other run's ratchet is
//   lost. The baseline can therefore go back to an older value, but never
//   lower than what the later run itself saw (its own download plus its own
//   change). Serialise landings (one landing job at a time, e.g. a
//   concurrency group) if that matters.
// - An expired artefact (retention, 90 days by default on both forges) is
//   skipped; when none is left, the state starts empty with a warning note:
//   the baseline bootstraps again from the next landing.
// - No artefact at all (first run) is the same empty start, also noted.
//   A failure to reach the API (the forge's one-line message, permission
//   named) or a damaged artefact is a StoreError, never an empty start:
//   silently starting over would drop the baseline.
//
// The upload must use the v4 artefact protocol: Gitea's REST API lists and
// serves only v4 artefacts (an actions/upload-artifact@v3 upload is
// invisible to it). On GitHub use actions/upload-artifact@v4; on Gitea
// (>= 1.23) actions/upload-artifact@v4 refuses to run (it takes Gitea for
// GHES), so use a v4-protocol fork such as christopherhx/gitea-upload-artifact@v4.
// Upload only the state file (not its directory), with overwrite: true when
// several jobs of one run may upload it.

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Database as Db } from 'better-sqlite3';
import { ensureDir } from '../../../core/src/artefact.ts';
import type { Logger } from '../../../core/src/logger.ts';
import { ZipError, zipEntries, type ZipEntry } from '../../../core/src/zip-reader.ts';
import { ActionsApi } from '../../../forge/src/actions-api.ts';
import { ForgeClient } from '../../../forge/src/client.ts';
import type { FetchLike } from '../../../forge/src/fetch-like.ts';
import { ForgeError } from '../../../forge/src/forge-error.ts';
import {
  emptyStats,
  noteIntegrity,
  type BackendStats,
  type StateBackend,
  type WithDbOptions
} from '../backend.ts';
import { asStoreError, StoreError } from '../errors.ts';
import { openStateDatabase } from '../open-database.ts';
import {
  DEFAULT_RETENTION,
  pruneAfterWrite,
  type PruneCounts,
  type RetentionPolicy
} from '../retention.ts';
import { verifyState, type IntegrityReport } from '../state-chain.ts';
import { STATE_ARTIFACT_NAME } from '../state-inputs.ts';
import { describeRun, stateArtifactCandidates, type Candidate } from './artifact-search.ts';
import { installStateFile } from './artifact-state-file.ts';

export interface ArtifactBackendOptions {
  /** A forge client, or what it takes to build one. */
  api: ForgeClient | { apiUrl: string; token: string; fetch?: FetchLike };
  owner: string;
  repo: string;
  /** The target branch: its successful runs carry the state. */
  branch: string;
  /** Where the state file is kept for the workflow's upload step (input state-path). */
  localPath: string;
  logger: Logger;
  /** Default 'quality-gates-state'. */
  artifactName?: string;
  /** Successful runs examined before giving up. Default 100. */
  maxRuns?: number;
  /** Largest state file accepted. Default 512 MiB. */
  maxStateBytes?: number;
  /**
   * An id of this run attempt (e.g. `${GITHUB_RUN_ID}.${GITHUB_RUN_ATTEMPT}`).
   * When set, a local copy fetched earlier in the same attempt (another gate
   * in the job) is reused instead of downloaded over, which would drop the
   * earlier gate's write.
   */
  runId?: string;
  now?: () => Date;
  /** The state-key input: the state chain is signed with it (state-chain.ts). */
  stateKey?: string;
  /** How the history tables are bounded (retention.ts). Default: 90 days and the default row caps. */
  retention?: RetentionPolicy;
}

export type StateOrigin =
  | { kind: 'artifact'; runId: number; artifactId: number; entry: string }
  | { kind: 'empty'; reason: string }
  | { kind: 'reused' };

interface Marker {
  runId: string;
  origin: StateOrigin;
}

export class ArtifactBackend implements StateBackend {
  readonly name = 'artifact' as const;
  readonly atomic = false;
  readonly stats: BackendStats = emptyStats();
  /** Lines for the gate's report: where the state came from, what was skipped. */
  readonly notes: string[] = [];
  /** The notes a user must act on or know (the baseline starts over, the state was changed outside quality-gates); already logged as warnings. */
  readonly warnings: string[] = [];
  /** State changed outside quality-gates, found when an operation opened the state (also in warnings). */
  readonly tamper: string[] = [];
  integrity: IntegrityReport | undefined;
  /** What retention removed in the newest write that pruned anything. */
  lastPruned: PruneCounts | undefined;
  /** Set once the state is in place. */
  origin: StateOrigin | undefined;
  /** True after a write succeeded: the workflow should upload the local file. */
  changed = false;
  readonly localPath: string;
  readonly artifactName: string;
  private readonly api: ActionsApi;
  private readonly branch: string;
  private readonly logger: Logger;
  private readonly maxRuns: number;
  private readonly maxStateBytes: number;
  private readonly runId: string | undefined;
  private readonly now: () => Date;
  private preparing: Promise<void> | undefined;
  private readonly stateKey?: string;
  private readonly retention: RetentionPolicy;

  constructor(opts: ArtifactBackendOptions) {
    const client =
      opts.api instanceof ForgeClient
        ? opts.api
        : new ForgeClient({ ...opts.api, logger: opts.logger });
    this.api = new ActionsApi(client, { owner: opts.owner, repo: opts.repo });
    this.branch = opts.branch;
    this.localPath = resolve(opts.localPath);
    this.logger = opts.logger;
    this.artifactName = opts.artifactName ?? STATE_ARTIFACT_NAME;
    this.maxRuns = opts.maxRuns ?? 100;
    this.maxStateBytes = opts.maxStateBytes ?? 512 * 1024 * 1024;
    this.runId = opts.runId;
    this.now = opts.now ?? (() => new Date());
    this.stateKey = opts.stateKey || undefined;
    this.retention = opts.retention ?? DEFAULT_RETENTION;
  }

  describe(): string {
    return `artifact '${this.artifactName}' (${this.api.repo.owner}/${this.api.repo.repo}, branch ${this.branch})`;
  }

  async withDb<T>(mode: 'read' | 'write', fn: (db: Db) => T, _opts?: WithDbOptions<T>): Promise<T> {
    this.stats.operations++;
    await this.ready();
    this.stats.attempts++;
    // Empty state: reading must not leave a file the workflow would upload.
    const absentRead = mode === 'read' && !existsSync(this.localPath);
    const location = `${this.describe()} at ${this.localPath}`;
    let db: Db;
    try {
      if (!absentRead) ensureDir(dirname(this.localPath));
      // Rollback journal: once closed, the state is the one file the workflow uploads.
      db = openStateDatabase(absentRead ? ':memory:' : this.localPath, {
        journal: 'delete',
        writable: mode === 'write',
        location,
        now: this.now,
        stateKey: this.stateKey
      });
    } catch (err) {
      throw asStoreError(location, err);
    }
    try {
      let ok = true;
      if (!absentRead) {
        const seen = this.tamper.length;
        const report = verifyState(db);
        ok = report.ok;
        noteIntegrity(this, report, location);
        for (const line of this.tamper.slice(seen)) this.logger.warning(line);
      }
      const value = fn(db);
      if (mode === 'write') {
        pruneAfterWrite(this, db, this.retention, ok, this.now());
        this.changed = true;
        this.stats.pushes++;
      }
      return value;
    } catch (err) {
      throw asStoreError(location, err);
    } finally {
      db.close();
    }
  }

  /** Fetches the state once; a failed attempt is forgotten so a later call tries again. */
  private ready(): Promise<void> {
    this.preparing ??= this.prepare().catch((err: unknown) => {
      this.preparing = undefined;
      // The forge's own message (status, permission) is the useful part; the kind becomes the store's.
      throw err instanceof ForgeError ? new StoreError(this.describe(), err.message) : err;
    });
    return this.preparing;
  }

  private async prepare(): Promise<void> {
    if (this.reusable()) {
      this.origin = { kind: 'reused' };
      this.note('info', `reusing the state fetched earlier in this run at ${this.localPath}`);
      return;
    }
    const candidates = stateArtifactCandidates(this.api, {
      branch: this.branch,
      name: this.artifactName,
      maxRuns: this.maxRuns,
      now: this.now,
      note: (line) => this.note('info', line)
    });
    for await (const c of candidates) {
      let zip: Buffer;
      try {
        zip = await this.api.downloadArtifact(c.artifact.id);
      } catch (err) {
        // Listed a moment ago, gone now: it expired in between (Gitea answers 404 "Artifact has expired").
        if (err instanceof ForgeError && (err.status === 404 || err.status === 410)) {
          this.note(
            'info',
            `artefact id ${c.artifact.id} of run ${describeRun(c.run)} could not be downloaded (${err.status}); trying older runs`
          );
          continue;
        }
        throw err;
      }
      const entry = this.pickEntry(zip, c);
      const location = `state file '${entry.name}' in artefact '${this.artifactName}' (id ${c.artifact.id}, run ${describeRun(c.run)})`;
      let bytes: Buffer;
      try {
        bytes = entry.read();
      } catch (err) {
        throw new StoreError(location, `cannot be extracted: ${(err as Error).message}`);
      }
      installStateFile(bytes, this.localPath, location, this.now);
      this.origin = {
        kind: 'artifact',
        runId: c.run.id,
        artifactId: c.artifact.id,
        entry: entry.name
      };
      const at = c.run.head_sha ? ` at ${c.run.head_sha.slice(0, 12)}` : '';
      this.note('info', `state from ${location}${at}`);
      this.writeMarker();
      return;
    }
    // A local file without a matching marker is a leftover (a reused workspace); it is not the state.
    rmSync(this.localPath, { force: true });
    const reason = `no non-expired '${this.artifactName}' artefact in the successful runs of ${this.branch}`;
    this.origin = { kind: 'empty', reason };
    this.note(
      'warning',
      `${reason}: starting from an empty state database; the baseline starts over (first run, or the artefact expired)`
    );
    this.writeMarker();
  }

  /** The state file in the archive: the only file, or the one named like the local path. */
  private pickEntry(zip: Buffer, c: Candidate): ZipEntry {
    const where = `artefact '${this.artifactName}' (id ${c.artifact.id}, run ${describeRun(c.run)})`;
    let files: ZipEntry[];
    try {
      files = zipEntries(zip, { maxEntryBytes: this.maxStateBytes });
    } catch (err) {
      const why = err instanceof ZipError ? err.message : String(err);
      throw new StoreError(where, `is refused: ${why}`);
    }
    if (files.length === 1) return files[0];
    const named = files.filter((f) => basename(f.name) === basename(this.localPath));
    if (named.length === 1) return named[0];
    const names = files.map((f) => f.name).join(', ') || 'no files';
    throw new StoreError(
      where,
      `holds ${files.length} files (${names}); expected the single state file ${basename(this.localPath)}`
    );
  }

  private markerPath(): string {
    return `${this.localPath}.origin.json`;
  }

  private reusable(): boolean {
    if (this.runId === undefined || !existsSync(this.markerPath())) return false;
    try {
      const m = JSON.parse(readFileSync(this.markerPath(), 'utf8')) as Marker;
      if (m.runId !== this.runId) return false;
      // An empty start has no file yet (or only what this run wrote): both are this run's state.
      return m.origin.kind === 'empty' || existsSync(this.localPath);
    } catch {
      return false;
    }
  }

  private writeMarker(): void {
    if (this.runId === undefined || this.origin === undefined) return;
    ensureDir(dirname(this.markerPath()));
    const m: Marker = { runId: this.runId, origin: this.origin };
    writeFileSync(this.markerPath(), `${JSON.stringify(m)}\n`);
  }

  private note(level: 'info' | 'warning', line: string): void {
    this.notes.push(line);
    if (level === 'warning') this.warnings.push(line);
    if (level === 'warning') this.logger.warning(line);
    else this.logger.info(line);
  }
}
