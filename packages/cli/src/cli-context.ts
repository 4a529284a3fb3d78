/** Where a command writes: stdout for results (machine-readable with `--json`), stderr for the rest. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
}

/** The global options every command gets, validated. */
export interface GlobalOptions {
  /** NATS server URL(s), comma-separated. */
  readonly nats: string;
  /** Postgres URL of the event store (and read models), when known. */
  readonly db: string | undefined;
  /** Machine-readable output on stdout. */
  readonly json: boolean;
  /** Partitions per aggregate type; must match the workers'. */
  readonly partitions: number;
  /** Overall budget of a send, retries included (ms). */
  readonly timeoutMs: number;
  /** Where `nats` and `db` came from, said when a server cannot be reached: `--nats`, `$NATS_URL`, the running demo… */
  readonly origins: { readonly nats: string; readonly db?: string };
  /** Said when a server cannot be reached, when it explains why (e.g. the running demo is embedded). */
  readonly hint?: string;
  /**
   * The app module commands are checked against: `--app`, else `$RATCHET_APP`, else the one the
   * running `ratchet dev` serves on this NATS; undefined when none is known (commands go untyped).
   */
  readonly app?: AppSource;
}

/** An app module path and where it was named, for messages. */
export interface AppSource {
  readonly path: string;
  /** `--app`, `$RATCHET_APP`, `the running app (…/demo.json)`. */
  readonly origin: string;
}

/** What a command runs with. */
export interface CliContext extends CliIo {
  readonly options: GlobalOptions;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Print a result line (stdout). */
  out(line: string): void;
  /** Print a diagnostic line (stderr). */
  err(line: string): void;
}
