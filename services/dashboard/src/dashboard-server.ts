import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App } from '@ratchet/app';
import type { RatchetClient } from '@ratchet/client';
import type { Logger } from 'pino';
import { appView } from './app-view.js';
import { readCluster, type ClusterSnapshot } from './cluster-view.js';
import { timeTravelView, type TimeTravelStore } from './time-travel-view.js';
import type { AggregateCount, ProcessView, ReadModel, StationRow, Totals, TurnstileRow } from './read-model.js';

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  readonly port: number;
  readonly host?: string;
  readonly readModel: ReadModel;
  /** The app the workers serve: its aggregate types are counted; the turnstile panels show when it has the turnstile read model. */
  readonly app: App;
  readonly client: Pick<RatchetClient, 'sendRaw'>;
  readonly log: Logger;
  /** Refresh period in ms. Default 500. */
  readonly tickMs?: number;
  /** The demo launcher's control endpoint (kill/add workers, simulator stats). */
  readonly controlUrl?: string;
  /** Worker ops URLs when there is no launcher. */
  readonly workerUrls?: readonly string[];
  /** False in embedded mode. Default true. */
  readonly distributed?: boolean;
  /** Why workers cannot be killed or added here (embedded mode), shown on the page. Default none. */
  readonly fixedWorkers?: string;
  /** Where the servers are, for the header. */
  readonly infrastructure?: string;
  /** How long a command from the page waits for the read model to show it, in ms. Default 10,000. */
  readonly readYourWritesTimeoutMs?: number;
  /** The event store, for the time-travel page (`/time-travel`, docs/time-travel.md); without it that page has no data. */
  readonly timeTravel?: TimeTravelStore;
}

/** A running dashboard. */
export interface Dashboard {
  readonly port: number;
  close(): Promise<void>;
}

/** One refresh, as sent to the page (`rows` holds the changed rows only, except in the first message). */
interface Tick {
  readonly at: number;
  readonly rows: readonly TurnstileRow[];
  /** Absent when the app has no turnstile read model. */
  readonly totals?: Totals;
  readonly lagEvents: number | null;
  readonly eventsPerSecond: ReadonlyArray<[number, number]>;
  readonly cluster: ClusterSnapshot;
  readonly aggregates: readonly AggregateCount[];
  /** Absent when the app has no stations read model. */
  readonly stations?: readonly StationRow[];
  /** The app's process managers with their lag and answers. */
  readonly processes: readonly ProcessView[];
  readonly simulator: unknown;
}

const COMMANDS = new Set(['install', 'insertCoin', 'pushArm']);
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const publicDir = fileURLToPath(new URL('../public/', import.meta.url));
const require = createRequire(import.meta.url);
const uplotDir = join(dirname(require.resolve('uplot/package.json')), 'dist');
const STATIC: Readonly<Record<string, readonly [string, string]>> = {
  '/': [join(publicDir, 'index.html'), 'text/html; charset=utf-8'],
  '/app.js': [join(publicDir, 'app.js'), 'text/javascript; charset=utf-8'],
  '/app.css': [join(publicDir, 'app.css'), 'text/css; charset=utf-8'],
  '/favicon.svg': [join(publicDir, 'favicon.svg'), 'image/svg+xml'],
  '/time-travel': [join(publicDir, 'time-travel.html'), 'text/html; charset=utf-8'],
  '/time-travel.js': [join(publicDir, 'time-travel.js'), 'text/javascript; charset=utf-8'],
  '/time-travel.css': [join(publicDir, 'time-travel.css'), 'text/css; charset=utf-8'],
  // Browsers that ignore the page's <link rel="icon"> ask for this one.
  '/favicon.ico': [join(publicDir, 'favicon.svg'), 'image/svg+xml'],
  '/vendor/uPlot.iife.min.js': [join(uplotDir, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
  '/vendor/uPlot.min.css': [join(uplotDir, 'uPlot.min.css'), 'text/css; charset=utf-8'],
};

/**
 * Serve the dashboard: the page, a server-sent event stream refreshed every tick (workers and
 * partitions, instances and events per aggregate type, the process managers' lag and answers; for
 * the turnstile app also grid changes from the read model, totals, projection lag, events per
 * second, the stations and their technician visits, simulator counters), and the command and
 * worker-control endpoints.
 * @example
 * const dashboard = await startDashboard({ port: 8090, readModel, app, client, log });
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { readModel, log } = options;
  const view = appView(options.app);
  const travel = options.timeTravel === undefined ? undefined : timeTravelView(options.app, options.timeTravel);
  const clients = new Set<ServerResponse>();
  const current = new Map<string, TurnstileRow>();
  let last: Omit<Tick, 'rows'> | undefined;
  let ticking = false;

  const broadcast = (event: string, data: unknown): void => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of clients) res.write(frame);
  };

  const tick = async (): Promise<void> => {
    if (ticking) return;
    ticking = true;
    try {
      const [rows, totals, lagEvents, eventsPerSecond, cluster, aggregates, stations, processes, simulator] = await Promise.all([
        view.turnstile ? readModel.rows() : [],
        view.turnstile ? readModel.totals() : undefined,
        view.turnstile ? readModel.lagEvents() : null,
        view.turnstile ? readModel.eventsPerSecond(60) : [],
        readCluster(options.controlUrl, options.workerUrls ?? []),
        readModel.aggregateCounts(view.aggregateTypes),
        view.stations ? readModel.stations() : undefined,
        view.processes.length > 0 ? readModel.processes() : [],
        options.controlUrl === undefined
          ? Promise.resolve(null)
          : fetch(`${options.controlUrl}/simulator`, { signal: AbortSignal.timeout(400) })
              .then((r) => r.json() as Promise<unknown>)
              .catch(() => null),
      ]);
      const changed = rows.filter((r) => !same(current.get(r[0]), r));
      for (const r of changed) current.set(r[0], r);
      last = {
        at: Date.now(),
        ...(totals === undefined ? {} : { totals }),
        lagEvents,
        eventsPerSecond,
        cluster,
        aggregates,
        ...(stations === undefined ? {} : { stations }),
        processes,
        simulator,
      };
      broadcast('tick', { ...last, rows: changed });
    } catch (error) {
      log.warn({ err: error }, 'refresh failed');
    } finally {
      ticking = false;
    }
  };
  const timer = setInterval(() => void tick(), options.tickMs ?? 500);

  const config = {
    distributed: options.distributed ?? true,
    infrastructure: options.infrastructure ?? '',
    controllable: options.controlUrl !== undefined,
    fixedWorkers: options.fixedWorkers ?? null,
    app: view,
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const file = STATIC[path];
    if (req.method === 'GET' && file !== undefined) {
      res.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-cache' });
      res.end(await readFile(file[0]));
      return;
    }
    if (req.method === 'GET' && path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify({ ...config, ...last, rows: [...current.values()] })}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    if (req.method === 'GET' && path === '/api/state') return json(res, 200, { ...config, ...last, rows: [...current.values()] });
    if (req.method === 'GET' && path.startsWith('/api/time-travel')) {
      const answer = await travel?.answer(path, new URLSearchParams((req.url ?? '').split('?')[1] ?? ''));
      if (answer !== undefined) return json(res, answer.status, answer.body);
      if (travel === undefined)
        return json(res, 404, {
          error: { code: 'UNAVAILABLE', message: 'this dashboard was started without the event store: no time travel here' },
        });
    }
    const commandFor = /^\/api\/turnstiles\/([^/]+)\/commands$/.exec(path)?.[1];
    if (req.method === 'POST' && commandFor !== undefined) return sendCommand(decodeURIComponent(commandFor), await body(req), res);
    if (req.method === 'POST' && path === '/api/workers') return control(res, '/workers');
    const killWorker = /^\/api\/workers\/([A-Za-z0-9_-]{1,64})\/kill$/.exec(path)?.[1];
    if (req.method === 'POST' && killWorker !== undefined) return control(res, `/workers/${killWorker}/kill`);
    return json(res, 404, { error: 'not found' });
  };

  const sendCommand = async (id: string, input: unknown, res: ServerResponse): Promise<void> => {
    if (!view.turnstile)
      return json(res, 404, { error: `app "${view.name}" has no turnstile read model: commands from the page are for the turnstile app` });
    const type = (input as { type?: unknown } | null)?.type;
    if (!ID.test(id) || typeof type !== 'string' || !COMMANDS.has(type)) {
      return json(res, 400, { error: 'give a turnstile id ([A-Za-z0-9_-]{1,64}) and a type among install, insertCoin, pushArm' });
    }
    const started = performance.now();
    const result = await options.client.sendRaw('turnstile', id, { type, payload: {} });
    const replyMs = Math.round(performance.now() - started);
    if (result.status === 'rejected')
      return json(res, 200, { status: 'rejected', reason: result.reason, version: result.version, replyMs });
    if (result.status === 'error')
      return json(res, 200, { status: 'error', code: result.error.code, message: result.error.message, replyMs });
    // Read-your-writes: answer once the read model shows this command's version.
    const row = await readModel.waitForVersion(id, result.version, options.readYourWritesTimeoutMs ?? 10_000);
    const projectedMs = Math.round(performance.now() - started);
    if (row !== undefined) {
      current.set(id, row);
      broadcast('tick', { rows: [row] });
    }
    return json(res, 200, {
      status: 'ok',
      version: result.version,
      events: result.events.map((e) => e.type),
      row: row ?? null,
      replyMs,
      projectedMs,
      projected: row !== undefined,
    });
  };

  const control = async (res: ServerResponse, path: string): Promise<void> => {
    if (options.controlUrl === undefined)
      return json(res, 409, { error: 'workers can only be killed and added when the demo launcher runs them' });
    const answer = await fetch(`${options.controlUrl}${path}`, { method: 'POST', signal: AbortSignal.timeout(90_000) });
    json(res, answer.status, await answer.json());
    void tick();
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error, url: req.url }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  void tick();
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      clearInterval(timer);
      for (const res of clients) res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function same(a: TurnstileRow | undefined, b: TurnstileRow): boolean {
  return a !== undefined && a[1] === b[1] && a[2] === b[2];
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function body(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 4_096) return null;
  }
  try {
    return text === '' ? null : (JSON.parse(text) as unknown);
  } catch {
    return null;
  }
}
