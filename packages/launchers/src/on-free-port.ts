// Internal: bind a server to the caller's port, or to a free one, retrying when the free one is taken.
import { findFreePort } from './free-port.js';
import { LauncherError } from './launcher-error.js';

/**
 * Run `launch` on `port` when given; else on a free port, with a new one (up to 3 tries) when
 * another process took it between probing and binding ("address already in use").
 */
export async function onFreePort<T>(port: number | undefined, launch: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(port ?? (await findFreePort()));
    } catch (error) {
      const inUse = error instanceof LauncherError && /address already in use/i.test(error.message);
      if (!inUse || port !== undefined || attempt >= 3) throw error;
    }
  }
}
