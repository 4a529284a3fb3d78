import { ExitCode } from './exit-code.js';

/**
 * An error the CLI reports as one line on stderr, with the exit code it maps to. Stays inside the
 * CLI process: what crosses NATS is a RatchetError, which the commands turn into output themselves.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  /** The process exit code this error ends the command with. */
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** A usage or configuration error (exit 2). */
export function usageError(message: string, options?: ErrorOptions): CliError {
  return new CliError(message, ExitCode.USAGE, options);
}

/** A server that could not be reached (exit 3). */
export function unreachableError(message: string, options?: ErrorOptions): CliError {
  return new CliError(message, ExitCode.UNREACHABLE, options);
}
