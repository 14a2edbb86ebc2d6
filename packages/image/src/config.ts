// The image-freshness gate's typed config, built in one place from inputs and
// the run context; input names as constants that action.yml must match.
// Credentials are validated without ever being echoed.

import type { RunContext } from '../../core/src/context.ts';
import { ConfigurationError } from '../../core/src/errors.ts';
import {
  readBoolean,
  readEnum,
  readInteger,
  readString,
  type InputSource
} from '../../core/src/inputs.ts';
import type { Platform } from './media-types.ts';
import { parsePlatform } from './platform.ts';
import { parseImageReference, type ImageReference } from './reference.ts';
import type { Credentials } from './registry-client.ts';

export const IMAGE_INPUTS = {
  image: 'image',
  mode: 'mode',
  sha: 'sha',
  platform: 'platform',
  revisionLabel: 'revision-label',
  registryUsername: 'registry-username',
  registryPassword: 'registry-password',
  registryInsecure: 'registry-insecure',
  timeoutSeconds: 'timeout-seconds'
} as const;

export const IMAGE_INPUT_NAMES: readonly string[] = Object.values(IMAGE_INPUTS);

export const IMAGE_MODES = ['plan', 'verify'] as const;
export type ImageMode = (typeof IMAGE_MODES)[number];

export const DEFAULT_REVISION_LABEL = 'org.opencontainers.image.revision';
export const DEFAULT_PLATFORM = 'linux/amd64';

export interface ImageConfig {
  image: ImageReference;
  mode: ImageMode;
  /** Lower-case 40-hex sha; '' = resolve HEAD of the workspace when evaluating. */
  sha: string;
  /** Where the sha came from, for the report. */
  shaSource: 'input' | 'event' | 'head';
  platform: Platform;
  revisionLabel: string;
  credentials?: Credentials;
  insecure: boolean;
  timeoutMs: number;
  workspace: string;
}

const SHA = /^[0-9a-fA-F]{40}$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;

export function validSha(value: string): boolean {
  return SHA.test(value);
}

function readCredentials(src: InputSource): Credentials | undefined {
  const I = IMAGE_INPUTS;
  const username = src.get(I.registryUsername);
  const password = src.get(I.registryPassword);
  if (username === '' && password === '') return undefined;
  if (username === '')
    throw new ConfigurationError(I.registryUsername, 'a user name when registry-password is set');
  if (password === '')
    throw new ConfigurationError(
      I.registryPassword,
      'a password or token when registry-username is set'
    );
  if (/[:\x00-\x1f\x7f]/.test(username))
    throw new ConfigurationError(
      I.registryUsername,
      'a user name without ":" or control characters'
    );
  if (/[\x00-\x1f\x7f]/.test(password))
    throw new ConfigurationError(
      I.registryPassword,
      'a password on one line, without control characters'
    );
  return { username, password };
}

function readSha(src: InputSource, ctx: RunContext): Pick<ImageConfig, 'sha' | 'shaSource'> {
  const given = src.get(IMAGE_INPUTS.sha);
  if (given !== '') {
    if (!validSha(given))
      throw new ConfigurationError(
        IMAGE_INPUTS.sha,
        'the full 40-character hex commit sha being gated',
        given
      );
    return { sha: given.toLowerCase(), shaSource: 'input' };
  }
  const fromEvent = ctx.event.headSha ?? '';
  if (fromEvent !== '') {
    if (!validSha(fromEvent)) {
      throw new ConfigurationError(
        IMAGE_INPUTS.sha,
        "a full 40-character hex commit sha (the event's pull_request.head.sha is not one; set sha explicitly)",
        fromEvent
      );
    }
    return { sha: fromEvent.toLowerCase(), shaSource: 'event' };
  }
  return { sha: '', shaSource: 'head' };
}

export function readImageConfig(src: InputSource, ctx: RunContext): ImageConfig {
  const I = IMAGE_INPUTS;
  const image = parseImageReference(src.get(I.image), I.image);
  const mode = readEnum(src, I.mode, IMAGE_MODES, 'verify');
  const platform = parsePlatform(readString(src, I.platform, DEFAULT_PLATFORM), I.platform);
  const revisionLabel = readString(src, I.revisionLabel, DEFAULT_REVISION_LABEL);
  if (!LABEL_KEY.test(revisionLabel))
    throw new ConfigurationError(
      I.revisionLabel,
      'a label key such as org.opencontainers.image.revision',
      revisionLabel
    );
  const credentials = readCredentials(src);
  return {
    image,
    mode,
    ...readSha(src, ctx),
    platform,
    revisionLabel,
    ...(credentials ? { credentials } : {}),
    insecure: readBoolean(src, I.registryInsecure, false),
    timeoutMs: readInteger(src, I.timeoutSeconds, 30, 1, 600) * 1000,
    workspace: ctx.workspace
  };
}
