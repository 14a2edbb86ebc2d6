// What the PR comment shows for the coverage gate, read from its frontmatter
// only: the key figure with the patch figure beside the total, and the
// changed lines no test ran as details whatever the verdict.
import type { GateResult } from '../../packages/core/src/verdict.ts';
import { detailLines, keyFigure } from '../../packages/publish/src/figures.ts';

function coverage(
  fm: GateResult['frontmatter'],
  verdict: GateResult['verdict'] = 'PASS'
): GateResult {
  return {
    gate: 'coverage',
    verdict,
    summary: 's',
    reportPath: '/r.md',
    frontmatter: fm,
    body: '',
    warnings: []
  };
}

describe('keyFigure: coverage', () => {
  test.each([
    [{ measured: 81.2, baseline: 80 }, '81.20% (baseline 80.00%)'],
    [{ measured: 81.2 }, '81.20% (no baseline yet)'],
    [
      { measured: 81.2, baseline: 80, patch_coverage: 45.45 },
      '81.20% (baseline 80.00%), patch 45.45%'
    ],
    [
      { measured: 81.2, baseline: 80, patch_coverage: null, patch_lines: 0 },
      '81.20% (baseline 80.00%), patch: no executable changes'
    ],
    // Not measured (no base): the total alone.
    [{ measured: 81.2, patch_coverage: null, patch_lines: null }, '81.20% (no baseline yet)'],
    [{ measured: null }, '-']
  ])('%j -> %s', (fm, figure) => {
    expect(keyFigure('coverage', fm as GateResult['frontmatter'])).toBe(figure);
  });
});

describe('detailLines', () => {
  test('the missing ranges per file, on a PASS too; a closing "… and N more" becomes the count', () => {
    expect(
      detailLines(coverage({ patch_missing: ['a.py: 80-85', 'b.py: 3', '… and 4 more'] }))
    ).toEqual({ title: 'Changed lines no test ran', items: ['a.py: 80-85', 'b.py: 3'], more: 4 });
    expect(detailLines(coverage({ patch_missing: ['a.py: 1'] }, 'FAIL'))).toEqual({
      title: 'Changed lines no test ran',
      items: ['a.py: 1']
    });
  });

  test('nothing missing, no patch keys, or another gate: none', () => {
    expect(detailLines(coverage({ patch_missing: [] }))).toBeUndefined();
    expect(detailLines(coverage({ measured: 80 }))).toBeUndefined();
    expect(
      detailLines({ ...coverage({ patch_missing: ['a.py: 1'] }), gate: 'security' })
    ).toBeUndefined();
  });
});
