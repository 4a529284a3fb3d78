// A userspace TCP proxy (node:net) for fault tests: added latency, connection resets, and a
// blackhole that holds every byte (as a dropped link whose TCP retransmits until it heals).
// No toxiproxy or netem on the build machines (see NOTES.md), so this is ours.
import { createServer, connect, type Server, type Socket } from 'node:net';

/** Options of {@link startTcpProxy}. */
export interface TcpProxyOptions {
  /** Upstream port on `targetHost`. */
  readonly targetPort: number;
  /** Upstream host. Default 127.0.0.1. */
  readonly targetHost?: string;
  /** Port to listen on (127.0.0.1). Default: any free port. */
  readonly port?: number;
}

/** Counters of one proxy. */
export interface TcpProxyStats {
  readonly accepted: number;
  readonly open: number;
  readonly resets: number;
}

interface Queued {
  readonly due: number;
  readonly chunk: Buffer;
}

/** One direction of one connection: keeps byte order under latency and holds bytes while blackholed. */
class Lane {
  readonly #queue: Queued[] = [];
  readonly #held: Buffer[] = [];
  #timer: NodeJS.Timeout | undefined;
  #ended = false;
  out: Socket | undefined;

  constructor(private readonly proxy: TcpProxy) {}

  push(chunk: Buffer): void {
    if (this.proxy.blackholed || this.out === undefined) this.#held.push(chunk);
    else this.#send(chunk);
  }

  end(): void {
    this.#ended = true;
    this.#pump();
  }

  /** Forward what was held (after a heal, or once the upstream socket exists). */
  release(): void {
    if (this.out === undefined) return;
    for (const chunk of this.#held.splice(0)) this.#send(chunk);
    this.#pump();
  }

  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#queue.length = 0;
    this.#held.length = 0;
  }

  #send(chunk: Buffer): void {
    const last = this.#queue.at(-1)?.due ?? 0;
    this.#queue.push({ due: Math.max(Date.now() + this.proxy.latencyMs, last), chunk });
    this.#pump();
  }

  #pump(): void {
    if (this.#timer !== undefined) return;
    const out = this.out;
    if (out === undefined || out.destroyed) return;
    const now = Date.now();
    while (this.#queue.length > 0 && this.#queue[0]!.due <= now && !this.proxy.blackholed) {
      out.write(this.#queue.shift()!.chunk);
    }
    const head = this.#queue[0];
    if (head !== undefined && !this.proxy.blackholed) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#pump();
      }, head.due - now);
    } else if (head === undefined && this.#held.length === 0 && this.#ended) {
      out.end();
    }
  }
}

interface Pair {
  readonly client: Socket;
  upstream: Socket | undefined;
  readonly up: Lane;
  readonly down: Lane;
}

/** A running proxy; `close()` it in teardown. */
export class TcpProxy {
  readonly port: number;
  readonly targetHost: string;
  readonly targetPort: number;
  /** Added one-way delay per chunk, in ms (so a round trip gains twice this). */
  latencyMs = 0;
  #blackholed = false;
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #accepted = 0;
  #resets = 0;

  private constructor(server: Server, port: number, targetHost: string, targetPort: number) {
    this.#server = server;
    this.port = port;
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    server.on('connection', (socket) => this.#accept(socket));
  }

  /** Start listening on 127.0.0.1. */
  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
    return new TcpProxy(server, address.port, options.targetHost ?? '127.0.0.1', options.targetPort);
  }

  get blackholed(): boolean {
    return this.#blackholed;
  }

  stats(): TcpProxyStats {
    return { accepted: this.#accepted, open: this.#pairs.size, resets: this.#resets };
  }

  /** Hold every byte in both directions, and new connections' upstream dials, until `heal()`. */
  blackhole(): void {
    this.#blackholed = true;
  }

  /** End a blackhole: deliver what was held, or (with `reset`) reset the connections that lived through it. */
  heal(options: { reset?: boolean } = {}): void {
    this.#blackholed = false;
    if (options.reset === true) {
      this.resetAll();
      return;
    }
    for (const pair of this.#pairs) {
      if (pair.upstream === undefined) this.#dial(pair);
      pair.up.release();
      pair.down.release();
    }
  }

  /** Reset (RST) every open connection on both sides. */
  resetAll(): number {
    const n = this.#pairs.size;
    for (const pair of [...this.#pairs]) this.#drop(pair, true);
    this.#resets += n;
    return n;
  }

  /** Stop listening and drop every connection. */
  async close(): Promise<void> {
    for (const pair of [...this.#pairs]) this.#drop(pair, false);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.#accepted += 1;
    client.setNoDelay(true);
    const pair: Pair = { client, upstream: undefined, up: new Lane(this), down: new Lane(this) };
    pair.down.out = client;
    this.#pairs.add(pair);
    client.on('data', (chunk: Buffer) => pair.up.push(chunk));
    client.on('end', () => pair.up.end());
    client.on('error', () => this.#drop(pair, false));
    client.on('close', () => this.#drop(pair, false));
    if (!this.#blackholed) this.#dial(pair);
  }

  #dial(pair: Pair): void {
    const upstream = connect({ host: this.targetHost, port: this.targetPort, noDelay: true });
    pair.upstream = upstream;
    upstream.on('connect', () => {
      pair.up.out = upstream;
      pair.up.release();
    });
    upstream.on('data', (chunk: Buffer) => pair.down.push(chunk));
    upstream.on('end', () => pair.down.end());
    upstream.on('error', () => this.#drop(pair, false));
    upstream.on('close', () => this.#drop(pair, false));
  }

  #drop(pair: Pair, reset: boolean): void {
    if (!this.#pairs.delete(pair)) return;
    pair.up.clear();
    pair.down.clear();
    for (const socket of [pair.client, pair.upstream]) {
      if (socket === undefined || socket.destroyed) continue;
      if (reset && typeof socket.resetAndDestroy === 'function' && socket.readyState === 'open') socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}

/** Start a {@link TcpProxy} in front of `targetPort`. */
export function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  return TcpProxy.start(options);
}
