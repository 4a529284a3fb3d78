// The passivated tier: an actor the live LRU let go comes back from its kept persisted form plus
// only the events after it, with no snapshot load, and sees what others appended meanwhile.
// One worker in this process (a resident limit of 2 forces passivation), a private nats-server, a
// fresh database; the worker's store counts the snapshot loads and stream reads it makes.
import type { RatchetClient } from '@ratchet/client';
import type { ReadStreamOptions } from '@ratchet/event-store-postgres';
import type { PostgresEventStore } from '@ratchet/event-store-postgres';
import { waitFor } from '@ratchet/launchers';
import { partitionOf } from '@ratchet/transport-nats';
import { Turnstile } from '@ratchet/turnstile';
import type { Worker } from '@ratchet/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessWorker, type InProcessWorker } from './in-process-worker.js';

let fixture: InProcessWorker;
let store: PostgresEventStore;
let worker: Worker;
let client: RatchetClient;

/** What the worker asked its store for. */
const calls = { loadSnapshot: [] as string[], readStream: [] as Array<{ streamId: string; fromVersion: number | undefined }> };

/** The store as the worker sees it: the real one, recording snapshot loads and stream reads. */
function recording(real: PostgresEventStore): PostgresEventStore {
  return new Proxy(real, {
    get(target, key) {
      if (key === 'loadSnapshot') {
        return (streamId: string, machineVersion: string) => {
          calls.loadSnapshot.push(streamId);
          return target.loadSnapshot(streamId, machineVersion);
        };
      }
      if (key === 'readStream') {
        return (streamId: string, options?: ReadStreamOptions) => {
          calls.readStream.push({ streamId, fromVersion: options?.fromVersion });
          return target.readStream(streamId, options);
        };
      }
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const send = (id: string, type: 'install' | 'insertCoin' | 'pushArm') => client.send(Turnstile, id, { type, payload: {} });

/** Use three other turnstiles, so whatever was used before them is no longer resident (the limit is 2). */
async function passivate(prefix: string): Promise<void> {
  for (let i = 0; i < 3; i += 1) expect(await send(`${prefix}-${i}`, 'install')).toMatchObject({ status: 'ok' });
}

beforeAll(async () => {
  fixture = await startInProcessWorker({
    database: 'passivated',
    wrapStore: recording,
    worker: { snapshotEvery: 3, maxResidentActors: 2, maxPassivatedActors: 1_000, relay: false },
  });
  ({ store, worker, client } = fixture);
});

afterAll(async () => {
  await fixture?.stop();
});

describe('passivated tier', () => {
  it('reactivates from the kept state plus the tail, without a snapshot load, seeing events appended meanwhile', async () => {
    const id = 'pt-1';
    const streamId = `turnstile/${id}`;
    for (const [type, event] of [
      ['install', 'installed'],
      ['insertCoin', 'coinInserted'],
      ['insertCoin', 'coinInserted'],
      ['pushArm', 'armTurned'],
    ] as const) {
      expect(await send(id, type)).toMatchObject({ status: 'ok', events: [{ type: event }] });
    }
    // A snapshot exists (at version 3), so "no snapshot load" below means the tier was used.
    await waitFor(async () => (await store.loadSnapshot(streamId, Turnstile.machineVersion)) ?? false, {
      what: `a snapshot of ${id}`,
      timeoutMs: 10_000,
    });

    const passivatedBefore = worker.stats().passivatedActors;
    await passivate('pt-other');
    expect(worker.stats().residentActors).toBeLessThanOrEqual(2);
    expect(worker.stats().passivatedActors).toBeGreaterThan(passivatedBefore);

    // Someone else writes to the stream while it is passivated: locked at 4 → unlocked at 5.
    await store.append(streamId, 4, [{ type: 'coinInserted', data: {} }], { commandId: 'outside-writer-1' });

    const before = worker.stats();
    calls.loadSnapshot.length = 0;
    calls.readStream.length = 0;
    // Without the tail read the worker would decide on "locked" (armPushedIneffectively at 5).
    const reply = await send(id, 'pushArm');
    expect(reply).toMatchObject({ status: 'ok', version: 6, events: [{ version: 6, type: 'armTurned' }] });
    const after = worker.stats();
    expect(after.passivatedActivations).toBe(before.passivatedActivations + 1);
    expect(after.activations).toBe(before.activations);
    expect(after.snapshotActivations).toBe(before.snapshotActivations);
    expect(calls.loadSnapshot).toEqual([]);
    // One read, of the tail only, and no internal retry (which would read again).
    expect(calls.readStream).toEqual([{ streamId, fromVersion: 5 }]);

    const stored = await store.readStream(streamId);
    expect(stored.map((e) => e.type)).toEqual(['installed', 'coinInserted', 'coinInserted', 'armTurned', 'coinInserted', 'armTurned']);
    expect(Turnstile.replay(stored).snapshot.context).toEqual({ coins: 3, turns: 2, pushes: 2 });

    // And again, from the tier a second time: still exact (and still no snapshot load).
    await passivate('pt-other2');
    calls.loadSnapshot.length = 0;
    expect(await send(id, 'pushArm')).toMatchObject({ status: 'ok', version: 7, events: [{ type: 'armPushedIneffectively' }] });
    expect(calls.loadSnapshot).toEqual([]);
    expect(worker.stats().passivatedActivations).toBe(before.passivatedActivations + 2);
  });

  it('does not use the kept state of a partition the worker dropped', async () => {
    const id = 'pt-drop';
    expect(await send(id, 'install')).toMatchObject({ status: 'ok', version: 1 });
    expect(await send(id, 'insertCoin')).toMatchObject({ status: 'ok', version: 2 });
    await passivate('pt-drop-other');
    const kept = worker.stats().passivatedActors;
    // As when the partition is lost (unserved or fenced): its live and passivated actors go.
    worker.dropPartition(partitionOf(id, 64));
    expect(worker.stats().passivatedActors).toBeLessThan(kept);

    const before = worker.stats();
    calls.loadSnapshot.length = 0;
    expect(await send(id, 'pushArm')).toMatchObject({ status: 'ok', version: 3, events: [{ type: 'armTurned' }] });
    const after = worker.stats();
    expect(after.passivatedActivations).toBe(before.passivatedActivations);
    expect(after.activations).toBe(before.activations + 1);
    expect(calls.loadSnapshot).toEqual([`turnstile/${id}`]);
  });
});
