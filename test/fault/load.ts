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

/**
 * Start `lanes` loops that send turnstile commands until stopped. Besides the happy path, the mix
 * asks for definite answers that write nothing, which the checker's C10 verifies were true when
 * given: a third of the commands carry the highest version acknowledged so far as their expected
 * version (hot turnstiles conflict often, and rightly), a cold turnstile is sometimes sent a coin
 * before it is installed (a rejection that leaves "not installed" cached in a worker, stale once it
 * is installed), and an installed one is sometimes installed again (rejected).
 */
export function startLoad(client: RatchetClient, history: HistoryRecorder, options: LoadOptions): Load {
  const counts = { ok: 0, rejected: 0, failed: 0, unknown: 0 };
  const installSent = new Set<string>();
  const acknowledged = new Map<string, number>();
  let running = true;
  const pick = (): string => {
    if (Math.random() < options.hotShare) return `${options.prefix}-hot-${Math.floor(Math.random() * options.hot)}`;
    return `${options.prefix}-cold-${Math.floor(Math.random() * options.cold)}`;
  };
  const choose = (aggregateId: string): string => {
    if (!installSent.has(aggregateId)) {
      if (aggregateId.includes('-cold-') && Math.random() < 0.3) return 'insertCoin';
      installSent.add(aggregateId);
      return 'install';
    }
    return Math.random() < 0.05 ? 'install' : COMMANDS[Math.floor(Math.random() * COMMANDS.length)]!;
  };
  const one = async (): Promise<void> => {
    const aggregateId = pick();
    const commandType = choose(aggregateId);
    const commandId = randomUUID();
    const known = acknowledged.get(aggregateId);
    const expectedVersion = known !== undefined && Math.random() < 0.33 ? known : undefined;
    // ok → ok with version; rejected; a non-retryable error → failed; TIMEOUT, or still retryable at
    // the client's deadline → unknown (the checker's outcomeOf).
    const pending = history.invoked({
      commandId,
      aggregateType: Turnstile.type,
      aggregateId,
      commandType,
      payload: {},
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
    });
    const result = await client.send(Turnstile, aggregateId, { type: commandType, payload: {} } as never, {
      commandId,
      timeoutMs: options.timeoutMs,
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
    });
    counts[pending.completed(result).outcome] += 1;
    if (result.status === 'ok' && result.version > (acknowledged.get(aggregateId) ?? 0)) acknowledged.set(aggregateId, result.version);
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
