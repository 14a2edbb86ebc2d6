// The Logger that deciding code receives instead of printing: the action
// adapter maps it to workflow commands, the CLI to stderr, tests record it.

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warning' | 'error';
  message: string;
}

export class RecordingLogger implements Logger {
  readonly entries: LogEntry[] = [];
  debug(message: string): void {
    this.entries.push({ level: 'debug', message });
  }
  info(message: string): void {
    this.entries.push({ level: 'info', message });
  }
  warning(message: string): void {
    this.entries.push({ level: 'warning', message });
  }
  error(message: string): void {
    this.entries.push({ level: 'error', message });
  }
  text(): string {
    return this.entries.map((e) => `${e.level}: ${e.message}`).join('\n');
  }
}

/** Writes to a stream (stderr for the CLI, so stdout stays machine-readable). */
export class StreamLogger implements Logger {
  private readonly write: (s: string) => void;
  private readonly verbose: boolean;
  constructor(write: (s: string) => void, verbose = false) {
    this.write = write;
    this.verbose = verbose;
  }
  debug(message: string): void {
    if (this.verbose) this.write(`debug: ${message}\n`);
  }
  info(message: string): void {
    this.write(`${message}\n`);
  }
  warning(message: string): void {
    this.write(`warning: ${message}\n`);
  }
  error(message: string): void {
    this.write(`error: ${message}\n`);
  }
}
