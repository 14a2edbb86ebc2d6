// The step kinds the shipped workflows use, executed as the runner and the
// real actions execute them:
//
//   - actions/checkout@v4: a clone of the local bare origin, following the
//     action's own rules (inputs defaults; the ref/commit pair from the
//     event when `ref` is empty; a 40-hex `ref` is a commit; the refspecs of
//     its ref-helper for fetch-depth 0 and N; `checkout -B <branch>
//     refs/remotes/origin/<branch>` for a branch, detached otherwise;
//     persist-credentials writes `http.<server>/.extraheader` with
//     `AUTHORIZATION: basic base64(x-access-token:<token>)` into .git/config,
//     and leaves nothing when false). The remote is file://<origin> where a
//     forge would give https://<server>/<owner>/<repo>: the contract server
//     speaks the REST API, not git.
//   - christopherhx/gitea-upload-artifact@v4 and actions/upload-artifact@v4:
//     a copy into the run's artefact directory (one path, file or
//     directory; hidden files only with include-hidden-files; an existing
//     name refused unless overwrite; if-no-files-found warn/error/ignore).
//     On a Gitea forge actions/upload-artifact@v4 fails as the real one does.
//   - this repository's actions (OWNER/quality-gates[/actions/<name>]@v1):
//     action.yml parsed and validated, `runs.using: node24` run with Node
//     24, INPUT_<NAME> for every `with:` key (upper-cased, [^A-Z0-9-] -> _)
//     and, for declared inputs not given, the default evaluated as an
//     expression (`${{ github.token }}`), exactly as act's
//     populateEnvsFromInput does. pre/post scripts are refused.
//   - run: bash --noprofile --norc -e -o pipefail <script file>.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError, unsupported } from './errors.ts';
import { tokenString, type Scope } from './expressions.ts';
import { git, run, type Exited } from './process.ts';
import { readAction, SELF_USES, type ActionDef } from './workflow-file.ts';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** Node 24 from the devDependency: what `runs.using: node24` gets. */
export const NODE24 = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));

export const CHECKOUT = 'actions/checkout@v4';
export const UPLOADS = ['christopherhx/gitea-upload-artifact@v4', 'actions/upload-artifact@v4'];

export interface StepRuntime {
  workspace: string;
  /** The process environment for the step (runner, workflow, job, step env and file-command paths). */
  env: Record<string, string>;
  /** A directory of the step's own for scripts. */
  scratch: string;
  origin: string;
  serverUrl: string;
  repository: string;
  ref: string;
  sha: string;
  token: string;
  artifacts: string;
  forge: 'gitea' | 'github';
  where: string;
}

export interface Executed extends Exited {
  /** Outputs the harness sets itself (checkout, upload); file-command outputs are read separately. */
  outputs?: Record<string, string>;
  /** INPUT_* the step was given (node actions). */
  inputs?: Record<string, string>;
}

function ok(stdout = '', outputs?: Record<string, string>): Executed {
  return { code: 0, signal: null, stdout, stderr: '', outputs };
}

function failed(message: string): Executed {
  return { code: 1, signal: null, stdout: `::error::${message}\n`, stderr: '' };
}

function only(inputs: Record<string, string>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(inputs)) if (!allowed.includes(k)) unsupported(`input '${k}'`, where);
}

// ---- actions/checkout@v4 ---------------------------------------------------

const CHECKOUT_INPUTS = ['repository', 'ref', 'token', 'persist-credentials', 'fetch-depth'];

/** actions/checkout's ref-helper getRefSpec. */
function refSpec(ref: string, commit: string): string[] {
  const upper = ref.toUpperCase();
  if (commit) {
    if (upper.startsWith('REFS/HEADS/')) return [`+${commit}:refs/remotes/origin/${ref.slice(11)}`];
    if (upper.startsWith('REFS/PULL/')) return [`+${commit}:refs/remotes/pull/${ref.slice(10)}`];
    if (upper.startsWith('REFS/TAGS/')) return [`+${commit}:${ref}`];
    return [commit];
  }
  if (!upper.startsWith('REFS/')) {
    return [
      `+refs/heads/${ref}*:refs/remotes/origin/${ref}*`,
      `+refs/tags/${ref}*:refs/tags/${ref}*`
    ];
  }
  if (upper.startsWith('REFS/HEADS/')) return [`+${ref}:refs/remotes/origin/${ref.slice(11)}`];
  if (upper.startsWith('REFS/PULL/')) return [`+${ref}:refs/remotes/pull/${ref.slice(10)}`];
  return [`+${ref}:${ref}`];
}

export async function checkout(inputs: Record<string, string>, rt: StepRuntime): Promise<Executed> {
  only(inputs, CHECKOUT_INPUTS, rt.where);
  if ((inputs.repository || rt.repository) !== rt.repository) {
    unsupported(`checkout of another repository (${inputs.repository})`, rt.where);
  }
  const depth = Number(inputs['fetch-depth'] ?? '1');
  if (!Number.isInteger(depth))
    throw new HarnessError(`${rt.where}: fetch-depth '${inputs['fetch-depth']}'`);
  const persist = (inputs['persist-credentials'] ?? 'true').toLowerCase() === 'true';
  const token = inputs.token ?? rt.token;
  let ref = inputs.ref ?? '';
  let commit = '';
  if (ref === '') {
    ref = rt.ref;
    commit = rt.sha;
    if (commit && ref && !ref.startsWith('refs/')) ref = `refs/heads/${ref}`;
  } else if (/^[0-9a-f]{40}$/i.test(ref)) {
    commit = ref.toLowerCase();
    ref = '';
  }
  const ws = rt.workspace;
  const env = rt.env;
  const log: string[] = [];
  const g = async (...args: string[]) => {
    log.push(`[command]git ${args.join(' ')}`);
    return git(ws, args, env);
  };
  await g('init', '-q');
  await g('remote', 'add', 'origin', `file://${rt.origin}`);
  await g('config', '--local', 'gc.auto', '0');
  if (persist && token) {
    const header = Buffer.from(`x-access-token:${token}`, 'utf8').toString('base64');
    const server = new URL(rt.serverUrl).origin;
    await git(
      ws,
      ['config', '--local', `http.${server}/.extraheader`, `AUTHORIZATION: basic ${header}`],
      env
    );
    log.push(`[command]git config --local http.${server}/.extraheader AUTHORIZATION: basic ***`);
  }
  if (depth <= 0) {
    const specs = ['+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*'];
    if (commit && ref.toUpperCase().startsWith('REFS/PULL/')) specs.push(...refSpec(ref, commit));
    else if (commit && !ref) specs.push(commit);
    await g(
      '-c',
      'protocol.version=2',
      'fetch',
      '--prune',
      '--no-recurse-submodules',
      'origin',
      ...specs
    );
  } else {
    await g(
      '-c',
      'protocol.version=2',
      'fetch',
      '--no-tags',
      '--prune',
      '--no-recurse-submodules',
      `--depth=${depth}`,
      'origin',
      ...refSpec(ref, commit)
    );
  }
  // actions/checkout's getCheckoutInfo.
  let target: string;
  let startPoint: string | undefined;
  const upper = ref.toUpperCase();
  if (!ref) target = commit;
  else if (upper.startsWith('REFS/HEADS/')) {
    target = ref.slice(11);
    startPoint = `refs/remotes/origin/${target}`;
  } else if (upper.startsWith('REFS/PULL/')) target = `refs/remotes/pull/${ref.slice(10)}`;
  else if (upper.startsWith('REFS/')) target = ref;
  else {
    const remote = (await g('branch', '--list', '--remote', `origin/${ref}`)).trim();
    if (remote) {
      target = ref;
      startPoint = `refs/remotes/origin/${ref}`;
    } else if ((await g('tag', '--list', ref)).trim()) target = `refs/tags/${ref}`;
    else return failed(`A branch or tag with the name '${ref}' could not be found`);
  }
  if (startPoint) await g('checkout', '--progress', '--force', '-B', target, startPoint);
  else await g('checkout', '--progress', '--force', target);
  const head = (await g('rev-parse', 'HEAD')).trim();
  return ok(log.join('\n') + '\n', { ref: inputs.ref ?? '', commit: head });
}

// ---- upload-artifact ---------------------------------------------------------

const UPLOAD_INPUTS = [
  'name',
  'path',
  'if-no-files-found',
  'retention-days',
  'compression-level',
  'overwrite',
  'include-hidden-files'
];

function listFiles(root: string, hidden: boolean): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!hidden && e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

export function upload(uses: string, inputs: Record<string, string>, rt: StepRuntime): Executed {
  only(inputs, UPLOAD_INPUTS, rt.where);
  if (uses === 'actions/upload-artifact@v4' && rt.forge === 'gitea') {
    return failed(
      '@actions/artifact v2.0.0+, upload-artifact@v4+ and download-artifact@v4+ are not currently supported on GHES.'
    );
  }
  const name = inputs.name || 'artifact';
  const paths = (inputs.path ?? '')
    .split('\n')
    .map((p) => p.trim())
    .filter(Boolean);
  if (paths.length !== 1) unsupported(`an upload of ${paths.length} paths`, rt.where);
  if (/[*?[\]!]/.test(paths[0])) unsupported(`a glob path (${paths[0]})`, rt.where);
  const hidden = (inputs['include-hidden-files'] ?? 'false') === 'true';
  const abs = isAbsolute(paths[0]) ? paths[0] : resolve(rt.workspace, paths[0]);
  let root = abs;
  let files: string[] = [];
  // @actions/glob with excludeHiddenFiles: an entry whose own name starts with '.' is
  // skipped, the path given included; a file named explicitly inside a hidden
  // directory is uploaded.
  if (existsSync(abs) && (hidden || !basename(abs).startsWith('.'))) {
    if (statSync(abs).isDirectory()) files = listFiles(abs, hidden);
    else {
      root = resolve(abs, '..');
      files = [basename(abs)];
    }
  }
  if (files.length === 0) {
    const mode = inputs['if-no-files-found'] || 'warn';
    const msg = `No files were found with the provided path: ${paths[0]}. No artifacts will be uploaded.`;
    if (mode === 'error') return failed(msg);
    if (mode === 'warn') return ok(`::warning::${msg}\n`);
    if (mode === 'ignore') return ok(`${msg}\n`);
    throw new HarnessError(`${rt.where}: if-no-files-found '${mode}'`);
  }
  const dest = join(rt.artifacts, name);
  if (existsSync(dest)) {
    if ((inputs.overwrite ?? 'false') !== 'true') {
      return failed(
        `Failed to CreateArtifact: Received non-retryable error: Failed request: (409) Conflict: an artifact with this name already exists on the workflow run`
      );
    }
    rmSync(dest, { recursive: true, force: true });
  }
  for (const f of files) {
    mkdirSync(resolve(dest, f, '..'), { recursive: true });
    cpSync(join(root, f), join(dest, f));
  }
  return ok(`Artifact ${name} has been successfully uploaded (${files.length} files)\n`, {
    'artifact-id': String(readdirSync(rt.artifacts).length),
    'artifact-url': `${rt.serverUrl}/${rt.repository}/actions/artifacts/${name}`
  });
}

// ---- this repository's node actions ----------------------------------------------

const actions = new Map<string, ActionDef>();

/** The action directory a `uses:` of this repository names; undefined for anything else. */
export function selfActionDir(uses: string): string | undefined {
  const m = SELF_USES.exec(uses);
  if (!m) return undefined;
  if (m[2]?.endsWith('.yml') || m[2]?.endsWith('.yaml')) return undefined;
  return m[2] ? join(ROOT, m[2]) : ROOT;
}

export function selfAction(dir: string): ActionDef {
  let a = actions.get(dir);
  if (!a) {
    a = readAction(dir);
    actions.set(dir, a);
  }
  return a;
}

/** INPUT_<NAME> as act names it. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.toUpperCase().replace(/[^A-Z0-9-]/g, '_')}`;
}

export async function nodeAction(
  action: ActionDef,
  withValues: Record<string, string>,
  scope: Scope,
  rt: StepRuntime
): Promise<Executed> {
  const runs = action.template.runs;
  if (runs.using !== 'node24') unsupported(`runs.using '${runs.using}'`, rt.where);
  if (runs.pre || runs.post) unsupported('an action with pre or post scripts', rt.where);
  const inputs: Record<string, string> = {};
  for (const [k, v] of Object.entries(withValues)) inputs[inputEnvName(k)] = v;
  for (const input of action.template.inputs ?? []) {
    const key = inputEnvName(input.id);
    if (key in inputs) continue;
    inputs[key] = tokenString(input.default, {
      ...scope,
      where: `${rt.where} default of input '${input.id}'`
    });
  }
  const env = {
    ...rt.env,
    ...inputs,
    GITHUB_ACTION_PATH: action.dir,
    GITHUB_ACTION_REPOSITORY: 'OWNER/quality-gates',
    GITHUB_ACTION_REF: 'v1'
  };
  const r = await run(NODE24, [resolve(action.dir, runs.main)], { cwd: rt.workspace, env });
  return { ...r, inputs };
}

// ---- run: ---------------------------------------------------------------------

export async function runScript(
  script: string,
  workingDirectory: string,
  rt: StepRuntime
): Promise<Executed> {
  const file = join(rt.scratch, 'script.sh');
  writeFileSync(file, script);
  const cwd = workingDirectory ? resolve(rt.workspace, workingDirectory) : rt.workspace;
  return run('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', file], { cwd, env: rt.env });
}
