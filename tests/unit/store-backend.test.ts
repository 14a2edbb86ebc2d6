import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { ConfigurationError } from '../../packages/core/src/errors.ts';
import type { StateBackend } from '../../packages/store/src/backend.ts';
import { FileBackend } from '../../packages/store/src/backends/file.ts';
import { GitRefBackend, DEFAULT_STATE_REF } from '../../packages/store/src/backends/git-ref.ts';
import { StoreError } from '../../packages/store/src/errors.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { openBackend } from '../../packages/store/src/open-backend.ts';
import { requireAtomic } from '../../packages/store/src/require-atomic.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const nonAtomic: StateBackend = {
  name: 'artifact',
  atomic: false,
  describe: () => 'artifact quality-gates-state',
  withDb: <T>(_mode: 'read' | 'write', _fn: (db: Database) => T): Promise<T> =>
    Promise.reject(new Error('not used'))
};

describe('openBackend', () => {
  it('builds a file backend', () => {
    const path = join(tempDir(), 'state.sqlite');
    const b = openBackend({ kind: 'file', path });
    expect(b).toBeInstanceOf(FileBackend);
    expect(b.describe()).toBe(path);
    expect(b.atomic).toBe(true);
  });

  it('builds a git-ref backend with the default ref', () => {
    const b = openBackend({ kind: 'git-ref', repoDir: tempDir(), remote: 'state-repo' });
    expect(b).toBeInstanceOf(GitRefBackend);
    expect(b.describe()).toBe(`state-repo ${DEFAULT_STATE_REF}`);
    expect(b.atomic).toBe(true);
  });

  it('builds the artifact backend, which is not atomic', () => {
    const b = openBackend({
      kind: 'artifact',
      api: { apiUrl: 'https://forge.invalid/api/v1', token: 't' },
      owner: 'acme',
      repo: 'app',
      branch: 'main',
      localPath: join(tempDir(), 'state.sqlite'),
      logger: new RecordingLogger()
    });
    expect(b.name).toBe('artifact');
    expect(b.atomic).toBe(false);
    expect(() => requireAtomic(b, 'the merge lease')).toThrow(ConfigurationError);
  });

  it('refuses an empty file path', () => {
    expect(() => openBackend({ kind: 'file', path: ' ' })).toThrow(StoreError);
  });
});

describe('requireAtomic', () => {
  it('passes atomic backends through', () => {
    const b = new FileBackend({ path: join(tempDir(), 's.sqlite') });
    expect(requireAtomic(b, 'the merge lease')).toBe(b);
  });

  it('refuses a non-atomic backend, naming the input and the choices', () => {
    let err: unknown;
    try {
      requireAtomic(nonAtomic, 'the merge lease');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigurationError);
    const e = err as ConfigurationError;
    expect(e.input).toBe('state-backend');
    expect(e.message).toBe(
      `input 'state-backend': expected 'file' or 'git-ref' (the merge lease needs a backend with atomic updates, which 'artifact' is not) (got "artifact")`
    );
  });
});
