// Detection in worker threads: the main thread cuts git's output into
// segments (LogSegmenter) and hands each segment's bytes to a worker, which
// parses and scans it (segment-scan.ts); results come back per segment, and
// the caller merges them in segment order, so findings are the same as when
// one thread does it all. Each worker compiles the same rules.
//
// The worker script is detect-worker.ts beside this module (run from source)
// or the secrets-detect-worker bundle beside this bundle's folder in dist/;
// without it, everything stays on the main thread.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LogSegment } from '../../../git/src/added-lines.ts';
import type { Allowlist } from './allowlist.ts';
import type { LoadedRules } from './ruleset/config.ts';
import type { SegmentOptions, SegmentResult } from './segment-scan.ts';
import type { GitleaksAllowlist, GitleaksRule } from './ruleset/schema.ts';

/** What a worker compiles: the default ruleset, or a repository's rules (already validated by the main thread). */
export type RulesSource =
  | { defaults: true }
  | { defaults: false; rules: readonly GitleaksRule[]; globals: readonly GitleaksAllowlist[] };

/** A segment of git's output to parse and scan (segment-scan.ts); its bytes are transferred, not copied. */
export interface SegmentJob {
  id: number;
  segment: LogSegment;
}

/** What a worker needs besides the rules to scan segments. */
export interface SegmentSetup {
  allowlist: Allowlist;
  options: SegmentOptions;
}

export type DetectReply = { id: number; segment: SegmentResult } | { id: number; error: string };

/** The rules in a form a worker can be sent. */
export function rulesSource(rules: LoadedRules): RulesSource {
  return rules.source ?? { defaults: true };
}

/** The worker script this module can start, if there is one. */
export function workerScript(): string | undefined {
  const self = fileURLToPath(import.meta.url);
  const script = self.endsWith('.ts')
    ? join(dirname(self), 'detect-worker.ts')
    : join(dirname(dirname(self)), WORKER_BUNDLE, 'index.js');
  // A bundle inside the worker bundle's own folder would start itself: no.
  if (basename(dirname(self)) === WORKER_BUNDLE) return undefined;
  return existsSync(script) ? script : undefined;
}

/** dist/<this>/index.js: the bundle of detect-worker.ts. */
export const WORKER_BUNDLE = 'secrets-detect-worker';

/**
 * Workers to start by default: the cores but one, which git needs (at least
 * one, at most four). Measured on 2 cores: two workers took 2.2 s where one
 * took 2.0 s (each warms its own JIT and heap: 0.6 CPU-s more in all).
 */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

interface Pending {
  resolve: (result: SegmentResult) => void;
  reject: (err: Error) => void;
  worker: Worker;
}

export class DetectPool {
  readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(script: string, rules: RulesSource, size: number, setup: SegmentSetup) {
    this.size = size;
    for (let i = 0; i < size; i++) {
      const w = new Worker(script, { workerData: { rules, setup } });
      w.on('message', (m: DetectReply) => this.reply(m));
      w.on('error', (e) => this.fail(w, e instanceof Error ? e : new Error(String(e))));
      w.on('exit', (code) => {
        if (this.workers.includes(w))
          this.fail(w, new Error(`secrets detection worker exited with code ${code}`));
      });
      this.workers.push(w);
    }
  }

  /** A pool of `size` workers, or undefined when no worker script is at hand (detect on this thread). */
  static start(
    rules: LoadedRules,
    setup: SegmentSetup,
    size = defaultWorkers()
  ): DetectPool | undefined {
    const script = workerScript();
    if (!script || size < 1) return undefined;
    return new DetectPool(script, rulesSource(rules), size, setup);
  }

  /** A segment parsed and scanned by the least busy worker; its bytes move to the worker (the caller's copy is emptied). */
  scanSegment(segment: LogSegment): Promise<SegmentResult> {
    if (this.failure) return Promise.reject(this.failure);
    const load = (w: Worker): number =>
      [...this.pending.values()].filter((p) => p.worker === w).length;
    let worker = this.workers[0];
    for (const w of this.workers) if (load(w) < load(worker)) worker = w;
    const id = this.nextId++;
    return new Promise<SegmentResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker });
      worker.postMessage({ id, segment } satisfies SegmentJob, [
        segment.bytes.buffer as ArrayBuffer
      ]);
    });
  }

  /** Jobs handed on and not answered yet. */
  backlog(): number {
    return this.pending.size;
  }

  /** Ends every worker (a job still running is cut off; its promise rejects). */
  async close(): Promise<void> {
    const all = this.workers.splice(0);
    await Promise.all(all.map((w) => w.terminate()));
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new Error('secrets detection stopped'));
    }
  }

  private reply(m: DetectReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if ('error' in m) p.reject(new Error(m.error));
    else p.resolve(m.segment);
  }

  private fail(w: Worker, err: Error): void {
    this.failure ??= err;
    for (const [id, p] of this.pending) {
      if (p.worker !== w) continue;
      this.pending.delete(id);
      p.reject(err);
    }
  }
}
