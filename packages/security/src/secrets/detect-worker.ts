// A secrets detection worker (detect-pool.ts starts it): compiles the rules
// it was given, then parses and scans each segment of git's output it gets. Bundled alone as
// dist/secrets-detect-worker, so starting one does not load a whole action.

import { parentPort, workerData } from 'node:worker_threads';
import type { DetectReply, RulesSource, SegmentJob, SegmentSetup } from './detect-pool.ts';
import { defaultRules } from './ruleset/config.ts';
import { Ruleset } from './ruleset/engine.ts';
import { scanSegment } from './segment-scan.ts';

const port = parentPort;
if (port) {
  const { rules: source, setup } = workerData as { rules: RulesSource; setup: SegmentSetup };
  // The main thread compiled these rules already (a bad pattern failed there): no second check.
  const ruleset = source.defaults
    ? defaultRules().ruleset
    : new Ruleset(source.rules, source.globals, new Set([...source.rules, ...source.globals]));
  port.on('message', (job: SegmentJob) => {
    let reply: DetectReply;
    try {
      // The bytes arrived as a plain Uint8Array: a Buffer over the same memory.
      const { buffer, byteOffset, byteLength } = job.segment.bytes;
      const bytes = Buffer.from(buffer, byteOffset, byteLength);
      reply = {
        id: job.id,
        segment: scanSegment({ ...job.segment, bytes }, ruleset, setup.allowlist, setup.options)
      };
    } catch (err) {
      reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
  });
}
