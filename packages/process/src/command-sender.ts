import { setTimeout as delay } from 'node:timers/promises';
import type { RatchetClient } from '@ratchet/client';
import { ErrorCode, RatchetError } from '@ratchet/core';
import type { ProcessCommand } from './process-command.js';
import type { ProcessEvent } from './process-event.js';
import type { CommandAnswer, Unanswered } from './run-trigger.js';

/** How long a process keeps asking for a definite answer before it parks the event as `unanswered`. */
export interface SendPolicy {
  /** Sends of one command (each with the client's own retries inside `sendTimeoutMs`). Default 10. */
  readonly maxSends?: number;
  /** Budget of one send (ms). Default 5,000. */
  readonly sendTimeoutMs?: number;
  /** Pause after the first unanswered send (ms), doubled each time up to 5,000. Default 200. */
  readonly backoffMs?: number;
}

/** The batch was stopped (drain deadline, a lost Postgres connection): it rolls back and runs again. */
export class BatchAborted extends RatchetError {
  override readonly name = 'BatchAborted';
  constructor(message: string) {
    super(ErrorCode.UNAVAILABLE, message, { retryable: true });
  }
}

/** Sends one command of a process until a definite answer. */
export type CommandSender = (
  commandId: string,
  command: ProcessCommand,
  trigger: ProcessEvent,
  signal: AbortSignal,
) => Promise<CommandAnswer | Unanswered>;

// The outcome may be unknown, or a retry can help: send again with the same id, which returns the
// first answer if the first send was committed. A closed connection is retried too: the runner's
// own shutdown aborts the batch instead.
const UNKNOWN_OUTCOME = new Set<string>([ErrorCode.TIMEOUT, ErrorCode.MALFORMED_REPLY]);

/**
 * A sender over the client: the same command id on every send, the trigger as causation (its
 * stream and version) and the process and step in the events' metadata; retryable errors and
 * unknown outcomes are sent again, up to `maxSends`, then `unanswered`.
 */
export function createCommandSender(client: Pick<RatchetClient, 'sendRaw'>, process: string, policy: SendPolicy = {}): CommandSender {
  const maxSends = policy.maxSends ?? 10;
  const sendTimeoutMs = policy.sendTimeoutMs ?? 5_000;
  const backoffMs = policy.backoffMs ?? 200;
  return async (commandId, c, trigger, signal) => {
    const correlation = trigger.metadata.correlationId;
    const metadata = {
      correlationId: typeof correlation === 'string' ? correlation : commandId,
      causationId: `${trigger.streamId}@${trigger.version}`,
      process,
      processStep: c.step,
    };
    let last = '';
    for (let send = 1; send <= maxSends; send += 1) {
      if (signal.aborted) throw new BatchAborted(`batch stopped while ${commandId} was unanswered`);
      const result = await client.sendRaw(
        c.aggregateType,
        c.aggregateId,
        { type: c.command.type, payload: c.command.payload ?? {} },
        { commandId, timeoutMs: sendTimeoutMs, metadata },
      );
      if (result.status === 'ok') return { outcome: 'ok', version: result.version };
      if (result.status === 'rejected') return { outcome: 'rejected', reason: result.reason, version: result.version };
      const e = result.error;
      const again =
        e.retryable || UNKNOWN_OUTCOME.has(e.code) || (e.code === ErrorCode.UNAVAILABLE && e.message.includes('connection is closed'));
      if (!again) return { outcome: 'failed', reason: e.message, code: e.code };
      last = `${e.code}: ${e.message}`;
      if (send < maxSends) await delay(Math.min(5_000, backoffMs * 2 ** (send - 1)), undefined, { signal }).catch(() => undefined);
    }
    return { outcome: 'unanswered', reason: `${commandId}: no definite answer after ${maxSends} sends (last: ${last})`.slice(0, 4_000) };
  };
}
