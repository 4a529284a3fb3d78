import {
  ErrorCode,
  RatchetError,
  type AggregateState,
  type Decision,
  type DomainEvent,
  type EventMetadata,
  type NewEvent,
  type ParsedCommand,
  type RecordedEvent,
  type TimerEffects,
} from '@ratchet/core';
import type { AppendOutcome, AppendRequest, AppendResult, PostgresEventStore } from '@ratchet/event-store-postgres';
import { errorReply, type CommandReply, type CommandRequest } from '@ratchet/transport-nats';
import type { ActorActivation } from './actor-activation.js';
import type { ActorRef } from './actor-ref.js';
import type { PartitionOwnership } from './ownership.js';

/** A command that passed intake: its envelope, its validated payload, its request hash and the metadata its events carry. */
export interface AdmittedCommand {
  readonly request: CommandRequest;
  readonly command: ParsedCommand;
  /** `requestHash` of the request: a command id reused for another command is refused. */
  readonly hash: string;
  readonly metadata: EventMetadata;
}

/** What handling a command needs from the worker: ownership, state, the committer and the store's command log. */
export interface CommandHandlerContext {
  readonly ownership: Pick<PartitionOwnership, 'fenceFor' | 'holds'>;
  readonly activation: Pick<ActorActivation, 'load' | 'snapshotIfDue'>;
  readonly committer: { submit(request: AppendRequest): Promise<AppendOutcome> };
  readonly store: Pick<PostgresEventStore, 'findCommand'>;
  /** The partition's lease had lapsed: the command was refused. */
  readonly onLeaseRefused: (partition: number) => void;
  /** An append was fenced: another worker owns the partition now. */
  readonly onFenced: (partition: number, error: RatchetError) => void;
  /** A commit started durable timers; the soonest is due in `dueInMs` (the timer scheduler may need to wake earlier). */
  readonly onTimersStarted: (dueInMs: number) => void;
}

/**
 * What deciding a command against a state leads to: an append to commit (with the state it leads
 * to), or an answer that writes nothing (a rejection, a version conflict, an ok without events —
 * the first two answered by the command id's first answer instead when it already committed).
 */
export type PreparedCommand =
  | { readonly kind: 'append'; readonly request: AppendRequest; readonly decision: Extract<Decision, { status: 'accepted' }> }
  | { readonly kind: 'answer'; readonly reply: CommandReply; readonly firstAnswerWins: boolean };

/**
 * The first half of handling a command, with no I/O: check that this worker may answer for the
 * partition (fence and lease: the state is memory, trusted only under the lease — guarantee 3),
 * then the expected version, then decide. `state` is the stream's state as the command will see
 * it: committed, or the state the commits in flight before it will leave (the actor pipelines).
 * Throws a retryable UNAVAILABLE when the partition is not held.
 */
export function prepareCommand(
  context: CommandHandlerContext,
  actor: ActorRef,
  admitted: AdmittedCommand,
  state: AggregateState,
): PreparedCommand {
  const { request, command, hash, metadata } = admitted;
  const fence = context.ownership.fenceFor(actor.partition);
  if (fence === undefined) {
    throw new RatchetError(ErrorCode.UNAVAILABLE, `partition ${actor.partition} is not served by this worker now`);
  }
  if (!context.ownership.holds(actor.partition)) {
    context.onLeaseRefused(actor.partition);
    throw new RatchetError(ErrorCode.UNAVAILABLE, `partition ${actor.partition}'s lease has lapsed on this worker; retry`, {
      details: { partition: actor.partition, reason: 'lease-lapsed' },
    });
  }
  if (request.expectedVersion !== undefined && request.expectedVersion !== state.version) {
    return { kind: 'answer', reply: conflictReply(actor.streamId, request.expectedVersion, state.version), firstAnswerWins: true };
  }
  const decision = actor.aggregate.runtime.decideParsed(command, state, actor.id);
  if (decision.status === 'rejected') {
    return { kind: 'answer', reply: { status: 'rejected', reason: decision.reason, version: state.version }, firstAnswerWins: true };
  }
  if (decision.events.length === 0) {
    return { kind: 'answer', reply: { status: 'ok', version: state.version, events: [], duplicate: false }, firstAnswerWins: false };
  }
  const append: AppendRequest = {
    streamId: actor.streamId,
    expectedVersion: state.version,
    events: newEvents(actor, decision.events, decision.timers),
    commandId: request.commandId,
    requestHash: hash,
    metadata,
    fence,
    timers: decision.timers,
  };
  return { kind: 'append', request: append, decision };
}

/** The answer of a command that wrote nothing: a retry of a command that already committed gets its first answer instead. */
export async function answerWithoutWriting(
  context: CommandHandlerContext,
  admitted: AdmittedCommand,
  prepared: Extract<PreparedCommand, { kind: 'answer' }>,
): Promise<CommandReply> {
  if (!prepared.firstAnswerWins) return prepared.reply;
  return (await firstAnswer(context, admitted.request.commandId, admitted.hash)) ?? prepared.reply;
}

/** The first answer of a command id the store already holds, or undefined when it never committed. */
async function firstAnswer(context: CommandHandlerContext, commandId: string, hash: string): Promise<CommandReply | undefined> {
  const first = await context.store.findCommand(commandId);
  if (first === null) return undefined;
  if (first.requestHash !== null && first.requestHash !== hash) {
    return errorReply(new RatchetError(ErrorCode.COMMAND_ID_REUSED, `command id ${commandId} was used for another command`));
  }
  return okReply({ ...first.result, duplicate: true });
}

function conflictReply(streamId: string, expectedVersion: number, actualVersion: number): CommandReply {
  return errorReply(
    new RatchetError(ErrorCode.VERSION_CONFLICT, `stream ${streamId} is at version ${actualVersion}, expected ${expectedVersion}`, {
      details: { streamId, expectedVersion, actualVersion },
    }),
  );
}

/** The ok answer of a committed (or, `duplicate`, first-committed) append. */
export function okReply(result: AppendResult): CommandReply {
  return {
    status: 'ok',
    version: result.version,
    events: result.events.map((e: RecordedEvent) => ({ version: e.version, type: e.type, schemaVersion: e.schemaVersion, data: e.data })),
    duplicate: result.duplicate,
  };
}

/** Tell the timer scheduler how soon the earliest timer just started is due. */
export function noteTimersStarted(context: Pick<CommandHandlerContext, 'onTimersStarted'>, timers: TimerEffects): void {
  if (timers.start.length === 0) return;
  const now = Date.now();
  const due = timers.start.map((t) => (t.kind === 'command' && t.at !== undefined ? Date.parse(t.at) - now : (t.delayMs ?? 0)));
  context.onTimersStarted(Math.max(0, Math.min(...due)));
}

/**
 * The events to append, the last one carrying the timers the decision started and cancelled
 * (`metadata.timers`): the stream then tells which timers were pending at any version, which the
 * history checker (C11) and time travel read.
 */
export function newEvents(actor: ActorRef, events: readonly DomainEvent[], timers: TimerEffects): NewEvent[] {
  const runtime = actor.aggregate.runtime;
  const out: NewEvent[] = events.map((e) => ({ type: e.type, data: e.data, schemaVersion: runtime.schemaVersionOf(e.type) }));
  const last = out[out.length - 1];
  if ((timers.start.length > 0 || timers.cancel.length > 0) && last !== undefined) {
    const start = timers.start.map((t) => ({
      id: t.id,
      kind: t.kind,
      ...(t.kind === 'command' && t.at !== undefined ? { at: t.at } : { delayMs: t.delayMs ?? 0 }),
    }));
    out[out.length - 1] = { ...last, metadata: { timers: { start, cancel: timers.cancel } } };
  }
  return out;
}
