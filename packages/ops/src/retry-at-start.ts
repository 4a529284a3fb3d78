import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';

/**
 * Retry a start-up step (first connection, migrations) with backoff until it succeeds or the
 * deadline passes, logging each failure: a process started while Postgres or NATS restarts should
 * come up once they are back, not exit and wait for an orchestrator. Default deadline 60 s.
 */
export async function retryAtStart<T>(what: string, step: () => Promise<T>, logger: Logger, deadlineMs = 60_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await step();
    } catch (error) {
      if (Date.now() >= until) throw error;
      const waitMs = Math.min(5_000, 100 * 2 ** Math.min(attempt, 6));
      logger.warn({ err: error, attempt, retryInMs: waitMs }, `${what} failed; retrying`);
      await delay(waitMs);
    }
  }
}
