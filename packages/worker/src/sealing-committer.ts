import { ErrorCode, RatchetError, hasSensitiveFields, type AnyAggregate } from '@ratchet/core';
import type { AppendOutcome, AppendRequest, EventCipher } from '@ratchet/event-store-postgres';

/** Where appends go once sealed: the group committer. */
export interface AppendSubmitter {
  submit(request: AppendRequest): Promise<AppendOutcome>;
}

/**
 * The committer command and timer handlers submit to: it seals the sensitive fields of an
 * aggregate's new events (docs/sensitive-data.md) before handing the append to the group committer,
 * so nothing but sealed values is ever written, relayed or snapshotted. Appends of one stream reach
 * the group committer in the order they were submitted (the actor pipelines them, chained by
 * expected version) even when a key must be read first; aggregates without sensitive fields pass
 * straight through. A failure to seal is the append's outcome (STORE_UNAVAILABLE when the keys
 * could not be read: nothing was written).
 */
export class SealingCommitter implements AppendSubmitter {
  readonly #inner: AppendSubmitter;
  readonly #cipher: Pick<EventCipher, 'seal'>;
  readonly #aggregateOf: (streamId: string) => AnyAggregate | undefined;
  readonly #onStoredOtherwise: (streamId: string) => void;
  /** Per stream: settles once the last submitted append was handed on. */
  readonly #tails = new Map<string, Promise<void>>();

  /**
   * `onStoredOtherwise(streamId)` is called (after the append's outcome was delivered) when a value
   * of an already forgotten subject was stored as its placeholder: the state the decision led to
   * holds the value, the stream does not, so the actor must reload.
   */
  constructor(
    inner: AppendSubmitter,
    cipher: Pick<EventCipher, 'seal'>,
    aggregateOf: (streamId: string) => AnyAggregate | undefined,
    onStoredOtherwise: (streamId: string) => void = () => undefined,
  ) {
    this.#inner = inner;
    this.#cipher = cipher;
    this.#aggregateOf = aggregateOf;
    this.#onStoredOtherwise = onStoredOtherwise;
  }

  submit(request: AppendRequest): Promise<AppendOutcome> {
    const aggregate = this.#aggregateOf(request.streamId);
    if (aggregate === undefined || !hasSensitiveFields(aggregate)) return this.#inner.submit(request);
    const { streamId } = request;
    const sealed = (this.#tails.get(streamId) ?? Promise.resolve()).then(() => this.#cipher.seal(aggregate, streamId, request.events));
    // Registered first, so it hands this append on before the next one of the stream starts.
    const outcome = sealed.then(
      async ({ events, forgotten }) => {
        const result = await this.#inner.submit({ ...request, events });
        if (forgotten.length > 0 && result.ok && !result.result.duplicate) setImmediate(() => this.#onStoredOtherwise(streamId));
        return result;
      },
      (error: unknown): AppendOutcome => ({ ok: false, error: asRatchetError(error) }),
    );
    const tail = sealed.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(streamId, tail);
    void tail.then(() => {
      if (this.#tails.get(streamId) === tail) this.#tails.delete(streamId);
    });
    return outcome;
  }
}

function asRatchetError(error: unknown): RatchetError {
  if (error instanceof RatchetError) return error;
  return new RatchetError(
    ErrorCode.INTERNAL,
    `sealing sensitive fields failed: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}
