// Benchmark of the image-freshness gate; prints figures, asserts nothing.
// A real registry (Debian's docker-registry) on 127.0.0.1 holds a fresh image
// (umoci-built, pushed by skopeo), single-platform and multi-platform; the
// gate's dist bundle checks it as a runner runs it, N times each. Printed:
// the median and p90 wall time of the whole bundle run (Node start-up
// included), and the gate's own time: runGate() in this process, from config
// to read-back artefact (manifest(s) + config blob over HTTP, no start-up).
//
//   node scripts/bench-image.ts [--runs 15]
//
// Needs dist/image-freshness-gate (node scripts/bundle.ts image-freshness-gate)
// and docker-registry, skopeo, umoci (apt-get install docker-registry skopeo umoci).

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGate } from '../packages/core/src/gate.ts';
import { mapInputSource } from '../packages/core/src/inputs.ts';
import { RecordingLogger } from '../packages/core/src/logger.ts';
import { imageFreshnessGate } from '../packages/image/src/gate.ts';
import { OciLayout } from '../tests/helpers/oci-images.ts';
import { LocalRegistry } from '../tests/helpers/oci-registry.ts';
import { cleanupTempDirs } from '../tests/helpers/tmp.ts';
import { median, numberArg, output, percentile, ROOT, runBundle } from './bench-support.ts';

const arg = numberArg;
const RUNS = arg('runs', 15);
const SHA = '3f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39';
const LABEL = 'org.opencontainers.image.revision';

if (!existsSync(join(ROOT, 'dist', 'image-freshness-gate', 'index.js'))) {
  throw new Error(
    'dist/image-freshness-gate/index.js is missing: run node scripts/bundle.ts image-freshness-gate'
  );
}

const registry = await LocalRegistry.start();
const work = mkdtempSync(join(tmpdir(), 'qg-bench-image-'));
try {
  const layout = new OciLayout();
  layout.image('amd', { labels: { [LABEL]: SHA } });
  layout.image('arm', { labels: { [LABEL]: SHA }, architecture: 'arm64' });
  layout.index('multi', [
    { tag: 'amd', platform: { os: 'linux', architecture: 'amd64' } },
    { tag: 'arm', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }
  ]);
  layout.push('amd', `${registry.host}/bench/app:single`);
  layout.push('multi', `${registry.host}/bench/app:multi`);

  for (const tag of ['single', 'multi']) {
    const inputs = {
      image: `${registry.host}/bench/app:${tag}`,
      sha: SHA,
      'registry-insecure': 'true'
    };
    const wall: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = runBundle('image-freshness-gate', work, {
        ...inputs,
        'report-dir': join(work, `reports-${tag}-${i}`)
      });
      if (output(r.outputs, 'status') !== 'PASS' || output(r.outputs, 'fresh') !== 'true')
        throw new Error(`${tag}: ${output(r.outputs, 'summary')}\n${r.stdout}`);
      wall.push(r.ms);
    }
    const own: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      const r = await runGate(
        imageFreshnessGate,
        mapInputSource({ ...inputs, 'report-dir': join(work, `own-${tag}-${i}`) }),
        {
          env: {},
          workspace: work,
          repository: 'bench/repo',
          event: { name: '' },
          logger: new RecordingLogger(),
          now: () => new Date()
        }
      );
      own.push(performance.now() - t);
      if (r.verdict !== 'PASS') throw new Error(`${tag}: ${r.summary}`);
    }
    process.stdout.write(
      `image-freshness gate, fresh ${tag === 'multi' ? 'multi-platform (index -> manifest -> config)' : 'single-platform (manifest -> config)'} image on a local registry, ${RUNS} runs:` +
        ` dist bundle wall median ${median(wall).toFixed(0)} ms (p90 ${percentile(wall, 90).toFixed(0)} ms);` +
        ` gate's own time (runGate in process) median ${median(own).toFixed(1)} ms (p90 ${percentile(own, 90).toFixed(1)} ms)\n`
    );
  }
} finally {
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
  cleanupTempDirs();
}
