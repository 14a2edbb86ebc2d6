// Small real projects for patch coverage side by side with diff-cover
// (tests/integration/coverage-patch-diff-cover.test.ts). Each is a git
// repository in a temp dir with a bare origin: main with code and tests
// (tests/fixtures/patch-projects/<kind>/main), then branches off that main
// (<kind>/<branch>: files written over the tree, plus the deletions listed
// here; a rename is a deletion plus the edited file at its new path), then main
// moves on with an unrelated commit (<kind>/main-later.patch, git apply) that edits a line the
// branches keep, so a two-dot diff would count it and the merge-base diff does
// not. Every branch gets a clone of its own with the branch checked out, and
// the project's real coverage tool runs there and writes its reports.
import { execFile, execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GIT_ENV, git, makeRepo, tickingDate } from './git-repo.ts';
import { tempDir } from './tmp.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/patch-projects/', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Debian's interpreter: pytest, pytest-cov, coverage and diff-cover are its packages. */
export const DEBIAN_PYTHON = '/usr/bin/python3';
/** Node 24 from the devDependency (plain `node` may be older) and this repository's jest. */
const NODE = join(REPO_ROOT, 'node_modules/.bin/node');
const JEST = join(REPO_ROOT, 'node_modules/jest/bin/jest.js');
/** Debian's libjacoco-java (0.8.6) and the ASM jars its core needs (libasm-java). */
const JAVA_SHARE = '/usr/share/java';
const JACOCO_AGENT_WRAPPER = join(JAVA_SHARE, 'org.jacoco.agent.jar');
const JACOCO_REPORT_CLASSPATH = [
  'org.jacoco.core.jar',
  'org.jacoco.report.jar',
  'asm.jar',
  'asm-commons.jar',
  'asm-tree.jar'
].map((j) => join(JAVA_SHARE, j));

export type ProjectKind = 'python' | 'js' | 'go' | 'c' | 'java';
export const PROJECT_KINDS: readonly ProjectKind[] = ['python', 'js', 'go', 'c', 'java'];

export interface ReportFile {
  /** Short and unique within a run: 'cobertura', 'lcov', 'json', 'profile', ... */
  id: string;
  /** The tool and format, for messages. */
  label: string;
  /** Absolute path. */
  path: string;
  /** diff-cover reads it (Cobertura/JaCoCo XML or LCOV). */
  diffCoverReads: boolean;
  /**
   * For a report diff-cover cannot read: the id of the report of the same run
   * that diff-cover's figures for it come from.
   */
  sameRunAs?: string;
  /** Written by the test from the tool's output, not by the tool (see goCoberturaPort). */
  byTheTest?: boolean;
}

export interface BranchRun {
  kind: ProjectKind;
  branch: string;
  /** The clone with the branch checked out, where the tool ran: diff-cover's cwd, our workspace. */
  work: string;
  reports: ReportFile[];
  /** What ran, e.g. 'pytest 7.2 + pytest-cov 4.0 (coverage.py 6.5)'. */
  tool: string;
  /** Seconds the tool took on this branch. */
  seconds: number;
}

interface Tool {
  /** What to try: the command and arguments of a cheap run (its version), or a file that must exist. */
  check: [string, ...string[]] | { file: string };
  /** Where it comes from: a Debian package (scripts/provision.sh installs it), or npm ci. */
  from: string;
}

/** Every tool the side-by-side test runs, with the Debian package that brings it. */
const TOOLS: Tool[] = [
  { check: ['git', '--version'], from: 'Debian package git' },
  { check: ['diff-cover', '--version'], from: 'Debian package diff-cover' },
  { check: [DEBIAN_PYTHON, '-c', 'import diff_cover'], from: 'Debian package diff-cover' },
  {
    check: [DEBIAN_PYTHON, '-c', 'import pytest, pytest_cov, coverage'],
    from: 'Debian package python3-pytest-cov'
  },
  { check: [NODE, JEST, '--version'], from: 'npm ci (jest is a devDependency)' },
  { check: ['go', 'version'], from: 'Debian package golang-go' },
  { check: ['gcc', '--version'], from: 'Debian package gcc' },
  { check: ['gcov', '--version'], from: 'Debian package gcc' },
  { check: ['gcovr', '--version'], from: 'Debian package gcovr' },
  { check: ['lcov', '--version'], from: 'Debian package lcov' },
  { check: ['javac', '-version'], from: 'Debian package default-jdk-headless' },
  { check: ['jar', '--version'], from: 'Debian package default-jdk-headless' },
  { check: { file: JACOCO_AGENT_WRAPPER }, from: 'Debian package libjacoco-java' },
  ...JACOCO_REPORT_CLASSPATH.map((j): Tool => ({
    check: { file: j },
    from: `Debian package ${j.includes('jacoco') ? 'libjacoco-java' : 'libasm-java'}`
  }))
];

/** The tools that are missing here, each with where it comes from; empty when all run. */
export function missingTools(): string[] {
  const missing: string[] = [];
  for (const { check, from } of TOOLS) {
    if (!Array.isArray(check)) {
      if (!existsSync(check.file)) missing.push(`${check.file} (${from})`);
      continue;
    }
    try {
      execFileSync(check[0], check.slice(1), { stdio: 'ignore', timeout: 60_000 });
    } catch {
      missing.push(`${check.join(' ')} (${from})`);
    }
  }
  return missing;
}

/** Fails with every missing tool and its Debian package named (no silent skip). */
export function assertToolsInstalled(): void {
  const missing = missingTools();
  if (missing.length > 0) {
    throw new Error(
      `patch coverage side by side with diff-cover needs tools that are not installed: ${missing.join('; ')}. ` +
        'scripts/provision.sh installs them (npm run provision, as root)'
    );
  }
}

/** The branches of each project: the fixture dir of each and the files it deletes. */
interface BranchSpec {
  /** Fixture dir under <kind>/ whose files are written over main's tree. */
  dir: string;
  /** Paths removed on the branch (a rename's old path among them). */
  remove: string[];
}

const JAVA_PKG = 'src/main/java/com/acme/calc';

export const BRANCHES: Record<ProjectKind, Record<string, BranchSpec>> = {
  python: {
    // New module partly tested (geometry), changed lines covered and not
    // (ops), a file deleted (legacy + its test), a rename with an edit
    // (fmt -> formatting), changes outside the measured source (tests/, tools/,
    // README).
    'feat/shapes': {
      dir: 'feature',
      remove: ['src/calc/legacy.py', 'tests/test_legacy.py', 'src/calc/fmt.py']
    },
    // Only a module docstring and a comment change: nothing executable.
    'docs/wording': { dir: 'docs-only', remove: [] }
  },
  js: {
    'feat/cart': {
      dir: 'feature',
      remove: ['src/legacy.js', 'test/legacy.test.js', 'src/strings.js']
    }
  },
  go: {
    'feat/geometry': {
      dir: 'feature',
      remove: ['service/legacy.go', 'service/legacy_test.go', 'service/format.go']
    }
  },
  c: {
    'feat/extra': { dir: 'feature', remove: ['src/legacy.c', 'src/sign.c'] },
    // A comment in a source file and the README: nothing executable.
    'docs/comment': { dir: 'docs-only', remove: [] }
  },
  java: {
    'feat/shapes': {
      dir: 'feature',
      remove: [`${JAVA_PKG}/Legacy.java`, `${JAVA_PKG}/Format.java`]
    }
  }
};

class ToolError extends Error {}

/** Runs a command; on failure the error carries its exit and the end of its output. */
function run(
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv }
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { ...opts, maxBuffer: 64 * 1024 * 1024, timeout: 300_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve(stdout);
          return;
        }
        const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-25).join('\n');
        reject(
          new ToolError(
            `${command} ${args.join(' ')} (cwd ${opts.cwd}) failed: ${err.message.split('\n')[0]}\n${tail}`
          )
        );
      }
    );
  });
}

/** Variables of the caller's that would change what the tools do. */
const INHERITED_TOOL_VARS =
  /^(GO|COVERAGE_|PYTHON|JEST_|NODE_OPTIONS$|JAVA_TOOL_OPTIONS$|_JAVA_OPTIONS$|CLASSPATH$)/;

/** The tools' environment: no user config, temp homes and caches, no network for Go. */
function toolEnv(scratch: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...GIT_ENV };
  for (const k of Object.keys(env)) if (INHERITED_TOOL_VARS.test(k)) delete env[k];
  const home = join(scratch, 'home');
  mkdirSync(home, { recursive: true });
  return {
    ...env,
    HOME: home,
    PYTHONDONTWRITEBYTECODE: '1',
    GOPATH: join(scratch, 'gopath'),
    GOCACHE: join(scratch, 'gocache'),
    GOPROXY: 'off',
    GOFLAGS: '-mod=mod',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    LC_ALL: 'C.UTF-8'
  };
}

/** The source files main's later commit edits (its patch's files less CHANGES.md), repository paths. */
export function mainLaterSources(kind: ProjectKind): string[] {
  const patch = readFileSync(join(FIXTURES, kind, 'main-later.patch'), 'utf8');
  return [...patch.matchAll(/^\+\+\+ b\/(.+)$/gm)]
    .map((m) => m[1])
    .filter((p) => p !== 'CHANGES.md')
    .sort();
}

/**
 * Changes the work tree as a fixture says: a dir's files written over it, or,
 * for a small edit of main's files (main-later, docs-only), `<dir>.patch`
 * applied with git apply.
 */
function overlay(kind: ProjectKind, dir: string, work: string): void {
  const patch = join(FIXTURES, kind, `${dir}.patch`);
  if (existsSync(patch)) git(work, 'apply', '--whitespace=nowarn', patch);
  else cpSync(join(FIXTURES, kind, dir), work, { recursive: true });
}

/**
 * Builds the project's repository (origin, main, its branches, main moved on)
 * and, for each branch, a clone on the branch where the tool ran.
 */
export async function buildProject(kind: ProjectKind): Promise<BranchRun[]> {
  const repo = makeRepo({ date: tickingDate });
  overlay(kind, 'main', repo.work);
  repo.commitAll(`${kind}: the project`);
  repo.git('push', '-q', 'origin', 'main');
  const base = repo.sha('HEAD');
  for (const [branch, spec] of Object.entries(BRANCHES[kind])) {
    repo.git('checkout', '-q', '-b', branch, base);
    for (const p of spec.remove) {
      if (!existsSync(join(repo.work, p))) throw new Error(`${kind}/${branch}: no ${p} to remove`);
      rmSync(join(repo.work, p));
    }
    overlay(kind, spec.dir, repo.work);
    repo.commitAll(`${kind}: ${branch}`);
    repo.git('push', '-q', 'origin', branch);
  }
  repo.git('checkout', '-q', 'main');
  overlay(kind, 'main-later', repo.work);
  repo.commitAll(`${kind}: main moves on`);
  repo.git('push', '-q', 'origin', 'main');

  const runs: BranchRun[] = [];
  for (const branch of Object.keys(BRANCHES[kind])) {
    const work = join(repo.root, `clone-${branch.replace(/\//g, '-')}`);
    git(repo.root, 'clone', '-q', repo.origin, work);
    git(work, 'checkout', '-q', branch);
    const scratch = tempDir(`qg-patch-${kind}-`);
    const env = toolEnv(scratch);
    const started = Date.now();
    const { tool, reports } = await RUNNERS[kind](work, scratch, env);
    for (const r of reports) {
      if (!existsSync(r.path))
        throw new Error(`${kind}/${branch}: ${r.label} not written at ${r.path}`);
    }
    runs.push({ kind, branch, work, reports, tool, seconds: (Date.now() - started) / 1000 });
  }
  return runs;
}

type Runner = (
  work: string,
  scratch: string,
  env: NodeJS.ProcessEnv
) => Promise<{ tool: string; reports: ReportFile[] }>;

const RUNNERS: Record<ProjectKind, Runner> = {
  // pytest-cov 4.0 writes XML and LCOV; JSON it cannot (added in pytest-cov
  // 4.1), so `coverage json` writes it from the same .coverage data file.
  async python(work, _scratch, env) {
    const o = { cwd: work, env };
    await run(
      DEBIAN_PYTHON,
      [
        '-m',
        'pytest',
        '-q',
        '-p',
        'no:cacheprovider',
        '--cov=src',
        '--cov-report=xml:coverage.xml',
        '--cov-report=lcov:coverage.lcov'
      ],
      o
    );
    await run(DEBIAN_PYTHON, ['-m', 'coverage', 'json', '-q', '-o', 'coverage.json'], o);
    const v = (await run(DEBIAN_PYTHON, ['-c', PY_VERSIONS], o)).trim();
    return {
      tool: `pytest ${v}`,
      reports: [
        {
          id: 'cobertura',
          label: 'coverage.py Cobertura XML',
          path: join(work, 'coverage.xml'),
          diffCoverReads: true
        },
        {
          id: 'lcov',
          label: 'coverage.py LCOV',
          path: join(work, 'coverage.lcov'),
          diffCoverReads: true
        },
        {
          id: 'json',
          label: 'coverage.py JSON',
          path: join(work, 'coverage.json'),
          diffCoverReads: false,
          sameRunAs: 'cobertura'
        }
      ]
    };
  },

  // This repository's jest (babel-plugin-istanbul instrumentation), run on the
  // small project as a child process.
  async js(work, scratch, env) {
    await run(
      NODE,
      [
        JEST,
        '--ci',
        '--runInBand',
        '--watchman=false',
        `--cacheDirectory=${join(scratch, 'jest-cache')}`,
        '--coverage',
        '--coverageReporters=lcovonly',
        '--coverageReporters=cobertura',
        '--coverageReporters=json'
      ],
      { cwd: work, env }
    );
    const v = (await run(NODE, [JEST, '--version'], { cwd: work, env })).trim();
    const dir = join(work, 'coverage');
    return {
      tool: `jest ${v} (istanbul)`,
      reports: [
        {
          id: 'cobertura',
          label: 'jest Cobertura XML',
          path: join(dir, 'cobertura-coverage.xml'),
          diffCoverReads: true
        },
        { id: 'lcov', label: 'jest LCOV', path: join(dir, 'lcov.info'), diffCoverReads: true },
        {
          id: 'json',
          label: 'jest coverage-final.json',
          path: join(dir, 'coverage-final.json'),
          diffCoverReads: false,
          sameRunAs: 'lcov'
        }
      ]
    };
  },

  // `go test -coverprofile` in the module (service/, a subdirectory). diff-cover
  // reads no Go profile and Debian packages no converter, so the test writes
  // the Cobertura XML gocover-cobertura would write (goCoberturaPort) and
  // diff-cover reads that.
  async go(work, _scratch, env) {
    const module = join(work, 'service');
    await run('go', ['test', '-coverprofile=cover.out', './...'], { cwd: module, env });
    const v = (await run('go', ['version'], { cwd: module, env })).trim().split(' ')[2];
    const profile = join(module, 'cover.out');
    const xml = join(module, 'cobertura.xml');
    writeFileSync(xml, goCoberturaPort(readFileSync(profile, 'utf8'), module));
    return {
      tool: `${v} test -coverprofile`,
      reports: [
        {
          id: 'profile',
          label: 'go cover profile',
          path: profile,
          diffCoverReads: false,
          sameRunAs: 'cobertura-port'
        },
        {
          id: 'cobertura-port',
          label: "the profile as gocover-cobertura's Cobertura XML (written by the test)",
          path: xml,
          diffCoverReads: true,
          byTheTest: true
        }
      ]
    };
  },

  // gcc --coverage, one object per source in build/, the test program run,
  // then gcovr (Cobertura XML) and lcov/geninfo (LCOV) on the same .gcda files.
  async c(work, _scratch, env) {
    const o = { cwd: work, env };
    mkdirSync(join(work, 'build'));
    const sources = [
      ...readdirSync(join(work, 'src'))
        .filter((f) => f.endsWith('.c'))
        .map((f) => `src/${f}`),
      'tests/test_calc.c'
    ];
    for (const s of sources) {
      const obj = `build/${s.replace(/^.*\//, '').replace(/\.c$/, '.o')}`;
      await run('gcc', ['--coverage', '-O0', '-Iinclude', '-c', s, '-o', obj], o);
    }
    const objects = readdirSync(join(work, 'build'))
      .filter((f) => f.endsWith('.o'))
      .map((f) => `build/${f}`);
    await run('gcc', ['--coverage', ...objects, '-o', 'build/test_calc'], o);
    await run(join(work, 'build/test_calc'), [], o);
    await run('gcovr', ['--root', '.', '--xml', 'coverage.xml'], o);
    await run(
      'lcov',
      [
        '--quiet',
        '--capture',
        '--directory',
        'build',
        '--base-directory',
        '.',
        '--no-external',
        '--output-file',
        'coverage.info'
      ],
      o
    );
    const gcc = (await run('gcc', ['-dumpfullversion'], o)).trim();
    const gcovr = (await run('gcovr', ['--version'], o)).split('\n')[0].trim();
    const lcov = (await run('lcov', ['--version'], o)).trim().replace(/^lcov: /, '');
    return {
      tool: `gcc ${gcc} --coverage; ${gcovr}; ${lcov}`,
      reports: [
        {
          id: 'cobertura',
          label: 'gcovr Cobertura XML',
          path: join(work, 'coverage.xml'),
          diffCoverReads: true
        },
        {
          id: 'lcov',
          label: 'geninfo LCOV',
          path: join(work, 'coverage.info'),
          diffCoverReads: true
        }
      ]
    };
  },

  // javac --release 11 (JaCoCo 0.8.6 reads class files up to Java 15), the
  // tests run under the JaCoCo agent (Debian ships it inside
  // org.jacoco.agent.jar, as jacocoagent.jar, the way JaCoCo does), then
  // JaCoCo's report API writes the XML (tests/fixtures/patch-projects/jacoco-report/Report.java).
  async java(work, scratch, env) {
    const o = { cwd: work, env };
    await run('jar', ['xf', JACOCO_AGENT_WRAPPER, 'jacocoagent.jar'], { cwd: scratch, env });
    const agent = join(scratch, 'jacocoagent.jar');
    const javaFiles = (root: string): string[] =>
      readdirSync(join(work, root), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.java'))
        .map((f) => join(root, f));
    const javac = ['--release', '11', '-encoding', 'UTF-8', '-nowarn'];
    await run('javac', [...javac, '-d', 'build/classes', ...javaFiles('src/main/java')], o);
    await run(
      'javac',
      [...javac, '-cp', 'build/classes', '-d', 'build/test-classes', ...javaFiles('src/test/java')],
      o
    );
    await run(
      'java',
      [
        `-javaagent:${agent}=destfile=build/jacoco.exec`,
        '-cp',
        'build/classes:build/test-classes',
        'com.acme.calc.AllTests'
      ],
      o
    );
    await run(
      'java',
      [
        '-cp',
        JACOCO_REPORT_CLASSPATH.join(':'),
        join(FIXTURES, 'jacoco-report/Report.java'),
        'build/jacoco.exec',
        'build/classes',
        'src/main/java',
        'calc',
        'build/jacoco.xml'
      ],
      o
    );
    const java = (await run('javac', ['-version'], o)).trim();
    return {
      tool: `${java} --release 11; JaCoCo 0.8.6 agent and report API`,
      reports: [
        {
          id: 'jacoco',
          label: 'JaCoCo XML',
          path: join(work, 'build/jacoco.xml'),
          diffCoverReads: true
        }
      ]
    };
  }
};

const PY_VERSIONS =
  'import pytest, pytest_cov, coverage; print(f"{pytest.__version__} + pytest-cov {pytest_cov.__version__} (coverage.py {coverage.__version__})")';

/**
 * The Cobertura XML gocover-cobertura (github.com/boumenot/gocover-cobertura
 * at fe5b37d, the converter diff-cover users run on Go profiles) writes for a profile,
 * reduced to what diff-cover reads. Its rule (gocover-cobertura.go
 * methodFromNode and cobertura.go Lines.AddOrUpdateLine): every block
 * overlapping a function marks each line from its start line to its end line;
 * a line's hits are the sum of its blocks' counts (`count`/`atomic`) or
 * their OR (`set`); blocks without statements count too. The path is the
 * profile's import path less the module path, under <source> = the module
 * directory. Ported without the function walk: in a cover profile every block
 * lies in a function body, so the walk drops nothing, and class and method
 * elements (one class per receiver type) are left out: diff-cover merges a
 * file's classes anyway, and no line of these projects is in two functions.
 */
export function goCoberturaPort(profile: string, moduleDir: string): string {
  const modulePath = /^module\s+(\S+)/m.exec(readFileSync(join(moduleDir, 'go.mod'), 'utf8'))?.[1];
  if (modulePath === undefined) throw new Error(`no module line in ${moduleDir}/go.mod`);
  const lines = profile.split('\n').filter((l) => l.trim() !== '');
  const mode = /^mode: (\w+)$/.exec(lines[0] ?? '')?.[1];
  if (mode === undefined) throw new Error(`not a cover profile: ${lines[0]}`);
  const files = new Map<string, Map<number, number>>();
  for (const l of lines.slice(1)) {
    const m = /^(.+):(\d+)\.\d+,(\d+)\.\d+ \d+ (\d+)$/.exec(l);
    if (m === null) throw new Error(`not a cover profile block: ${l}`);
    const [, importPath, start, end, count] = m;
    if (!importPath.startsWith(`${modulePath}/`))
      throw new Error(`${importPath} is outside ${modulePath}`);
    const file = importPath.slice(modulePath.length + 1);
    let hits = files.get(file);
    if (hits === undefined) files.set(file, (hits = new Map()));
    for (let n = Number(start); n <= Number(end); n++) {
      const prev = hits.get(n);
      const c = Number(count);
      hits.set(n, prev === undefined ? c : mode === 'set' ? prev | c : prev + c);
    }
  }
  const byPackage = new Map<string, string[]>();
  let valid = 0;
  let covered = 0;
  for (const [file, hits] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const pkg = [modulePath, dirname(file)].filter((p) => p !== '.').join('/');
    const rows = [...hits]
      .sort(([a], [b]) => a - b)
      .map(([n, h]) => `<line number="${n}" hits="${h}"/>`);
    valid += hits.size;
    covered += [...hits.values()].filter((h) => h > 0).length;
    const cls = `<class name="-" filename="${file}"><methods/><lines>${rows.join('')}</lines></class>`;
    byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), cls]);
  }
  const packages = [...byPackage]
    .map(
      ([name, classes]) =>
        `<package name="${name}"><classes>${classes.join('')}</classes></package>`
    )
    .join('');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">',
    `<coverage line-rate="${valid === 0 ? 0 : covered / valid}" branch-rate="0" lines-covered="${covered}" lines-valid="${valid}" branches-covered="0" branches-valid="0" complexity="0" version="" timestamp="0">`,
    `<sources><source>${moduleDir}</source></sources>`,
    `<packages>${packages}</packages>`,
    '</coverage>',
    ''
  ].join('\n');
}

/** What diff-cover 7.4 makes of one report on a work tree (see diff_cover_lines.py). */
export interface DiffCoverResult {
  /** Its --json-report, from the diff-cover command itself. */
  json: DiffCoverJson;
  /** The same computation's changed lines per changed file (the diff side). */
  changed: Record<string, number[]>;
  /** Per changed file: the changed lines the report measures, and those uncovered. */
  files: Record<string, { measured: number[]; violations: number[] }>;
  /** The probe's report dict: must equal `json` (the probe computes what the command does). */
  probeReport: DiffCoverJson;
}

export interface DiffCoverJson {
  report_name: string;
  diff_name: string;
  src_stats: Record<string, { percent_covered: number; violation_lines: number[] }>;
  total_num_lines: number;
  total_num_violations: number;
  total_percent_covered: number;
  num_changed_lines: number;
}

/**
 * diff-cover on `report` with the branch head checked out in `work`, against
 * origin/main (its default range notation `...`: from the merge base): the
 * command's own --json-report, and diff_cover_lines.py's line sets, whose
 * report dict must be the command's (checked by the caller).
 */
export async function diffCover(work: string, report: string): Promise<DiffCoverResult> {
  const env = { ...process.env, ...GIT_ENV };
  const out = join(tempDir('qg-diff-cover-'), 'diff-cover.json');
  const rel = relative(work, report);
  await run('diff-cover', [rel, '--compare-branch=origin/main', '--json-report', out, '--quiet'], {
    cwd: work,
    env
  });
  const json = JSON.parse(readFileSync(out, 'utf8')) as DiffCoverJson;
  const probe = JSON.parse(
    await run(
      DEBIAN_PYTHON,
      [join(FIXTURES, 'diff_cover_lines.py'), rel, '--compare-branch', 'origin/main'],
      {
        cwd: work,
        env
      }
    )
  ) as {
    report: DiffCoverJson;
    changed: DiffCoverResult['changed'];
    files: DiffCoverResult['files'];
  };
  return { json, changed: probe.changed, files: probe.files, probeReport: probe.report };
}
