// A secrets detection worker (detect-pool.ts starts it): compiles the rules
// it was given, then answers each chunk with its hits. Bundled alone as
// dist/secrets-detect-worker, so starting one does not load a whole action.

import { parentPort, workerData } from 'node:worker_threads';
import type {
  DetectJob,
  DetectReply,
  RulesSource,
  SegmentJob,
  SegmentSetup
} from './detect-pool.ts';
import { placesContext } from './detect-pool.ts';
import { defaultRules } from './ruleset/config.ts';
import { detectDecoded } from './ruleset/decoded-detect.ts';
import { Ruleset } from './ruleset/engine.ts';
import { scanSegment } from './segment-scan.ts';

const port = parentPort;
if (port) {
  const { rules: source, setup } = workerData as { rules: RulesSource; setup?: SegmentSetup };
  // The main thread compiled these rules already (a bad pattern failed there): no second check.
  const ruleset = source.defaults
    ? defaultRules().ruleset
    : new Ruleset(source.rules, source.globals, new Set([...source.rules, ...source.globals]));
  port.on('message', (job: DetectJob | SegmentJob) => {
    let reply: DetectReply;
    try {
      if ('segment' in job) {
        if (!setup) throw new Error('this worker was started without a segment setup');
        // The bytes arrived as a plain Uint8Array: a Buffer over the same memory.
        const bytes = Buffer.from(
          job.segment.bytes.buffer,
          job.segment.bytes.byteOffset,
          job.segment.bytes.byteLength
        );
        reply = {
          id: job.id,
          segment: scanSegment({ ...job.segment, bytes }, ruleset, setup.allowlist, setup.options)
        };
      } else
        reply = { id: job.id, hits: detectDecoded(ruleset, job.text, placesContext(job.places)) };
    } catch (err) {
      reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
  });
}
