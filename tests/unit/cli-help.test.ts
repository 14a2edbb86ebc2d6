// `quality-gates <command> --help` prints that command's options (the inputs
// of the action it runs, with their descriptions and defaults from its
// action.yml), `help <command>` the same, `--help` alone the global usage;
// and `edge` takes the root action's input names (--coverage-command) as
// well as each gate's own. The pure pieces are tested directly; the command
// itself runs from the sources (Node 24 runs the erasable TypeScript), so
// the test does not depend on a rebuilt bundle.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../packages/cli/src/args.ts';
import { edgeInputs } from '../../packages/cli/src/edge-inputs.ts';
import { EDGE, TOOLS } from '../../packages/cli/src/gates.ts';
import { commandHelp, readInputMeta, usage } from '../../packages/cli/src/help.ts';
import { gateInputsFromOptions, gateOptionNames } from '../../packages/cli/src/options.ts';
import { coverageGate } from '../../packages/coverage/src/gate.ts';
import { imageFreshnessGate } from '../../packages/image/src/gate.ts';
import { readActionMeta } from '../../scripts/action-meta.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const root = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(root, 'packages', 'cli', 'src', 'main.ts');

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  // process.execPath: the project's Node 24 (npm scripts), which runs the .ts sources.
  const r = spawnSync(process.execPath, ['--no-warnings', MAIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: tempDir(), ...env }
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `--name VALUE` lines of a help text. */
const optionsOf = (text: string): string[] =>
  [...text.matchAll(/^ {2}--([a-z0-9-]+) VALUE$/gm)].map((m) => m[1]);

describe('commandHelp', () => {
  it.each(EDGE.map((g) => g.gate))(
    '%s: every option the command takes, with the action.yml description and default',
    (gate) => {
      const text = commandHelp(gate)!;
      const dir = `${gate}-gate`;
      const meta = readActionMeta(join(root, 'actions', dir, 'action.yml'));
      expect(text).toContain(`usage: quality-gates ${gate} [options]`);
      expect(text).toContain(`options (inputs of actions/${dir}/action.yml):`);
      expect(optionsOf(text).sort()).toEqual(
        gateOptionNames(
          EDGE.filter((g) => g.gate === gate),
          false
        ).sort()
      );
      // Every declared input is an option, and its default is shown.
      expect(optionsOf(text).sort()).toEqual(meta.inputs.map((i) => i.name).sort());
      const withDefault = meta.inputs.find((i) => i.default !== '' && !i.default.includes('${{'));
      if (withDefault) expect(text).toContain(`(default: ${withDefault.default})`);
      expect(text).toContain('--repo DIR');
    }
  );

  it('edge: the root action names (coverage-command), and a note on the gates own names', () => {
    const text = commandHelp('edge')!;
    const rootNames = readActionMeta(join(root, 'action.yml')).inputs.map((i) => i.name);
    expect(optionsOf(text).sort()).toEqual(rootNames.sort());
    expect(optionsOf(text)).toEqual(
      expect.arrayContaining(['coverage-command', 'image-freshness-mode'])
    );
    expect(optionsOf(text)).not.toContain('command');
    expect(text).toContain('--command for --coverage-command');
  });

  it.each(Object.keys(TOOLS))('%s: its tool inputs', (tool) => {
    const text = commandHelp(tool)!;
    expect(optionsOf(text).sort()).toEqual([...TOOLS[tool].def.inputs].sort());
  });

  it('without an action.yml: the names alone; an unknown command: undefined', () => {
    const text = commandHelp('coverage', () => undefined)!;
    expect(optionsOf(text)).toContain('command');
    expect(text).not.toMatch(/^ {6}\S/m);
    expect(text).toContain('options:\n');
    expect(commandHelp('secruity')).toBeUndefined();
    expect(readInputMeta('no-such-action')).toBeUndefined();
  });

  it('the global usage points at the per-command help', () => {
    expect(usage()).toContain('help [COMMAND]');
    expect(usage()).toContain('quality-gates <command> --help lists them');
  });
});

describe('edge options', () => {
  it('accepts every root action input and every gate input name', () => {
    const names = gateOptionNames(EDGE, true);
    expect(names).toEqual(expect.arrayContaining(edgeInputs(EDGE).map((e) => e.name)));
    expect(names).toEqual(expect.arrayContaining(EDGE.flatMap((g) => g.inputs)));
  });

  it('reads a gate input under the root name or its own; both differing is a usage error', () => {
    const cov = coverageGate as never;
    expect(gateInputsFromOptions(cov, { 'coverage-command': 'make cov' }, true)).toEqual({
      command: 'make cov'
    });
    expect(gateInputsFromOptions(cov, { command: 'make cov', 'base-ref': 'dev' }, true)).toEqual({
      command: 'make cov',
      'base-ref': 'dev'
    });
    expect(gateInputsFromOptions(cov, { command: 'x', 'coverage-command': 'x' }, true)).toEqual({
      command: 'x'
    });
    expect(() =>
      gateInputsFromOptions(cov, { command: 'a', 'coverage-command': 'b' }, true)
    ).toThrow(
      new UsageError(
        `options --coverage-command and --command both set the coverage gate's 'command' ("b" and "a"): give one`
      )
    );
    // A gate command takes its own names only; the prefixed one belongs to edge.
    expect(gateInputsFromOptions(cov, { 'coverage-command': 'x' }, false)).toEqual({});
    expect(
      gateInputsFromOptions(imageFreshnessGate as never, { 'image-freshness-mode': 'plan' }, true)
    ).toEqual({ mode: 'plan' });
  });
});

describe('the command, from the sources', () => {
  it('coverage --help and help coverage print the coverage options, exit 0', () => {
    for (const args of [
      ['coverage', '--help'],
      ['help', 'coverage'],
      ['coverage', '-h']
    ]) {
      const r = cli(args);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 0]);
      expect(r.stdout).toContain('usage: quality-gates coverage [options]');
      expect(r.stdout).toMatch(/^ {2}--coverage-tool-fail-closed VALUE$/m);
    }
  });

  it('--help alone prints the global usage; an unknown command with --help is exit 2', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: quality-gates <command> \[options\]/);
    const u = cli(['secruity', '--help']);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/^quality-gates: unknown command 'secruity'/);
  });

  it('edge --coverage-command runs the coverage gate with that command', () => {
    const repo = makeRepo();
    const marker = join(repo.work, 'coverage-command-ran');
    const r = cli(
      [
        'edge',
        '--repo',
        repo.work,
        '--report-dir',
        tempDir(),
        '--coverage-command',
        `touch ${marker}`,
        '--json'
      ],
      {
        QG_SECURITY_ENABLED: 'false',
        QG_MERGE_ENABLED: 'false',
        QG_IMAGE_FRESHNESS_ENABLED: 'false'
      }
    );
    expect(existsSync(marker)).toBe(true);
    const gates = (JSON.parse(r.stdout) as { gates: { gate: string; verdict: string }[] }).gates;
    expect(gates.map((g) => g.gate)).toEqual(['security', 'merge', 'coverage', 'image-freshness']);
  });

  it('edge with one input under both names, differing: exit 2 before any gate runs', () => {
    const r = cli(['edge', '--coverage-command', 'a', '--command', 'b']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `quality-gates: options --coverage-command and --command both set the coverage gate's 'command' ("a" and "b"): give one\n`
    );
    expect(readFileSync(MAIN, 'utf8')).toContain("from './options.ts'");
  });
});
