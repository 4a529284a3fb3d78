import { ErrorCode } from '@ratchet/core';
import { GatewayResultSchema, type GatewayResult } from '@ratchet/gateway';

/** One command for the HTTP gateway: `POST /commands/<aggregate>/<id>`. */
export interface CommandRequest {
  readonly aggregate: string;
  readonly id: string;
  readonly command: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** The Idempotency-Key: a resend with it is answered with the first outcome. */
  readonly commandId: string;
  /** A projection to wait for (read-your-writes, `?waitFor=`). */
  readonly waitFor?: string;
}

/** What the page needs to send a command: the gateway's typed answer, never a throw. */
export interface CommandSender {
  send(request: CommandRequest): Promise<GatewayResult>;
}

/** Options of {@link createGatewaySender}. */
export interface GatewaySenderOptions {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8082`. */
  readonly url: string;
  /** Budget of one HTTP request to the gateway, in ms. Default 10,000 (its own send budget is 5 s, a wait 2 s). */
  readonly timeoutMs?: number;
}

/**
 * A {@link CommandSender} over HTTP: the seeds' "web app → command" integration. A gateway that
 * cannot be reached, or answers something that is not a gateway result, becomes a typed error
 * answer (`UNAVAILABLE`, `TIMEOUT`, `MALFORMED_REPLY`) like the gateway's own.
 * @example
 * const sender = createGatewaySender({ url: 'http://127.0.0.1:8082' });
 * await sender.send({ aggregate: 'book', id, command: 'add', payload: { title, authorId }, commandId: `add-book:${id}`, waitFor: 'books' });
 */
export function createGatewaySender(options: GatewaySenderOptions): CommandSender {
  const base = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    async send(request) {
      const query = request.waitFor === undefined ? '' : `?waitFor=${encodeURIComponent(request.waitFor)}`;
      const url = `${base}/commands/${request.aggregate}/${encodeURIComponent(request.id)}${query}`;
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': request.commandId },
          body: JSON.stringify({ command: request.command, payload: request.payload }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        // Sent or not is unknown once the request may have left: TIMEOUT (retryable with the same key).
        const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
        const code = timedOut ? ErrorCode.TIMEOUT : ErrorCode.UNAVAILABLE;
        return failure(
          code,
          `the gateway at ${base} ${timedOut ? `did not answer within ${timeoutMs} ms` : `could not be reached: ${describe(error)}`}`,
          true,
          request.commandId,
        );
      }
      const text = await response.text().catch(() => '');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const parsed = GatewayResultSchema.safeParse(body);
      if (parsed.success) return parsed.data;
      return failure(
        ErrorCode.MALFORMED_REPLY,
        `the gateway answered ${response.status} with a body that is not a command result`,
        false,
        request.commandId,
      );
    },
  };
}

function failure(code: ErrorCode, message: string, retryable: boolean, commandId: string): GatewayResult {
  return { status: 'error', error: { code, message, retryable }, commandId, attempts: 0 };
}

function describe(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
