import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** A route beyond the standard ones: return a JSON-serialisable body (or a status and body). */
export type OpsRoute = (req: IncomingMessage) => unknown | Promise<unknown>;

/** Options of {@link startOpsServer}. */
export interface OpsServerOptions {
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Host to bind. Default '0.0.0.0'. */
  readonly host?: string;
  /** Liveness: false means the process should be restarted. */
  readonly healthy: () => boolean;
  /** Readiness: false means do not route work here now. */
  readonly ready: () => boolean;
  /** Metrics registry served at /metrics. */
  readonly registry: Registry;
  /** Extra GET routes by path, answered as JSON. */
  readonly routes?: Readonly<Record<string, OpsRoute>>;
}

/** A started ops server. */
export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/**
 * Serve /healthz, /readyz and /metrics (Prometheus text), plus any JSON routes given.
 * @example
 * const ops = await startOpsServer({ port: 8080, healthy: () => true, ready: () => worker.ready, registry });
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const handle = async (): Promise<void> => {
      if (req.method !== 'GET') return send(res, 405, JSON.stringify({ error: 'method not allowed' }));
      if (path === '/healthz') {
        const ok = options.healthy();
        return send(res, ok ? 200 : 503, JSON.stringify({ status: ok ? 'ok' : 'unhealthy' }));
      }
      if (path === '/readyz') {
        const ok = options.ready();
        return send(res, ok ? 200 : 503, JSON.stringify({ status: ok ? 'ready' : 'not ready' }));
      }
      if (path === '/metrics') {
        return send(res, 200, await options.registry.metrics(), options.registry.contentType);
      }
      const route = options.routes?.[path];
      if (route !== undefined) return send(res, 200, JSON.stringify(await route(req)));
      return send(res, 404, JSON.stringify({ error: 'not found' }));
    };
    handle().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: error instanceof Error ? error.message : 'internal' }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
