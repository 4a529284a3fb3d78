import { JetStreamApiCodes, JetStreamApiError, StorageType, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { errors, nanos } from '@nats-io/transport-node';
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

/** Options of {@link ensureEventsStreamPatiently}. */
export interface PatientEventsStreamOptions extends EventsStreamOptions {
  /** How long to keep asking while JetStream does not answer (a cluster still electing its meta leader). Default 60,000 ms. */
  readonly waitMs?: number;
  /** Told of each attempt that JetStream did not answer, with the time left. */
  readonly onRetry?: (error: Error, remainingMs: number) => void;
}

/**
 * {@link ensureEventsStream}, asked again every second while JetStream does not answer (a request
 * timeout or "no responders": a clustered JetStream right after its nodes start, before the meta
 * group has a leader). Any other error, or silence past `waitMs`, is thrown.
 */
export async function ensureEventsStreamPatiently(jsm: JetStreamManager, options: PatientEventsStreamOptions = {}): Promise<StreamInfo> {
  const deadline = performance.now() + (options.waitMs ?? 60_000);
  for (;;) {
    try {
      return await ensureEventsStream(jsm, options);
    } catch (error) {
      // nats.js reports "no responders" on the JetStream API as JetStreamNotEnabled (a class its
      // public entry point does not export, hence the name).
      const unanswered = error instanceof errors.TimeoutError || (error instanceof Error && error.name === 'JetStreamNotEnabled');
      const remainingMs = deadline - performance.now();
      if (!unanswered || remainingMs <= 0) throw error;
      options.onRetry?.(error, Math.round(remainingMs));
      await new Promise((r) => setTimeout(r, Math.min(1_000, remainingMs)));
    }
  }
}
