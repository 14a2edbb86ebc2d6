// Command-line parsing for `quality-gates`: gate inputs are given as
// --<input-name> <value> (or --<input-name>=<value>), exactly the names the
// actions declare, so a workflow's `with:` block translates one to one.

export interface ParsedArgs {
  command: string;
  positionals: string[];
  /** Options the CLI itself owns (repo, repository, json, verbose). */
  own: Record<string, string>;
  /** Everything else: gate inputs by name. */
  inputs: Record<string, string>;
}

export const OWN_OPTIONS = ['repo', 'repository', 'json', 'verbose', 'help'] as const;
const FLAGS = new Set(['json', 'verbose', 'help']);

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { command: '', positionals: [], own: {}, inputs: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (!/^[a-z][a-z0-9-]*$/.test(name))
        throw new UsageError(`option ${JSON.stringify(a)}: expected --name or --name=value`);
      let value: string;
      if (eq > 0) value = a.slice(eq + 1);
      else if (FLAGS.has(name)) value = 'true';
      else {
        if (i + 1 >= argv.length) throw new UsageError(`option --${name}: expected a value`);
        value = argv[++i];
      }
      if ((OWN_OPTIONS as readonly string[]).includes(name)) out.own[name] = value;
      else out.inputs[name] = value;
    } else if (a === '-h') {
      out.own.help = 'true';
    } else if (out.command === '') {
      out.command = a;
    } else {
      out.positionals.push(a);
    }
  }
  return out;
}
