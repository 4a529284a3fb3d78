import type { RecordedEvent } from '@ratchet/core';

function fail(why: string): never {
  throw new TypeError(`malformed event message: ${why}`);
}

const utf8 = new TextDecoder();

/** Decode a RATCHET_EVENTS message body (the outbox relay's `encodeEventMessage`) into a recorded event. */
export function decodeEventMessage(body: Uint8Array): RecordedEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(utf8.decode(body));
  } catch {
    fail('not JSON');
  }
  if (typeof raw !== 'object' || raw === null) fail('not an object');
  const m = raw as Record<string, unknown>;
  if (typeof m['streamId'] !== 'string' || m['streamId'].length === 0) fail('streamId');
  if (typeof m['version'] !== 'number' || !Number.isSafeInteger(m['version']) || m['version'] < 1) fail('version');
  if (typeof m['type'] !== 'string') fail('type');
  const recordedAt = typeof m['recordedAt'] === 'string' ? new Date(m['recordedAt']) : fail('recordedAt');
  if (Number.isNaN(recordedAt.getTime())) fail('recordedAt');
  return {
    streamId: m['streamId'],
    version: m['version'],
    type: m['type'],
    schemaVersion: typeof m['schemaVersion'] === 'number' ? m['schemaVersion'] : 1,
    data: m['data'] ?? null,
    metadata: typeof m['metadata'] === 'object' && m['metadata'] !== null ? (m['metadata'] as RecordedEvent['metadata']) : {},
    globalPosition: typeof m['globalPosition'] === 'number' ? m['globalPosition'] : 0,
    transactionId: typeof m['transactionId'] === 'string' ? m['transactionId'] : '0',
    recordedAt,
    epoch: typeof m['epoch'] === 'number' ? m['epoch'] : null,
  };
}
