// docs/secret-rules.md is generated from the default ruleset; it must be current.
import { readFileSync } from 'node:fs';
import { renderRulesDoc } from '../../scripts/gen-secret-rules-doc.ts';

it('docs/secret-rules.md lists the default ruleset as it is (npm run docs)', () => {
  const doc = readFileSync(new URL('../../docs/secret-rules.md', import.meta.url), 'utf8');
  expect(doc).toBe(renderRulesDoc());
});
