import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Msg, type NatsConnection, type RequestOptions, type Subscription } from '@nats-io/transport-node';
import { ErrorCode, RatchetError, VersionConflictError } from '@ratchet/core';
import {
  commandSubject,
  encodeReply,
  errorReply,
  parseCommandRequest,
  partitionOf,
  type CommandReply,
  type CommandRequest,
} from '@ratchet/transport-nats';
import { Turnstile } from '@ratchet/turnstile';
import { connectClient, type RatchetClient } from './index.js';

// A unique aggregate type per test, so nothing else on the shared server answers our subjects.
let counter = 0;
const uniqueType = (): string => `client-test-${process.pid}-${Date.now().toString(36)}-${counter++}`;
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const fast = { timeoutMs: 2_000, attemptTimeoutMs: 200, backoff: { initialMs: 5, maxMs: 20 } };

interface FakeWorker {
  readonly requests: CommandRequest[];
  readonly messages: Msg[];
  readonly sub: Subscription;
}

/** A stand-in for the worker: answers on one partition subject through the protocol, or stays silent. */
async function fakeWorker(
  nc: NatsConnection,
  subject: string,
  answer: (request: CommandRequest, n: number) => CommandReply | undefined,
): Promise<FakeWorker> {
  const requests: CommandRequest[] = [];
  const messages: Msg[] = [];
  const sub = nc.subscribe(subject, {
    queue: 'ratchet-workers',
    callback: (_err, msg) => {
      messages.push(msg);
      let reply: CommandReply | undefined;
      try {
        const request = parseCommandRequest(msg.data);
        requests.push(request);
        reply = answer(request, requests.length);
      } catch (err) {
        reply = errorReply(err);
      }
      if (reply !== undefined) msg.respond(encodeReply(reply));
    },
  });
  await nc.flush(); // the subscription is known to the server before any request
  return { requests, messages, sub };
}

const ok = (_request: CommandRequest): CommandReply => ({
  status: 'ok',
  version: 1,
  events: [{ version: 1, type: 'installed', schemaVersion: 1, data: {} }],
  duplicate: false,
});

describe('connectClient', () => {
  let nc: NatsConnection;
  let client: RatchetClient;
  const subs: Subscription[] = [];
  const track = (w: FakeWorker): FakeWorker => {
    subs.push(w.sub);
    return w;
  };

  beforeAll(async () => {
    nc = await connect({ servers: process.env.NATS_URL });
    client = await connectClient({ connection: nc, ...fast });
  });

  afterAll(async () => {
    for (const sub of subs) sub.unsubscribe();
    await client?.close();
    await nc?.close();
  });

  it('routes a typed command to its partition and returns the ok reply', async () => {
    const type = uniqueType();
    const aggregate = { ...Turnstile, type };
    const worker = track(await fakeWorker(nc, commandSubject(type, partitionOf('t-1', 64)), ok));
    const result = await client.send(
      aggregate,
      't-1',
      { type: 'install', payload: {} },
      { expectedVersion: 0, metadata: { correlationId: 'corr-1' } },
    );
    expect(result).toMatchObject({ status: 'ok', version: 1, duplicate: false, attempts: 1 });
    expect(result.status === 'ok' && result.events.map((e) => e.type)).toEqual(['installed']);
    expect(worker.requests).toEqual([
      {
        id: 't-1',
        command: { type: 'install', payload: {} },
        commandId: result.commandId,
        expectedVersion: 0,
        metadata: { correlationId: 'corr-1' },
      },
    ]);
    // Type-level (checked by tsc over the tests, not by vitest): commands and events are typed.
    const typed = async (): Promise<void> => {
      const r = await client.send(Turnstile, 't-1', { type: 'insertCoin', payload: {} });
      if (r.status === 'ok') {
        const type: 'installed' | 'coinInserted' | 'armTurned' | 'armPushedIneffectively' | undefined = r.events[0]?.type;
        void type;
      }
      // @ts-expect-error 'fly' is not a turnstile command
      await client.send(Turnstile, 't-1', { type: 'fly', payload: {} });
    };
    void typed;
  });

  it('retries after no responders with the same command id', async () => {
    const type = uniqueType();
    const subject = commandSubject(type, partitionOf('t-2', 64));
    const sent: CommandRequest[] = [];
    const outcomes: string[] = [];
    let worker: FakeWorker | undefined;
    // Wrap the connection: record every attempt's body, and start the worker only after the first
    // attempt failed with no responders. No timing involved.
    const spy = new Proxy(nc, {
      get(target, prop) {
        if (prop === 'request') {
          return async (subj: string, data: Uint8Array, opts: RequestOptions) => {
            // The unrouted probe after a no-responders attempt is not an attempt: pass it through.
            if (subj !== subject) return target.request(subj, data, opts);
            sent.push(parseCommandRequest(data));
            try {
              const msg = await target.request(subj, data, opts);
              outcomes.push('reply');
              return msg;
            } catch (err) {
              outcomes.push((err as { isNoResponders?: () => boolean }).isNoResponders?.() ? 'no-responders' : 'other');
              worker ??= track(await fakeWorker(nc, subject, ok));
              throw err;
            }
          };
        }
        const value: unknown = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const retrying = await connectClient({ connection: spy, ...fast });
    const result = await retrying.sendRaw(type, 't-2', { type: 'install' });
    expect(result.status).toBe('ok');
    expect(outcomes).toEqual(['no-responders', 'reply']);
    expect(result.attempts).toBe(2);
    expect(sent.map((r) => r.commandId)).toEqual([result.commandId, result.commandId]);
    expect(worker?.requests.map((r) => r.commandId)).toEqual([result.commandId]);
  });

  it('after no responders, returns at once what the unrouted probe says when it is final', async () => {
    const type = uniqueType();
    const probe = track(
      await fakeWorker(nc, `ratchet.cmd.unrouted.${type}.${partitionOf('t-9', 64)}`, () =>
        errorReply(new RatchetError(ErrorCode.UNKNOWN_AGGREGATE, `no worker serves aggregate type "${type}"`)),
      ),
    );
    const result = await client.sendRaw(type, 't-9', { type: 'install', payload: {} });
    expect(result).toMatchObject({ status: 'error', attempts: 1, error: { code: ErrorCode.UNKNOWN_AGGREGATE } });
    expect(probe.requests).toHaveLength(1);
  });

  it('retries a retryable error reply, then returns ok', async () => {
    const type = uniqueType();
    const worker = track(
      await fakeWorker(nc, commandSubject(type, partitionOf('t-3', 64)), (request, n) =>
        n === 1 ? errorReply(new RatchetError(ErrorCode.OVERLOADED, 'mailbox full')) : ok(request),
      ),
    );
    const result = await client.sendRaw(type, 't-3', { type: 'install', payload: {} }, { commandId: 'my-command-1' });
    expect(result).toMatchObject({ status: 'ok', attempts: 2, commandId: 'my-command-1' });
    expect(worker.requests.map((r) => r.commandId)).toEqual(['my-command-1', 'my-command-1']);
  });

  it('returns TIMEOUT when no attempt is answered, after retrying', async () => {
    const type = uniqueType();
    const worker = track(await fakeWorker(nc, commandSubject(type, partitionOf('t-4', 64)), () => undefined));
    const result = await client.sendRaw(type, 't-4', { type: 'install' }, { timeoutMs: 500 });
    expect(result.status).toBe('error');
    if (result.status !== 'error') return;
    expect(result.error.code).toBe(ErrorCode.TIMEOUT);
    expect(result.error.retryable).toBe(true);
    expect(result.attempts).toBeGreaterThanOrEqual(2);
    expect(worker.requests.length).toBe(result.attempts);
    expect(new Set(worker.requests.map((r) => r.commandId))).toEqual(new Set([result.commandId]));
  });

  it('returns the last retryable error when every attempt was answered with one', async () => {
    const type = uniqueType();
    track(
      await fakeWorker(nc, commandSubject(type, partitionOf('t-5', 64)), () =>
        errorReply(new RatchetError(ErrorCode.UNAVAILABLE, 'draining')),
      ),
    );
    const result = await client.sendRaw(type, 't-5', { type: 'install' }, { timeoutMs: 300 });
    expect(result.status === 'error' && result.error.code).toBe(ErrorCode.UNAVAILABLE);
    expect(result.attempts).toBeGreaterThanOrEqual(2);
  });

  it('returns a non-retryable error at once, rebuilt as its class', async () => {
    const type = uniqueType();
    const worker = track(
      await fakeWorker(nc, commandSubject(type, partitionOf('t-6', 64)), () => errorReply(new VersionConflictError(`${type}/t-6`, 0, 3))),
    );
    const result = await client.sendRaw(type, 't-6', { type: 'install' }, { expectedVersion: 0 });
    expect(result.attempts).toBe(1);
    expect(worker.requests).toHaveLength(1);
    expect(result.status).toBe('error');
    if (result.status !== 'error') return;
    expect(result.error).toBeInstanceOf(VersionConflictError);
    expect((result.error as VersionConflictError).actualVersion).toBe(3);
  });

  it('passes a rejection through', async () => {
    const type = uniqueType();
    track(
      await fakeWorker(nc, commandSubject(type, partitionOf('t-7', 64)), () => ({
        status: 'rejected',
        reason: 'Turnstile not installed',
        version: 0,
      })),
    );
    const result = await client.sendRaw(type, 't-7', { type: 'pushArm' });
    expect(result).toMatchObject({ status: 'rejected', reason: 'Turnstile not installed', version: 0, attempts: 1 });
  });

  it('sends the traceparent header', async () => {
    const type = uniqueType();
    const worker = track(await fakeWorker(nc, commandSubject(type, partitionOf('t-8', 64)), ok));
    const result = await client.sendRaw(type, 't-8', { type: 'install' }, { traceparent });
    expect(result.status).toBe('ok');
    expect(worker.messages[0]?.headers?.get('traceparent')).toBe(traceparent);
  });

  it.each([
    ['an invalid id', 'a.b', {}, ErrorCode.INVALID_ID],
    ['an oversized payload', 'ok-id', { payload: { big: 'x'.repeat(70_000) } }, ErrorCode.PAYLOAD_TOO_LARGE],
    ['a bad command id', 'ok-id', { commandId: 'has space' }, ErrorCode.VALIDATION_FAILED],
    ['a bad traceparent', 'ok-id', { traceparent: 'nope' }, ErrorCode.VALIDATION_FAILED],
    ['a forbidden key', 'ok-id', { payload: JSON.parse('{"__proto__":{}}') as unknown }, ErrorCode.VALIDATION_FAILED],
  ])('fails %s locally, without a request', async (_what, id, extra, code) => {
    const type = uniqueType();
    const worker = track(await fakeWorker(nc, commandSubject(type, partitionOf(id, 64)), ok));
    const { payload, ...options } = extra as { payload?: unknown; commandId?: string; traceparent?: string };
    const result = await client.sendRaw(type, id, { type: 'install', payload }, options);
    expect(result.status === 'error' && result.error.code).toBe(code);
    expect(result.attempts).toBe(0);
    await nc.flush();
    expect(worker.messages).toHaveLength(0);
  });

  it('closes only a connection it opened', async () => {
    const own = await connectClient({ servers: process.env.NATS_URL });
    await own.close();
    expect(own.connection.isClosed()).toBe(true);
    const borrowed = await connectClient({ connection: nc });
    await borrowed.close();
    expect(nc.isClosed()).toBe(false);
  });
});
