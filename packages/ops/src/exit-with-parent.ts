import type { Logger } from 'pino';

/**
 * When `RATCHET_EXIT_WITH_PARENT` is `true`, shut down (through `drain`) once the process that
 * started this one is gone. Launchers (the demo, test harnesses) set it for their children, so a
 * launcher killed with SIGKILL leaves no worker behind reconnecting to a NATS port that another
 * run may reuse. Off by default: in production a supervisor owns the process.
 */
export function exitWithParent(logger: Logger, drain: () => void): void {
  if (process.env.RATCHET_EXIT_WITH_PARENT !== 'true') return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    logger.warn({ parent }, 'the launching process is gone; shutting down');
    drain();
  }, 500);
  timer.unref();
}
