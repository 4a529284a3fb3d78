import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Simulator } from '@ratchet/simulator';
import type { DemoCluster } from './demo-cluster.js';

/** The demo launcher's control endpoint, for the dashboard. */
export interface ControlServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serve the launcher's controls on 127.0.0.1 (only the dashboard calls it):
 * `GET /workers`, `POST /workers` (start one more), `POST /workers/<id>/kill` (SIGKILL),
 * `GET /simulator` (totals and the last 60 seconds).
 */
export async function startControlServer(cluster: DemoCluster, simulator: () => Simulator | undefined): Promise<ControlServer> {
  const server = createServer((req, res) => {
    route(req, cluster, simulator).then(
      ([status, body]) => send(res, status, body),
      (error: unknown) => send(res, 500, { error: (error as Error).message }),
    );
  });
  return listenLocal(server);
}

/** Listen on a free port of 127.0.0.1; `close` also ends open keep-alive connections. */
export async function listenLocal(server: Server): Promise<ControlServer & { readonly port: number }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function route(req: IncomingMessage, cluster: DemoCluster, simulator: () => Simulator | undefined): Promise<[number, unknown]> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (req.method === 'GET' && path === '/workers') return [200, cluster.workers()];
  if (req.method === 'POST' && path === '/workers') return [201, await cluster.addWorker()];
  const kill = /^\/workers\/([A-Za-z0-9_-]{1,64})\/kill$/.exec(path);
  if (req.method === 'POST' && kill) {
    const info = cluster.killWorker(kill[1]!);
    return info === undefined ? [404, { error: 'no such worker' }] : [200, info];
  }
  if (req.method === 'GET' && path === '/simulator') {
    const sim = simulator();
    return [200, sim === undefined ? null : { stats: sim.stats(), seconds: sim.recentSeconds(60), rate: sim.rate }];
  }
  return [404, { error: 'not found' }];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
