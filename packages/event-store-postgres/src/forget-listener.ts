import type pg from 'pg';

/** The channel `forget_subject` notifies on commit. */
export const FORGET_CHANNEL = 'ratchet_forget';

/** What a forget listener hears: a subject forgotten, or `reset` — notifications may have been missed (a reconnect). */
export type ForgetNotice = { readonly kind: 'forgotten'; readonly subject: string } | { readonly kind: 'reset' };

/** Options of {@link listenForForgets}. */
export interface ForgetListenerOptions {
  /** The quoted schema whose forgets count (the notification names it). */
  readonly schema: string;
  readonly onNotice: (notice: ForgetNotice) => void;
  /** Pause before a lost LISTEN connection is tried again (ms). Default 1,000. */
  readonly retryMs?: number;
}

/** A running LISTEN; `stop` releases its connection. */
export interface ForgetListener {
  stop(): Promise<void>;
}

/**
 * LISTEN on {@link FORGET_CHANNEL} on a connection of its own from `pool`, held until `stop`.
 * A lost connection is tried again every `retryMs`. Each time LISTEN takes effect the listener
 * hears `reset` first, since forgets may have committed before it. If LISTEN cannot work at all (a pool without
 * notifications), processes still drop cached keys after their time to live.
 */
export function listenForForgets(pool: pg.Pool, options: ForgetListenerOptions): ForgetListener {
  let client: pg.PoolClient | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let connecting: Promise<void> = Promise.resolve();

  const onNotification = (message: pg.Notification): void => {
    if (message.channel !== FORGET_CHANNEL || message.payload === undefined) return;
    try {
      const body = JSON.parse(message.payload) as { schema?: unknown; subject?: unknown };
      if (body.schema === options.schema && typeof body.subject === 'string')
        options.onNotice({ kind: 'forgotten', subject: body.subject });
    } catch {
      // Not ours: forget_subject always sends JSON.
    }
  };
  const retry = (): void => {
    if (!stopped) timer = setTimeout(() => (connecting = connect()), options.retryMs ?? 1_000).unref();
  };
  const detach = (c: pg.PoolClient): void => {
    c.removeListener('notification', onNotification);
    c.removeListener('error', onLost);
    c.removeListener('end', onLost);
  };
  function onLost(): void {
    const c = client;
    if (c === undefined) return;
    client = undefined;
    detach(c);
    c.release(true);
    retry();
  }

  const connect = async (): Promise<void> => {
    timer = undefined;
    if (stopped) return;
    let c: pg.PoolClient | undefined;
    try {
      c = await pool.connect();
      c.on('notification', onNotification);
      c.on('error', onLost);
      c.on('end', onLost);
      await c.query(`LISTEN ${FORGET_CHANNEL}`);
      if (stopped) {
        detach(c);
        c.release();
        return;
      }
      client = c;
      // Whatever committed before LISTEN took effect was not heard: what was cached then may be stale.
      options.onNotice({ kind: 'reset' });
    } catch {
      if (c !== undefined) {
        detach(c);
        c.release(true);
      }
      retry();
    }
  };
  connecting = connect();

  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await connecting;
      const c = client;
      client = undefined;
      if (c !== undefined) {
        detach(c);
        await c.query(`UNLISTEN ${FORGET_CHANNEL}`).catch(() => undefined);
        c.release();
      }
    },
  };
}
