import { hasSensitiveFields, type AnyAggregate } from '@ratchet/core';
import type { EventCipher } from '@ratchet/event-store-postgres';
import type { ActivationStore } from './actor-activation.js';

/**
 * The store as actor activation sees it when sensitive data is about (docs/sensitive-data.md):
 * events read are opened (a forgotten subject's values read as their placeholder, so replay never
 * fails on one); snapshots of aggregates with sensitive fields are sealed under their subjects'
 * keys when saved (not saved when one is forgotten) and opened when loaded (a snapshot that no
 * longer opens is no snapshot: the stream is replayed).
 */
export function openingStore(
  store: ActivationStore,
  cipher: Pick<EventCipher, 'openEvents' | 'openSnapshot' | 'sealSnapshot'>,
  aggregateOf: (streamId: string) => AnyAggregate | undefined,
): ActivationStore {
  return {
    async readStream(streamId, options) {
      return cipher.openEvents(await store.readStream(streamId, options));
    },
    async loadSnapshot(streamId, machineVersion) {
      const snapshot = await store.loadSnapshot(streamId, machineVersion);
      if (snapshot === null) return null;
      const state = await cipher.openSnapshot(streamId, snapshot.version, snapshot.state);
      return state === undefined ? null : { ...snapshot, state };
    },
    async saveSnapshot(snapshot) {
      const aggregate = aggregateOf(snapshot.streamId);
      if (aggregate === undefined || !hasSensitiveFields(aggregate)) return store.saveSnapshot(snapshot);
      const state = await cipher.sealSnapshot(snapshot.streamId, snapshot.version, snapshot.state);
      return state === undefined ? false : store.saveSnapshot({ ...snapshot, state });
    },
  };
}
