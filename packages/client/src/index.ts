export { connectClient } from './connect-client.js';
export type { AggregateRef, ClientOptions, SendOptions, RawCommand, RatchetClient } from './connect-client.js';
export type { SendResult, OkResult, RejectedResult, ErrorResult, SentEvent } from './send-result.js';
export { backoffDelay } from './backoff-delay.js';
export type { BackoffOptions } from './backoff-delay.js';
