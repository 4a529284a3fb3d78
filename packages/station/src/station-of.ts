import { requireItem } from '@ratchet/core';
import { fnv1a32 } from '@ratchet/transport-nats';

/** How many stations the demo's turnstiles are spread over. */
export const STATION_COUNT = 16;

/** The demo's station ids, `s-00` … `s-15`. */
export const STATION_IDS: readonly string[] = Array.from({ length: STATION_COUNT }, (_, i) => `s-${String(i).padStart(2, '0')}`);

/**
 * The station a turnstile belongs to: a hash of its id, so any id has one (pure, as a process's
 * handler must be).
 * @example
 * stationOf('t-0007'); // 's-11'
 */
export function stationOf(turnstileId: string): string {
  return requireItem(STATION_IDS, fnv1a32(turnstileId) % STATION_COUNT, 'station id');
}
