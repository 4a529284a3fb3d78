import { errors, type NatsConnection } from '@nats-io/transport-node';

/** The subject a worker answers while its NATS connection is up. */
export const livenessSubject = (workerId: string): string => `ratchet.worker.${workerId}.alive`;

/**
 * Whether a peer's NATS connection is up, asked of NATS itself: every worker answers on its own
 * liveness subject, and nats-server drops a client's subscriptions the moment its connection closes
 * (a SIGKILLed or OOM-killed process, a closed socket), so a request then gets "no responders" at
 * once. A stopped or hung process keeps its connection and subscription: its request times out
 * instead, and it is not reported gone (the lease covers that case).
 */
export interface PeerLiveness {
  /** Answer on this worker's liveness subject until the returned function is called. */
  listen(workerId: string): () => Promise<void>;
  /** True only when NATS says nobody listens for `workerId` (its connection is gone). */
  isGone(workerId: string): Promise<boolean>;
  /** A string that changes whenever this process's own NATS connection is replaced (a reconnect). */
  connectionId(): string | undefined;
}

/**
 * Peer liveness over a NATS connection. `timeoutMs` (default 250) bounds a request to a peer that
 * answers nothing (stopped, or died with the request in flight): it then counts as not gone, and
 * is asked again on the next look.
 */
export function natsPeerLiveness(nc: NatsConnection, timeoutMs = 250): PeerLiveness {
  return {
    listen(workerId) {
      const sub = nc.subscribe(livenessSubject(workerId), {
        callback: (_error, msg) => {
          msg.respond();
        },
      });
      return () => sub.drain().catch(() => undefined);
    },
    async isGone(workerId) {
      try {
        await nc.request(livenessSubject(workerId), undefined, { timeout: timeoutMs });
        return false;
      } catch (error) {
        return error instanceof errors.RequestError && error.isNoResponders();
      }
    },
    connectionId() {
      const info = nc.info;
      return info === undefined ? undefined : `${info.server_id}/${String(info.client_id)}`;
    },
  };
}
