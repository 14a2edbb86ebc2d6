// Content digests (algorithm:hex) of what the registry sent, so a manifest or
// config that does not hash to the digest it was asked for is refused.

import { createHash } from 'node:crypto';
import { RegistryError } from './registry-error.ts';

const SUPPORTED = new Set(['sha256', 'sha512']);

export function digestOf(bytes: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Throws unless `bytes` hash to `expected`; `what` names the object in the message. */
export function verifyDigest(bytes: Buffer, expected: string, what: string): void {
  const algorithm = expected.slice(0, expected.indexOf(':'));
  if (!SUPPORTED.has(algorithm)) {
    throw new RegistryError(
      'protocol',
      `${what}: digest algorithm ${JSON.stringify(algorithm)} is not supported (sha256, sha512)`
    );
  }
  const actual = digestOf(bytes, algorithm);
  if (actual !== expected.toLowerCase()) {
    throw new RegistryError(
      'protocol',
      `${what}: content hashes to ${actual}, not ${expected}; refusing it`
    );
  }
}
