// The harness's own failure: a workflow construct it does not model, a file
// the parser refuses, an expression it cannot evaluate. Thrown, never turned
// into a job result, so a test can never pass because something was skipped.

export class HarnessError extends Error {
  constructor(message: string) {
    super(`workflow harness: ${message}`);
    this.name = 'HarnessError';
  }
}

/** Throws a HarnessError naming the unsupported construct and where it is. */
export function unsupported(what: string, where: string): never {
  throw new HarnessError(`${where}: ${what} is not modelled by the harness (refusing to skip it)`);
}
