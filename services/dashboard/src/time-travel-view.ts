import type { App } from '@ratchet/app';
import { ErrorCode, RatchetError, type AnyAggregate } from '@ratchet/core';
import type { PostgresEventStore } from '@ratchet/event-store-postgres';

/** What the time-travel view reads: a stream's events and its state at a version or time (docs/time-travel.md). */
export type TimeTravelStore = Pick<PostgresEventStore, 'readStream' | 'loadAt'>;

/** One answer of the time-travel API: an HTTP status and a JSON body. */
export interface TimeTravelAnswer {
  readonly status: number;
  readonly body: unknown;
}

const ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const STATUS: Partial<Record<string, number>> = {
  [ErrorCode.OUT_OF_RANGE]: 404,
  [ErrorCode.VALIDATION_FAILED]: 400,
  [ErrorCode.INVALID_ID]: 400,
  [ErrorCode.SENSITIVE_DATA_UNREADABLE]: 500,
  [ErrorCode.STORE_UNAVAILABLE]: 503,
};

/** The top-level states of an aggregate's statechart, in definition order (what the page draws). */
function statesOf(aggregate: AnyAggregate): string[] {
  return Object.keys((aggregate.machine as { root?: { states?: Record<string, unknown> } }).root?.states ?? {});
}

function failure(error: unknown): TimeTravelAnswer {
  if (error instanceof RatchetError) return { status: STATUS[error.code] ?? 500, body: { error: error.toJSON() } };
  throw error;
}

/**
 * The dashboard's time-travel API over `store.loadAt`, for any aggregate of the app:
 * - `GET /api/time-travel/<type>/<id>`: the stream's head, its events (version, type, recorded at)
 *   and the statechart's top-level states;
 * - `GET /api/time-travel/<type>/<id>?version=N` or `?at=<ISO time>`: the state there — machine
 *   value, context (the turnstile's counters), the event that led to it and where the fold started.
 * A version or time outside the stream is 404 with the `OUT_OF_RANGE` error; sensitive values read
 * as the store's cipher opens them (their placeholders once forgotten).
 * @example
 * const view = timeTravelView(app, store);
 * const answer = await view.answer('/api/time-travel/turnstile/t-1', new URLSearchParams('version=3'));
 */
export function timeTravelView(app: App, store: TimeTravelStore) {
  const aggregates = new Map(app.aggregates.map((a) => [a.type, a]));
  return {
    /** The answer for a path under `/api/time-travel/`, or undefined when the path is not one. */
    async answer(path: string, query: URLSearchParams): Promise<TimeTravelAnswer | undefined> {
      const [, rawType, rawId] = /^\/api\/time-travel\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
      if (rawType === undefined || rawId === undefined)
        return path === '/api/time-travel' ? { status: 200, body: { types: [...aggregates.keys()] } } : undefined;
      const [type, id] = [decodeURIComponent(rawType), decodeURIComponent(rawId)];
      const aggregate = aggregates.get(type);
      if (aggregate === undefined) {
        return {
          status: 404,
          body: { error: { code: ErrorCode.UNKNOWN_AGGREGATE, message: `app "${app.name}" has no aggregate "${type}"` } },
        };
      }
      if (!ID.test(id))
        return { status: 400, body: { error: { code: ErrorCode.INVALID_ID, message: 'an id of 1 to 128 letters, digits and _ . : -' } } };
      try {
        const version = query.get('version');
        const at = query.get('at');
        const target =
          version !== null
            ? { version: /^\d{1,9}$/.test(version) ? Number(version) : Number.NaN }
            : at !== null
              ? { at: new Date(at) }
              : undefined;
        if (target === undefined) {
          const events = await store.readStream(`${type}/${id}`);
          if (events.length === 0)
            return failure(
              new RatchetError(ErrorCode.OUT_OF_RANGE, `${type}/${id}: the stream has no events`, {
                details: { streamId: `${type}/${id}` },
              }),
            );
          return {
            status: 200,
            body: {
              type,
              id,
              head: events.length,
              states: statesOf(aggregate),
              events: events.map((e) => ({ version: e.version, type: e.type, recordedAt: e.recordedAt.toISOString() })),
            },
          };
        }
        const state = await store.loadAt(aggregate, id, target);
        const event = state.events.at(-1);
        return {
          status: 200,
          body: {
            type,
            id,
            version: state.version,
            head: state.head,
            value: state.value,
            context: state.context,
            from: state.from,
            recordedAt: state.recordedAt.toISOString(),
            event: event === undefined ? null : { version: event.version, type: event.type, data: event.data },
          },
        };
      } catch (error) {
        return failure(error);
      }
    },
  };
}

/** The time-travel API of {@link timeTravelView}. */
export type TimeTravelView = ReturnType<typeof timeTravelView>;
