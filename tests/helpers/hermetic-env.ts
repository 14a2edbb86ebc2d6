// Jest setup: the tests describe their own runner. When `npm test` itself
// runs inside a CI job (GitHub Actions, Gitea Actions), the job's variables
// would switch on behaviour the tests do not expect (state-backend auto
// resolving to git-ref, job-scoped state paths refused, the job's event and
// repository read as the test's). They are removed before any test runs;
// a test that wants one sets it itself.
for (const name of Object.keys(process.env)) {
  if (/^(GITHUB_|GITEA_|RUNNER_|ACTIONS_|INPUT_)/.test(name)) delete process.env[name];
}
