// Which changed paths are lockfiles and which parser reads each. Matching is
// by file name at any depth; vendored copies under node_modules/ are not the
// project's lockfiles and are left alone.

import type { LockfileParser } from './parsed-lockfile.ts';
import type { Ecosystem } from './package-ref.ts';
import { parsePackageLock } from './npm-lock.ts';
import { parseYarnLock } from './yarn-lock.ts';
import { parsePnpmLock } from './pnpm-lock.ts';
import { parseRequirementsTxt } from './requirements-txt.ts';
import { parsePoetryLock } from './poetry-lock.ts';
import { parsePipfileLock } from './pipfile-lock.ts';
import { parseUvLock } from './uv-lock.ts';

export interface LockfileKind {
  kind: string;
  ecosystem: Ecosystem;
  parse: LockfileParser;
}

const BY_NAME: Record<string, LockfileKind> = {
  'package-lock.json': { kind: 'package-lock', ecosystem: 'npm', parse: parsePackageLock },
  'npm-shrinkwrap.json': { kind: 'npm-shrinkwrap', ecosystem: 'npm', parse: parsePackageLock },
  'yarn.lock': { kind: 'yarn-lock', ecosystem: 'npm', parse: parseYarnLock },
  'pnpm-lock.yaml': { kind: 'pnpm-lock', ecosystem: 'npm', parse: parsePnpmLock },
  'poetry.lock': { kind: 'poetry-lock', ecosystem: 'PyPI', parse: parsePoetryLock },
  'Pipfile.lock': { kind: 'pipfile-lock', ecosystem: 'PyPI', parse: parsePipfileLock },
  'uv.lock': { kind: 'uv-lock', ecosystem: 'PyPI', parse: parseUvLock }
};

const REQUIREMENTS: LockfileKind = {
  kind: 'requirements-txt',
  ecosystem: 'PyPI',
  parse: parseRequirementsTxt
};

export function lockfileKindFor(path: string): LockfileKind | undefined {
  const segments = path.split('/');
  if (segments.slice(0, -1).includes('node_modules')) return undefined;
  const base = segments[segments.length - 1];
  if (Object.hasOwn(BY_NAME, base)) return BY_NAME[base];
  // requirements.txt, requirements-dev.txt, dev-requirements.txt, requirements/base.txt
  if (/^([\w.-]*[-_.])?requirements([-_.][\w.-]*)?\.txt$/i.test(base)) return REQUIREMENTS;
  if (
    segments.length > 1 &&
    segments[segments.length - 2] === 'requirements' &&
    base.endsWith('.txt')
  )
    return REQUIREMENTS;
  return undefined;
}
