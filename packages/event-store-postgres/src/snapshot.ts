/** A snapshot to save: the aggregate's state after `version`, produced by machine `machineVersion`. */
export interface SnapshotInput {
  readonly streamId: string;
  /** Stream version the state includes (positive integer). */
  readonly version: number;
  /** Version of the machine definition that produced `state`; a different machine ignores the snapshot. */
  readonly machineVersion: string;
  /** JSON-serialisable state. */
  readonly state: unknown;
}

/** A loaded snapshot. */
export interface Snapshot {
  readonly version: number;
  readonly state: unknown;
}
