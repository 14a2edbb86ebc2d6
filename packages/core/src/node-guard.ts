// Imported first by every bundle: Gitea runs JavaScript actions with the job
// container's `node`, whatever action.yml says, and the bundles need >= 22.

export const MIN_NODE_MAJOR = 22;

export function nodeVersionProblem(version: string): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (!Number.isFinite(major) || major < MIN_NODE_MAJOR) {
    return `quality-gates needs Node.js >= ${MIN_NODE_MAJOR}, but this runner's node is ${version}: use a job container with Node 22 or newer (for example node:24-bookworm).`;
  }
  return undefined;
}

const problem = nodeVersionProblem(process.version);
if (problem) {
  // ::error:: shows as an annotation on runners and stays readable in a terminal.
  process.stdout.write(`::error::${problem}\n`);
  process.exit(1);
}
