import type { RecordedEvent } from '@ratchet/core';
import type { ProjectorStore } from './projector-store.js';

/** Reads the events a stream is missing (versions `from`..`to`, inclusive) from the event store. */
export type GapReader = (streamId: string, fromVersion: number, toVersion?: number) => Promise<readonly RecordedEvent[]>;

/**
 * A {@link GapReader} on the event store: sealed sensitive values are opened, as in the batch's own
 * events, so handlers see values (or their placeholders once forgotten) whatever the source.
 */
export function storeGapReader(
  store: Pick<ProjectorStore, 'readStream'> & { readonly cipher?: Pick<NonNullable<ProjectorStore['cipher']>, 'openEvents'> },
): GapReader {
  return async (streamId, fromVersion, toVersion) => {
    const gap = await store.readStream(streamId, { fromVersion, toVersion });
    return store.cipher === undefined ? gap : store.cipher.openEvents(gap);
  };
}

/**
 * Versions `fromVersion`..`toVersion` of a stream, every one, in order: events a batch never saw
 * (redelivery order, a purged stream, another runner's batch) read from the store, which keeps the
 * stream in order. A store without all of them fails the batch.
 */
export async function readMissing(
  readGap: (streamId: string, fromVersion: number, toVersion: number) => Promise<readonly RecordedEvent[]>,
  streamId: string,
  fromVersion: number,
  toVersion: number,
): Promise<readonly RecordedEvent[]> {
  const missing = await readGap(streamId, fromVersion, toVersion);
  if (missing.length !== toVersion - fromVersion + 1 || missing.some((m, i) => m.version !== fromVersion + i)) {
    throw new Error(`event store has no versions ${fromVersion}..${toVersion} of ${streamId}`);
  }
  return missing;
}
