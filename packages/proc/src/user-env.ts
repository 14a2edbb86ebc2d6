// The environment of the user's own commands (test command, coverage
// command): an allowlist, not a denylist. The gate's process carries every
// action input (INPUT_TOKEN, INPUT_TELEGRAM-BOT-TOKEN, INPUT_WEBHOOK-SECRET),
// the runner's runtime tokens (ACTIONS_*) and the file-command paths
// (GITHUB_OUTPUT, GITHUB_ENV, ...); a test that reads or writes those could
// leak a secret or change the gate step's outputs and later steps' env.
//
// Passed: the basics a shell and toolchains need (PATH, HOME, locale, TMPDIR,
// CI), the forge's non-secret context (GITHUB_* / GITEA_* / RUNNER_*) and
// common toolchain locations. Never passed by a pattern: a name that says
// TOKEN, SECRET, PASSWORD, PASSWD, CREDENTIAL, PRIVATE_KEY, API_KEY, AUTH,
// COOKIE or SESSION (case-insensitive), INPUT_*, ACTIONS_*, the file-command
// paths. The user's pass-env names (exact, or PREFIX_*) pass even when they
// look secret, except INPUT_* and the runner's own tokens, which never do.
// Proxy variables (HTTP_PROXY, HTTPS_PROXY) may carry credentials in their
// URL and are not passed unless named in pass-env; NO_PROXY is.

const EXACT = new Set([
  // shell and system basics
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'HOSTNAME',
  'TMPDIR',
  'TMP',
  'TEMP',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TERM',
  'CI',
  'NO_COLOR',
  'FORCE_COLOR',
  'DEBIAN_FRONTEND',
  'NO_PROXY',
  'no_proxy',
  'XDG_CACHE_HOME',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'XDG_RUNTIME_DIR',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'NODE_EXTRA_CA_CERTS',
  // runner image facts (GitHub-hosted)
  'ImageOS',
  'ImageVersion',
  'AGENT_TOOLSDIRECTORY',
  // C/C++ toolchain
  'CC',
  'CXX',
  'CFLAGS',
  'CXXFLAGS',
  'CPPFLAGS',
  'LDFLAGS',
  'PKG_CONFIG_PATH',
  'LD_LIBRARY_PATH',
  'VCPKG_INSTALLATION_ROOT',
  // Go
  'GOPATH',
  'GOROOT',
  'GOCACHE',
  'GOMODCACHE',
  'GOFLAGS',
  'GOTOOLCHAIN',
  'GOPRIVATE',
  'GONOSUMDB',
  'CGO_ENABLED',
  // Python
  'PYTHONPATH',
  'PYTHONHOME',
  'PYTHONDONTWRITEBYTECODE',
  'PYTHONUNBUFFERED',
  'VIRTUAL_ENV',
  'CONDA',
  'pythonLocation',
  'Python_ROOT_DIR',
  'Python2_ROOT_DIR',
  'Python3_ROOT_DIR',
  'PIPX_HOME',
  'PIPX_BIN_DIR',
  // Rust
  'CARGO_HOME',
  'RUSTUP_HOME',
  'RUSTUP_TOOLCHAIN',
  // JVM
  'M2_HOME',
  'MAVEN_HOME',
  'GRADLE_HOME',
  'GRADLE_USER_HOME',
  'ANT_HOME',
  'SELENIUM_JAR_PATH',
  // JavaScript
  'NODE_PATH',
  'NVM_DIR',
  'PNPM_HOME',
  // .NET
  'DOTNET_ROOT',
  'DOTNET_NOLOGO',
  'DOTNET_CLI_TELEMETRY_OPTOUT',
  'DOTNET_SKIP_FIRST_TIME_EXPERIENCE',
  // Ruby
  'GEM_HOME',
  'GEM_PATH',
  // Android, browsers
  'ANDROID_HOME',
  'ANDROID_SDK_ROOT',
  'ANDROID_NDK_HOME',
  'CHROMEWEBDRIVER',
  'EDGEWEBDRIVER',
  'GECKOWEBDRIVER'
]);

/** Prefixes whose names pass unless a denial below matches. */
const PREFIXES = ['LC_', 'GITHUB_', 'GITEA_', 'RUNNER_', 'JAVA_HOME'];

/** Words that make a name secret-looking (case-insensitive, anywhere in the name). */
const SECRET_WORDS =
  /TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_?KEY|API_?KEY|AUTH|COOKIE|SESSION/i;

/** The runner's file-command paths: writing them changes the step's outputs or later steps. */
const FILE_COMMANDS = new Set(
  ['ENV', 'OUTPUT', 'PATH', 'STATE', 'STEP_SUMMARY'].flatMap((n) => [`GITHUB_${n}`, `GITEA_${n}`])
);

/** Never passed, not even when the user names them in pass-env. */
const NEVER = new Set([
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'GITHUB_TOKEN',
  'GITEA_TOKEN'
]);

function never(name: string): boolean {
  return /^INPUT_/i.test(name) || NEVER.has(name.toUpperCase());
}

function allowedByDefault(name: string): boolean {
  if (/^ACTIONS_/i.test(name) || FILE_COMMANDS.has(name) || SECRET_WORDS.test(name)) return false;
  return EXACT.has(name) || PREFIXES.some((p) => name.startsWith(p));
}

/** A pass-env entry: an exact variable name, or a prefix followed by one trailing `*`. */
export function isPassEnvPattern(pattern: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*\*?$/.test(pattern);
}

function passedByUser(name: string, passEnv: readonly string[]): boolean {
  return passEnv.some((p) => {
    if (!isPassEnvPattern(p)) return false;
    return p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p;
  });
}

/** Whether `name` reaches the user's command given the user's pass-env list. */
export function userEnvAllows(name: string, passEnv: readonly string[] = []): boolean {
  if (never(name)) return false;
  return allowedByDefault(name) || passedByUser(name, passEnv);
}

/**
 * The environment for the user's command: the allowed names of `env` with
 * their values. `passEnv` are names the user explicitly allows (exact, or
 * `PREFIX_*`); invalid entries are ignored (see isPassEnvPattern).
 */
export function userCommandEnv(
  env: NodeJS.ProcessEnv,
  passEnv: readonly string[]
): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && userEnvAllows(name, passEnv)) out[name] = value;
  }
  return out;
}

/** Names of `env` that userCommandEnv() drops, sorted. Names only, never values. */
export function droppedEnvNames(env: NodeJS.ProcessEnv, passEnv: readonly string[]): string[] {
  return Object.keys(env)
    .filter((name) => env[name] !== undefined && !userEnvAllows(name, passEnv))
    .sort();
}

/**
 * One line for debug logging: how many variables pass and which names are
 * dropped (names only, never values).
 */
export function describeUserEnv(env: NodeJS.ProcessEnv, passEnv: readonly string[]): string {
  const dropped = droppedEnvNames(env, passEnv);
  const passed = Object.keys(userCommandEnv(env, passEnv)).length;
  const list = dropped.length > 0 ? `: ${dropped.join(', ')}` : '';
  return `user command environment: ${passed} variable(s) passed, ${dropped.length} dropped${list}`;
}
