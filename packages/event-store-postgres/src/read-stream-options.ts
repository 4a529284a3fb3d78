/** Options of `PostgresEventStore.readStream`. */
export interface ReadStreamOptions {
  /** First version to read. Default 1. */
  readonly fromVersion?: number;
  /** Last version to read, inclusive. Default: the end of the stream. */
  readonly toVersion?: number;
  /** Most events to return. Default: no limit. */
  readonly limit?: number;
}
