import { JetStreamApiCodes, JetStreamApiError, StorageType, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { EVENT_SUBJECT_PREFIX } from './subjects.js';

/** Name of the JetStream stream that caches committed events. */
export const EVENTS_STREAM = 'RATCHET_EVENTS';

/** Subjects captured by {@link EVENTS_STREAM}. */
export const EVENTS_STREAM_SUBJECTS: readonly string[] = [`${EVENT_SUBJECT_PREFIX}.>`];

/** Options of {@link ensureEventsStream}. */
export interface EventsStreamOptions {
  /** Stream name; default {@link EVENTS_STREAM}. */
  readonly name?: string;
  /** Subjects captured; default {@link EVENTS_STREAM_SUBJECTS} (tests use a private prefix). */
  readonly subjects?: readonly string[];
  /** Replicas (1 on a single server, 3 in production); default 1. */
  readonly replicas?: number;
  /** JetStream dedupe window for `Nats-Msg-Id`, in milliseconds; default 120000 (2 minutes). */
  readonly duplicateWindowMs?: number;
}

/**
 * Create the events stream, or update its settings when it exists (file storage).
 * @example
 * await ensureEventsStream(await jetstreamManager(nc), { replicas: 3 });
 */
export async function ensureEventsStream(jsm: JetStreamManager, options: EventsStreamOptions = {}): Promise<StreamInfo> {
  const name = options.name ?? EVENTS_STREAM;
  const settings = {
    subjects: [...(options.subjects ?? EVENTS_STREAM_SUBJECTS)],
    num_replicas: options.replicas ?? 1,
    duplicate_window: nanos(options.duplicateWindowMs ?? 120_000),
  };
  try {
    await jsm.streams.info(name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
      return jsm.streams.add({ name, storage: StorageType.File, ...settings });
    }
    throw err;
  }
  return jsm.streams.update(name, settings);
}
