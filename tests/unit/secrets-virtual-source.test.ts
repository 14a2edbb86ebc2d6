import type { AddedLine } from '../../packages/git/src/added-lines.ts';
import { detectInText } from '../../packages/security/src/secrets/scan.ts';
import {
  BLOCK_SEPARATOR,
  VirtualSourceBuilder,
  recordIndexAt,
  type VirtualSource
} from '../../packages/security/src/secrets/virtual-source.ts';
import {
  randomString,
  tokenSamples,
  type TokenSample
} from '../../packages/security/src/secrets/token-samples.ts';

function rec(block: number, line: number, text: string, file = 'f.txt'): AddedLine {
  return { commit: 'c'.repeat(40), authorDate: 'd', file, line, text, block };
}

function build(records: AddedLine[], targetChars: number, overlapChars: number): VirtualSource[] {
  const b = new VirtualSourceBuilder({ targetChars, overlapChars });
  const out: VirtualSource[] = [];
  for (const r of records) {
    const ready = b.add(r);
    if (ready) out.push(ready);
  }
  const rest = b.finish();
  if (rest) out.push(rest);
  return out;
}

describe('VirtualSourceBuilder', () => {
  it('joins lines of a block with newlines and separates blocks', () => {
    const [src] = build([rec(1, 1, 'a'), rec(1, 2, 'b'), rec(2, 7, 'c')], 1000, 100);
    expect(src.text).toBe(`a\nb\n${BLOCK_SEPARATOR}c\n`);
    expect(src.starts).toEqual([0, 2, 6]);
  });

  it('maps every offset back to its record, separators to the next one', () => {
    const [src] = build([rec(1, 1, 'aa'), rec(2, 5, 'bb')], 1000, 100);
    const at = (o: number): number => src.records[recordIndexAt(src, o)].line;
    expect([0, 1, 2].map(at)).toEqual([1, 1, 1]);
    expect([3, 4, 5, 6].map(at)).toEqual([5, 5, 5, 5]);
  });

  it('cuts at block boundaries once a chunk is full', () => {
    const records = Array.from({ length: 10 }, (_, i) => rec(i, 1, 'x'.repeat(99)));
    const chunks = build(records, 300, 1000);
    expect(chunks.map((c) => c.records.length)).toEqual([3, 3, 3, 1]);
  });

  it('lets a small block finish instead of cutting it', () => {
    const records = [
      rec(1, 1, 'x'.repeat(250)),
      rec(2, 1, 'y'.repeat(40)),
      rec(2, 2, 'y'.repeat(40)),
      rec(3, 1, 'z')
    ];
    const chunks = build(records, 260, 100);
    expect(chunks.map((c) => c.records.map((r) => r.text[0]).join(''))).toEqual(['xyy', 'z']);
  });

  it('cuts a big block with an overlap, so a key across the cut is still found whole', async () => {
    const key = tokenSamples().find((s) => s.name === 'RSA private key') as TokenSample;
    // Filler up to ~800 characters short of the target: the cut falls inside the key.
    const before = Math.floor((64 * 1024 - 800) / 61);
    const filler = Array.from({ length: before + 1000 }, () => randomString(60));
    const lines = [...filler.slice(0, before), ...key.lines, ...filler.slice(before)];
    const records = lines.map((t, i) => rec(1, i + 1, t));
    const chunks = build(records, 64 * 1024, 8 * 1024);
    const begin = before + 1;
    const end = before + key.lines.length;
    const has = (c: VirtualSource, line: number): boolean => c.records.some((r) => r.line === line);
    expect(chunks.some((c) => has(c, begin) && !has(c, end))).toBe(true);
    const found: number[] = [];
    for (const c of chunks) {
      for (const h of await detectInText(c.text)) {
        if (h.ruleId === 'private-key') found.push(c.records[recordIndexAt(c, h.start)].line);
      }
    }
    expect(found.length).toBeGreaterThan(0);
    expect(new Set(found)).toEqual(new Set([begin]));
  });
});
