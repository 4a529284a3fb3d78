import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Simulator } from '@ratchet/simulator';
import type { DemoControls } from './demo-controls.js';

/** The demo's control endpoint, for the dashboard. */
export interface ControlServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serve the demo's controls on 127.0.0.1 (only the dashboard calls it): `GET /workers`,
 * `POST /workers` (start one more), `POST /workers/<id>/kill` (SIGKILL), `GET /cluster` where the
 * controls give it, `GET /simulator` (totals and the last 60 seconds).
 */
export async function startControlServer(controls: DemoControls, simulator: () => Simulator | undefined): Promise<ControlServer> {
  const server = createServer((req, res) => {
    route(req, controls, simulator).then(
      ([status, body]) => send(res, status, body),
      (error: unknown) => send(res, 500, { error: (error as Error).message }),
    );
  });
  return listenLocal(server);
}

/** Listen on a free port of 127.0.0.1; `close` also ends open keep-alive connections. */
async function listenLocal(server: Server): Promise<ControlServer> {
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

async function route(req: IncomingMessage, controls: DemoControls, simulator: () => Simulator | undefined): Promise<[number, unknown]> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (req.method === 'GET' && path === '/workers') return [200, controls.workers()];
  if (req.method === 'GET' && path === '/cluster' && controls.clusterView) return [200, await controls.clusterView()];
  if (req.method === 'GET' && path === '/simulator') {
    const sim = simulator();
    return [200, sim === undefined ? null : { stats: sim.stats(), seconds: sim.recentSeconds(60), rate: sim.rate }];
  }
  if (req.method === 'POST' && 'fixed' in controls) return [409, { error: controls.fixed }];
  if (req.method === 'POST' && path === '/workers' && 'addWorker' in controls) return [201, await controls.addWorker()];
  const kill = /^\/workers\/([A-Za-z0-9_-]{1,64})\/kill$/.exec(path)?.[1];
  if (req.method === 'POST' && kill !== undefined && 'killWorker' in controls) {
    const info = controls.killWorker(kill);
    return info === undefined ? [404, { error: 'no such worker' }] : [200, info];
  }
  return [404, { error: 'not found' }];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
