import { setTimeout as sleep } from 'node:timers/promises';
import type { RatchetClient } from '@ratchet/client';
import { requireItem } from '@ratchet/core';
import { Station, STATION_IDS } from '@ratchet/station';

/** What technicians did: visits completed, and calls to a station with no visit on (rejected). */
export interface TechnicianCounts {
  readonly sent: number;
  readonly completed: number;
  readonly rejected: number;
  readonly failed: number;
}

/**
 * Technicians at the stations: every `everyMs` one of them finishes the visit at a random station
 * (`completeVisit`; rejected when no technician was called there). With the turnstile app's
 * technician dispatch calling them, some visits end in time and some escalate first.
 */
export class Technicians {
  readonly #client: Pick<RatchetClient, 'send'>;
  readonly #everyMs: number;
  readonly #random: () => number;
  #counts = { sent: 0, completed: 0, rejected: 0, failed: 0 };

  constructor(client: Pick<RatchetClient, 'send'>, everyMs: number, random: () => number) {
    this.#client = client;
    this.#everyMs = everyMs;
    this.#random = random;
  }

  get counts(): TechnicianCounts {
    return { ...this.#counts };
  }

  /** Work until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.#everyMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      const station = requireItem(STATION_IDS, Math.floor(this.#random() * STATION_IDS.length), 'station id');
      this.#counts.sent++;
      const result = await this.#client.send(Station, station, { type: 'completeVisit', payload: {} });
      if (result.status === 'ok') this.#counts.completed++;
      else if (result.status === 'rejected') this.#counts.rejected++;
      else this.#counts.failed++;
    }
  }
}
