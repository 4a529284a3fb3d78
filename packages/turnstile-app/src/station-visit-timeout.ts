import { ValidationError } from '@ratchet/core';

/**
 * The stations' visit timeout (ms) from `STATION_VISIT_TIMEOUT_MS`; default 20,000. Like
 * TURNSTILE_PROJECTION_VERSIONS it belongs to the turnstile app: the worker (which fires the timer)
 * and every other process loading the app read it. Throws a ValidationError naming the variable.
 * @example
 * stationVisitTimeoutMs({ STATION_VISIT_TIMEOUT_MS: '5000' }); // 5000
 */
export function stationVisitTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = (env.STATION_VISIT_TIMEOUT_MS ?? '').trim();
  if (raw === '') return 20_000;
  const ms = Number(raw);
  if (!/^\d+$/.test(raw) || ms < 100 || ms > 86_400_000) {
    const message = `milliseconds from 100 to 86,400,000 (got "${raw}")`;
    throw new ValidationError(`invalid configuration: STATION_VISIT_TIMEOUT_MS: ${message}`, [
      { path: ['STATION_VISIT_TIMEOUT_MS'], message },
    ]);
  }
  return ms;
}
