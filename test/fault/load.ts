// Turnstile load for the campaign: a few hot turnstiles that many lanes hit at once, and many cold
// ones; every command and its outcome goes into the history.
import { randomUUID } from 'node:crypto';
import type { RatchetClient } from '@ratchet/client';
import type { CommandOutcome, HistoryRecorder } from '@ratchet/checker';
import { Turnstile } from '@ratchet/turnstile';

/** Options of {@link startLoad}. */
export interface LoadOptions {
  readonly hot: number;
  readonly cold: number;
  /** Commands in flight at once. */
  readonly lanes: number;
  /** Share of commands that go to a hot turnstile. */
  readonly hotShare: number;
  /** The client's overall budget per command (ms). */
  readonly timeoutMs: number;
  readonly prefix: string;
}

/** A running load. */
export interface Load {
  readonly counts: Record<CommandOutcome, number>;
  /** Stop sending; resolves once every lane's command in flight has its answer. */
  stop(): Promise<void>;
}

const COMMANDS = ['insertCoin', 'pushArm', 'pushArm', 'insertCoin', 'pushArm'] as const;

/** Start `lanes` loops that send turnstile commands until stopped. */
export function startLoad(client: RatchetClient, history: HistoryRecorder, options: LoadOptions): Load {
  const counts = { ok: 0, rejected: 0, failed: 0, unknown: 0 };
  const installSent = new Set<string>();
  let running = true;
  const pick = (): string => {
    if (Math.random() < options.hotShare) return `${options.prefix}-hot-${Math.floor(Math.random() * options.hot)}`;
    return `${options.prefix}-cold-${Math.floor(Math.random() * options.cold)}`;
  };
  const one = async (): Promise<void> => {
    const aggregateId = pick();
    const commandType = installSent.has(aggregateId) ? COMMANDS[Math.floor(Math.random() * COMMANDS.length)]! : 'install';
    installSent.add(aggregateId);
    const commandId = randomUUID();
    // ok → ok with version; rejected; a non-retryable error → failed; TIMEOUT, or still retryable at
    // the client's deadline → unknown (the checker's outcomeOf).
    const pending = history.invoked({ commandId, aggregateType: Turnstile.type, aggregateId, commandType, payload: {} });
    const result = await client.send(Turnstile, aggregateId, { type: commandType, payload: {} } as never, { commandId, timeoutMs: options.timeoutMs });
    counts[pending.completed(result).outcome] += 1;
  };
  const lane = async (): Promise<void> => {
    while (running) await one();
  };
  const lanes = Array.from({ length: options.lanes }, () => lane());
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(lanes);
    },
  };
}
