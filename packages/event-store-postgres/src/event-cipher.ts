import {
  DefinitionError,
  ErrorCode,
  RatchetError,
  sensitiveFieldsOf,
  type AnyAggregate,
  type NewEvent,
  type RecordedEvent,
} from '@ratchet/core';
import { envelopesIn, valuesAt, withValues, type DataPath } from './data-paths.js';
import type { ForgetListener, ForgetNotice } from './forget-listener.js';
import { openState, sealedStateOf, sealState } from './sealed-state.js';
import { hasCiphertext, openValue, placeholderOf, sealValue } from './sealed-value.js';
import { SensitiveDataError } from './sensitive-data-error.js';
import type { SubjectKeyStore } from './store-subject-keys.js';
import { checkSubject } from './store-subject-keys.js';
import { keyBytes } from './subject-key.js';
import type { SubjectKeyState, SubjectKeys } from './subject-keys.js';

/** What a forget listener is told: the subject forgotten, or undefined when any may have been (a reconnect). */
export type ForgetCallback = (subject: string | undefined) => void;

/** Events sealed for storing, and the subjects whose values were not kept because they are forgotten. */
export interface SealedEvents<E extends NewEvent = NewEvent> {
  readonly events: E[];
  /** Subjects already forgotten: their values were stored as placeholders, so the stored events differ from the ones given. */
  readonly forgotten: readonly string[];
}

/** Options of {@link EventCipher}. */
export interface EventCipherOptions {
  readonly keys: SubjectKeys;
  /** Which subjects a stream's sealed values name (for snapshot seals). */
  readonly store: Pick<SubjectKeyStore, 'subjectsOfStream'>;
  /** Start a LISTEN for forgets (the store's pool); without it forgets elsewhere are noticed after the keys' time to live. */
  readonly listen?: (onNotice: (notice: ForgetNotice) => void) => ForgetListener;
}

/**
 * Seals and opens sensitive values (docs/sensitive-data.md): the one component the worker (before
 * its appends, after its reads), the projector, `loadAt`, the CLI and the dashboard share.
 * - `sealEvents`: each field its event schema marks with `sensitive` becomes `{"$sealed": …}`,
 *   AES-256-GCM under its subject's key (made on first use);
 * - `openEvents`: every sealed value back to its value, or to its placeholder when the subject was
 *   forgotten; a missing or wrong key is a `SensitiveDataError`, never a crash or a silent value;
 * - snapshots of streams holding sealed values are sealed under all their subjects' keys, so a
 *   forget makes them unreadable (the stream is replayed instead);
 * - `forget`, and `onForget` for processes that hold opened state.
 */
export class EventCipher {
  readonly #keys: SubjectKeys;
  readonly #store: EventCipherOptions['store'];
  readonly #listen: EventCipherOptions['listen'];
  readonly #listeners = new Set<ForgetCallback>();
  #listener: ForgetListener | undefined;

  constructor(options: EventCipherOptions) {
    this.#keys = options.keys;
    this.#store = options.store;
    this.#listen = options.listen;
  }

  /** The events as they are to be stored: sensitive fields sealed for their subjects. Events without any are returned as they are. */
  async sealEvents(aggregate: Pick<AnyAggregate, 'type' | 'events'>, streamId: string, events: readonly NewEvent[]): Promise<NewEvent[]> {
    return (await this.seal(aggregate, streamId, events)).events;
  }

  /**
   * {@link sealEvents}, also saying which subjects were already forgotten: a value of a forgotten
   * subject is never stored, its placeholder is (so a state folded from the events given differs
   * from the fold of what was stored, and a holder of such a state must reload it).
   */
  async seal(aggregate: Pick<AnyAggregate, 'type' | 'events'>, streamId: string, events: readonly NewEvent[]): Promise<SealedEvents> {
    const schemas = aggregate.events as Record<string, unknown>;
    const aggregateId = streamId.startsWith(`${aggregate.type}/`) ? streamId.slice(aggregate.type.length + 1) : streamId;
    const found: Array<{ event: number; path: DataPath; value: unknown; subject: string; placeholder: unknown }> = [];
    events.forEach((event, index) => {
      const schema = Object.hasOwn(schemas, event.type) ? schemas[event.type] : undefined;
      for (const field of sensitiveFieldsOf(schema)) {
        for (const { path, value } of valuesAt(event.data, field.path)) {
          const subject = subjectOf(field.subject, event, { aggregateType: aggregate.type, aggregateId, eventType: event.type });
          found.push({ event: index, path, value, subject, placeholder: field.placeholder });
        }
      }
    });
    if (found.length === 0) return { events: [...events], forgotten: [] };
    const keys = await this.#keysFor(
      found.map((f) => f.subject),
      true,
    );
    const forgotten = [...keys].filter(([, state]) => state.kind === 'forgotten').map(([subject]) => subject);
    const sealed = events.map((event, index) => {
      const mine = found.filter((f) => f.event === index);
      if (mine.length === 0) return event;
      const values = mine.map((f) => {
        const state = keys.get(f.subject);
        // #keysFor(…, true) creates a key for every subject it does not find.
        if (state === undefined) throw new RatchetError(ErrorCode.INTERNAL, `subject "${f.subject}" has no key after creating one`);
        return { path: f.path, value: sealValue(f.subject, state.kind === 'key' ? keyBytes(state.key) : null, f.value, f.placeholder) };
      });
      return { ...event, data: withValues(event.data, values) };
    });
    return { events: sealed, forgotten };
  }

  /** The events with every sealed value opened (or its placeholder, once forgotten). Events without any are returned as they are. */
  async openEvents<E extends Pick<RecordedEvent, 'data'>>(events: readonly E[]): Promise<E[]> {
    const found = events.map((event) => envelopesIn(event.data));
    const subjects = found.flatMap((list) => list.filter((f) => hasCiphertext(f.envelope)).map((f) => f.envelope.subject));
    if (found.every((list) => list.length === 0)) return [...events];
    const keys = subjects.length === 0 ? new Map() : await this.#keysFor(subjects, false);
    return events.map((event, index) => {
      const list = found[index];
      if (list === undefined || list.length === 0) return event;
      const opened = list.map(({ path, envelope }) => {
        if (!hasCiphertext(envelope)) return { path, value: placeholderOf(envelope) };
        const state = keys.get(envelope.subject);
        if (state === undefined) {
          throw new SensitiveDataError(
            'missing-key',
            `subject "${envelope.subject}" has no key and was never forgotten (a key table restored apart from the events?)`,
            envelope.subject,
          );
        }
        return { path, value: state.kind === 'forgotten' ? placeholderOf(envelope) : openValue(envelope, keyBytes(state.key)) };
      });
      return { ...event, data: withValues(event.data, opened) };
    });
  }

  /**
   * A snapshot state as it may be stored: as it is when its stream (up to `version`) holds no
   * sealed value; else sealed under every subject's key — or undefined (do not save one) when one
   * of them is forgotten, since the state in memory may still hold its value.
   */
  async sealSnapshot(streamId: string, version: number, state: unknown): Promise<unknown> {
    const subjects = await this.#store.subjectsOfStream(streamId, version);
    if (subjects.length === 0) return state;
    const keys = await this.#keysFor(subjects, false);
    const bytes: Buffer[] = [];
    for (const subject of subjects) {
      const entry = keys.get(subject);
      if (entry?.kind !== 'key') return undefined;
      bytes.push(keyBytes(entry.key));
    }
    return sealState(streamId, version, state, subjects, bytes);
  }

  /** A stored snapshot state opened: undefined when it cannot be (a subject forgotten, a key missing): replay instead. */
  async openSnapshot(streamId: string, version: number, state: unknown): Promise<unknown> {
    const envelope = sealedStateOf(state);
    if (envelope === undefined) return state;
    let keys: Map<string, SubjectKeyState>;
    try {
      keys = await this.#keysFor(envelope.subjects, false);
    } catch (error) {
      if (error instanceof SensitiveDataError) return undefined;
      throw error;
    }
    const bytes: Buffer[] = [];
    for (const subject of envelope.subjects) {
      const entry = keys.get(subject);
      if (entry?.kind !== 'key') return undefined;
      bytes.push(keyBytes(entry.key));
    }
    return openState(streamId, version, envelope, bytes);
  }

  /**
   * Crypto-shredding: delete the subject's key and record the forget. From then on every read of
   * its sealed values gives their placeholder. Idempotent; resolves with when it was first forgotten.
   * @example
   * await store.cipher.forget(authorId);
   */
  async forget(subject: string): Promise<Date> {
    checkSubject(subject);
    const at = await this.#keys.forget(subject);
    for (const listener of this.#listeners) listener(subject);
    return at;
  }

  /**
   * Be told of forgets (here, and elsewhere while LISTEN works): for a process that holds opened
   * values in memory, or caches keys and should drop them at once. The LISTEN (a connection of the
   * store's pool, held) starts when a key is first needed, so a process that never meets a sealed
   * value holds none; when it starts it tells every listener `undefined` (forgets before it were
   * not heard). The unsubscribe of the last listener ends it.
   */
  onForget(listener: ForgetCallback): () => Promise<void> {
    this.#listeners.add(listener);
    return async () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size > 0) return;
      const running = this.#listener;
      this.#listener = undefined;
      await running?.stop();
    };
  }

  /** Stop listening for forgets (the store's `close` does it before ending its pool). */
  async close(): Promise<void> {
    const listener = this.#listener;
    this.#listener = undefined;
    this.#listeners.clear();
    await listener?.stop();
  }

  /** The subject keys, listening for forgets first when someone wants to hear of them. */
  #keysFor(subjects: Iterable<string>, create: boolean): ReturnType<SubjectKeys['get']> {
    if (this.#listener === undefined && this.#listeners.size > 0) this.#listener = this.#listen?.((notice) => this.#heard(notice));
    return this.#keys.get(subjects, create);
  }

  #heard(notice: ForgetNotice): void {
    const subject = notice.kind === 'forgotten' ? notice.subject : undefined;
    this.#keys.evict(subject);
    for (const listener of this.#listeners) listener(subject);
  }
}

function subjectOf(
  fn: (data: unknown, where: { aggregateType: string; aggregateId: string; eventType: string }) => string,
  event: NewEvent,
  where: { aggregateType: string; aggregateId: string; eventType: string },
): string {
  let subject: unknown;
  try {
    subject = fn(event.data, where);
  } catch (cause) {
    throw new DefinitionError(`the subject of a sensitive field of "${where.eventType}" could not be named: ${String(cause)}`, { cause });
  }
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 200 || subject.includes('\u0000')) {
    throw new DefinitionError(`the subject of a sensitive field of "${where.eventType}" must be a string of 1 to 200 characters`);
  }
  return subject;
}
