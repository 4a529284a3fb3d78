// Shared by the gateway's unit tests: a fake client that records what it is asked to send, a
// gateway listening on a free port, and requests with exact bytes and headers.
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RawCommand, SendOptions, SendResult } from '@ratchet/client';
import { createGateway, type Gateway, type GatewayClient, type GatewayOptions } from '../src/index.js';
import { Counter } from './counter.js';

/** One `sendRaw` call as the fake client saw it. */
export interface SentCall {
  readonly aggregateType: string;
  readonly id: string;
  readonly command: RawCommand;
  readonly options: SendOptions;
}

/** Answers every send with `answer(call)`; the compiler checks it against the client's interface. */
export class FakeClient implements GatewayClient {
  readonly calls: SentCall[] = [];
  answer: (call: SentCall) => SendResult | Promise<SendResult>;

  constructor(answer: (call: SentCall) => SendResult | Promise<SendResult> = okAnswer) {
    this.answer = answer;
  }

  async sendRaw(aggregateType: string, id: string, command: RawCommand, options: SendOptions = {}): Promise<SendResult> {
    const call = { aggregateType, id, command, options };
    this.calls.push(call);
    return this.answer(call);
  }
}

/** An ok with one `added` event at version 1, echoing the command id. */
export function okAnswer(call: SentCall): SendResult {
  return {
    status: 'ok',
    version: 1,
    events: [{ version: 1, type: 'added', schemaVersion: 1, data: { n: 1 } }],
    duplicate: false,
    commandId: call.options.commandId ?? 'none',
    attempts: 1,
  };
}

/** A gateway over the counter aggregate on a free port of 127.0.0.1. */
export interface TestGateway {
  readonly gateway: Gateway;
  readonly client: FakeClient;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Start a gateway (default aggregates: the counter) with a fake client; close it in afterEach/afterAll. */
export async function startTestGateway(options: Partial<GatewayOptions> & { client?: FakeClient } = {}): Promise<TestGateway> {
  const client = options.client ?? new FakeClient();
  const gateway = createGateway({ aggregates: [Counter], ...options, client });
  const server = createServer(gateway);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    gateway,
    client,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An answer: status, headers and the body parsed as JSON (or the text when it is not JSON). */
export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

/** Options of {@link send}. */
export interface SendRequest {
  readonly method?: string;
  readonly path: string;
  /** An object is sent as JSON; a string or bytes as they are. Default no body. */
  readonly body?: unknown;
  /** Default `content-type: application/json` when there is a body; an empty value leaves a header out. */
  readonly headers?: Record<string, string>;
  /** Send the body in these pieces with this pause between them, chunked (no Content-Length). */
  readonly chunks?: { readonly pieces: readonly Buffer[]; readonly pauseMs: number };
}

/** Send one request over a fresh connection and read the whole answer. */
export async function send(port: number, req: SendRequest): Promise<Answer> {
  const body =
    req.body === undefined
      ? undefined
      : typeof req.body === 'string' || req.body instanceof Uint8Array
        ? Buffer.from(req.body)
        : Buffer.from(JSON.stringify(req.body));
  const headers: Record<string, string> = {
    ...(body !== undefined || req.chunks !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(body === undefined ? {} : { 'content-length': String(body.byteLength) }),
    ...req.headers,
  };
  // An empty value means: send no such header at all.
  for (const [name, value] of Object.entries(headers)) if (value === '') delete headers[name];
  return new Promise<Answer>((resolve, reject) => {
    let answered = false;
    const r = request({ host: '127.0.0.1', port, method: req.method ?? 'POST', path: req.path, headers, agent: false }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: kept as text
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
      res.on('error', reject);
    });
    // The server may answer and close before a refused body is fully sent: a write error after
    // (or while) the answer arrives is not the outcome.
    r.on('error', (error: NodeJS.ErrnoException) => (answered || error.code === 'EPIPE' ? undefined : reject(error)));
    if (req.chunks === undefined) {
      r.end(body);
      return;
    }
    const { pieces, pauseMs } = req.chunks;
    const next = (i: number): void => {
      if (r.destroyed) return;
      if (i === pieces.length) {
        r.end();
        return;
      }
      r.write(pieces[i]);
      setTimeout(() => next(i + 1), pauseMs);
    };
    next(0);
  });
}
