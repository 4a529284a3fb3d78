/** Named places where a fault test can make a worker die (SIGKILL itself). */
export const CrashPoint = {
  BEFORE_COMMIT: 'before-commit',
  AFTER_COMMIT_BEFORE_REPLY: 'after-commit-before-reply',
  AFTER_COMMIT_BEFORE_PUBLISH: 'after-commit-before-publish',
  AFTER_PUBLISH_BEFORE_CHECKPOINT: 'after-publish-before-checkpoint',
} as const;

/** One of the {@link CrashPoint} names. */
export type CrashPoint = (typeof CrashPoint)[keyof typeof CrashPoint];

/** Hits per crash point, so tests can check a point was reached. */
const hits = new Map<string, number>();

/**
 * Die here when the environment asks for it: `RATCHET_CRASH_POINT=<name>` and, optionally,
 * `RATCHET_CRASH_AFTER=<n>` (die on the n-th hit, default 1). Costs one map lookup otherwise.
 * For fault tests only; never set in production.
 */
export function crashPoint(name: CrashPoint): void {
  const wanted = process.env['RATCHET_CRASH_POINT'];
  if (wanted === undefined || wanted !== name) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  const after = Number(process.env['RATCHET_CRASH_AFTER'] ?? '1');
  if (n >= after) {
    process.stderr.write(`ratchet: crash point ${name} reached (hit ${n}); SIGKILL\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
