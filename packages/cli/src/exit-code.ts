/** The CLI's exit codes; scripts may rely on them (docs/cli.md). */
export const ExitCode = {
  /** The command did what was asked (a send was committed, a query answered). */
  OK: 0,
  /** The command was rejected by the aggregate, or the reply or the operation was an error. */
  FAILED: 1,
  /** Bad usage or configuration: unknown command, aggregate or flag, bad id, bad JSON. Nothing was sent. */
  USAGE: 2,
  /** NATS or Postgres could not be reached at the URL given. */
  UNREACHABLE: 3,
} as const;

/** One of the {@link ExitCode} values. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
