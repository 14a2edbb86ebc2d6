// The root action.yml (the whole edge in one step) and the code agree: its
// inputs are exactly the union of what the gates read, under the documented
// names; a name two gates read either means the same for both (one shared
// input, same default) or is prefixed with the gate; and what the edge entry
// reads beyond the gates (lease release, the image switch) is declared too.
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runGate } from '../../packages/core/src/gate.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import type { RunContext } from '../../packages/core/src/context.ts';
import {
  EDGE_PREFIXED_INPUTS,
  EDGE_SHARED_INPUTS,
  edgeInputName,
  edgeInputs,
  edgeInputSource,
  gateInputNames,
  TESTED_HEAD_INPUTS
} from '../../packages/cli/src/edge-inputs.ts';
import { ACTIVATED_BY, activatedOnly } from '../../packages/cli/src/edge-optional.ts';
import { EDGE } from '../../packages/cli/src/gates.ts';
import { leaseRelease } from '../../packages/merge/src/lease-release.ts';
import { readActionMeta } from '../../scripts/action-meta.ts';
import { entries } from '../../scripts/entries.ts';
import { gateActionPath, rootInputs, rootOutputs } from '../../scripts/gen-edge-action.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const root = fileURLToPath(new URL('../..', import.meta.url));
const meta = readActionMeta(join(root, 'action.yml'));
const declared = new Set(meta.inputs.map((i) => i.name));

describe('root action.yml', () => {
  it('runs the edge bundle on node24, built from packages/cli/src/edge-action.ts', () => {
    expect(meta.runs).toEqual({ using: 'node24', main: 'dist/edge/index.js' });
    expect(entries(root)).toContainEqual({
      name: 'edge',
      source: join('packages', 'cli', 'src', 'edge-action.ts')
    });
    const entry = readFileSync(join(root, 'packages', 'cli', 'src', 'edge-action.ts'), 'utf8');
    expect(entry.split('\n').find((l) => l.startsWith('import'))).toBe(
      "import '../../core/src/node-guard.ts';"
    );
  });

  it('declares exactly the generated inputs and outputs (run node scripts/gen-edge-action.ts)', () => {
    expect(
      meta.inputs.map((i) => ({ name: i.name, description: i.description, default: i.default }))
    ).toEqual(rootInputs(root));
    expect(meta.inputs.every((i) => !i.required)).toBe(true);
    expect(meta.outputs).toEqual(rootOutputs());
  });

  it('declares, under its mapped name, every input every gate reads (and nothing else)', () => {
    const read = new Set(
      EDGE.flatMap((g) => gateInputNames(g).map((i) => edgeInputName(g.gate, i)))
    );
    expect([...declared].sort()).toEqual([...read].sort());
  });

  it('declares what the edge reads besides the gates: the lease release and the switches', () => {
    for (const input of leaseRelease.inputs)
      expect(declared).toContain(edgeInputName('merge', input));
    for (const [gate, input] of Object.entries(ACTIVATED_BY))
      expect(declared).toContain(edgeInputName(gate as never, input));
    for (const [gate, input] of Object.entries(TESTED_HEAD_INPUTS))
      expect(declared).toContain(edgeInputName(gate as never, input));
  });

  it('has an output per gate status', () => {
    for (const g of EDGE) expect(meta.outputs.map((o) => o.name)).toContain(`${g.gate}-status`);
  });
});

describe('input name clashes between gates', () => {
  it('a name two gates read is shared (same meaning) or prefixed per gate', () => {
    const clashes = edgeInputs(EDGE)
      .filter((e) => e.reads.length > 1)
      .filter(
        (e) => !e.reads.every((r) => r.input === e.name && EDGE_SHARED_INPUTS.includes(r.input))
      );
    expect(
      clashes.map((c) => `${c.name} <- ${c.reads.map((r) => `${r.gate}.${r.input}`).join(', ')}`)
    ).toEqual([]);
  });

  it('a shared input has one default in every gate action.yml that declares it', () => {
    const disagreements: string[] = [];
    for (const e of edgeInputs(EDGE).filter((x) => x.reads.length > 1)) {
      const defaults = new Set<string>();
      for (const r of e.reads) {
        const d = readActionMeta(gateActionPath(root, r.gate)).inputs.find(
          (i) => i.name === r.input
        );
        if (d) defaults.add(d.default);
      }
      if (defaults.size > 1) disagreements.push(`${e.name}: ${[...defaults].join(' / ')}`);
    }
    expect(disagreements).toEqual([]);
  });

  it('detects a clash: two gates reading timeout-seconds get one prefixed input each', () => {
    const fake = (gate: 'coverage' | 'image-freshness') => ({
      ...EDGE[0],
      gate,
      inputs: ['timeout-seconds']
    });
    const mapped = edgeInputs([fake('coverage'), fake('image-freshness')]).map((e) => e.name);
    expect(mapped).toEqual(
      expect.arrayContaining(['coverage-timeout-seconds', 'image-freshness-timeout-seconds'])
    );
    expect(mapped).not.toContain('timeout-seconds');
    // An unprefixed, unshared name read twice would merge two inputs: the first test above fails on it.
    const merged = edgeInputs([
      { ...EDGE[0], gate: 'coverage', inputs: ['interval'] },
      { ...EDGE[0], gate: 'image-freshness', inputs: ['interval'] }
    ]).find((e) => e.name === 'interval');
    expect(merged?.reads).toHaveLength(2);
    expect(EDGE_SHARED_INPUTS).not.toContain('interval');
    expect(EDGE_PREFIXED_INPUTS).toContain('timeout-seconds');
  });
});

describe('inputs as a gate sees them inside the root action', () => {
  it('reads its own names under the root names; the tested head fills an empty sha', () => {
    const rootSrc = mapInputSource({
      'coverage-command': 'make cov',
      command: 'wrong',
      'base-ref': 'dev'
    });
    const coverage = edgeInputSource(rootSrc, 'coverage');
    expect(coverage.get('command')).toBe('make cov');
    expect(coverage.get('base-ref')).toBe('dev');
    let asked = 0;
    const image = edgeInputSource(rootSrc, 'image-freshness', () => {
      asked++;
      return 'a'.repeat(40);
    });
    expect(image.get('sha')).toBe('a'.repeat(40));
    expect(
      edgeInputSource(
        mapInputSource({ 'image-freshness-sha': 'b'.repeat(40) }),
        'image-freshness',
        () => 'x'
      ).get('sha')
    ).toBe('b'.repeat(40));
    expect(coverage.get('report')).toBe('');
    expect(asked).toBe(1);
  });

  it('without an image the image-freshness gate is SKIPPED with a report that says why', async () => {
    const image = EDGE.find((g) => g.gate === 'image-freshness')!;
    const ws = tempDir('qg-edge-ws-');
    const logger = new RecordingLogger();
    const ctx: RunContext = {
      env: {},
      workspace: ws,
      repository: 'acme/service',
      event: { name: 'pull_request' },
      logger,
      now: () => new Date('2024-05-01T12:00:00Z')
    };
    const src = mapInputSource({ 'report-dir': ws });
    const r = await runGate(activatedOnly(image, src), src, ctx);
    expect(r.verdict).toBe('SKIPPED');
    expect(r.summary).toBe(
      "no image given (input 'image'): the image-freshness gate does not apply"
    );
    expect(r.reportPath).toBe(join(ws, image.reportFile));
    // The kill-switch still speaks first.
    const off = await runGate(activatedOnly(image, src), src, {
      ...ctx,
      env: { QG_IMAGE_FRESHNESS_ENABLED: 'false' }
    });
    expect(off.summary).toMatch(/disabled by QG_IMAGE_FRESHNESS_ENABLED=false/);
    // With an image the gate is itself (and here fails on the unreachable registry or the input).
    expect(activatedOnly(image, mapInputSource({ image: 'r.invalid/x:1' }))).toBe(image);
  });
});
