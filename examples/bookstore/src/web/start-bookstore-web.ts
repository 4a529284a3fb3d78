import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBookstoreWeb, type BookstoreWebOptions } from './bookstore-web.js';

/** Options of {@link startBookstoreWeb}: the page's, and where to listen. */
export interface StartBookstoreWebOptions extends BookstoreWebOptions {
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string;
}

/** The bookstore page listening. */
export interface RunningBookstoreWeb {
  /** The port listened on (the free one picked for port 0). */
  readonly port: number;
  /** The page's address, e.g. `http://127.0.0.1:8088/`. */
  readonly url: string;
  /** Stop accepting connections and end the open ones once their requests are answered. */
  close(): Promise<void>;
}

/**
 * Serve the bookstore page on a node:http server.
 * @example
 * const web = await startBookstoreWeb({ port: 0, sender, readModels });
 * console.log(web.url);
 * await web.close();
 */
export async function startBookstoreWeb(options: StartBookstoreWebOptions): Promise<RunningBookstoreWeb> {
  const server: Server = createServer(createBookstoreWeb(options));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    port,
    url: `http://${shown}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
