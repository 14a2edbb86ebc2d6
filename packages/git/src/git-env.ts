// The environment of every git process the gate runs. After a user command
// (a test, a coverage run) has run in the workspace, its .git directory and
// the user's global git config are the code under test's to write. Git reads
// GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n as command-line
// configuration, which comes after (and so overrides) the global and
// repository files: what the gate sets here cannot be undone by a planted
// hook, fsmonitor, credential helper, askpass or ssh command. Values travel
// in the environment, never in argv (argv is world-readable in /proc).

/** One configuration entry passed through GIT_CONFIG_COUNT. */
export type GitConfigPair = readonly [key: string, value: string];

/**
 * Settings that stop git from running a program the repository or global
 * config names, or from reaching past the commands the gate asked for.
 * Single-valued keys: the last value wins, and these come last. Multi-valued
 * credential.helper: an empty value empties the list collected so far.
 */
export const HARDENING_CONFIG: readonly GitConfigPair[] = [
  ['core.hooksPath', '/dev/null'],
  ['core.fsmonitor', 'false'],
  ['credential.helper', ''],
  ['protocol.ext.allow', 'never'],
  // Empty: no askpass program (GIT_ASKPASS from the runner still wins); with
  // GIT_TERMINAL_PROMPT=0 a missing credential fails instead of prompting.
  ['core.askPass', ''],
  ['commit.gpgSign', 'false'],
  ['tag.gpgSign', 'false'],
  ['push.gpgSign', 'false'],
  ['push.followTags', 'false'],
  ['push.recurseSubmodules', 'no'],
  ['fetch.recurseSubmodules', 'false'],
  ['submodule.recurse', 'false'],
  ['gc.auto', '0'],
  ['maintenance.auto', 'false']
];

/** Appends entries to whatever GIT_CONFIG_COUNT list `env` already carries (later entries win). */
export function withGitConfig(
  env: NodeJS.ProcessEnv,
  pairs: readonly GitConfigPair[]
): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  const existing = Number.parseInt(env.GIT_CONFIG_COUNT ?? '', 10);
  const n = Number.isSafeInteger(existing) && existing > 0 ? existing : 0;
  pairs.forEach(([key, value], i) => {
    out[`GIT_CONFIG_KEY_${n + i}`] = key;
    out[`GIT_CONFIG_VALUE_${n + i}`] = value;
  });
  out.GIT_CONFIG_COUNT = String(n + pairs.length);
  return out;
}

/** The entries `env` carries through GIT_CONFIG_COUNT, in order. */
export function gitConfigPairs(env: NodeJS.ProcessEnv): GitConfigPair[] {
  const count = Number.parseInt(env.GIT_CONFIG_COUNT ?? '', 10);
  const pairs: GitConfigPair[] = [];
  for (let i = 0; Number.isSafeInteger(count) && i < count; i++)
    pairs.push([env[`GIT_CONFIG_KEY_${i}`] ?? '', env[`GIT_CONFIG_VALUE_${i}`] ?? '']);
  return pairs;
}

/**
 * `env` for a git process of the gate: no system config, no prompts, the
 * hardening entries, then `extra`. An ssh command from the runner's own
 * environment is kept (GIT_SSH becomes GIT_SSH_COMMAND, which beats
 * core.sshCommand); otherwise core.sshCommand is plain `ssh`.
 */
export function hardenedGitEnv(
  env: NodeJS.ProcessEnv,
  extra: readonly GitConfigPair[] = []
): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
  // GIT_TRACE_CURL and GIT_CURL_VERBOSE redact Authorization unless this says not to.
  delete out.GIT_TRACE_REDACT;
  const pairs: GitConfigPair[] = [...HARDENING_CONFIG];
  if (!out.GIT_SSH_COMMAND) {
    if (out.GIT_SSH) out.GIT_SSH_COMMAND = shellQuote(out.GIT_SSH);
    else pairs.push(['core.sshCommand', 'ssh']);
  }
  return withGitConfig(out, [...pairs, ...extra]);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
