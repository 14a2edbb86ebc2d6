// `quality-gates`: runs any gate, or the whole edge, against a local
// repository with the same inputs and environment variables the actions
// read. Verdicts go to stdout; logs go to stderr. Exit 1 on any FAIL,
// 2 on a usage error.
import '../../core/src/node-guard.ts';
import { resolve } from 'node:path';
import { readEvent, type RunContext } from '../../core/src/context.ts';
import type { GateDefinition } from '../../core/src/gate.ts';
import { mapInputSource } from '../../core/src/inputs.ts';
import { StreamLogger } from '../../core/src/logger.ts';
import { parseArgs, UsageError, type ParsedArgs } from './args.ts';
import { runTool } from '../../core/src/tool.ts';
import { EDGE, findGate, TOOLS, type ToolCommand } from './gates.ts';
import { verdictJson, verdictTable } from './table.ts';
import { checkedOutHead, runEdge } from './edge.ts';
import { withRootInputNames, withTestedHead } from './edge-inputs.ts';
import { activatedOnly } from './edge-optional.ts';
import { commandHelp, usage } from './help.ts';
import { gateInputsFromOptions, gateOptionNames } from './options.ts';

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
    // `<command> --help` and `help <command>`: that command's options.
    const target = args.command === 'help' ? (args.positionals[0] ?? '') : args.command;
    if (target !== '') {
      const text = commandHelp(target);
      if (text === undefined) return unknownCommand(target);
      process.stdout.write(text);
      return 0;
    }
    process.stdout.write(usage());
    return args.command === '' && !args.own.help ? 2 : 0;
  }
  const ctx: RunContext = {
    env: process.env,
    workspace: resolve(args.own.repo ?? process.cwd()),
    repository: args.own.repository ?? process.env.GITHUB_REPOSITORY ?? '',
    event: readEvent(process.env),
    logger: new StreamLogger((s) => process.stderr.write(s), args.own.verbose === 'true'),
    now: () => new Date()
  };
  const tool = Object.hasOwn(TOOLS, args.command) ? TOOLS[args.command] : undefined;
  if (tool) return runToolCommand(tool, args, ctx);
  const gates =
    args.command === 'edge' ? EDGE : [findGate(args.command)].filter((g) => g !== undefined);
  if (gates.length === 0) return unknownCommand(args.command);
  const edge = args.command === 'edge';
  if (!onlyKnownOptions(args, gateOptionNames(gates, edge))) return 2;
  const perGate = new Map<string, Record<string, string>>();
  try {
    for (const g of gates) perGate.set(g.gate, gateInputsFromOptions(g, args.inputs, edge));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`quality-gates: ${err.message}\n`);
    return 2;
  }
  const inputsOf = (gate: GateDefinition<unknown>) =>
    withTestedHead(gate.gate, mapInputSource(perGate.get(gate.gate) ?? {}), () =>
      checkedOutHead(ctx.workspace)
    );
  const run = await runEdge(
    // edge: configuration errors name the root action's input (`coverage-floor`).
    gates.map((g) => activatedOnly(edge ? withRootInputNames(g) : g, inputsOf(g))),
    inputsOf,
    ctx
  );
  const results = run.results;
  process.stdout.write(
    args.own.json === 'true'
      ? verdictJson(results, {
          forgeApiCalls: run.apiCalls,
          leaseRelease: run.leaseRelease ?? null
        })
      : verdictTable(results) + (run.leaseRelease ? `lease release: ${run.leaseRelease}\n` : '')
  );
  return results.some((r) => r.verdict === 'FAIL') ? 1 : 0;
}

function unknownCommand(command: string): number {
  const commands = [...EDGE.map((g) => g.gate), ...Object.keys(TOOLS)].join(', ');
  process.stderr.write(
    `quality-gates: unknown command '${command}': expected edge, ${commands} or help\n`
  );
  return 2;
}

function onlyKnownOptions(args: ParsedArgs, known: readonly string[]): boolean {
  const unknown = Object.keys(args.inputs).filter((k) => !known.includes(k));
  if (unknown.length === 0) return true;
  process.stderr.write(
    `quality-gates: unknown option --${unknown[0]} for '${args.command}': expected one of --${[...new Set(known)].sort().join(', --')}\n`
  );
  return false;
}

async function runToolCommand(
  tool: ToolCommand,
  args: ParsedArgs,
  ctx: RunContext
): Promise<number> {
  if (!onlyKnownOptions(args, tool.def.inputs)) return 2;
  const inputs: Record<string, string> = { ...args.inputs };
  if (tool.positional && args.positionals[0] !== undefined)
    inputs[tool.positional] = args.positionals[0];
  const r = await runTool(tool.def, mapInputSource(inputs), ctx);
  for (const w of r.warnings) ctx.logger.warning(w);
  process.stdout.write(
    tool.print?.(r, args.own.json === 'true') ??
      (args.own.json === 'true'
        ? `${JSON.stringify({ ok: r.ok, summary: r.summary, outputs: r.outputs }, null, 2)}\n`
        : `${r.summary}\n`)
  );
  return r.ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
