// The service the workflow scenarios and the queue bench gate: a small
// repository whose coverage command copies a committed LCOV report (each
// branch says its own coverage), main green at 80 % line coverage.
import { makeRepo, type TestRepo } from './git-repo.ts';

/** An LCOV report of one file with `hit` of 10 lines covered. */
export function lcov(hit: number): string {
  const lines = Array.from({ length: 10 }, (_, i) => `DA:${i + 1},${i < hit ? 1 : 0}`);
  return ['TN:', 'SF:src/app.js', ...lines, 'LF:10', `LH:${hit}`, 'end_of_record', ''].join('\n');
}

/** The service: main green at 80% line coverage, pushed to its bare origin. */
export function serviceRepo(): TestRepo {
  const repo = makeRepo();
  repo.commitAll('service', {
    '.gitignore': 'lcov.info\ngate-reports/\n',
    'src/app.js': 'module.exports = () => 1;\n',
    'coverage.lcov': lcov(8)
  });
  repo.git('push', '-q', 'origin', 'main');
  return repo;
}
