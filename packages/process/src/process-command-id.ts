import { createHash } from 'node:crypto';
import { COMMAND_ID_PATTERN } from '@ratchet/transport-nats';

/** Aggregate ids that can appear in a command id as they are (the rest are hashed). */
const PLAIN_ID = /^[A-Za-z0-9_:-]+$/;

/** Prefix of every command id process `name` sends. */
export function processCommandIdPrefix(name: string): string {
  return `proc:${name}:`;
}

/**
 * The command id of a process's command, derived from the event that triggered it, so every run
 * of that event sends the same ids and the store's command dedupe makes a re-run harmless:
 * `proc:<process>:<aggregateType>:<aggregateId>:<version>:<step>` (the stream id's `/` becomes
 * `:`; process, type, version and step hold no `:`, so it reads back from both ends). An aggregate
 * id with characters a command id may not hold, or one too long, is replaced by a hash marked with
 * a leading `.` (never part of an aggregate id, so the two forms never meet):
 * `proc:<process>:<aggregateType>:.<sha256, base64url>:<version>:<step>`; and when even that is
 * over 128 characters, `proc:<process>:.<sha256 of the whole key>`.
 * @example
 * processCommandId('technician-dispatch', 'turnstile/t-0007', 12, 'call'); // 'proc:technician-dispatch:turnstile:t-0007:12:call'
 */
export function processCommandId(process: string, streamId: string, version: number, step: string): string {
  const slash = streamId.indexOf('/');
  const type = streamId.slice(0, slash);
  const id = streamId.slice(slash + 1);
  const prefix = processCommandIdPrefix(process);
  const plain = `${prefix}${type}:${id}:${version}:${step}`;
  if (PLAIN_ID.test(id) && COMMAND_ID_PATTERN.test(plain)) return plain;
  const hashed = `${prefix}${type}:.${digest(id)}:${version}:${step}`;
  if (COMMAND_ID_PATTERN.test(hashed)) return hashed;
  return `${prefix}.${digest(`${streamId}\u0000${version}\u0000${step}`)}`;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
