/** Errors a user can act on. Each has a one-line message; the CLI prints it without a stack. */

/** The CLI's exit codes: 0 success, 1 runtime failure, 2 bad usage. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class MyclusterError extends Error {
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = EXIT_FAILURE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command-line usage: exit 2. */
export class UsageError extends MyclusterError {
  override readonly exitCode = EXIT_USAGE;
}

/** A config file that fails to load, or a value of the wrong type. */
export class ConfigError extends MyclusterError {
  constructor(
    message: string,
    readonly file?: string,
    readonly key?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A pidfile that holds a live process, or a pid folder we must not use. */
export class PidfileError extends MyclusterError {}

/** The app failed to boot (web server could not listen, an initializer threw, …). */
export class BootError extends MyclusterError {}

/** Message of any thrown value, for a log line. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
