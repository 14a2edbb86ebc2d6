// npm run docs: regenerates the per-action input/output tables in README.md
// between <!-- action-docs:start PATH --> and <!-- action-docs:end --> from
// the action.yml at PATH, so the docs cannot drift. `--check` only compares.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readActionMeta } from './action-meta.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
}

export function actionDocs(path: string): string {
  const meta = readActionMeta(join(root, path));
  const lines = [
    `| Input | Type | Default | Description |`,
    `| --- | --- | --- | --- |`,
    ...meta.inputs.map((i) => {
      const type = /^(true|false)$/.test(i.default)
        ? 'Bool'
        : /^\d+$/.test(i.default)
          ? 'Number'
          : 'String';
      return `| \`${i.name}\` | ${type} | ${i.default === '' ? '' : `\`${cell(i.default)}\``} | ${cell(i.description)}${i.required ? ' (required)' : ''} |`;
    }),
    '',
    `| Output | Description |`,
    `| --- | --- |`,
    ...meta.outputs.map((o) => `| \`${o.name}\` | ${cell(o.description)} |`)
  ];
  return lines.join('\n');
}

export function regenerate(readme: string): string {
  return readme.replace(
    /(<!-- action-docs:start (\S+) -->\n)[\s\S]*?(<!-- action-docs:end -->)/g,
    (_m, start: string, path: string, end: string) => `${start}${actionDocs(path)}\n${end}`
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = join(root, 'README.md');
  const current = readFileSync(file, 'utf8');
  const next = regenerate(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      process.stderr.write("README.md action tables are out of date: run 'npm run docs'\n");
      process.exitCode = 1;
    }
  } else if (next !== current) {
    writeFileSync(file, next);
    process.stdout.write('README.md regenerated\n');
  }
}
