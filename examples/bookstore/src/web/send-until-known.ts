import { setTimeout as delay } from 'node:timers/promises';
import type { GatewayResult } from '@ratchet/gateway';
import type { CommandRequest, CommandSender } from './command-sender.js';

/** Options of {@link sendUntilKnown}. */
export interface SendUntilKnownOptions {
  /** Sends in all. Default 3. */
  readonly attempts?: number;
  /** Pause before the second send, doubled each time, in ms. Default 100. */
  readonly backoffMs?: number;
}

/**
 * Send a command, and resend it with the same command id while the answer is a retryable error
 * (the gateway timed out, a worker was handing its partition over): the resend is answered with
 * the first outcome if there was one, so this never does a command twice. Returns the last answer.
 */
export async function sendUntilKnown(
  sender: CommandSender,
  request: CommandRequest,
  options: SendUntilKnownOptions = {},
): Promise<GatewayResult> {
  const attempts = options.attempts ?? 3;
  let pause = options.backoffMs ?? 100;
  let result = await sender.send(request);
  for (let attempt = 1; attempt < attempts && result.status === 'error' && result.error.retryable; attempt += 1) {
    await delay(pause);
    pause *= 2;
    result = await sender.send(request);
  }
  return result;
}
