import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { EVENTS_STREAM, eventMessageId, natsConnectOptions } from '@ratchet/transport-nats';
import type { StoredEvent } from './stored-event.js';
import type { Tally } from './check-category.js';

/** Read every `Nats-Msg-Id` of the events stream (headers only, through an ordered consumer). */
export async function readJetStreamMessageIds(natsUrl: string, stream = EVENTS_STREAM): Promise<Set<string> | null> {
  const nc = await connect({ ...natsConnectOptions(natsUrl), name: 'ratchet-checker' });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream).catch(() => null);
    if (info === null) return null;
    const ids = new Set<string>();
    const last = info.state.last_seq;
    if (info.state.messages === 0) return ids;
    const consumer = await jetstream(nc).consumers.get(stream, { headers_only: true });
    let seen = 0;
    let received = 0;
    for (;;) {
      // Ask for no more than remain, so the last fetch ends when its messages arrive, not at `expires`.
      const want = Math.max(1, Math.min(5_000, info.state.messages - received));
      const batch = await consumer.fetch({ max_messages: want, expires: 5_000 });
      let got = 0;
      for await (const m of batch) {
        got += 1;
        const id = m.headers?.get('Nats-Msg-Id');
        if (id) ids.add(id);
        seen = m.seq;
      }
      received += got;
      if (seen >= last || got === 0) break;
    }
    return ids;
  } finally {
    await nc.close();
  }
}

/**
 * C6: every stored event in scope has its `Nats-Msg-Id` (`<streamId>:<version>`) in JetStream, and
 * JetStream holds no message for a stream in scope that Postgres does not have. Run it after the
 * relay has caught up (or after `republish`): JetStream lags the store by design.
 */
export async function verifyJetStream(
  natsUrl: string,
  events: readonly StoredEvent[],
  inScope: (streamId: string) => boolean,
  tally: Tally,
  storedNow: (ids: ReadonlyArray<{ streamId: string; version: number }>) => Promise<Set<string>> = async () => new Set(),
): Promise<void> {
  const ids = await readJetStreamMessageIds(natsUrl);
  const stored = new Set<string>();
  for (const e of events) {
    if (!inScope(e.streamId)) continue;
    const id = eventMessageId(e.streamId, e.version);
    stored.add(id);
    tally.checked('C6');
    if (ids === null || !ids.has(id)) {
      tally.violation('C6', `${id} is in Postgres but not in JetStream${ids === null ? ` (no ${EVENTS_STREAM} stream)` : ''}`);
    }
  }
  if (ids === null) return;
  const extra: Array<{ id: string; streamId: string; version: number }> = [];
  for (const id of ids) {
    const colon = id.lastIndexOf(':');
    const streamId = id.slice(0, colon);
    if (colon <= 0 || !inScope(streamId) || stored.has(id)) continue;
    extra.push({ id, streamId, version: Number(id.slice(colon + 1)) });
  }
  // Timers and process managers may still append after the events were read: ask Postgres again.
  const appendedSince = extra.length === 0 ? new Set<string>() : await storedNow(extra);
  for (const { id } of extra) {
    if (appendedSince.has(id)) continue;
    tally.violation('C6', `${id} is in JetStream but not in Postgres`);
  }
}
