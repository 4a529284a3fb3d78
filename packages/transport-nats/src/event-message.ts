import { ErrorCode, RatchetError, type EventMetadata, type RecordedEvent } from '@ratchet/core';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { eventMessageId, parseStreamId } from './stream-id.js';
import { eventSubject } from './subjects.js';
import { TRACEPARENT_HEADER, validTraceparent } from './tracing.js';

/** Header naming the event's stream id (`<aggregateType>/<aggregateId>`). */
export const STREAM_HEADER = 'Ratchet-Stream';
/** Header carrying the event's version in its stream, in decimal. */
export const VERSION_HEADER = 'Ratchet-Version';
/** Header carrying the event's type. */
export const EVENT_TYPE_HEADER = 'Ratchet-Event-Type';
/** JetStream's deduplication header; its value is {@link eventMessageId}. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';

/** One committed event as a JetStream message: where it goes, its body and its headers. */
export interface EventMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs;
}

const utf8Encoder = new TextEncoder();
// Not fatal: the projector has always accepted what a lenient decode makes of bad UTF-8.
const utf8Decoder = new TextDecoder();

/**
 * The JetStream message of a committed event (docs/protocol.md, "Event messages"): subject
 * `ratchet.evt.<type>.<id>`, the JSON body of {@link encodeEventMessage} and the headers of
 * {@link eventMessageHeaders}. The outbox relay and `republish` both publish exactly this.
 * @example
 * const m = eventMessage(event);
 * await js.publish(m.subject, m.data, { headers: m.headers });
 */
export function eventMessage(event: RecordedEvent): EventMessage {
  const { aggregateType, aggregateId } = parseStreamId(event.streamId);
  return { subject: eventSubject(aggregateType, aggregateId), data: encodeEventMessage(event), headers: eventMessageHeaders(event) };
}

/** The body of an event message: the recorded event as UTF-8 JSON, with the stream id split into type and id. */
export function encodeEventMessage(event: RecordedEvent): Uint8Array {
  const { aggregateType, aggregateId } = parseStreamId(event.streamId);
  return utf8Encoder.encode(
    JSON.stringify({
      streamId: event.streamId,
      aggregateType,
      aggregateId,
      version: event.version,
      type: event.type,
      schemaVersion: event.schemaVersion,
      data: event.data,
      metadata: event.metadata,
      globalPosition: event.globalPosition,
      transactionId: event.transactionId,
      recordedAt: event.recordedAt.toISOString(),
      epoch: event.epoch,
    }),
  );
}

/**
 * The headers of an event message: `traceparent` when the command carried a valid one, stream id,
 * version and type (so a consumer can route without parsing the body), and `Nats-Msg-Id`
 * (`<streamId>:<version>`), which makes JetStream drop a re-publish inside its duplicate window.
 */
export function eventMessageHeaders(event: RecordedEvent): MsgHdrs {
  const h = natsHeaders();
  const traceparent = event.metadata.traceparent;
  // Checked again here: an event stored before workers dropped a body's traceparent may hold any
  // string, and one with a CR or LF would make every publish of it throw (the relay would stall).
  if (validTraceparent(traceparent)) h.set(TRACEPARENT_HEADER, traceparent);
  h.set(STREAM_HEADER, event.streamId);
  h.set(VERSION_HEADER, String(event.version));
  h.set(EVENT_TYPE_HEADER, event.type);
  h.set(MSG_ID_HEADER, eventMessageId(event.streamId, event.version));
  return h;
}

function malformed(reason: string): never {
  throw new RatchetError(ErrorCode.MALFORMED_EVENT, `malformed event message: ${reason}`, { details: { reason } });
}

/**
 * Decode an event message body into the recorded event. `streamId`, `version` (≥ 1), `type` and
 * `recordedAt` are required; the other fields fall back to their defaults (schema version 1,
 * null data, no metadata), so older relays' messages still decode.
 * @throws RatchetError with code MALFORMED_EVENT (not retryable; `details.reason` names the field).
 */
export function decodeEventMessage(body: Uint8Array): RecordedEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(utf8Decoder.decode(body));
  } catch {
    malformed('not JSON');
  }
  if (typeof raw !== 'object' || raw === null) malformed('not an object');
  const m = raw as Record<string, unknown>;
  const streamId = m.streamId;
  const version = m.version;
  const type = m.type;
  if (typeof streamId !== 'string' || streamId.length === 0) malformed('streamId');
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) malformed('version');
  if (typeof type !== 'string') malformed('type');
  const recordedAt = typeof m.recordedAt === 'string' ? new Date(m.recordedAt) : malformed('recordedAt');
  if (Number.isNaN(recordedAt.getTime())) malformed('recordedAt');
  const metadata = m.metadata;
  return {
    streamId,
    version,
    type,
    schemaVersion: typeof m.schemaVersion === 'number' ? m.schemaVersion : 1,
    data: m.data ?? null,
    metadata: typeof metadata === 'object' && metadata !== null ? (metadata as EventMetadata) : {},
    globalPosition: typeof m.globalPosition === 'number' ? m.globalPosition : 0,
    transactionId: typeof m.transactionId === 'string' ? m.transactionId : '0',
    recordedAt,
    epoch: typeof m.epoch === 'number' ? m.epoch : null,
  };
}
