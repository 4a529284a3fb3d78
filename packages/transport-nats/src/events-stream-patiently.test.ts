import type { JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { ensureEventsStreamPatiently } from './events-stream.js';

/** A manager whose `streams.info` fails with the given errors, in order, then finds the stream. */
function flakyManager(failures: Error[]): { jsm: JetStreamManager; asks: () => number } {
  let asks = 0;
  const info = { config: { name: 'RATCHET_EVENTS' } } as unknown as StreamInfo;
  const streams = {
    info: async () => {
      asks += 1;
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      return info;
    },
    update: async () => info,
  };
  return { jsm: { streams } as unknown as JetStreamManager, asks: () => asks };
}

/** What nats.js throws for "no responders" on the JetStream API (its class is not exported). */
function notEnabled(): Error {
  const e = new Error('jetstream is not enabled');
  e.name = 'JetStreamNotEnabled';
  return e;
}

describe('ensureEventsStreamPatiently', () => {
  it('asks again while JetStream times out or has no responders, telling each retry', async () => {
    const { jsm, asks } = flakyManager([new errors.TimeoutError(), notEnabled()]);
    const retries: number[] = [];
    const info = await ensureEventsStreamPatiently(jsm, { waitMs: 10_000, onRetry: (_e, remaining) => retries.push(remaining) });
    expect(info.config.name).toBe('RATCHET_EVENTS');
    expect(asks()).toBe(3);
    expect(retries).toHaveLength(2);
    expect(retries.every((r) => r > 0 && r <= 10_000)).toBe(true);
  });

  it('throws any other error at once, and silence past the deadline', async () => {
    const denied = new Error('Permissions Violation');
    await expect(ensureEventsStreamPatiently(flakyManager([denied]).jsm, { waitMs: 10_000 })).rejects.toBe(denied);
    const silent = flakyManager(Array.from({ length: 50 }, () => new errors.TimeoutError()));
    await expect(ensureEventsStreamPatiently(silent.jsm, { waitMs: 300 })).rejects.toBeInstanceOf(errors.TimeoutError);
    expect(silent.asks()).toBeLessThan(5);
  });
});
