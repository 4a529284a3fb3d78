// The campaign's process-manager parts: the technician dispatch's crash points (armed in the
// projector, which runs it), technicians completing station visits (recorded in the history like
// the riders' commands), and the wait for the dispatch to catch up before the checker's C12.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { CommandOutcome, HistoryRecorder } from '@ratchet/checker';
import type { RatchetClient } from '@ratchet/client';
import { waitFor } from '@ratchet/launchers';
import { readProcessStates } from '@ratchet/process/runner';
import { Station, STATION_IDS } from '@ratchet/station';
import type pg from 'pg';

/** The process runner's named crash points (packages/process/src/crash-point.ts). */
export const PROCESS_CRASH_POINTS = [
  'process-before-emit',
  'process-after-emit-before-checkpoint',
  'process-after-checkpoint-before-ack',
] as const;
export type ProcessCrashPointName = (typeof PROCESS_CRASH_POINTS)[number];

/** Which hit of the point kills the projector: soon, after some real work. */
export function processCrashAfter(point: ProcessCrashPointName): number {
  return point === 'process-before-emit' ? 2 + Math.floor(Math.random() * 8) : 1 + Math.floor(Math.random() * 3);
}

/** Technicians at work: every `everyMs`, one completes the visit of a random station (rejected when none is on). */
export function startTechnicians(client: RatchetClient, history: HistoryRecorder, options: { everyMs: number; timeoutMs: number }) {
  const counts: Record<CommandOutcome, number> = { ok: 0, rejected: 0, failed: 0, unknown: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      await delay(options.everyMs);
      const aggregateId = STATION_IDS[Math.floor(Math.random() * STATION_IDS.length)]!;
      const commandId = randomUUID();
      const pending = history.invoked({ commandId, aggregateType: Station.type, aggregateId, commandType: 'completeVisit', payload: {} });
      const result = await client.send(
        Station,
        aggregateId,
        { type: 'completeVisit', payload: {} },
        { commandId, timeoutMs: options.timeoutMs },
      );
      counts[pending.completed(result).outcome] += 1;
    }
  })();
  return {
    counts,
    async stop(): Promise<void> {
      running = false;
      await loop;
    },
  };
}

/** Wait until every process has handled every event of its aggregate types (lag 0) with nothing parked. */
export async function processesCaughtUp(pool: pg.Pool, say: (line: string) => void): Promise<void> {
  await waitFor(
    async () => {
      const states = await readProcessStates(pool).catch(() => []);
      return states.length > 0 && states.every((s) => s.lagEvents === 0);
    },
    { what: 'the process managers to catch up (lag 0)', timeoutMs: 180_000, intervalMs: 250 },
  );
  const states = await readProcessStates(pool);
  say(
    `process managers caught up: ${states.map((s) => `${s.name} handled ${s.eventsHandled} events, commands ${JSON.stringify(s.commands)}, parked ${s.parked}`).join('; ')}`,
  );
}
