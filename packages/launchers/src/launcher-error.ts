/** Stable codes of {@link LauncherError}. */
export const LauncherErrorCode = {
  /** The server binary is not installed (not on PATH nor in the usual directories). */
  NOT_FOUND: 'NOT_FOUND',
  /** The server or service was found but did not start or did not answer (or log ready) before the deadline. */
  START_FAILED: 'START_FAILED',
  /** A server named by DATABASE_URL / NATS_URL does not answer. */
  UNREACHABLE: 'UNREACHABLE',
} as const;

/** One of the {@link LauncherErrorCode} strings. */
export type LauncherErrorCode = (typeof LauncherErrorCode)[keyof typeof LauncherErrorCode];

/** Options of {@link LauncherError}. */
export interface LauncherErrorOptions extends ErrorOptions {
  /** What went wrong. Default START_FAILED. */
  readonly code?: LauncherErrorCode;
  /** The process's last output lines, appended to the message. */
  readonly log?: string;
}

/**
 * A local server (nats-server, Postgres) or service process could not be found, started or reached.
 * Local-run infrastructure only: it never crosses a process boundary, so it is not a `RatchetError`.
 */
export class LauncherError extends Error {
  override readonly name = 'LauncherError';
  readonly code: LauncherErrorCode;
  /** The last lines the process printed, when there is output to show. */
  readonly log: string | undefined;

  constructor(message: string, options: LauncherErrorOptions = {}) {
    const log = options.log?.trim();
    super(log ? `${message}\n--- output (last lines) ---\n${log}` : message, options);
    this.code = options.code ?? LauncherErrorCode.START_FAILED;
    this.log = log;
  }
}
