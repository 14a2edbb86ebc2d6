// A registry could not answer the question. The reason separates a registry
// that cannot be reached (network, timeout, 5xx after retries) from one that
// answered but refused (credentials) or sent something the gate cannot read.
// Messages never carry credentials or tokens.

import { ToolError } from '../../core/src/errors.ts';

export type RegistryProblem = 'unreachable' | 'auth' | 'protocol';

export const REGISTRY_TOOL_KIND = 'registry';

export class RegistryError extends ToolError {
  readonly problem: RegistryProblem;
  constructor(problem: RegistryProblem, message: string) {
    super(REGISTRY_TOOL_KIND, message);
    this.name = 'RegistryError';
    this.problem = problem;
  }

  /** Whether the registry answered at all (auth and protocol problems are answers). */
  get reachable(): boolean {
    return this.problem !== 'unreachable';
  }
}
