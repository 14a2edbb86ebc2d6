// The repository keeps a copy of the shared Gitea contract so CI on a clean
// clone tests against it; where the shared original is present, they must
// not have drifted apart.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const copy = fileURLToPath(
  new URL('../fixtures/contracts/gitea-api-v1.subset.json', import.meta.url)
);
const shared = fileURLToPath(
  new URL('../../../shared/contracts/gitea-api-v1.subset.json', import.meta.url)
);

const payloadsCopy = fileURLToPath(
  new URL('../fixtures/contracts/gitea-event-payloads.md', import.meta.url)
);
const payloadsShared = fileURLToPath(
  new URL('../../../shared/contracts/gitea-event-payloads.md', import.meta.url)
);

describe('Gitea contract copy', () => {
  it('parses and has the endpoints the forge client calls', () => {
    const spec = JSON.parse(readFileSync(copy, 'utf8'));
    expect(spec.swagger).toBe('2.0');
    expect(Object.keys(spec.paths)).toContain('/repos/{owner}/{repo}/actions/artifacts');
  });
  (existsSync(shared) ? it : it.skip)('is identical to ../shared/contracts', () => {
    expect(readFileSync(copy, 'utf8')).toBe(readFileSync(shared, 'utf8'));
  });
  (existsSync(payloadsShared) ? it : it.skip)(
    'the event payloads copy is identical to ../shared/contracts',
    () => {
      expect(readFileSync(payloadsCopy, 'utf8')).toBe(readFileSync(payloadsShared, 'utf8'));
    }
  );
});
