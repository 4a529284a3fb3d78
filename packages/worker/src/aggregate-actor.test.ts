// Pipelining is invisible: the same commands, sent to an actor that decides up to 32 commands ahead
// of their commits and to one that commits one at a time, get the same answers (statuses,
// versions, events, reasons, error codes, the duplicate flag) and leave the same stream — with
// version conflicts, rejections, retried and reused command ids, and commits whose outcome the
// store could not report (committed or not), over a group committer that batches and overlaps.
import { ErrorCode, RatchetError, type AggregateState, type RecordedEvent } from '@ratchet/core';
import type { AppendOutcome, AppendRequest, ProcessedCommand } from '@ratchet/event-store-postgres';
import { requestHash, type CommandReply } from '@ratchet/transport-nats';
import { Turnstile } from '@ratchet/turnstile';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AggregateActor } from './aggregate-actor.js';
import { GroupCommitter } from './group-committer.js';
import type { AdmittedCommand, CommandHandlerContext } from './handle-command.js';

const STREAM = 'turnstile/t-1';

/** What happens to a command's first append that the store would commit. */
type Fault = 'none' | 'unavailable-committed' | 'unavailable-not-committed';

interface Step {
  readonly type: 'install' | 'insertCoin' | 'pushArm';
  /** Index into the command ids: equal ids are retries (same command) or reuses (another command). */
  readonly idIndex: number;
  /** Expected version: none, the version before this command in one-by-one order (likely right), or a stray one. */
  readonly expect: 'none' | 'current' | number;
  readonly fault: Fault;
}

/** An in-memory store with the append semantics of the real one: expected version, command-id dedupe and reuse, faults by command id. */
class FakeStore {
  readonly events: RecordedEvent[] = [];
  readonly #commands = new Map<string, ProcessedCommand>();
  readonly #faulted = new Set<string>();
  constructor(readonly faults: ReadonlyMap<string, Fault>) {}

  async appendBatch(requests: readonly AppendRequest[]): Promise<AppendOutcome[]> {
    await new Promise((r) => setImmediate(r));
    return requests.map((r) => this.#append(r));
  }

  #append(r: AppendRequest): AppendOutcome {
    const commandId = r.commandId!;
    const first = this.#commands.get(commandId);
    if (first !== undefined) {
      if (first.requestHash !== r.requestHash) return { ok: false, error: new RatchetError(ErrorCode.COMMAND_ID_REUSED, 'reused') };
      return { ok: true, result: { ...first.result, duplicate: true } };
    }
    const version = this.events.length;
    if (r.expectedVersion !== version) {
      return { ok: false, error: new RatchetError(ErrorCode.VERSION_CONFLICT, `at ${version}, expected ${String(r.expectedVersion)}`) };
    }
    const fault = this.faults.get(commandId) ?? 'none';
    const faultNow = fault !== 'none' && !this.#faulted.has(commandId);
    if (faultNow) this.#faulted.add(commandId);
    if (faultNow && fault === 'unavailable-not-committed')
      return { ok: false, error: new RatchetError(ErrorCode.STORE_UNAVAILABLE, 'lost') };
    const added: RecordedEvent[] = r.events.map((e, i) => ({
      streamId: STREAM,
      version: version + i + 1,
      type: e.type,
      schemaVersion: 1,
      data: e.data,
      metadata: {},
      globalPosition: version + i + 1,
      transactionId: '1',
      recordedAt: new Date(0),
      epoch: 1,
    }));
    this.events.push(...added);
    const result = { streamId: STREAM, fromVersion: version + 1, version: version + added.length, events: added, duplicate: false };
    this.#commands.set(commandId, { commandId, requestHash: r.requestHash ?? null, result });
    if (faultNow) return { ok: false, error: new RatchetError(ErrorCode.STORE_UNAVAILABLE, 'outcome unknown') };
    return { ok: true, result };
  }

  async findCommand(commandId: string): Promise<ProcessedCommand | null> {
    return this.#commands.get(commandId) ?? null;
  }
}

/** Run the steps through one actor with the given depth; every command is submitted at once, as concurrent clients would. */
async function run(steps: readonly Step[], depth: number): Promise<{ replies: CommandReply[]; events: RecordedEvent[] }> {
  const faults = new Map<string, Fault>();
  for (const s of steps) if (!faults.has(`c${s.idIndex}`)) faults.set(`c${s.idIndex}`, s.fault);
  const store = new FakeStore(faults);
  const committer = new GroupCommitter(store, { maxBatchSize: 7, maxConcurrentBatches: 2 });
  const actor = new AggregateActor(Turnstile, 't-1', STREAM, 0);
  const context: CommandHandlerContext = {
    ownership: { fenceFor: () => ({ partition: 0, epoch: 1 }), holds: () => true },
    activation: {
      load: async (): Promise<AggregateState> => Turnstile.replay(store.events),
      snapshotIfDue: () => undefined,
    },
    committer,
    store,
    onLeaseRefused: () => undefined,
    onFenced: () => undefined,
    onTimersStarted: () => undefined,
  };
  // `current` means the version one-by-one execution would be at: the reference run computes it, the
  // pipelined run reuses it, so both send the very same requests.
  const expected = expectedVersions(steps);
  const replies = await Promise.all(
    steps.map((s, i) => {
      const request = {
        id: 't-1',
        command: { type: s.type, payload: {} },
        commandId: `c${s.idIndex}`,
        ...(expected[i] === undefined ? {} : { expectedVersion: expected[i] }),
      };
      const admitted: AdmittedCommand = {
        request,
        command: Turnstile.runtime.parseCommand(request.command),
        hash: requestHash('turnstile', request),
        metadata: { commandId: request.commandId },
      };
      return actor.submit(context, admitted, depth);
    }),
  );
  return { replies, events: store.events };
}

/** The expected version each step sends: none, a stray number, or the one-by-one version before it (ignoring faults). */
function expectedVersions(steps: readonly Step[]): Array<number | undefined> {
  let state = Turnstile.initialState();
  const seen = new Map<number, string>();
  return steps.map((s) => {
    const before = state.version;
    const reuse = seen.get(s.idIndex);
    if (reuse === undefined) {
      seen.set(s.idIndex, s.type);
      const d = Turnstile.decide({ type: s.type, payload: {} }, state);
      if (d.status === 'accepted') state = d.state;
    }
    return s.expect === 'none' ? undefined : s.expect === 'current' ? before : s.expect;
  });
}

const step: fc.Arbitrary<Step> = fc.record({
  type: fc.constantFrom('install', 'insertCoin', 'pushArm', 'pushArm', 'insertCoin'),
  idIndex: fc.nat(30),
  expect: fc.oneof(
    { weight: 6, arbitrary: fc.constant('none' as const) },
    { weight: 3, arbitrary: fc.constant('current' as const) },
    { weight: 1, arbitrary: fc.nat(12) },
  ),
  fault: fc.oneof(
    { weight: 10, arbitrary: fc.constant('none' as const) },
    fc.constant('unavailable-committed' as const),
    fc.constant('unavailable-not-committed' as const),
  ),
});

describe('a pipelined actor', () => {
  it('answers every command as one-by-one execution does, and leaves the same stream', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const oneByOne = await run(steps, 1);
        const pipelined = await run(steps, 32);
        expect(pipelined.replies).toEqual(oneByOne.replies);
        expect(pipelined.events.map((e) => e.type)).toEqual(oneByOne.events.map((e) => e.type));
      }),
      { numRuns: 400 },
    );
  });

  it('has more than one command in flight when it can (the property above is not vacuous)', async () => {
    const store = new FakeStore(new Map());
    let largest = 0;
    const committer = new GroupCommitter(
      {
        appendBatch: async (requests: readonly AppendRequest[]) => {
          largest = Math.max(largest, requests.length);
          return store.appendBatch(requests);
        },
      },
      { maxBatchSize: 64 },
    );
    const actor = new AggregateActor(Turnstile, 't-1', STREAM, 0);
    const context: CommandHandlerContext = {
      ownership: { fenceFor: () => ({ partition: 0, epoch: 1 }), holds: () => true },
      activation: { load: async () => Turnstile.replay(store.events), snapshotIfDue: () => undefined },
      committer,
      store,
      onLeaseRefused: () => undefined,
      onFenced: () => undefined,
      onTimersStarted: () => undefined,
    };
    const send = (i: number, type: 'install' | 'insertCoin') => {
      const request = { id: 't-1', command: { type, payload: {} }, commandId: `p${i}` };
      return actor.submit(
        context,
        { request, command: Turnstile.runtime.parseCommand(request.command), hash: requestHash('turnstile', request), metadata: {} },
        32,
      );
    };
    const replies = await Promise.all([send(0, 'install'), ...Array.from({ length: 20 }, (_, i) => send(i + 1, 'insertCoin'))]);
    expect(replies.map((r) => r.status === 'ok' && r.version)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(largest).toBeGreaterThan(1); // appends of one stream chained in one group commit
  });
});
