import { createServer } from 'node:net';
import { DemoUsage } from './demo-options.js';

/** A port the run will listen on, and the flag that sets it. */
export interface WantedPort {
  /** What listens there, e.g. `the gateway`. */
  readonly what: string;
  readonly port: number;
  /** The flag that moves it, e.g. `--gateway-port`. */
  readonly flag: string;
}

function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Refuse at once, before any server starts, when a fixed port (not 0) is taken: a second
 * `ratchet dev` or demo would otherwise start its servers and workers and only then fail, with the
 * gateway's or dashboard's start-up log. Throws {@link DemoUsage} (exit 2) naming every taken port.
 */
export async function checkPortsFree(wanted: readonly WantedPort[]): Promise<void> {
  const taken: WantedPort[] = [];
  for (const w of wanted) if (w.port !== 0 && !(await free(w.port))) taken.push(w);
  if (taken.length === 0) return;
  const lines = taken.map(
    (t) => `port ${t.port} (${t.what}) is in use: pass ${t.flag} N (0 for any free port), or stop what listens there`,
  );
  throw new DemoUsage(lines.join('\n'), 2);
}
