/**
 * Named places where a fault test can make a process runner die (SIGKILL itself), passed to
 * `crashPoint` from `@ratchet/ops`: armed with `RATCHET_CRASH_POINT=<name>` (and
 * `RATCHET_CRASH_AFTER=<n>`), as the worker's and the projector's points are.
 */
export const ProcessCrashPoint = {
  /** `handle` ran, its command is about to be sent (hit once per command sent). */
  BEFORE_EMIT: 'process-before-emit',
  /** Every command of the batch was answered; its positions and states are not committed yet. */
  AFTER_EMIT_BEFORE_CHECKPOINT: 'process-after-emit-before-checkpoint',
  /** The batch committed; its JetStream messages are not acked yet. */
  AFTER_CHECKPOINT_BEFORE_ACK: 'process-after-checkpoint-before-ack',
} as const;

/** One of the {@link ProcessCrashPoint} names. */
export type ProcessCrashPoint = (typeof ProcessCrashPoint)[keyof typeof ProcessCrashPoint];
