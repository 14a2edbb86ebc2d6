import { countCommitsWithContent } from '../../packages/security/src/gitleaks/scannable-commits.ts';

const sha = (c: string): string => c.repeat(40);

describe('commits gitleaks is expected to count', () => {
  it('counts commits with a text hunk in a surviving file', () => {
    const log = [
      `\0${sha('a')}\n\n3\t0\tsrc/a.ts\n`, // added lines
      `\0${sha('b')}\n\n0\t2\tsrc/a.ts\n`, // only removed lines: still a hunk
      `\0${sha('c')}\n`, // merge or empty commit: no patch
      `\0${sha('d')}\n\n-\t-\timg.png\n`, // binary only
      `\0${sha('e')}\n\n0\t0\told.txt => new.txt\n`, // pure rename / mode change
      `\0${sha('f')}\n\n-\t-\timg.png\n1\t0\tnotes.md\n` // binary and text
    ].join('');
    expect(countCommitsWithContent(log)).toBe(3);
  });

  it('is 0 for empty output', () => {
    expect(countCommitsWithContent('')).toBe(0);
  });
});
