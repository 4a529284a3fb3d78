/**
 * Named places where a fault test can make a projector die (SIGKILL itself), passed to
 * `crashPoint` from `@ratchet/ops`: armed with `RATCHET_CRASH_POINT=<name>` (and
 * `RATCHET_CRASH_AFTER=<n>`), as the worker's points are.
 */
export const ProjectorCrashPoint = {
  /** Handlers ran, the read-model transaction is open. */
  BEFORE_COMMIT: 'projector-before-commit',
  /** The transaction committed, the JetStream messages are not acked yet. */
  AFTER_COMMIT_BEFORE_ACK: 'projector-after-commit-before-ack',
} as const;

/** One of the {@link ProjectorCrashPoint} names. */
export type ProjectorCrashPoint = (typeof ProjectorCrashPoint)[keyof typeof ProjectorCrashPoint];
