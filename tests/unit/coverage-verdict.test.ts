import {
  computeCoverageVerdict,
  toHundredths,
  type CoverageVerdictInput
} from '../../packages/coverage/src/verdict.ts';

const verdict = (over: Partial<CoverageVerdictInput>): ReturnType<typeof computeCoverageVerdict> =>
  computeCoverageVerdict({
    measured: 80,
    baseline: 80,
    floor: 0,
    policy: 'both',
    epsilon: 0.1,
    ...over
  });

describe('toHundredths', () => {
  it.each([
    [79.89, 7989],
    [79.9, 7990],
    [80, 8000],
    [0.1 + 0.2, 30],
    [1.005, 101],
    [79.895, 7990],
    [79.8949, 7989],
    [0, 0],
    [100, 10000],
    [(799 / 1000) * 100, 7990],
    [(2 / 3) * 100, 6667]
  ])('%p -> %p', (x, h) => {
    expect(toHundredths(x)).toBe(h);
  });
});

describe('computeCoverageVerdict at the baseline boundary', () => {
  it('passes exactly at baseline - epsilon (79.9 vs 80.0 with 0.1) and fails a hundredth below', () => {
    expect(verdict({ measured: 79.9 }).verdict).toBe('PASS');
    expect(verdict({ measured: 80.0 - 0.1 }).verdict).toBe('PASS');
    expect(verdict({ measured: 79.89 }).verdict).toBe('FAIL');
    expect(verdict({ measured: 79.89 }).delta).toBe(-0.11);
    expect(verdict({ measured: 79.9 }).delta).toBe(-0.1);
  });

  it('rounds each figure to hundredths before comparing (half up)', () => {
    expect(verdict({ measured: 79.895 }).verdict).toBe('PASS');
    expect(verdict({ measured: 79.8949 }).verdict).toBe('FAIL');
    expect(verdict({ measured: 79.9, baseline: 80.004 }).verdict).toBe('PASS');
    expect(verdict({ measured: 79.9, baseline: 80.005 }).verdict).toBe('FAIL');
    expect(verdict({ measured: 79.9, epsilon: 0.095 }).verdict).toBe('PASS');
    expect(verdict({ measured: 79.9, epsilon: 0.0949 }).verdict).toBe('FAIL');
  });

  it('for every baseline in hundredths and several tolerances: PASS at b - e, FAIL one hundredth lower', () => {
    let checked = 0;
    for (const eh of [0, 1, 10, 25, 50, 100, 250]) {
      const epsilon = eh / 100;
      for (let bh = 0; bh <= 10000; bh++) {
        const baseline = bh / 100;
        // Computed in floating point, the way a gate would get these figures.
        const at = baseline - epsilon;
        if (at >= 0) {
          const r = computeCoverageVerdict({
            measured: at,
            baseline,
            floor: 0,
            policy: 'baseline',
            epsilon
          });
          if (r.verdict !== 'PASS')
            throw new Error(`expected PASS at ${at} vs ${baseline} - ${epsilon}`);
          checked++;
        }
        const below = baseline - epsilon - 0.01;
        if (below >= 0) {
          const r = computeCoverageVerdict({
            measured: below,
            baseline,
            floor: 0,
            policy: 'baseline',
            epsilon
          });
          if (r.verdict !== 'FAIL')
            throw new Error(`expected FAIL at ${below} vs ${baseline} - ${epsilon}`);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(130000);
  });

  it('for every floor in hundredths: PASS at the floor, FAIL one hundredth below', () => {
    for (let fh = 0; fh <= 10000; fh++) {
      const floor = fh / 100;
      const pass = computeCoverageVerdict({
        measured: floor,
        baseline: null,
        floor,
        policy: 'absolute',
        epsilon: 0
      });
      if (pass.verdict !== 'PASS') throw new Error(`expected PASS at floor ${floor}`);
      if (fh > 0) {
        const measured = floor - 0.01;
        const fail = computeCoverageVerdict({
          measured,
          baseline: null,
          floor,
          policy: 'absolute',
          epsilon: 0
        });
        if (fail.verdict !== 'FAIL')
          throw new Error(`expected FAIL at ${measured} vs floor ${floor}`);
      }
    }
  });

  it('a measured figure computed as covered/total*100 meets a floor written as the same decimal', () => {
    for (let covered = 0; covered <= 1000; covered++) {
      const measured = (covered / 1000) * 100;
      const floor = Number((covered / 10).toFixed(1));
      const r = computeCoverageVerdict({
        measured,
        baseline: null,
        floor,
        policy: 'absolute',
        epsilon: 0
      });
      if (r.verdict !== 'PASS') throw new Error(`expected PASS: ${measured} vs ${floor}`);
    }
  });
});

describe('computeCoverageVerdict policies', () => {
  it("'absolute' checks only the floor, yet reports the delta", () => {
    const r = verdict({ policy: 'absolute', measured: 50, baseline: 90, floor: 40 });
    expect(r).toEqual({
      verdict: 'PASS',
      bootstrap: false,
      delta: -40,
      reasons: ['coverage 50.00% meets the floor 40.00%']
    });
    expect(verdict({ policy: 'absolute', measured: 39.99, baseline: 10, floor: 40 }).verdict).toBe(
      'FAIL'
    );
  });

  it("'baseline' checks only the baseline when there is one", () => {
    const r = verdict({ policy: 'baseline', measured: 50, baseline: 50, floor: 90 });
    expect(r.verdict).toBe('PASS');
    expect(r.reasons).toEqual(['coverage 50.00% holds the baseline 50.00% (delta +0.00)']);
    const drop = verdict({
      policy: 'baseline',
      measured: 49,
      baseline: 50,
      floor: 0,
      epsilon: 0.5
    });
    expect(drop.verdict).toBe('FAIL');
    expect(drop.reasons).toEqual([
      'coverage 49.00% dropped 1.00 points below the baseline 50.00% (tolerance 0.50)'
    ]);
  });

  it("'both' needs both, and says which failed", () => {
    expect(verdict({ measured: 85, baseline: 80, floor: 80 }).verdict).toBe('PASS');
    const floorFail = verdict({ measured: 75, baseline: 75, floor: 80 });
    expect(floorFail.verdict).toBe('FAIL');
    expect(floorFail.reasons).toEqual([
      'coverage 75.00% is below the floor 80.00% by 5.00 points',
      'coverage 75.00% holds the baseline 75.00% (delta +0.00)'
    ]);
    const baselineFail = verdict({ measured: 85, baseline: 90, floor: 80, epsilon: 1 });
    expect(baselineFail.verdict).toBe('FAIL');
    expect(baselineFail.delta).toBe(-5);
    const within = verdict({ measured: 89.5, baseline: 90, floor: 80, epsilon: 1 });
    expect(within.verdict).toBe('PASS');
    expect(within.reasons[1]).toBe(
      'coverage 89.50% is within the tolerance 1.00 of the baseline 90.00% (delta -0.50)'
    );
  });

  it.each(['absolute', 'baseline', 'both'] as const)(
    "without a baseline, policy '%s' bootstraps on the floor alone",
    (policy) => {
      const pass = computeCoverageVerdict({
        measured: 60,
        baseline: null,
        floor: 50,
        policy,
        epsilon: 0.1
      });
      expect(pass.verdict).toBe('PASS');
      expect(pass.bootstrap).toBe(true);
      expect(pass.delta).toBeNull();
      expect(pass.reasons[0]).toMatch(/^no baseline yet \(bootstrap\): only the floor applies/);
      expect(pass.reasons[1]).toBe('coverage 60.00% meets the floor 50.00%');
      const fail = computeCoverageVerdict({
        measured: 40,
        baseline: null,
        floor: 50,
        policy,
        epsilon: 0.1
      });
      expect(fail.verdict).toBe('FAIL');
      expect(fail.bootstrap).toBe(true);
    }
  );

  it('reports delta in exact hundredths', () => {
    expect(verdict({ measured: 80.3, baseline: 80.1 }).delta).toBe(0.2);
    expect(verdict({ measured: 0.1 + 0.2, baseline: 0.3, floor: 0 }).delta).toBe(0);
  });

  it.each([
    ['measured', { measured: NaN }],
    ['measured', { measured: 100.01 }],
    ['measured', { measured: -0.01 }],
    ['baseline', { baseline: Infinity }],
    ['baseline', { baseline: -1 }],
    ['floor', { floor: 101 }],
    ['epsilon', { epsilon: -0.1 }],
    ['epsilon', { epsilon: NaN }]
  ])('refuses a %s outside 0..100 or not a number', (name, over) => {
    expect(() => verdict(over)).toThrow(RangeError);
    expect(() => verdict(over)).toThrow(name);
  });

  it('refuses an unknown policy', () => {
    expect(() => verdict({ policy: 'lenient' as 'both' })).toThrow(/unknown policy/);
  });
});
