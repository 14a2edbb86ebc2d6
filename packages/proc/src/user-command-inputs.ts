// The two inputs every action that runs a user command declares (the merge
// gate's test command, the coverage gate's and the ratchet's coverage
// command), parsed in one place: which extra environment variables the
// command may see, and how it is isolated from the gate.

import { ConfigurationError } from '../../core/src/errors.ts';
import { readEnum, readList, type InputSource } from '../../core/src/inputs.ts';
import type { UserIsolation } from './user-command.ts';
import { isPassEnvPattern } from './user-env.ts';

export const USER_COMMAND_INPUTS = { passEnv: 'pass-env', isolation: 'isolation' } as const;

export const ISOLATIONS: readonly UserIsolation[] = ['auto', 'namespace', 'process-group'];

export interface UserCommandConfig {
  /** Names (or PREFIX_* globs) the user lets through beyond the safe defaults. */
  passEnv: string[];
  isolation: UserIsolation;
}

export function readUserCommandConfig(src: InputSource): UserCommandConfig {
  const passEnv = readList(src, USER_COMMAND_INPUTS.passEnv);
  const bad = passEnv.find((p) => !isPassEnvPattern(p));
  if (bad !== undefined)
    throw new ConfigurationError(
      USER_COMMAND_INPUTS.passEnv,
      'environment variable names or PREFIX_* globs, comma or newline separated (INPUT_* and the runner tokens never pass)',
      bad
    );
  return {
    passEnv,
    isolation: readEnum(src, USER_COMMAND_INPUTS.isolation, ISOLATIONS, 'auto')
  };
}
