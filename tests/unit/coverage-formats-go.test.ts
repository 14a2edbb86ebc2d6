import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseGoProfile } from '../../packages/coverage/src/formats/go-profile.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const hand = (f: string): string => join(here, '../fixtures/coverage/hand', f);
const real = (f: string): string => join(here, '../fixtures/coverage/real', f);
const text = (t: string): ReturnType<typeof parseGoProfile> =>
  parseGoProfile({ text: t, name: 'cover.out' });

describe('Go cover profile', () => {
  it('expands blocks to lines: spanning, overlapping at shared lines, duplicates merged, empty blocks ignored', async () => {
    // a.go: 3-5 ran, 5-7 and 7-9 did not: 5 is covered (one block spanning it
    // ran), 7 is not (only blocks that never ran span it); 12 is listed twice
    // (0, then 3) and ran; the 0-statement block at 14 makes no line.
    // b.go: the block listed in two concatenated profiles ran in the second.
    const r = await parseGoProfile({ path: hand('go-blocks.out') });
    expect(r).toMatchObject({ format: 'go', measure: 'lines', covered: 7, total: 13 });
    expect(r.files).toEqual([
      { path: 'example.com/m/a.go', covered: 4, total: 8 },
      { path: 'example.com/m/b.go', covered: 3, total: 5 }
    ]);
  });

  it('a line is uncovered when only blocks with count 0 span it', async () => {
    const r = await text('mode: set\na.go:1.1,3.2 1 0\na.go:3.2,5.2 1 0\n');
    expect([r.covered, r.total]).toEqual([0, 5]);
  });

  it('a line is covered when any block spanning it ran, whatever the order', async () => {
    const before = await text('mode: set\na.go:1.1,3.2 1 1\na.go:3.2,5.2 1 0\n');
    const after = await text('mode: set\na.go:3.2,5.2 1 0\na.go:1.1,3.2 1 1\n');
    expect([before.covered, before.total]).toEqual([3, 5]);
    expect([after.covered, after.total]).toEqual([3, 5]);
  });

  it('merges duplicate blocks in count mode by adding, in set mode by or', async () => {
    const count = await text('mode: count\na.go:1.1,1.9 1 0\na.go:1.1,1.9 1 0\n');
    expect(count.covered).toBe(0);
    const set = await text('mode: set\na.go:1.1,1.9 1 1\na.go:1.1,1.9 1 0\n');
    expect(set.covered).toBe(1);
  });

  it('keeps file paths with colons (Windows) whole', async () => {
    const r = await text('mode: atomic\r\nC:/src/m/a.go:1.1,2.3 1 5\r\n');
    expect(r.files).toEqual([{ path: 'C:/src/m/a.go', covered: 2, total: 2 }]);
  });

  it('reads a profile that starts with a UTF-8 BOM (PowerShell redirects write one)', async () => {
    const plain = await parseGoProfile({ path: real('go124-count.out') });
    const text = readFileSync(real('go124-count.out'), 'utf8');
    const withBom = await parseGoProfile({ text: `\ufeff${text}` });
    expect(withBom).toEqual(plain);
    expect([withBom.covered, withBom.total]).toEqual([13, 27]);
  });

  it('one file written two ways is one file, its blocks merged', async () => {
    const r = await text(
      'mode: set\n./m/a.go:1.1,2.2 1 0\nm/a.go:1.1,2.2 1 1\nm//a.go:4.1,4.9 1 0\nC:\\m\\b.go:1.1,1.5 1 1\n'
    );
    expect(r.files).toEqual([
      { path: 'C:/m/b.go', covered: 1, total: 1 },
      { path: 'm/a.go', covered: 2, total: 3 }
    ]);
    expect(r.notes[1]).toBe(
      '"m/a.go" names the same file as "./m/a.go" (and 1 more); each file is counted once'
    );
  });

  it.each([
    ['go-mode-mismatch.out', "line 3: inconsistent mode 'count' after 'set'"],
    [
      'go-inconsistent-numstmt.out',
      'line 3: inconsistent statement count for a.go:1.1,2.2 (1, then 2)'
    ],
    ['go-no-mode.out', "line 1: a block before the 'mode:' line"],
    ['go-backwards-block.out', 'line 2: block ends before it starts (5.1,2.2)'],
    ['go-garbage.out', "line 3: not a cover profile block: 'a.go:1.1 oops'"],
    [
      'go-truncated.out',
      "truncated profile (the last line has no newline): line 3: not a cover profile block: 'a.go:3.1,4'"
    ],
    ['go-unknown-mode.out', "line 1: unknown cover mode 'bogus'"],
    ['go-mode-only.out', '0 lines instrumented'],
    ['empty.info', 'empty file']
  ])('%s: %s', async (file, problem) => {
    await expect(parseGoProfile({ path: hand(file), name: file })).rejects.toThrow(
      `coverage report ${file}: ${problem}`
    );
  });

  it('refuses a block spanning millions of lines rather than expanding it', async () => {
    await expect(text('mode: set\na.go:1.1,5000000.1 1 1\n')).rejects.toThrow(
      'line 2: block spans 5000000 lines'
    );
  });

  it('a profile of only empty blocks instruments nothing', async () => {
    await expect(text('mode: set\na.go:3.15,3.16 0 0\n')).rejects.toThrow('0 lines instrumented');
  });
});
