import type { RatchetClient } from '@ratchet/client';
import { Turnstile } from '@ratchet/turnstile';

/** One command the load driver sent, and what came back. */
export interface LoadRecord {
  readonly id: string;
  readonly commandId: string;
  readonly type: string;
  readonly status: 'ok' | 'rejected' | 'error';
  readonly version?: number;
  readonly code?: string;
}

/** A running load: stop it and read what happened. */
export interface Load {
  readonly records: LoadRecord[];
  /** Stop sending; resolves when every in-flight command has its answer. */
  stop(): Promise<LoadRecord[]>;
}

const TYPES = ['insertCoin', 'pushArm', 'insertCoin', 'pushArm', 'pushArm'] as const;

/**
 * Drive turnstiles with `concurrency` commands in flight until stopped: each lane installs its
 * turnstiles, then inserts coins and pushes arms at random. Every answer is recorded.
 */
export function startTurnstileLoad(
  client: RatchetClient,
  options: { turnstiles: number; concurrency: number; prefix: string; timeoutMs?: number },
): Load {
  const records: LoadRecord[] = [];
  let running = true;
  let seq = 0;
  const lane = async (lane: number): Promise<void> => {
    const ids: string[] = [];
    for (let i = lane; i < options.turnstiles; i += options.concurrency) ids.push(`${options.prefix}-${i}`);
    for (const id of ids) {
      if (!running) return;
      await sendOne(id, 'install');
    }
    while (running && ids.length > 0) {
      const id = ids[(seq += 1) % ids.length] as string;
      await sendOne(id, TYPES[seq % TYPES.length] as string);
    }
  };
  const sendOne = async (id: string, type: string): Promise<void> => {
    const commandId = `${options.prefix}-c${(seq += 1)}-${Math.random().toString(36).slice(2, 8)}`;
    const r = await client.send(Turnstile, id, { type, payload: {} } as never, {
      commandId,
      timeoutMs: options.timeoutMs ?? 20_000,
    });
    records.push({
      id,
      commandId,
      type,
      status: r.status,
      ...(r.status === 'ok' ? { version: r.version } : {}),
      ...(r.status === 'error' ? { code: r.error.code } : {}),
    });
  };
  const lanes = Array.from({ length: options.concurrency }, (_, i) => lane(i));
  return {
    records,
    async stop() {
      running = false;
      await Promise.all(lanes);
      return records;
    },
  };
}
