// requireAtomic(): the guard for state that must never be updated by two
// writers at once (the merge lease). The artifact backend has no atomic
// update, so asking it to hold a lease is a configuration mistake, reported
// against the input that chose it.

import { ConfigurationError } from '../../core/src/errors.ts';
import type { StateBackend } from './backend.ts';

export const STATE_BACKEND_INPUT = 'state-backend';

/** Returns `backend` when its updates are atomic; otherwise throws a ConfigurationError. */
export function requireAtomic<B extends StateBackend>(backend: B, purpose: string): B {
  if (backend.atomic) return backend;
  throw new ConfigurationError(
    STATE_BACKEND_INPUT,
    `'file' or 'git-ref' (${purpose} needs a backend with atomic updates, which '${backend.name}' is not)`,
    backend.name
  );
}
