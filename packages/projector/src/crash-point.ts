/** Named places where a fault test can make a projector die (SIGKILL itself). */
export const ProjectorCrashPoint = {
  /** Handlers ran, the read-model transaction is open. */
  BEFORE_COMMIT: 'projector-before-commit',
  /** The transaction committed, the JetStream messages are not acked yet. */
  AFTER_COMMIT_BEFORE_ACK: 'projector-after-commit-before-ack',
} as const;

/** One of the {@link ProjectorCrashPoint} names. */
export type ProjectorCrashPoint = (typeof ProjectorCrashPoint)[keyof typeof ProjectorCrashPoint];

const hits = new Map<string, number>();

/**
 * Die here when `RATCHET_CRASH_POINT=<name>` (and, optionally, `RATCHET_CRASH_AFTER=<n>`, the n-th
 * hit) is set, as the worker's crash points do. For fault tests only.
 */
export function projectorCrashPoint(name: ProjectorCrashPoint): void {
  if (process.env['RATCHET_CRASH_POINT'] !== name) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (n >= Number(process.env['RATCHET_CRASH_AFTER'] ?? '1')) {
    process.stderr.write(`ratchet: crash point ${name} reached (hit ${n}); SIGKILL\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
