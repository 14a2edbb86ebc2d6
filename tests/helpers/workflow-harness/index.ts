// The workflow harness (tests/helpers/workflow-harness): see harness.ts for
// what it models. Tests import from here.
export { HarnessError } from './errors.ts';
export {
  WorkflowHarness,
  RunResult,
  type HarnessOptions,
  type InstallSpec,
  type JobConclusion,
  type JobResult,
  type DroppedDispatch,
  type PullRequest,
  type QueuedDispatch,
  type QueuedRun,
  type StepResult
} from './harness.ts';
export { readState, type StateLocation, type StateView } from './state.ts';
export { pullRequestEvent, pushEvent, workflowDispatchEvent, type Dialect } from './events.ts';
export { parseWorkflowText, giteaDialect, editWorkflowText } from './workflow-file.ts';
export { evaluate } from './expressions.ts';
export { triggers, patternMatches } from './triggers.ts';
export { NODE24, ROOT } from './steps.ts';
