import { errors, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/** The subject a worker answers while its NATS connection is up. */
export const livenessSubject = (workerId: string): string => `ratchet.worker.${workerId}.alive`;

/**
 * What asking a peer told: it `answers` (its connection is up), it is `gone` (NATS says nobody
 * listens: its connection closed), or it stayed `silent` (no answer in time: a stopped or hung
 * process, or a request lost; nothing is concluded).
 */
export type PeerAnswer = 'answers' | 'gone' | 'silent';

/**
 * Whether a peer's NATS connection is up, asked of NATS itself: every worker answers on its own
 * liveness subject, and nats-server drops a client's subscriptions the moment its connection closes
 * (a SIGKILLed or OOM-killed process, a closed socket), so a request then gets "no responders" at
 * once. A stopped or hung process keeps its connection and subscription: its request times out
 * instead, and it is not reported gone (the lease covers that case).
 */
export interface PeerLiveness {
  /**
   * Answer on this worker's liveness subject until the returned function is called. When the
   * server refuses or closes the subscription (e.g. the NATS user may not subscribe to
   * `ratchet.worker.<id>.alive`), `onError` hears why and the subscription is tried again.
   */
  listen(workerId: string, onError: (error: Error) => void): () => Promise<void>;
  /** Ask `workerId` whether its connection is up. */
  ask(workerId: string): Promise<PeerAnswer>;
  /** A string that changes whenever this process's own NATS connection is replaced (a reconnect). */
  connectionId(): string | undefined;
}

/** Options of {@link natsPeerLiveness}. */
export interface PeerLivenessOptions {
  /** Bounds a request to a peer that answers nothing (stopped, or died with the request in flight). Default 250 ms. */
  readonly timeoutMs?: number;
  /** How long after a refused or closed subscription it is tried again. Default 5,000 ms. */
  readonly resubscribeMs?: number;
}

/** Peer liveness over a NATS connection. */
export function natsPeerLiveness(nc: NatsConnection, options: PeerLivenessOptions = {}): PeerLiveness {
  const timeoutMs = options.timeoutMs ?? 250;
  const resubscribeMs = options.resubscribeMs ?? 5_000;
  return {
    listen(workerId, onError) {
      let stopped = false;
      let sub: Subscription | undefined;
      let retry: NodeJS.Timeout | undefined;
      const subscribe = (): void => {
        sub = nc.subscribe(livenessSubject(workerId), {
          callback: (error, msg) => {
            if (error === null) {
              msg.respond();
              return;
            }
            // nats.js closes a subscription the server refused; peers now hear "no responders".
            onError(error);
            if (!stopped && !nc.isClosed()) {
              retry = setTimeout(subscribe, resubscribeMs);
              retry.unref();
            }
          },
        });
      };
      subscribe();
      return async () => {
        stopped = true;
        clearTimeout(retry);
        await sub?.drain().catch(() => undefined);
      };
    },
    async ask(workerId) {
      try {
        await nc.request(livenessSubject(workerId), undefined, { timeout: timeoutMs });
        return 'answers';
      } catch (error) {
        return error instanceof errors.RequestError && error.isNoResponders() ? 'gone' : 'silent';
      }
    },
    connectionId() {
      const info = nc.info;
      return info === undefined ? undefined : `${info.server_id}/${String(info.client_id)}`;
    },
  };
}
