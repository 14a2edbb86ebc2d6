// The freshness decision: full shas only, case-insensitive; a short sha that
// is a prefix of the gated one is not fresh (ambiguous), and says so.
import { compareRevision } from '../../packages/image/src/freshness.ts';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const L = 'org.opencontainers.image.revision';

describe('compareRevision', () => {
  it('is fresh for the same full sha, whatever the case and surrounding spaces', () => {
    expect(compareRevision(SHA, SHA, L)).toEqual({ fresh: true, reason: `built from ${SHA}` });
    expect(compareRevision(` ${SHA.toUpperCase()}\n`, SHA, L).fresh).toBe(true);
  });

  it('is stale for another full sha, naming both', () => {
    const other = 'f'.repeat(40);
    expect(compareRevision(other, SHA, L)).toEqual({
      fresh: false,
      reason: `built from ${other}, not ${SHA}`
    });
  });

  it('refuses a short sha even when it is a prefix of the gated one, saying it is ambiguous', () => {
    const r = compareRevision(SHA.slice(0, 12), SHA, L);
    expect(r.fresh).toBe(false);
    expect(r.reason).toBe(
      `${L} holds the short sha 0123456789ab, a prefix of ${SHA} but ambiguous; label the image with the full 40-character sha`
    );
  });

  it('says when there is no revision at all', () => {
    expect(compareRevision(null, SHA, L)).toEqual({
      fresh: false,
      reason: `the image has no ${L} label or annotation, so nothing ties it to a commit`
    });
  });

  it('shows a non-sha label on one bounded line', () => {
    const r = compareRevision('v1.2.3\nmore text '.repeat(20), SHA, L);
    expect(r.fresh).toBe(false);
    expect(r.reason).toMatch(
      new RegExp(
        `^${L.replace(/\./g, '\\.')} is "v1\\.2\\.3 more text .*…", not a full commit sha \\(want ${SHA}\\)$`
      )
    );
    expect(r.reason).not.toContain('\n');
  });
});
