// openBackend(): the one place that turns a backend choice into a
// StateBackend. The caller (a gate's config builder) maps its inputs onto
// BackendConfig and decides defaults such as the file path.

import type { StateBackend } from './backend.ts';
import { ArtifactBackend, type ArtifactBackendOptions } from './backends/artifact.ts';
import { FileBackend, type FileBackendOptions } from './backends/file.ts';
import { GitRefBackend, type GitRefBackendOptions } from './backends/git-ref.ts';
import { StoreError } from './errors.ts';

export type BackendConfig =
  | ({ kind: 'file' } & FileBackendOptions)
  | ({ kind: 'git-ref' } & GitRefBackendOptions)
  | ({ kind: 'artifact' } & ArtifactBackendOptions);

export function openBackend(config: BackendConfig): StateBackend {
  switch (config.kind) {
    case 'file':
      return new FileBackend(config);
    case 'git-ref':
      return new GitRefBackend(config);
    case 'artifact':
      // Not atomic: requireAtomic() refuses it for anything that needs a lease.
      return new ArtifactBackend(config);
    default: {
      const never: never = config;
      throw new StoreError('(unknown)', `unknown state backend ${JSON.stringify(never)}`);
    }
  }
}
