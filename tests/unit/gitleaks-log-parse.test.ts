import {
  firstErrorLine,
  parseBytesScanned,
  parseCommitsScanned,
  sanitizeLine,
  stripAnsi
} from '../../packages/security/src/gitleaks/log-parse.ts';
import { PLANTED_SECRET as KEY } from '../fixtures/fake-gitleaks/helpers.ts';

const coloured = (lvl: string, msg: string): string =>
  `\x1b[90m3:04PM\x1b[0m \x1b[32m${lvl}\x1b[0m ${msg}`;

describe('gitleaks log parsing', () => {
  it('strips zerolog colours', () => {
    expect(stripAnsi(coloured('INF', '5 commits scanned.'))).toBe('3:04PM INF 5 commits scanned.');
  });

  it('reads the commit count, coloured or not, taking the last one', () => {
    expect(parseCommitsScanned(`${coloured('INF', '12 commits scanned.')}\n`)).toBe(12);
    expect(parseCommitsScanned('3:04PM INF 0 commits scanned.\n')).toBe(0);
    expect(
      parseCommitsScanned('3:04PM INF 1 commits scanned.\n3:05PM INF 7 commits scanned.\n')
    ).toBe(7);
  });

  it('finds no count where there is none, or only a look-alike', () => {
    expect(parseCommitsScanned('3:04PM INF no leaks found\n')).toBeUndefined();
    expect(parseCommitsScanned('3:04PM INF 12 commits scanned, maybe\n')).toBeUndefined();
    expect(parseCommitsScanned('')).toBeUndefined();
  });

  it('reads the bytes scanned (8.19+)', () => {
    expect(parseBytesScanned('3:04PM INF scanned ~1234 bytes (1.23 KB) in 5ms\n')).toBe(1234);
    expect(parseBytesScanned('3:04PM INF scan completed in 5ms\n')).toBeUndefined();
  });

  it('masks token-like words and caps the length', () => {
    expect(sanitizeLine(`key ${KEY} here`)).toBe('key [masked] here');
    expect(sanitizeLine('c2VjcmV0LXBhc3N3b3JkLTEyMzQ1Ng== in base64')).toBe('[masked] in base64');
    expect(sanitizeLine('plain words stay readable')).toBe('plain words stay readable');
    expect(sanitizeLine('x'.repeat(500)).length).toBeLessThanOrEqual(160);
    expect(sanitizeLine('a\tb\x07c')).toBe('a b c');
  });

  it('picks the first ERR/FTL line, without timestamp and level', () => {
    const log = [
      coloured('INF', '3 commits scanned.'),
      `\x1b[90m3:04PM\x1b[0m \x1b[31mFTL\x1b[0m unable to load gitleaks config, err: bad value ${KEY}`,
      '3:04PM ERR later error'
    ].join('\n');
    expect(firstErrorLine(log)).toBe('unable to load gitleaks config, err: bad value [masked]');
  });

  it('falls back to cobra and Go panic lines, else nothing', () => {
    expect(firstErrorLine('Error: unknown flag: --bogus\nUsage:\n')).toBe(
      'Error: unknown flag: --bogus'
    );
    expect(firstErrorLine('panic: runtime error\n\ngoroutine 1')).toBe('panic: runtime error');
    expect(firstErrorLine('3:04PM INF fine\n')).toBeUndefined();
  });
});
