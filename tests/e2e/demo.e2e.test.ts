// The README's first quick-start command (npm run demo) must keep working:
// it runs the committed CLI bundle on a throwaway repository.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/runner.ts';

describe('npm run demo', () => {
  it('stops the leaky branch, passes the clean one, and never shows the secret', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'demo.ts')], {
      encoding: 'utf8',
      timeout: 120_000
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/baseline for main bootstrapped at \d+\.\d\d%/);
    expect(r.stdout).toMatch(/security\s+FAIL\s+1 secret found/);
    expect(r.stdout).toMatch(/security\s+PASS\s+no secrets/);
    expect(r.stdout).toMatch(/coverage\s+PASS\s+coverage holds/);
    expect(r.stdout + r.stderr).not.toMatch(/AKIA[A-Z2-7]{16}/);
  });
});
