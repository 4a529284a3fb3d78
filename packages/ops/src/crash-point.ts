/** Hits per crash point in this process, so `RATCHET_CRASH_AFTER` can pick the n-th. */
const hits = new Map<string, number>();

/**
 * A named place where a fault test can make this process die: when `RATCHET_CRASH_POINT` equals
 * `name`, the process writes `ratchet: crash point <name> reached (hit <n>); SIGKILL` on stderr and
 * SIGKILLs itself on the n-th hit (`RATCHET_CRASH_AFTER`, default 1). Otherwise it returns at once.
 * The fault harnesses (test/fault, test/projector, test/worker) arm a point through the environment
 * of the process they start and wait for that stderr line. Never set either variable in production.
 * Each package names its own points (the worker's `CrashPoint`, the projector's `ProjectorCrashPoint`).
 * @example
 * crashPoint('projector-before-commit'); // dies here under RATCHET_CRASH_POINT=projector-before-commit
 */
export function crashPoint(name: string): void {
  if (process.env.RATCHET_CRASH_POINT !== name) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (n >= Number(process.env.RATCHET_CRASH_AFTER ?? '1')) {
    process.stderr.write(`ratchet: crash point ${name} reached (hit ${n}); SIGKILL\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
