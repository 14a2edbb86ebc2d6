// The publishing inputs every gate action declares besides its own: the forge
// token, the retry cap, the notifiers and the state store (the retry cap's
// counts live there). Read in one place; a bad value is a configuration error
// of the gate (FAIL with one line), like any other input.

import type { RunContext } from '../../core/src/context.ts';
import { readInteger, readString, type InputSource } from '../../core/src/inputs.ts';
import { NOTIFY_INPUTS, readNotifyConfig, type NotifyConfig } from '../../notify/src/config.ts';
import { readStateConfig, STATE_INPUTS, type StateConfig } from '../../store/src/state-inputs.ts';

export const PUBLISH_INPUTS = {
  token: 'token',
  maxRetries: 'max-developer-retries'
} as const;

/** Every input the publishing layer reads, for action.yml checks and the CLI. */
export const PUBLISH_INPUT_NAMES: readonly string[] = [
  ...new Set<string>([
    ...Object.values(PUBLISH_INPUTS),
    ...Object.values(NOTIFY_INPUTS),
    ...Object.values(STATE_INPUTS)
  ])
];

export const NEEDS_HUMAN_LABEL = 'needs-human';

export interface PublishConfig {
  /** '' = no forge publishing (the verdict still stands; a warning says so). */
  token: string;
  apiUrl: string;
  maxRetries: number;
  notify: NotifyConfig;
  state: StateConfig;
}

export function readPublishConfig(src: InputSource, ctx: RunContext): PublishConfig {
  return {
    token: readString(src, PUBLISH_INPUTS.token),
    apiUrl: (ctx.env.GITHUB_API_URL ?? '').trim().replace(/\/+$/, ''),
    maxRetries: readInteger(src, PUBLISH_INPUTS.maxRetries, 3, 1, 100),
    notify: readNotifyConfig(src, ctx.env),
    state: readStateConfig(src, ctx)
  };
}
