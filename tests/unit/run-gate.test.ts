import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { ConfigurationError, ToolError } from '../../packages/core/src/errors.ts';
import { runGate, type GateDefinition } from '../../packages/core/src/gate.ts';
import { mapInputSource, readEnum } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import type { GateOutcome } from '../../packages/core/src/verdict.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

interface Cfg {
  mode: 'pass' | 'fail' | 'tool-open' | 'tool-closed' | 'bug' | 'config';
}

function gate(evaluate?: (c: Cfg) => Promise<GateOutcome>): GateDefinition<Cfg> {
  return {
    gate: 'security',
    reportFile: '17-security-report.md',
    statusKey: 'security_status',
    inputs: ['mode'],
    policy: () => ({
      byKind: { feed: 'fail-open', scanner: 'fail-closed' },
      default: 'fail-closed'
    }),
    buildConfig: (src) => ({
      mode: readEnum(
        src,
        'mode',
        ['pass', 'fail', 'tool-open', 'tool-closed', 'bug', 'config'] as const,
        'pass'
      )
    }),
    evaluate:
      evaluate ??
      (async (c) => {
        if (c.mode === 'tool-open')
          throw new ToolError('feed', 'feed down (tail:  +    where x | done)');
        if (c.mode === 'tool-closed') throw new ToolError('scanner', 'scanner crashed');
        if (c.mode === 'bug')
          throw new TypeError("Cannot read properties of undefined (reading 'x')\n    at stack");
        if (c.mode === 'config') throw new ConfigurationError('mode', 'something else', 'config');
        const verdict = c.mode === 'pass' ? 'PASS' : 'FAIL';
        return {
          verdict,
          summary: `it is ${verdict}`,
          fields: { head_sha: 'c'.repeat(40) },
          body: 'body',
          warnings: []
        };
      })
  };
}

function ctx(
  env: NodeJS.ProcessEnv = {},
  repository = 'acme/api'
): RunContext & { logger: RecordingLogger } {
  return {
    env,
    workspace: tempDir(),
    repository,
    event: { name: '' },
    logger: new RecordingLogger(),
    now: () => new Date('2026-11-22T00:00:00Z')
  };
}

describe('runGate', () => {
  it('writes the artefact and takes the verdict from it', async () => {
    const c = ctx();
    const r = await runGate(gate(), mapInputSource({ mode: 'fail' }), c);
    expect(r.verdict).toBe('FAIL');
    expect(r.reportPath).toBe(join(c.workspace, 'gate-reports', '17-security-report.md'));
    const text = readFileSync(r.reportPath, 'utf8');
    expect(text).toMatch(/^---\ngate: security\nsecurity_status: FAIL\n/);
    expect(text).toContain('generated_at: 2026-11-22T00:00:00.000Z');
  });

  it('kill-switch QG_SECURITY_ENABLED=false gives SKIPPED and still writes a report', async () => {
    const r = await runGate(
      gate(),
      mapInputSource({ mode: 'fail' }),
      ctx({ QG_SECURITY_ENABLED: 'false' })
    );
    expect(r.verdict).toBe('SKIPPED');
    expect(r.summary).toContain('QG_SECURITY_ENABLED=false');
    expect(readFileSync(r.reportPath, 'utf8')).toContain('security_status: SKIPPED');
  });

  it('a kill-switch with a typo is a configuration error, not a silent skip', async () => {
    const r = await runGate(gate(), mapInputSource({}), ctx({ QG_SECURITY_ENABLED: 'flase' }));
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toContain('QG_SECURITY_ENABLED');
  });

  it('repos scope: other repositories are SKIPPED, matching ones run', async () => {
    const skipped = await runGate(
      gate(),
      mapInputSource({ repos: 'acme/web, other/*', mode: 'fail' }),
      ctx()
    );
    expect(skipped.verdict).toBe('SKIPPED');
    const ran = await runGate(gate(), mapInputSource({ repos: 'acme/*', mode: 'fail' }), ctx());
    expect(ran.verdict).toBe('FAIL');
  });

  it('an unknown input value fails with the input name and the choices', async () => {
    const r = await runGate(gate(), mapInputSource({ mode: 'sideways' }), ctx());
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toBe(
      'configuration error: input \'mode\': expected one of pass | fail | tool-open | tool-closed | bug | config (got "sideways")'
    );
  });

  it('a fail-open tool error passes, loudly', async () => {
    const c = ctx();
    const r = await runGate(gate(), mapInputSource({ mode: 'tool-open' }), c);
    expect(r.verdict).toBe('PASS');
    // Tool output with runs of spaces: the warning, the summary and the frontmatter agree.
    expect(r.summary).toBe(
      'feed tool error: feed down (tail: + where x | done) (fail-open => PASS)'
    );
    expect(r.warnings).toEqual([r.summary]);
    expect(r.frontmatter.warnings).toEqual(r.warnings);
    expect(c.logger.entries.some((e) => e.level === 'warning')).toBe(true);
  });

  it('a fail-closed tool error and an internal bug both FAIL with one line, no stack', async () => {
    const closed = await runGate(gate(), mapInputSource({ mode: 'tool-closed' }), ctx());
    expect(closed.verdict).toBe('FAIL');
    const bug = await runGate(gate(), mapInputSource({ mode: 'bug' }), ctx());
    expect(bug.verdict).toBe('FAIL');
    expect(bug.summary).toMatch(/^internal error: Cannot read properties/);
    expect(bug.summary).not.toContain('\n');
    expect(bug.summary).not.toContain('at stack');
  });

  it('reading an input the gate did not declare is caught as a bug, not ignored', async () => {
    const def = gate();
    def.buildConfig = (src) => ({ mode: src.get('undeclared') as Cfg['mode'] });
    const r = await runGate(def, mapInputSource({}), ctx());
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toContain("input 'undeclared' is read but not declared");
  });

  it('a report directory that is not writable is FAIL with a one-line reason naming it', async () => {
    const c = ctx();
    // A path below a regular file cannot be created, for root too.
    const blocker = join(c.workspace, 'blocker');
    writeFileSync(blocker, 'x');
    const r = await runGate(
      gate(),
      mapInputSource({ mode: 'pass', 'report-dir': join(blocker, 'reports') }),
      c
    );
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toBe(
      `report directory ${join(blocker, 'reports')} is not writable (ENOTDIR): input 'report-dir' must name a writable directory; verdict FAIL (was PASS)`
    );
  });

  it('a report directory on a pseudo file system answers instead of hanging', async () => {
    const r = await runGate(
      gate(),
      mapInputSource({ mode: 'pass', 'report-dir': '/proc/self/qg-reports' }),
      ctx()
    );
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toMatch(/^report directory \/proc\/self\/qg-reports is not writable/);
  });

  it('an evaluation that claims PASS for another commit is caught on read-back', async () => {
    const def = gate();
    def.headSha = () => 'd'.repeat(40);
    const r = await runGate(def, mapInputSource({ mode: 'pass' }), ctx());
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toMatch(/report is for commit c{40}, expected d{40}/);
  });
});
