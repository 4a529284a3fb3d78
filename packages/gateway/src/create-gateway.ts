import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, RatchetError } from '@ratchet/core';
import { validTraceparent } from '@ratchet/transport-nats';
import { errorResult, resultOfSend, type GatewayResult } from './gateway-result.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { resolveGatewaySettings, type GatewayOptions, type GatewaySettings } from './gateway-options.js';
import { routeOf } from './gateway-route.js';
import { httpStatusOf, retryAfterOf, type MalformedRequestReason } from './http-status.js';
import { openApiDocument, type JsonObject } from './openapi-document.js';
import { checkTarget, prepareCommand, validIdempotencyKey, type PreparedCommand } from './prepare-command.js';
import { readBody } from './read-body.js';

/** A node:http request listener serving `POST /commands/<type>/<id>` and `GET /openapi.json`. */
export interface Gateway {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The OpenAPI 3.1 document served at /openapi.json. */
  readonly openApi: JsonObject;
  readonly metrics: GatewayMetrics;
  /** Command requests admitted and not yet answered. */
  inFlight(): number;
  /** True once {@link Gateway.drain} was called: new commands get 503 UNAVAILABLE. */
  draining(): boolean;
  /** Refuse new commands and resolve when those in flight are answered: true, or false at the deadline. */
  drain(timeoutMs: number): Promise<boolean>;
}

interface Answer {
  readonly result: GatewayResult;
  /** Methods for a 405's Allow header. */
  readonly allow?: string;
  /** Close the connection after answering (a body left unread, a drain). */
  readonly close?: boolean;
}

const refusal = (reason: MalformedRequestReason, message: string, extra: Record<string, unknown> = {}): GatewayResult =>
  errorResult(new RatchetError(ErrorCode.MALFORMED_REQUEST, message, { details: { reason, ...extra } }), undefined);

/**
 * Create the gateway's request handler. Every command is checked before it is sent (type, id,
 * content type, Idempotency-Key, envelope, command, payload schema) and answered with the typed
 * result as the body and the status of {@link HTTP_STATUS}. Mount it before any body parser.
 * @example
 * const client = await connectClient({ servers: 'nats://127.0.0.1:4222' });
 * const gateway = createGateway({ client, aggregates: [Turnstile] });
 * createServer(gateway).listen(8082);
 */
export function createGateway(options: GatewayOptions): Gateway {
  const settings = resolveGatewaySettings(options);
  const openApi = openApiDocument({
    aggregates: [...settings.aggregates.values()],
    ...(options.projections === undefined ? {} : { projections: options.projections.definitions }),
    ...(options.openApi === undefined ? {} : { info: options.openApi }),
  });
  const openApiText = JSON.stringify(openApi);
  let inFlight = 0;
  let draining = false;
  const idle = new Set<() => void>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const route = routeOf(req.url ?? '/');
    if (route.kind === 'openapi') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        write(res, settings, { result: refusal('method-not-allowed', `${String(req.method)} is not allowed here`), allow: 'GET, HEAD' });
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : openApiText);
      return;
    }
    if (route.kind === 'none') {
      write(res, settings, { result: refusal('no-route', `no route for ${route.path}`, { path: route.path }) });
      return;
    }

    const started = performance.now();
    const answer = (a: Answer, aggregate: string): void => {
      const status = write(res, settings, a);
      const result = a.result.status === 'error' ? a.result.error.code : a.result.status;
      settings.metrics.requests.inc({ aggregate, result, http_status: String(status) });
      settings.metrics.latency.observe({ aggregate }, (performance.now() - started) / 1000);
    };
    const known = settings.aggregates.has(route.rawType) ? route.rawType : 'unknown';
    if (req.method !== 'POST') {
      return answer(
        { result: refusal('method-not-allowed', `${String(req.method)} is not allowed here; send commands with POST`), allow: 'POST' },
        known,
      );
    }
    if (draining) {
      return answer(
        {
          result: errorResult(
            new RatchetError(ErrorCode.UNAVAILABLE, 'the gateway is shutting down', { details: { reason: 'draining' } }),
            undefined,
          ),
          close: true,
        },
        known,
      );
    }
    if (inFlight >= settings.maxInFlight) {
      const error = new RatchetError(ErrorCode.OVERLOADED, `the gateway is handling ${inFlight} requests, its limit`, {
        details: { limit: settings.maxInFlight },
      });
      return answer({ result: errorResult(error, undefined) }, known);
    }
    inFlight += 1;
    settings.metrics.inFlight.set(inFlight);
    try {
      answer(await handleCommand(req, route.rawType, route.rawId, route.query, started, settings), known);
    } finally {
      inFlight -= 1;
      settings.metrics.inFlight.set(inFlight);
      if (inFlight === 0) for (const wake of idle) wake();
    }
  };

  const gateway = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      settings.logger.error({ err: error }, 'gateway handler failed');
      if (!res.headersSent && !res.destroyed) write(res, settings, { result: errorResult(internal(error), undefined), close: true });
    });
  };
  const drain = (timeoutMs: number): Promise<boolean> => {
    draining = true;
    if (inFlight === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        idle.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        idle.delete(wake);
        resolve(false);
      }, timeoutMs);
      idle.add(wake);
    });
  };
  return Object.assign(gateway, {
    openApi,
    metrics: settings.metrics,
    inFlight: () => inFlight,
    draining: () => draining,
    drain,
  });
}

/** One command request from its head to its result: check, read, prepare, send, wait. Never throws. */
async function handleCommand(
  req: IncomingMessage,
  rawType: string,
  rawId: string | undefined,
  query: URLSearchParams,
  started: number,
  settings: GatewaySettings,
): Promise<Answer> {
  let prepared: PreparedCommand | undefined;
  try {
    const target = checkTarget(settings, rawType, rawId, query, req.headers);
    const deadline = started + settings.requestTimeoutMs;
    let body: Buffer;
    try {
      body = await readBody(req, settings.maxBodyBytes, deadline - performance.now());
    } catch (error) {
      // Part of the body is still unread: this connection cannot carry another request.
      return { result: errorResult(error instanceof RatchetError ? error : internal(error), target.idempotencyKey), close: true };
    }
    prepared = prepareCommand(target, body);
    const traceparent = req.headers.traceparent;
    const sent = await settings.client.sendRaw(prepared.aggregate.type, prepared.id, prepared.command, {
      commandId: prepared.commandId,
      timeoutMs: Math.max(1, Math.ceil(deadline - performance.now())),
      ...(prepared.expectedVersion === undefined ? {} : { expectedVersion: prepared.expectedVersion }),
      ...(prepared.metadata === undefined ? {} : { metadata: prepared.metadata }),
      // An invalid traceparent is ignored, as the protocol says, rather than failing the command.
      ...(typeof traceparent === 'string' && validTraceparent(traceparent) ? { traceparent } : {}),
    });
    const result = resultOfSend(sent);
    if (result.status !== 'ok' || prepared.waitFor === undefined) return { result };
    return { result: { ...result, waited: await waitForProjection(settings, prepared.waitFor, prepared.streamId, result.version) } };
  } catch (error) {
    if (!(error instanceof RatchetError)) settings.logger.error({ err: error }, 'command request failed unexpectedly');
    const commandId = prepared?.commandId ?? validIdempotencyKey(req.headers);
    return { result: errorResult(error instanceof RatchetError ? error : internal(error), commandId) };
  }
}

/** Whether the projection applied the stream up to `version` before the wait's deadline. */
async function waitForProjection(settings: GatewaySettings, projection: string, streamId: string, version: number): Promise<boolean> {
  let waited = false;
  try {
    await settings.waiter?.waitFor(projection, streamId, version, settings.waitTimeoutMs);
    waited = settings.waiter !== undefined;
  } catch (error) {
    // A timeout is the expected way not to catch up; anything else (the read-model database is
    // down) is logged, and the answer is the same: committed, not yet visible.
    if (!(error instanceof RatchetError && error.code === ErrorCode.TIMEOUT)) {
      settings.logger.warn({ err: error, projection, streamId, version }, 'waiting for the projection failed');
    }
  }
  settings.metrics.waits.inc({ projection, waited: String(waited) });
  return waited;
}

function internal(error: unknown): RatchetError {
  return new RatchetError(ErrorCode.INTERNAL, 'internal error', { cause: error });
}

/** Write a result with its status and headers; returns the status. */
function write(res: ServerResponse, settings: GatewaySettings, answer: Answer): number {
  const status = httpStatusOf(answer.result);
  if (res.headersSent || res.destroyed) return status;
  const retryAfter = retryAfterOf(answer.result, status, settings.retryAfterSeconds);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
    ...(answer.allow === undefined ? {} : { allow: answer.allow }),
    ...(answer.close === true ? { connection: 'close' } : {}),
  });
  res.end(JSON.stringify(answer.result));
  return status;
}
