// The forge client a workflow step gets: base URL from GITHUB_API_URL (set by
// GitHub runners and by Gitea's act_runner, …/api/v1 on Gitea), token from
// an input. Kept apart from the client so tests never read the environment.

import { ConfigurationError } from '../../core/src/errors.ts';
import { ForgeClient, type ForgeClientOptions } from './client.ts';

export function forgeClientFromEnv(
  env: NodeJS.ProcessEnv,
  token: string,
  opts: Omit<ForgeClientOptions, 'apiUrl' | 'token'> = {}
): ForgeClient {
  const apiUrl = (env.GITHUB_API_URL ?? '').trim();
  if (apiUrl === '') {
    throw new ConfigurationError(
      'GITHUB_API_URL',
      'the forge API base URL (set by the runner; on Gitea <server>/api/v1)'
    );
  }
  return new ForgeClient({ ...opts, apiUrl, token });
}
