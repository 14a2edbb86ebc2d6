// `quality-gates`: runs any gate, or the whole edge, against a local
// repository with the same inputs and environment variables the actions
// read. Verdicts go to stdout; logs go to stderr. Exit 1 on any FAIL,
// 2 on a usage error.
import '../../core/src/node-guard.ts';
import { resolve } from 'node:path';
import { readEvent, type RunContext } from '../../core/src/context.ts';
import { runGate, COMMON_INPUTS } from '../../core/src/gate.ts';
import { mapInputSource } from '../../core/src/inputs.ts';
import { StreamLogger } from '../../core/src/logger.ts';
import type { GateResult } from '../../core/src/verdict.ts';
import { parseArgs, UsageError } from './args.ts';
import { EDGE, findGate } from './gates.ts';
import { verdictJson, verdictTable } from './table.ts';

const USAGE = `usage: quality-gates <command> [options]

commands:
  edge                 run every gate in order; stops at the first FAIL
${EDGE.map((g) => `  ${g.gate.padEnd(20)} run the ${g.gate} gate`).join('\n')}
  help                 this text

options:
  --repo DIR           repository to gate (default: the current directory)
  --repository O/N     owner/name for scope and state (default: $GITHUB_REPOSITORY)
  --json               print verdicts as JSON
  --verbose            debug logging on stderr
  --<input> VALUE      any input of the gate's action.yml, e.g. --base-ref main
                       --secrets-engine embedded --report-dir gate-reports

environment: QG_<GATE>_ENABLED=false disables a gate (SKIPPED), as in workflows.
`;

async function main(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`quality-gates: ${err.message}\n`);
    return 2;
  }
  if (args.own.help || args.command === '' || args.command === 'help') {
    process.stdout.write(USAGE);
    return args.command === '' && !args.own.help ? 2 : 0;
  }
  const gates =
    args.command === 'edge' ? EDGE : [findGate(args.command)].filter((g) => g !== undefined);
  if (gates.length === 0) {
    process.stderr.write(
      `quality-gates: unknown command '${args.command}': expected edge, ${EDGE.map((g) => g.gate).join(', ')} or help\n`
    );
    return 2;
  }
  const known = new Set([...gates.flatMap((g) => g.inputs), ...Object.values(COMMON_INPUTS)]);
  const unknown = Object.keys(args.inputs).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    process.stderr.write(
      `quality-gates: unknown option --${unknown[0]} for '${args.command}': expected one of --${[...known].sort().join(', --')}\n`
    );
    return 2;
  }
  const workspace = resolve(args.own.repo ?? process.cwd());
  const ctx: RunContext = {
    env: process.env,
    workspace,
    repository: args.own.repository ?? process.env.GITHUB_REPOSITORY ?? '',
    event: readEvent(process.env),
    logger: new StreamLogger((s) => process.stderr.write(s), args.own.verbose === 'true'),
    now: () => new Date()
  };
  const results: GateResult[] = [];
  for (const gate of gates) {
    const inputs = Object.fromEntries(
      Object.entries(args.inputs).filter(
        ([k]) => gate.inputs.includes(k) || Object.values(COMMON_INPUTS).includes(k as never)
      )
    );
    const result = await runGate(gate, mapInputSource(inputs), ctx);
    results.push(result);
    if (result.verdict === 'FAIL') break;
  }
  process.stdout.write(args.own.json === 'true' ? verdictJson(results) : verdictTable(results));
  return results.some((r) => r.verdict === 'FAIL') ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
