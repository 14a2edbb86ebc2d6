// The code and the action.yml files must agree: every input a gate reads is
// declared, every declared input is read, all actions use the same runtime,
// and README tables are generated from what is declared.
import { fileURLToPath } from 'node:url';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMON_INPUTS, type GateDefinition } from '../../packages/core/src/gate.ts';
import { securityGate } from '../../packages/security/src/gate.ts';
import { coverageGate } from '../../packages/coverage/src/gate.ts';
import { mergeGate } from '../../packages/merge/src/gate.ts';
import { imageFreshnessGate } from '../../packages/image/src/gate.ts';
import { leaseRelease } from '../../packages/merge/src/lease-release.ts';
import { land } from '../../packages/merge/src/land.ts';
import { stopTool } from '../../packages/stop/src/stop.ts';
import { coverageRatchet } from '../../packages/coverage/src/ratchet.ts';
import { coverageBaseline } from '../../packages/coverage/src/baseline-override.ts';
import { withPublishInputs } from '../../packages/publish/src/run.ts';
import { readActionMeta } from '../../scripts/action-meta.ts';
import { regenerate } from '../../scripts/gen-readme.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const GATE_ACTIONS = {
  'security-gate': securityGate,
  'coverage-gate': coverageGate,
  'merge-gate': mergeGate,
  'image-freshness-gate': imageFreshnessGate
};
const TOOL_ACTIONS = {
  'coverage-ratchet': coverageRatchet,
  'coverage-baseline': coverageBaseline,
  'lease-release': leaseRelease,
  land,
  stop: stopTool
};
const actionDirs = readdirSync(join(root, 'actions')).filter((d) =>
  existsSync(join(root, 'actions', d, 'action.yml'))
);

describe('action.yml files', () => {
  it.each(actionDirs)('%s runs node24 from its own dist bundle', (dir) => {
    const meta = readActionMeta(join(root, 'actions', dir, 'action.yml'));
    expect(meta.runs.using).toBe('node24');
    expect(meta.runs.main).toBe(`../../dist/${dir}/index.js`);
    expect(existsSync(join(root, 'actions', dir, 'main.ts'))).toBe(true);
  });

  it.each(Object.entries(GATE_ACTIONS))(
    '%s declares exactly the inputs its gate reads',
    (dir, def) => {
      const meta = readActionMeta(join(root, 'actions', dir, 'action.yml'));
      const declared = meta.inputs.map((i) => i.name).sort();
      // The gate's own inputs, the publishing inputs (token, retry cap, notifiers, state) and the common ones.
      const reads = withPublishInputs(def as GateDefinition<unknown>).inputs;
      expect(declared).toEqual([...new Set([...reads, ...Object.values(COMMON_INPUTS)])].sort());
      expect(meta.outputs.map((o) => o.name)).toContain('needs-human');
      for (const out of ['status', 'report-path', 'summary'])
        expect(meta.outputs.map((o) => o.name)).toContain(out);
    }
  );

  it.each(Object.entries(TOOL_ACTIONS))(
    '%s declares exactly the inputs its tool reads',
    (dir, def) => {
      const meta = readActionMeta(join(root, 'actions', dir, 'action.yml'));
      expect(meta.inputs.map((i) => i.name).sort()).toEqual([...def.inputs].sort());
      expect(meta.outputs.map((o) => o.name)).toContain('summary');
    }
  );

  it('every action is known to this test (none escapes the check)', () => {
    expect(actionDirs.sort()).toEqual(
      [...Object.keys(GATE_ACTIONS), ...Object.keys(TOOL_ACTIONS)].sort()
    );
  });

  it('every gate action is known to this test (none escapes the check)', () => {
    const gateDirs = actionDirs.filter((d) => d.endsWith('-gate'));
    expect(gateDirs.sort()).toEqual(Object.keys(GATE_ACTIONS).sort());
  });

  it('README input/output tables are generated from action.yml (run npm run docs)', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(regenerate(readme)).toBe(readme);
    for (const dir of actionDirs)
      expect(readme).toContain(`<!-- action-docs:start actions/${dir}/action.yml -->`);
  });
});
