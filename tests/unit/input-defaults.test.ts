// The reusable workflow passes '' for every input its caller leaves empty,
// and documents that as "the action's own default". That holds only if the
// code's fallback for '' is the default action.yml declares: built from
// either, every gate's and tool's config must be the same.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { securityGate } from '../../packages/security/src/gate.ts';
import { mergeGate } from '../../packages/merge/src/gate.ts';
import { coverageGate } from '../../packages/coverage/src/gate.ts';
import { imageFreshnessGate } from '../../packages/image/src/gate.ts';
import { coverageRatchet } from '../../packages/coverage/src/ratchet.ts';
import { leaseRelease } from '../../packages/merge/src/lease-release.ts';
import { stopTool } from '../../packages/stop/src/stop.ts';
import { readPublishConfig } from '../../packages/publish/src/config.ts';
import { readActionMeta } from '../../scripts/action-meta.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

const ctx: RunContext = {
  env: { HOME: '/home/runner', GITHUB_REF: 'refs/heads/main' },
  workspace: '/work/repo',
  repository: 'acme/service',
  event: { name: 'pull_request', baseRef: 'main', headRef: 'agent/x', prNumber: 3 },
  logger: new RecordingLogger(),
  now: () => new Date('2026-01-01T00:00:00Z')
};

/** Inputs a caller must give (no useful default), the same on both sides. */
const REQUIRED: Record<string, string> = {
  'test-command': 'npm test',
  image: 'registry.example/acme/app:1',
  branch: 'agent/x'
};

function defaultsOf(action: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of readActionMeta(join(root, 'actions', action, 'action.yml')).inputs) {
    // `${{ github.token }}` is the runner's to fill; both sides leave it empty.
    out[i.name] = i.default.includes('${{') ? '' : i.default;
  }
  return out;
}

const CASES: [string, (src: ReturnType<typeof mapInputSource>) => unknown][] = [
  ['security-gate', (s) => securityGate.buildConfig(s, ctx)],
  ['merge-gate', (s) => mergeGate.buildConfig(s, ctx)],
  ['coverage-gate', (s) => coverageGate.buildConfig(s, ctx)],
  ['image-freshness-gate', (s) => imageFreshnessGate.buildConfig(s, ctx)],
  ['coverage-ratchet', (s) => coverageRatchet.buildConfig(s, ctx)],
  ['lease-release', (s) => leaseRelease.buildConfig(s, ctx)],
  ['stop', (s) => stopTool.buildConfig(s, ctx)],
  // The publishing inputs, as every gate action declares them.
  ['security-gate', (s) => readPublishConfig(s, ctx)]
];

describe('an empty input means the action.yml default', () => {
  it.each(CASES)('%s', (action, build) => {
    const declared = defaultsOf(action);
    const required = Object.fromEntries(Object.entries(REQUIRED).filter(([k]) => k in declared));
    const fromDefaults = build(mapInputSource({ ...declared, ...required }));
    const fromEmpty = build(mapInputSource(required));
    expect(fromEmpty).toEqual(fromDefaults);
  });
});
