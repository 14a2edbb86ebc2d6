// The two error kinds: a user's configuration mistake (names the input and
// what is expected) and a tool error (a scanner, feed or command failed),
// whose verdict the gate's policy decides.

export class ConfigurationError extends Error {
  readonly input: string;
  readonly expected: string;
  constructor(input: string, expected: string, got?: string) {
    const shown = got === undefined ? '' : ` (got ${JSON.stringify(truncate(got))})`;
    super(`input '${input}': expected ${expected}${shown}`);
    this.name = 'ConfigurationError';
    this.input = input;
    this.expected = expected;
  }
}

/** A tool the gate relies on failed; `kind` selects the policy that applies. */
export class ToolError extends Error {
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(message);
    this.name = 'ToolError';
    this.kind = kind;
  }
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** One line describing any thrown value, never a stack trace. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return (err.message || err.name).split('\n')[0];
  return String(err).split('\n')[0];
}
