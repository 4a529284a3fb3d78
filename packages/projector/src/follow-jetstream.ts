import { setTimeout as delay } from 'node:timers/promises';
import type { RecordedEvent } from '@ratchet/core';
import type { JsMsg } from '@nats-io/jetstream';
import { crashPoint } from '@ratchet/ops';
import { ProjectorCrashPoint } from './crash-point.js';
import type { DeliveredEvent, DurableConsumer } from './durable-consumer.js';
import { nextBatchLimit } from './next-batch-limit.js';
import type { VersionRun } from './version-run.js';

/**
 * Apply one batch of delivered messages: undecodable ones are terminated (counted, logged, never
 * redelivered), the events go through the applier in one read-model transaction, and only after
 * its commit are the messages acked.
 */
async function applyDelivered(run: VersionRun, batch: readonly DeliveredEvent[]): Promise<void> {
  const events: RecordedEvent[] = [];
  const keep: JsMsg[] = [];
  for (const { msg, event } of batch) {
    if (event instanceof Error) {
      run.settings.metrics.malformed.inc({ projection: run.projection.key });
      run.log.error({ err: event, subject: msg.subject, seq: msg.seq }, 'malformed event message terminated');
      msg.term();
    } else {
      events.push(event);
      keep.push(msg);
    }
  }
  if (events.length > 0) await run.applier.apply(events);
  crashPoint(ProjectorCrashPoint.AFTER_COMMIT_BEFORE_ACK);
  // Ack after commit: a crash before this line redelivers the batch, which dedupe drops.
  for (const m of keep) m.ack();
}

/** Report the consumer's lag, in messages and in the age of the last applied event while events wait. */
async function reportConsumerLag(run: VersionRun, consumer: DurableConsumer): Promise<void> {
  const lag = await consumer.probeLag();
  if (lag === undefined) return;
  run.reportLag(lag);
  const last = run.applier.lastRecordedAt;
  const behind = lag > 0 && last !== null ? (Date.now() - last.getTime()) / 1000 : 0;
  run.settings.metrics.lagSeconds.set({ projection: run.projection.key }, Math.max(0, behind));
}

/**
 * Follow the version's durable consumer until the run stops: take what has been delivered (up to
 * the batch limit, which grows while a backlog waits), apply it, ack it. A batch that fails is
 * handed back (nak with backoff) and redelivered; a lost consumer is recreated.
 */
export async function followJetStream(run: VersionRun, consumer: DurableConsumer): Promise<void> {
  const { settings, signal } = run;
  await consumer.open();
  const stats = setInterval(() => void reportConsumerLag(run, consumer), settings.statsIntervalMs);
  stats.unref();
  try {
    let failures = 0;
    let limit = settings.batchSize;
    while (!signal.aborted) {
      if (consumer.lost) await consumer.recover(signal);
      if (consumer.buffered === 0) {
        await consumer.waitForMessages(500, signal);
        continue;
      }
      const batch = consumer.take(limit);
      limit = nextBatchLimit(limit, batch.length, settings);
      try {
        await applyDelivered(run, batch);
        failures = 0;
      } catch (error) {
        failures += 1;
        run.log.warn({ err: error, failures, size: batch.length }, 'batch failed; messages handed back for redelivery');
        for (const d of batch) d.msg.nak(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
        await delay(Math.min(5_000, 50 * 2 ** Math.min(failures, 7)));
      }
    }
  } finally {
    clearInterval(stats);
  }
}
