// `quality-gates help`, `quality-gates <command> --help`: the global usage,
// and per command the options it takes. A command's options are the inputs
// of the action it runs, so their descriptions and defaults come from that
// action.yml (found next to the bundle or the sources); without it the names
// alone are listed.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { EDGE, findGate, TOOLS } from './gates.ts';
import { gateOptionNames } from './options.ts';

/** The CLI's own options, on every command. */
const OWN_HELP = `  --repo DIR           repository to gate (default: the current directory)
  --repository O/N     owner/name for scope and state (default: $GITHUB_REPOSITORY)
  --json               print the result as JSON
  --verbose            debug logging on stderr
  --help, -h           this text`;

export function usage(): string {
  return `usage: quality-gates <command> [options]

commands:
  edge                 run every gate in order; stops at the first FAIL or DEFER
${EDGE.map((g) => `  ${g.gate.padEnd(20)} run the ${g.gate} gate`).join('\n')}
${Object.entries(TOOLS)
  .map(([n, t]) => `  ${n.padEnd(20)} ${t.help}`)
  .join('\n')}
  help [COMMAND]       this text, or the options of COMMAND

options:
${OWN_HELP}
  --<input> VALUE      any input of the command's action.yml, e.g. --base-ref main
                       --secrets-engine embedded --report-dir gate-reports
                       (quality-gates <command> --help lists them)

environment: QG_<GATE>_ENABLED=false disables a gate (SKIPPED), as in workflows.
`;
}

/** The action folder whose action.yml declares a command's inputs ('' = the root action.yml). */
const ACTION_OF: Record<string, string> = {
  edge: '',
  security: 'security-gate',
  merge: 'merge-gate',
  coverage: 'coverage-gate',
  'image-freshness': 'image-freshness-gate',
  baseline: 'coverage-baseline',
  land: 'land',
  'lease-release': 'lease-release',
  ratchet: 'coverage-ratchet',
  stop: 'stop'
};

export interface InputMeta {
  description: string;
  default: string;
}

export type InputMetaReader = (actionDir: string) => Map<string, InputMeta> | undefined;

/** The repository root holding actions/ and action.yml, searched upward from this module. */
function actionsRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'actions', 'security-gate', 'action.yml'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

/** Reads the inputs of actions/<dir>/action.yml (or the root action.yml); undefined when absent. */
export const readInputMeta: InputMetaReader = (actionDir) => {
  const root = actionsRoot();
  if (!root) return undefined;
  try {
    const doc = load(
      readFileSync(join(root, ...(actionDir ? ['actions', actionDir] : []), 'action.yml'), 'utf8')
    ) as { inputs?: Record<string, { description?: unknown; default?: unknown }> };
    return new Map(
      Object.entries(doc.inputs ?? {}).map(([name, v]) => [
        name,
        {
          description: String(v.description ?? '').trim(),
          default: v.default === undefined ? '' : String(v.default)
        }
      ])
    );
  } catch {
    return undefined;
  }
};

function wrap(text: string, indent: string, width = 78): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join('\n');
}

function optionLines(names: readonly string[], meta: Map<string, InputMeta> | undefined): string {
  return names
    .map((name) => {
      const m = meta?.get(name);
      if (!m) return `  --${name} VALUE`;
      const text = m.default ? `${m.description} (default: ${m.default})` : m.description;
      return text ? `  --${name} VALUE\n${wrap(text, '      ')}` : `  --${name} VALUE`;
    })
    .join('\n');
}

/** The help of one command: what it does and every option it takes; undefined for an unknown command. */
export function commandHelp(
  command: string,
  readMeta: InputMetaReader = readInputMeta
): string | undefined {
  const tool = Object.hasOwn(TOOLS, command) ? TOOLS[command] : undefined;
  const gate = command === 'edge' ? undefined : findGate(command);
  if (!tool && !gate && command !== 'edge') return undefined;
  const dir = ACTION_OF[command];
  const meta = dir === undefined ? undefined : readMeta(dir);
  const source =
    dir === undefined || !meta
      ? ''
      : ` (inputs of ${dir ? `actions/${dir}/action.yml` : 'action.yml'})`;
  let head: string;
  let names: string[];
  let note = '';
  if (tool) {
    head = `usage: quality-gates ${command}${tool.positional ? ` [${tool.positional.toUpperCase()}]` : ''} [options]\n\n${tool.help}`;
    names = [...tool.def.inputs];
    if (tool.positional)
      note = `\n${tool.positional.toUpperCase()} (the word after the command) is --${tool.positional}.\n`;
  } else if (gate) {
    head = `usage: quality-gates ${command} [options]\n\nrun the ${command} gate on the repository (exit 1 on FAIL)`;
    names = gateOptionNames([gate], false);
  } else {
    head = `usage: quality-gates edge [options]\n\nrun every gate in order (${EDGE.map((g) => g.gate).join(' -> ')}); stops at the first FAIL or DEFER (exit 1 on FAIL)`;
    const root = gateOptionNames(EDGE, true).filter((n) => !meta || meta.has(n));
    names = meta ? root : gateOptionNames(EDGE, true);
    note =
      "\nEach gate's own input name is accepted too (--command for --coverage-command,\n--mode for --image-freshness-mode); one input given under both names with\ndifferent values is a usage error.\n";
  }
  return `${head}

options${source}:
${optionLines(names, meta)}
${note}
common options:
${OWN_HELP}
`;
}
