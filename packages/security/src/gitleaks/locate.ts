// Finding a gitleaks to run: the `gitleaks-path` input, else PATH. A binary
// counts only once `gitleaks version` has run and named a supported release.
// Absent from PATH (or unusable there) means undefined, and engine 'auto'
// falls back to the embedded scanner; a path the user named must work.

import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { ConfigurationError, ToolError } from '../../../core/src/errors.ts';
import type { Logger } from '../../../core/src/logger.ts';
import { probeGitleaks } from './probe.ts';

export const GITLEAKS_PATH_INPUT = 'gitleaks-path';

export interface LocateGitleaksOptions {
  /** The `gitleaks-path` input; '' or undefined means "look on PATH". */
  explicitPath?: string;
  env: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Limit for `gitleaks version`. Default 10 s. */
  timeoutMs?: number;
  /** Base for a relative explicitPath. Default GITHUB_WORKSPACE, else the current directory. */
  cwd?: string;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Only absolute PATH entries are searched: an empty or relative entry means
 * the current directory, which is the checked-out branch under scan.
 */
export function findOnPath(env: NodeJS.ProcessEnv, name = 'gitleaks'): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** The absolute path of a usable gitleaks, or undefined when PATH has none. */
export async function locateGitleaks(opts: LocateGitleaksOptions): Promise<string | undefined> {
  const explicit = opts.explicitPath?.trim() ?? '';
  if (explicit !== '') {
    const path = resolve(opts.cwd ?? opts.env.GITHUB_WORKSPACE ?? process.cwd(), explicit);
    if (!isExecutableFile(path)) {
      throw new ConfigurationError(
        GITLEAKS_PATH_INPUT,
        'the path of an executable gitleaks binary',
        explicit
      );
    }
    const probe = await probeGitleaks(path, opts.env, opts.timeoutMs);
    if (!probe.ok) {
      throw new ToolError(
        'secrets',
        `gitleaks at ${path} (input '${GITLEAKS_PATH_INPUT}') ${probe.problem}`
      );
    }
    if (probe.note) opts.logger?.warning(probe.note);
    return path;
  }
  const found = findOnPath(opts.env);
  if (found === undefined) {
    opts.logger?.debug('gitleaks is not on PATH');
    return undefined;
  }
  const probe = await probeGitleaks(found, opts.env, opts.timeoutMs);
  if (!probe.ok) {
    opts.logger?.warning(`ignoring gitleaks at ${found}: it ${probe.problem}`);
    return undefined;
  }
  if (probe.note) opts.logger?.warning(probe.note);
  return found;
}
