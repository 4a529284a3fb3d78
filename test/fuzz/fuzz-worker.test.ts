// Protocol fuzzing against a live worker process: 100,000 adversarial command messages
// (protocol-arbitraries.ts), 64 in flight. The worker must answer every one with a typed error,
// write nothing, and stay up. Also prints (does not assert) the p99 of valid traffic alone and
// with 10% garbage mixed in: see docs/checker.md, "Fuzzing".
import { connect, errors, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { ErrorCode } from '@ratchet/core';
import { isProcessAlive, startNatsServer, startServiceProcess, type NatsServerHandle, type ServiceProcess } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { commandSubject, decodeReply, partitionOf, unroutedSubjectFor, type CommandReply } from '@ratchet/transport-nats';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adversarialMessage, adversarialMessages, couldSucceed, type FuzzMessage } from './protocol-arbitraries.js';

const MESSAGES = Number(process.env.RATCHET_FUZZ_MESSAGES ?? 100_000);
const SEED = Number(process.env.RATCHET_FUZZ_SEED ?? 20_240_601);
const IN_FLIGHT = 64;
const REQUEST_TIMEOUT_MS = 20_000;
const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

let natsServer: NatsServerHandle;
let db: TestDatabase;
let worker: ServiceProcess;
let nc: NatsConnection;
let sql: pg.Client;
/** Events the valid probes were told they wrote; the store must hold exactly these. */
let written = 0;
let probeSeq = 0;

beforeAll(async () => {
  natsServer = await startNatsServer({ jetstream: false });
  db = await createTestDatabase('fuzz');
  worker = await startServiceProcess({
    entry: 'services/worker/src/main.ts',
    env: {
      NATS_URL: natsServer.url,
      DATABASE_URL: db.url,
      HTTP_PORT: '0',
      LOG_LEVEL: 'info',
      CLUSTER_MODE: 'static',
      RELAY_ENABLED: 'false',
    },
  });
  nc = await connect({ servers: natsServer.url });
  sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
});

afterAll(async () => {
  await worker?.stop();
  await nc?.close();
  await sql?.end();
  await db?.drop();
  await natsServer?.stop();
});

const eventCount = async (): Promise<number> =>
  Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM ratchet.events')).rows[0]?.n);

/** Run `fn` over every item with at most `concurrency` in flight. */
async function bounded<T>(items: Iterator<T>, concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  const lane = async (): Promise<void> => {
    for (let next = items.next(); next.done !== true; next = items.next()) await fn(next.value);
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

/**
 * Send and decode as the protocol says a client does: when no worker subscribes the command
 * subject (NATS no responders), ask the unrouted probe (docs/protocol.md) and take its answer. A
 * transport failure (timeout, or no responders on the probe too) becomes a thrown error.
 */
async function request(subject: string, body: Uint8Array): Promise<{ reply: CommandReply; ms: number }> {
  const t0 = performance.now();
  let msg: Msg;
  try {
    msg = await nc.request(subject, body, { timeout: REQUEST_TIMEOUT_MS });
  } catch (err) {
    const probe = unroutedSubjectFor(subject);
    if (!(err instanceof errors.RequestError && err.isNoResponders()) || probe === undefined) throw err;
    msg = await nc.request(probe, body, { timeout: REQUEST_TIMEOUT_MS });
  }
  return { reply: decodeReply(msg.data), ms: performance.now() - t0 };
}

/** One valid turnstile command; counts the events its ok reply reports. */
async function valid(id: string, type: 'install' | 'insertCoin' | 'pushArm'): Promise<{ reply: CommandReply; ms: number }> {
  const body = JSON.stringify({ id, command: { type, payload: {} }, commandId: `probe-${(probeSeq += 1)}` });
  const r = await request(commandSubject('turnstile', partitionOf(id, 64)), new TextEncoder().encode(body));
  if (r.reply.status === 'ok' && !r.reply.duplicate) written += r.reply.events.length;
  return r;
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

describe('protocol fuzzing', () => {
  it(`answers ${MESSAGES.toLocaleString('en')} adversarial messages with typed errors, writes nothing, stays up`, async () => {
    expect(await valid('fz-before', 'install')).toMatchObject({ reply: { status: 'ok' } });
    const before = await eventCount();
    const byKind = new Map<string, Map<string, number>>();
    const unexpected: string[] = [];
    let sent = 0;
    let dropped = 0;
    const started = performance.now();
    await bounded(
      adversarialMessages(MESSAGES, SEED, () => (dropped += 1)),
      IN_FLIGHT,
      async (m: FuzzMessage) => {
        sent += 1;
        let outcome: string;
        try {
          const { reply } = await request(m.subject, m.body);
          outcome = reply.status === 'error' ? reply.error.code : `status ${reply.status}`;
        } catch (error) {
          outcome = `transport ${(error as Error).message}`;
        }
        const counts = byKind.get(m.kind) ?? new Map<string, number>();
        counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
        byKind.set(m.kind, counts);
        if (!KNOWN_CODES.has(outcome) || outcome === ErrorCode.INTERNAL || outcome === ErrorCode.MALFORMED_REPLY) {
          if (unexpected.length < 20)
            unexpected.push(`${m.kind} on ${m.subject}: ${outcome}: ${new TextDecoder().decode(m.body.slice(0, 200))}`);
          else unexpected.push('');
        }
      },
    );
    const seconds = (performance.now() - started) / 1000;
    const table = [...byKind].sort().map(([kind, codes]) => `  ${kind.padEnd(18)} ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}`);
    console.log(
      `fuzz: ${sent} messages (seed ${SEED}, ${dropped} generated ones dropped as possibly valid) in ${seconds.toFixed(1)} s ` +
        `(${Math.round(sent / seconds)}/s, ${IN_FLIGHT} in flight)\n${table.join('\n')}`,
    );

    expect(sent).toBe(MESSAGES);
    expect(unexpected.filter((u) => u !== '').slice(0, 20), `${unexpected.length} unexpected answers`).toEqual([]);
    expect(isProcessAlive(worker.pid)).toBe(true);
    expect(await eventCount()).toBe(before);
    expect(await valid('fz-after', 'install')).toMatchObject({ reply: { status: 'ok', version: 1 } });
  }, 600_000);

  it('measures the p99 of valid traffic alone and with 10% garbage mixed in (printed, not asserted)', async () => {
    const VALID = 3_000;
    const CONCURRENCY = 16;
    const TURNSTILES = 200;
    const TYPES = ['insertCoin', 'pushArm', 'pushArm'] as const;
    const runValid = async (prefix: string, garbageShare: number): Promise<{ p50: number; p99: number; garbage: number }> => {
      for (let i = 0; i < TURNSTILES; i += 1) await valid(`${prefix}-${i}`, 'install');
      const garbage = Math.round((VALID * garbageShare) / (1 - garbageShare));
      const junk = fc
        .sample(adversarialMessage, { numRuns: garbage * 2, seed: SEED + 7 })
        .filter((m) => !couldSucceed(m))
        .slice(0, garbage);
      // Interleave: every item is valid, or garbage with the given share.
      const plan: Array<{ kind: 'valid'; i: number } | { kind: 'junk'; m: FuzzMessage }> = [];
      let g = 0;
      for (let i = 0; i < VALID; i += 1) {
        plan.push({ kind: 'valid', i });
        while (g < junk.length && g * VALID < (i + 1) * junk.length) plan.push({ kind: 'junk', m: junk[g++] as FuzzMessage });
      }
      const latencies: number[] = [];
      await bounded(plan.values(), CONCURRENCY, async (item) => {
        if (item.kind === 'junk') {
          await request(item.m.subject, item.m.body).catch(() => undefined);
          return;
        }
        const r = await valid(`${prefix}-${item.i % TURNSTILES}`, TYPES[item.i % TYPES.length] as (typeof TYPES)[number]);
        expect(r.reply.status).toBe('ok');
        latencies.push(r.ms);
      });
      return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), garbage: junk.length };
    };
    await runValid('warm', 0);
    const alone = await runValid('alone', 0);
    const mixed = await runValid('mixed', 0.1);
    console.log(
      `latency of valid commands, ${VALID} per run, ${CONCURRENCY} in flight: ` +
        `alone p50 ${alone.p50.toFixed(1)} ms p99 ${alone.p99.toFixed(1)} ms; ` +
        `with ${mixed.garbage} garbage messages (10%) p50 ${mixed.p50.toFixed(1)} ms p99 ${mixed.p99.toFixed(1)} ms`,
    );
    expect(isProcessAlive(worker.pid)).toBe(true);
    // Only the valid probes wrote: exactly the events their replies reported.
    expect(await eventCount()).toBe(written);
  }, 600_000);
});
