import { ErrorCode, RatchetError } from '@ratchet/core';

/**
 * The stream id of an aggregate instance: `<aggregateType>/<aggregateId>`.
 * Types never contain `/` (ids may), so splitting at the first `/` is unambiguous.
 */
export function streamIdOf(aggregateType: string, aggregateId: string): string {
  return `${aggregateType}/${aggregateId}`;
}

/** Split a stream id at its first `/` into aggregate type and id. */
export function parseStreamId(streamId: string): { readonly aggregateType: string; readonly aggregateId: string } {
  const slash = streamId.indexOf('/');
  if (slash <= 0 || slash === streamId.length - 1) {
    throw new RatchetError(ErrorCode.INVALID_ID, `stream id ${JSON.stringify(streamId)} is not <aggregateType>/<aggregateId>`);
  }
  return { aggregateType: streamId.slice(0, slash), aggregateId: streamId.slice(slash + 1) };
}

/** The JetStream `Nats-Msg-Id` of an event: `<streamId>:<version>`, so re-publishing is deduplicated. */
export function eventMessageId(streamId: string, version: number): string {
  return `${streamId}:${version}`;
}
