import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGateway, type Gateway } from './create-gateway.js';
import type { GatewayOptions } from './gateway-options.js';

/** Options of {@link startGateway}: the gateway's, and where to listen. */
export interface StartGatewayOptions extends GatewayOptions {
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Host to bind. Default '0.0.0.0'. */
  readonly host?: string;
  /** Liveness at /healthz: false means restart the process. Default always true. */
  readonly healthy?: () => boolean;
  /** Readiness at /readyz (besides not draining): false means send no traffic here now. Default always true. */
  readonly ready?: () => boolean;
}

/** A listening gateway. */
export interface RunningGateway {
  readonly port: number;
  readonly gateway: Gateway;
  /**
   * Stop accepting connections, answer new requests on open ones 503 UNAVAILABLE, wait up to
   * `drainTimeoutMs` (default 10,000) for the requests in flight, then close every connection.
   * Resolves true when nothing was cut off.
   */
  close(drainTimeoutMs?: number): Promise<boolean>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * Listen with a gateway, and serve `GET /healthz`, `/readyz` and `/metrics` (Prometheus text,
 * the gateway's registry) beside it on the same port.
 * @example
 * const running = await startGateway({ port: 8082, client, aggregates: [Turnstile] });
 * process.on('SIGTERM', () => void running.close(10_000));
 */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const gateway = createGateway(options);
  const registry = gateway.metrics.registry;
  const ops = async (_req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (path === '/healthz') {
      const ok = options.healthy?.() ?? true;
      return sendJson(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unhealthy' });
    }
    if (path === '/readyz') {
      const ok = !gateway.draining() && (options.ready?.() ?? true);
      return sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready' });
    }
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
    res.end(await registry.metrics());
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz' || path === '/metrics')) {
      ops(req, res, path).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { status: 'error' });
      });
      return;
    }
    gateway(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    gateway,
    async close(drainTimeoutMs = 10_000) {
      // No new connections; idle keep-alive ones are closed, busy ones finish their request.
      server.close();
      const drained = await gateway.drain(drainTimeoutMs);
      server.closeAllConnections();
      await closed;
      return drained;
    },
  };
}
