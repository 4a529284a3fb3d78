import type { Logger } from 'pino';

/**
 * Signals this soon after the first count as that one: a Ctrl-C under `npx` or `npm run` reaches
 * the process twice, from the terminal and forwarded by npm, and must not cut the drain short.
 */
const SAME_SIGNAL_MS = 1_000;

/**
 * Run `drain` once on SIGTERM or SIGINT, then exit 0 (1 if draining failed). A second signal
 * while draining (more than a second after the first) exits at once with 130, for an operator who
 * means it.
 */
export function onShutdown(logger: Logger, drain: (signal: string) => Promise<void>): void {
  let drainingSince: number | undefined;
  const handler = (signal: NodeJS.Signals): void => {
    if (drainingSince !== undefined) {
      if (Date.now() - drainingSince < SAME_SIGNAL_MS) return;
      logger.warn({ signal }, 'second signal while draining; exiting now');
      process.exit(130);
    }
    drainingSince = Date.now();
    logger.info({ signal }, 'draining');
    drain(signal).then(
      () => {
        logger.info('drained; exiting');
        logger.flush?.();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'drain failed');
        logger.flush?.();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
