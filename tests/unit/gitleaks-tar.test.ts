import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  TarError,
  readTar,
  safeEntryPath
} from '../../packages/security/src/gitleaks/tar-reader.ts';
import { buildTar, paxRecord, tarHeader } from '../fixtures/fake-gitleaks/helpers.ts';
import { thrown } from '../helpers/errors.ts';
import { commandRuns } from '../helpers/processes.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

function refusal(archive: Buffer): string {
  const err = thrown(() => readTar(archive));
  expect(err).toBeInstanceOf(TarError);
  return err.message;
}

describe('tar reader', () => {
  it('reads files, directories and links', () => {
    const entries = readTar(
      buildTar([
        { name: './', type: '5', mode: 0o755 },
        { name: './gitleaks', data: '#!/bin/sh\n', mode: 0o755 },
        { name: 'docs/', type: '5' },
        { name: 'docs/README.md', data: 'x'.repeat(700) },
        { name: 'latest', type: '2', linkName: 'gitleaks' }
      ])
    );
    expect(entries.map((e) => [e.path, e.type, e.size])).toEqual([
      ['', 'directory', 0],
      ['gitleaks', 'file', 10],
      ['docs', 'directory', 0],
      ['docs/README.md', 'file', 700],
      ['latest', 'symlink', 0]
    ]);
    expect(entries[1].mode).toBe(0o755);
    expect(entries[1].data?.toString()).toBe('#!/bin/sh\n');
    expect(entries[3].data?.length).toBe(700);
    expect(entries[4].linkName).toBe('gitleaks');
  });

  it('applies pax path and size records to the next entry', () => {
    const long = `${'d'.repeat(120)}/gitleaks`;
    const pax = paxRecord('path', long);
    const entries = readTar(
      buildTar([
        { name: 'PaxHeader', type: 'x', data: pax },
        { name: 'short', data: 'abc' }
      ])
    );
    expect(entries).toHaveLength(1);
    expect(entries[0].path).toBe(long);
  });

  it('applies GNU long names', () => {
    const long = `${'n'.repeat(150)}.txt`;
    const entries = readTar(
      buildTar([
        { name: '././@LongLink', type: 'L', data: `${long}\0` },
        { name: 'cut', data: 'x' }
      ])
    );
    expect(entries.map((e) => e.path)).toEqual([long]);
  });

  it.each(['../evil', 'a/../../evil', '/etc/passwd', 'a\\..\\evil', 'C:/evil', 'ok/../../x'])(
    'refuses the whole archive for an unsafe path: %s',
    (name) => {
      expect(
        refusal(
          buildTar([
            { name: 'gitleaks', data: 'x' },
            { name, data: 'y' }
          ])
        )
      ).toMatch(/unsafe path/);
    }
  );

  it('refuses traversal hidden in pax and GNU long names', () => {
    expect(
      refusal(
        buildTar([
          { name: 'h', type: 'x', data: paxRecord('path', '../../evil') },
          { name: 'fine', data: 'x' }
        ])
      )
    ).toMatch(/unsafe path/);
    expect(
      refusal(
        buildTar([
          { name: '././@LongLink', type: 'L', data: '../evil\0' },
          { name: 'fine', data: 'x' }
        ])
      )
    ).toMatch(/unsafe path/);
  });

  it('accepts a path that stays inside after normalizing', () => {
    expect(safeEntryPath('./a/./b/')).toBe('a/b');
  });

  it('refuses a bad header checksum and a truncated body', () => {
    const good = buildTar([{ name: 'gitleaks', data: 'x'.repeat(600) }]);
    const bad = Buffer.from(good);
    bad[0] = 'X'.charCodeAt(0);
    expect(refusal(bad)).toMatch(/checksum mismatch/);
    expect(refusal(good.subarray(0, 800))).toMatch(/truncated/);
    const header = tarHeader({ name: 'gitleaks' }, 10_000);
    expect(refusal(Buffer.concat([header, Buffer.alloc(512)]))).toMatch(/truncated/);
  });

  (commandRuns('tar', '--version') ? it : it.skip).each(['gnu', 'pax', 'ustar'])(
    'reads archives written by the system tar (--format=%s)',
    (format) => {
      const dir = tempDir();
      const src = join(dir, 'src');
      mkdirSync(join(src, 'sub'), { recursive: true });
      writeFileSync(join(src, 'gitleaks'), 'binary\n', { mode: 0o755 });
      // ustar splits a long path into prefix + name; gnu and pax use their own records.
      const long =
        format === 'ustar'
          ? `sub/${'p'.repeat(60)}/${'l'.repeat(60)}.txt`
          : `sub/${'l'.repeat(120)}.txt`;
      mkdirSync(dirname(join(src, long)), { recursive: true });
      writeFileSync(join(src, long), 'long\n');
      symlinkSync('gitleaks', join(src, 'link'));
      const out = join(dir, 'a.tar');
      execFileSync('tar', [`--format=${format}`, '-cf', out, '-C', src, 'gitleaks', 'sub', 'link']);
      const entries = readTar(readFileSync(out));
      const byPath = new Map(entries.map((e) => [e.path, e]));
      expect(byPath.get('gitleaks')?.data?.toString()).toBe('binary\n');
      expect(byPath.get('gitleaks')?.mode).toBe(0o755);
      expect(byPath.get(long)?.data?.toString()).toBe('long\n');
      expect(byPath.get('link')?.type).toBe('symlink');
      expect(byPath.get('sub')?.type).toBe('directory');
    }
  );
});
