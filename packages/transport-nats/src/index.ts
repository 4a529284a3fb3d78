export { partitionOf, fnv1a32, DEFAULT_PARTITION_COUNT } from './partition-of.js';
export {
  commandSubject,
  eventSubject,
  unroutedSubjectFor,
  COMMAND_SUBJECT_PREFIX,
  EVENT_SUBJECT_PREFIX,
  UNROUTED_SUBJECT_PREFIX,
} from './subjects.js';
export { streamIdOf, parseStreamId, eventMessageId } from './stream-id.js';
export {
  eventMessage,
  encodeEventMessage,
  decodeEventMessage,
  eventMessageHeaders,
  STREAM_HEADER,
  VERSION_HEADER,
  EVENT_TYPE_HEADER,
  MSG_ID_HEADER,
} from './event-message.js';
export type { EventMessage } from './event-message.js';
export { ensureEventsStream, ensureEventsStreamPatiently, EVENTS_STREAM, EVENTS_STREAM_SUBJECTS } from './events-stream.js';
export type { EventsStreamOptions } from './events-stream.js';
export { natsConnectOptions } from './nats-connect-options.js';
export type { NatsServerOptions } from './nats-connect-options.js';
export {
  validateAggregateId,
  validateAggregateType,
  aggregateIdProblem,
  MAX_AGGREGATE_ID_LENGTH,
  AGGREGATE_TYPE_PATTERN,
} from './aggregate-id.js';
export {
  encodeCommandRequest,
  COMMAND_ID_PATTERN,
  MAX_COMMAND_TYPE_LENGTH,
  MAX_REQUEST_BYTES,
} from './command-request.js';
export type { CommandRequest, CommandMetadata } from './command-request.js';
export { parseCommandRequest } from './parse-command-request.js';
export type { ParseCommandRequestOptions } from './parse-command-request.js';
export { MAX_JSON_DEPTH, FORBIDDEN_KEYS } from './json-limits.js';
export { encodeReply, decodeReply, errorReply } from './reply.js';
export type { CommandReply, OkReply, RejectedReply, ErrorReply, ReplyEvent } from './reply.js';
export { requestHash, canonicalJson } from './request-hash.js';
export {
  startCommandSpan,
  endCommandSpan,
  validTraceparent,
  natsHeadersGetter,
  natsHeadersSetter,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
} from './tracing.js';
export type { CommandSpanOptions, CommandSpanSubject } from './tracing.js';
export type {
  CommandTransport,
  RequestTransport,
  TransportHeaders,
  TransportMessage,
  TransportRequestOptions,
  TransportSubscribeOptions,
  TransportSubscription,
} from './transport.js';
