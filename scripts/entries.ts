// The bundles this repository ships: one per action folder, the root
// action.yml (the whole edge in one step, bundle 'edge'), the CLI, and the
// secrets detection worker they start.
// The build and the check-dist step both read this list, so they cannot
// disagree about what dist/ should contain.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Entry {
  name: string;
  source: string;
}

export function entries(root: string): Entry[] {
  const actions = readdirSync(join(root, 'actions'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, 'actions', d.name, 'main.ts')))
    .map((d) => ({ name: d.name, source: join('actions', d.name, 'main.ts') }));
  return [
    ...actions,
    { name: 'edge', source: join('packages', 'cli', 'src', 'edge-action.ts') },
    { name: 'cli', source: join('packages', 'cli', 'src', 'main.ts') },
    // Not an action: the secrets detection worker the security gate, the edge and the CLI start.
    {
      name: 'secrets-detect-worker',
      source: join('packages', 'security', 'src', 'secrets', 'detect-worker.ts')
    }
  ].sort((a, b) => a.name.localeCompare(b.name));
}
