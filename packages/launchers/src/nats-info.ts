import { connect } from 'node:net';
import { LauncherError } from './launcher-error.js';

/** The fields of a NATS server's `INFO` greeting that callers look at (the rest are kept too). */
export interface NatsInfo {
  readonly server_id: string;
  readonly version: string;
  readonly port: number;
  readonly jetstream?: boolean;
  readonly [field: string]: unknown;
}

/**
 * Connect over plain TCP and read the server's `INFO {…}` line, without a NATS client.
 * Proves a nats-server (not just any listener) answers at `url`; takes the first of comma-separated URLs.
 * @example
 * const info = await readNatsInfo('nats://127.0.0.1:4222');
 * info.jetstream; // true when started with -js
 */
export function readNatsInfo(url: string, timeoutMs = 2_000): Promise<NatsInfo> {
  const first = (url.split(',')[0] ?? '').trim();
  const parsed = new URL(first.includes('://') ? first : `nats://${first}`);
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = parsed.port === '' ? 4222 : Number(parsed.port);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let buffer = '';
    const fail = (message: string, cause?: unknown): void => {
      socket.destroy();
      reject(new LauncherError(`NATS at ${host}:${port}: ${message}`, { cause }));
    };
    socket.setTimeout(timeoutMs, () => fail(`no INFO within ${timeoutMs} ms`));
    socket.setEncoding('utf8');
    socket.on('error', (error) => fail(error.message, error));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\r\n');
      if (end < 0) return;
      const line = buffer.slice(0, end);
      socket.destroy();
      if (!line.startsWith('INFO ')) return fail(`expected an INFO line, got ${JSON.stringify(line.slice(0, 80))}`);
      try {
        resolve(JSON.parse(line.slice(5)) as NatsInfo);
      } catch (error) {
        fail('INFO line is not JSON', error);
      }
    });
    socket.on('end', () => fail('connection closed before INFO'));
  });
}
