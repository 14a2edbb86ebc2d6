// The recall floor of the default ruleset on generated samples (every rule's
// tokens in every wrapping a leak takes: env file, YAML, JSON, code, URL,
// header; whole texts), and the false-positive ceiling on placeholders of
// each format (masked tokens, template references, "your key here").
// npm run bench prints the same figures per family.
import { defaultRules } from '../../packages/security/src/secrets/ruleset/config.ts';
import { measure } from '../helpers/secret-samples/figures.ts';

const figures = measure(defaultRules().ruleset);

it('finds >= 95 % of the samples overall', () => {
  expect(figures.samples).toBeGreaterThan(5000);
  expect(figures.found / figures.samples).toBeGreaterThanOrEqual(0.95);
});

it.each(figures.families.map((f) => [f.family, f] as const))(
  'family %s: recall >= 95 %',
  (_name, f) => {
    expect({
      family: f.family,
      recall: f.found / f.samples >= 0.95,
      misses: f.found < f.samples ? f.misses : []
    }).toEqual({
      family: f.family,
      recall: true,
      misses: f.found / f.samples >= 0.95 ? f.misses : []
    });
  }
);

it('flags <= 2 % of the placeholders', () => {
  expect(figures.negatives).toBeGreaterThan(5000);
  expect(figures.falsePositives / figures.negatives).toBeLessThanOrEqual(0.02);
});
