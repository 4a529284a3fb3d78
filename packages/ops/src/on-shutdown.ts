import type { Logger } from 'pino';

/**
 * Run `drain` once on SIGTERM or SIGINT, then exit 0 (1 if draining failed). A second signal
 * while draining exits at once with 130, for an operator who means it.
 */
export function onShutdown(logger: Logger, drain: (signal: string) => Promise<void>): void {
  let draining = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (draining) {
      logger.warn({ signal }, 'second signal while draining; exiting now');
      process.exit(130);
    }
    draining = true;
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
