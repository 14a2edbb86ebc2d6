// Jest 29 runs in native ESM mode (node --experimental-vm-modules) because
// @actions/core 3 and secretlint are ESM-only; ts-jest transpiles only
// (isolatedModules in tsconfig): `npm run typecheck` is where types are checked.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        useESM: true,
        diagnostics: false,
        // Keep './x.ts' specifiers as written: Jest resolves the sources directly.
        tsconfig: { rewriteRelativeImportExtensions: false, allowImportingTsExtensions: true }
      }
    ]
  },
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
  // A CI job's own GITHUB_*/GITEA_*/RUNNER_* variables must not leak into the tests.
  setupFiles: ['<rootDir>/tests/helpers/hermetic-env.ts'],
  testTimeout: 60000,
  maxWorkers: 2
};
