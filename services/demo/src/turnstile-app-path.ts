import { fileURLToPath } from 'node:url';

/**
 * The turnstile app module, the one app the demo runs: its worker, projector and dashboard processes
 * get it as RATCHET_APP and embedded mode loads it with loadApp, so the demo runs the turnstile the
 * way a user's app runs. Resolved through the package's exports: the source in development (the
 * "source" condition), the build elsewhere.
 */
export function turnstileAppPath(): string {
  return fileURLToPath(import.meta.resolve('@ratchet/turnstile-app'));
}
