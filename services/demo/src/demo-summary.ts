import type { Simulator, verifyTurnstiles } from '@ratchet/simulator';

type Check = Awaited<ReturnType<typeof verifyTurnstiles>>;

/** The headless demo's last line: what the riders saw and whether the read model equals the store. */
export function demoSummary(
  stats: ReturnType<Simulator['stats']>,
  check: Check,
  run: { readonly workers: number; readonly turnstiles: number; readonly distributed: boolean },
): Record<string, unknown> {
  return {
    sent: stats.sent,
    ok: stats.ok,
    rejected: stats.rejected,
    failed: stats.failed,
    errors: stats.errors,
    durationS: Math.round(stats.elapsedMs / 100) / 10,
    throughput: stats.throughput,
    latencyMs: { p50: stats.p50Ms, p99: stats.p99Ms, max: stats.maxMs },
    workers: run.workers,
    turnstiles: run.turnstiles,
    projection: check.projection,
    store: check.store,
    consistent: check.consistent,
    caughtUpMs: check.waitedMs,
    distributed: run.distributed,
    ...(check.mismatchCount > 0 ? { mismatchCount: check.mismatchCount, mismatches: check.mismatches } : {}),
  };
}
