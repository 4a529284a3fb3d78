/**
 * Named places where a fault test can make a worker die (SIGKILL itself). A point is armed with
 * `RATCHET_CRASH_POINT=<name>` (and `RATCHET_CRASH_AFTER=<n>`); `crashPoint` from `@ratchet/ops`
 * does the rest for every process kind.
 */
export const CrashPoint = {
  BEFORE_COMMIT: 'before-commit',
  AFTER_COMMIT_BEFORE_REPLY: 'after-commit-before-reply',
  AFTER_COMMIT_BEFORE_PUBLISH: 'after-commit-before-publish',
  AFTER_PUBLISH_BEFORE_CHECKPOINT: 'after-publish-before-checkpoint',
} as const;

/** One of the {@link CrashPoint} names. */
export type CrashPoint = (typeof CrashPoint)[keyof typeof CrashPoint];

export { crashPoint } from '@ratchet/ops';
